import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runKvContract } from '../src/store/testing/kv-contract.ts';
import type { KvStore } from '../src/store/types.ts';
import { openFileStore } from './fs-store.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-fs-store-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let counter = 0;
const paths = new WeakMap<KvStore, string>();
runKvContract(
  'durable store on node fs',
  () => {
    const file = path.join(root, `contract-${counter++}`, 'db');
    const store = openFileStore(file);
    paths.set(store, file);
    return store;
  },
  async (store) => {
    const file = paths.get(store)!;
    await store.close();
    const again = openFileStore(file);
    paths.set(again, file);
    return again;
  },
);

describe('openFileStore', () => {
  it('refuses a second opener with STORAGE_LOCKED until the first closes', async () => {
    const file = path.join(root, 'locked', 'db');
    const store = openFileStore(file);
    expect(() => openFileStore(file)).toThrow(expect.objectContaining({ code: 'STORAGE_LOCKED' }));
    await store.close();
    const again = openFileStore(file);
    await again.close();
  });

  it('takes over the lock of a process that is gone', async () => {
    const file = path.join(root, 'stale', 'db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.lock`, '999999999'); // no such pid
    const store = openFileStore(file);
    await store.close();
  });

  it('rejects a file of another format with STORAGE_FORMAT', () => {
    const file = path.join(root, 'foreign', 'db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'SQLite format 3\u0000'.padEnd(8192, 'x'));
    expect(() => openFileStore(file)).toThrow(expect.objectContaining({ code: 'STORAGE_FORMAT' }));
    expect(fs.existsSync(`${file}.lock`)).toBe(false); // released on failure
  });
});

describe('a writer killed with SIGKILL (20 rounds)', () => {
  it('keeps every acknowledged key', async () => {
    const file = path.join(root, 'killed', 'db');
    const child = fileURLToPath(new URL('./testing/kill-writer.ts', import.meta.url));
    const acked: string[] = [];
    const seed = Math.floor(Math.random() * 2 ** 31);
    let rnd = seed;
    const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32;
    console.log(`[kill test] seed ${seed}`);
    for (let round = 0; round < 20; round++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, file, String(round)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.startsWith('ready\n')) resolve();
        });
        proc.on('exit', () => reject(new Error(`writer exited early: ${err}`)));
      });
      await new Promise((r) => setTimeout(r, 20 + next() * 300));
      proc.kill('SIGKILL');
      await exited;
      const lines = out.split('\n');
      lines.pop(); // a line cut by the kill is not an acknowledgement
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      const store = openFileStore(file, { pageSize: 4096 });
      store.checkIntegrity();
      const enc = new TextEncoder();
      const missing = acked.filter((k) => store.get(enc.encode(k)) === undefined);
      expect(missing, `round ${round} (seed ${seed})`).toEqual([]);
      await store.close();
    }
    expect(acked.length).toBeGreaterThan(100);
    console.log(`[kill test] ${acked.length} acknowledged keys over 20 kills, none lost`);
  }, 120_000);
});
