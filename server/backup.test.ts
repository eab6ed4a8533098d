/**
 * A live backup of the file store (server/backup.ts, `POST /admin/backup`): taken while a client
 * writes, the copy opens as a data folder of its own, whole (the store's integrity check passes),
 * with every write acknowledged before the backup began. Refused without the admin secret, into a
 * folder that is not empty, and where there are no files (memory).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, s, startSyncServer } from './index.ts';
import type { DurableStore } from '../src/store/durable-store.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({ notes: s.table({ text: s.string(), n: s.int() }) });
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const top = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-backup-'));
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));
let folders = 0;
/** A new folder under this file's temporary one. */
const scratch = () => fs.mkdirSync(path.join(top, String(folders++)), { recursive: true })!;

const backupOf = (port: number, to: string, secret = 'adm') =>
  fetch(`http://127.0.0.1:${port}/admin/backup`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ to }) });

describe('backup of the file store', () => {
  it('taken while a client writes: the copy opens whole, with every write acknowledged before it', async () => {
    const root = scratch();
    const server = await startSyncServer({ port: 0, dataDir: path.join(root, 'data'), dev: true, adminSecret: 'adm', log: () => {} });
    cleanups.push(() => server.close());
    const db = createDb({ app, server: server.url, appId: 'b' });
    cleanups.push(() => db.close());
    const acked = new Set<string>();
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        // Long values too, so pages and the write-ahead log both grow.
        const h = db.insert(app.notes, { text: `${n} ${'x'.repeat(n % 7 === 0 ? 20_000 : 10)}`, n });
        h.wait({ tier: 'global' }).then(
          () => acked.add(h.id),
          () => {}, // still on the way when the test closes the client
        );
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await until(() => acked.size >= 200, 10_000, '200 acknowledged writes');
    const before = new Set(acked);
    const to = path.join(root, 'copy');
    const res = await backupOf(server.port, to);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ to, files: expect.any(Number), bytes: expect.any(Number) });
    await until(() => acked.size >= before.size + 100, 10_000, 'writes after the backup');
    writing = false;
    await writer;
    expect(fs.readdirSync(to).sort()).toEqual(['b.db', 'b.db-wal', 'b.schema.json']);

    // The copy is a data folder: a server on it has every write acknowledged before the backup.
    const restored = await startSyncServer({ port: 0, dataDir: to, adminSecret: 'adm', log: () => {} });
    cleanups.push(() => restored.close());
    const engine = restored.engineOf('b')!;
    (engine.store as DurableStore).checkIntegrity();
    const ids = new Set(engine.rowIds('notes'));
    expect([...before].filter((id) => !ids.has(id))).toEqual([]);
    // And nothing written after it was acknowledged... can be there only if committed before the copy.
    expect(ids.size).toBeLessThan(acked.size);
  }, 30_000);

  it('is refused without the admin secret, into a folder that is not empty, and in memory', async () => {
    const root = scratch();
    const server = await startSyncServer({ port: 0, dataDir: path.join(root, 'data'), dev: true, adminSecret: 'adm', log: () => {} });
    cleanups.push(() => server.close());
    expect((await backupOf(server.port, path.join(root, 'x'), 'wrong')).status).toBe(401);
    fs.mkdirSync(path.join(root, 'full'));
    fs.writeFileSync(path.join(root, 'full', 'something'), '');
    const full = await backupOf(server.port, path.join(root, 'full'));
    expect(full.status).toBe(400);
    expect(await full.json()).toMatchObject({ error: 'BACKUP_UNSUPPORTED', message: expect.stringMatching(/not empty/) });
    const memory = await startSyncServer({ port: 0, inMemory: true, adminSecret: 'adm', log: () => {} });
    cleanups.push(() => memory.close());
    const none = await backupOf(memory.port, path.join(root, 'y'));
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ error: 'BACKUP_UNSUPPORTED', message: expect.stringMatching(/memory/) });
  });
});
