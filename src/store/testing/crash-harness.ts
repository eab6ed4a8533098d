/**
 * The crash harness (R1), shared by `crash.test.ts` and `crash.random.test.ts`: a fixed
 * 200-commit workload on memory files that crash at a chosen write, under every sector size and
 * fate of unflushed writes. After each crash the files are reopened from what survived, and:
 * - the integrity check passes;
 * - the state equals the state after some prefix of the commits;
 * - that prefix contains every commit that was acknowledged before the crash;
 * - (every tenth random point, and every exhaustive one) the recovered store takes a new commit
 *   and survives a clean reopen.
 */
import { expect } from 'vitest';
import { Faults, MemoryBlockFile, type UnflushedFate } from '../blockfile.ts';
import { mulberry32 } from '../../util/random.ts';
import { crc32c } from '../checksum.ts';
import { openDurableStore, type DurableStore } from '../durable-store.ts';
import type { KvStore } from '../types.ts';

export const COMMITS = 200;
export const OPTIONS = { pageSize: 512, cacheBytes: 16 * 512, checkpointWalBytes: 1500 };
export const FATES: UnflushedFate[] = ['drop', 'keep', 'torn', 'reorder'];
export const SECTORS = [512, 4096];

type Op = readonly [key: Uint8Array, value: Uint8Array | null];

/** The workload: commits of puts and deletes over ~120 keys, some values large enough to overflow. */
export function workload(seed: number): Op[][] {
  const rnd = mulberry32(seed);
  const enc = new TextEncoder();
  const commits: Op[][] = [];
  for (let c = 0; c < COMMITS; c++) {
    const ops: Op[] = [];
    const n = 1 + Math.floor(rnd() * (c % 25 === 0 ? 30 : 5));
    for (let i = 0; i < n; i++) {
      const key = enc.encode(
        `key-${Math.floor(rnd() * 120)
          .toString()
          .padStart(4, '0')}`,
      );
      if (rnd() < 0.2) ops.push([key, null]);
      else {
        const big = rnd() < 0.04;
        const value = new Uint8Array(big ? 600 + Math.floor(rnd() * 1500) : Math.floor(rnd() * 60));
        for (let b = 0; b < value.length; b++) value[b] = (c * 31 + b) & 0xff;
        ops.push([key, value]);
      }
    }
    commits.push(ops);
  }
  return commits;
}

/** Fingerprints of the state after each prefix of the commits: index i = after i commits. */
export function prefixFingerprints(commits: Op[][]): Map<string, number[]> {
  const model = new Map<string, Uint8Array>();
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const out = new Map<string, number[]>();
  const add = (i: number) => {
    const entries = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const fp = fingerprint(entries.map(([k, v]) => [unhex(k), v] as const));
    out.set(fp, [...(out.get(fp) ?? []), i]);
  };
  add(0);
  commits.forEach((ops, i) => {
    for (const [k, v] of ops) {
      if (v === null) model.delete(hex(k));
      else model.set(hex(k), v);
    }
    add(i + 1);
  });
  return out;
}

function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fingerprint(entries: Iterable<readonly [Uint8Array, Uint8Array]>): string {
  let a = 0;
  let b = 0x9e3779b9;
  let n = 0;
  const len = new Uint8Array(8);
  const view = new DataView(len.buffer);
  for (const [k, v] of entries) {
    view.setUint32(0, k.length, true);
    view.setUint32(4, v.length, true);
    for (const part of [len, k, v]) {
      a = crc32c(part, a);
      b = crc32c(part, b);
    }
    n++;
  }
  return `${n}:${a}:${b}`;
}

function storeFingerprint(store: KvStore): string {
  const entries: [Uint8Array, Uint8Array][] = [];
  for (const { key, value } of store.scan()) entries.push([key.slice(), value.slice()]);
  return fingerprint(entries);
}

export interface CrashRun {
  writes: number;
  crashed: boolean;
  acked: number;
  data: MemoryBlockFile;
  wal: MemoryBlockFile;
}

/** Runs the workload until the crash; commits are awaited one by one or in small groups. */
export async function runUntilCrash(commits: Op[][], faults: Faults): Promise<CrashRun> {
  const data = new MemoryBlockFile(faults);
  const wal = new MemoryBlockFile(faults);
  let acked = 0;
  try {
    const store = openDurableStore({ data, wal, ...OPTIONS });
    for (let c = 0; c < commits.length; ) {
      // Group commit: every 7th step commits three transactions in one tick.
      const group = c % 7 === 3 ? Math.min(3, commits.length - c) : 1;
      const pending: Promise<void>[] = [];
      for (let g = 0; g < group; g++, c++) {
        const tx = store.transaction();
        for (const [k, v] of commits[c]!) {
          if (v === null) tx.delete(k);
          else tx.put(k, v);
        }
        const index = c + 1;
        const done = tx.commit().then(() => void (acked = Math.max(acked, index)));
        done.catch(() => {}); // a crash rejects it; the loop sees the crash anyway
        pending.push(done);
      }
      await Promise.all(pending);
    }
    await store.close();
  } catch (e) {
    if (!faults.crashed) throw e;
  }
  return { writes: faults.writes, crashed: faults.crashed, acked, data, wal };
}

export async function verifyRecovery(run: CrashRun, prefixes: Map<string, number[]>, what: string, goOn = true): Promise<void> {
  const data = MemoryBlockFile.fromImage(run.data.crashImage());
  const wal = MemoryBlockFile.fromImage(run.wal.crashImage());
  let store: DurableStore;
  try {
    store = openDurableStore({ data, wal, ...OPTIONS });
  } catch (e) {
    throw new Error(`${what}: reopening failed: ${(e as Error).message}`);
  }
  try {
    store.checkIntegrity();
  } catch (e) {
    throw new Error(`${what}: integrity check failed: ${(e as Error).message}`);
  }
  const fp = storeFingerprint(store);
  const matches = prefixes.get(fp) ?? [];
  if (!matches.some((i) => i >= run.acked)) {
    throw new Error(`${what}: recovered state is ${matches.length ? `the state after commit ${matches.join('/')}` : 'no prefix of the commits'}, but ${run.acked} commits were acknowledged`);
  }
  if (!goOn) {
    await store.close();
    return;
  }
  // The recovered store goes on: a commit, a clean close, a reopen.
  const tx = store.transaction();
  tx.put(new TextEncoder().encode('after-recovery'), new Uint8Array([1, 2, 3]));
  await tx.commit();
  await store.close();
  const again = openDurableStore({
    data: MemoryBlockFile.fromImage(data.crashImage()),
    wal: MemoryBlockFile.fromImage(wal.crashImage()),
    ...OPTIONS,
  });
  again.checkIntegrity();
  expect(again.get(new TextEncoder().encode('after-recovery')), what).toEqual(new Uint8Array([1, 2, 3]));
  await again.close();
}

/** Runs `points` random crash points drawn from `seed`; throws on the first failure. */
export async function randomCrashPoints(seed: number, points: number, label: string): Promise<void> {
  const commits = workload(42);
  const prefixes = prefixFingerprints(commits);
  const rnd = mulberry32(seed);
  const total = (await runUntilCrash(commits, new Faults({ seed: 1 }))).writes;
  for (let p = 0; p < points; p++) {
    const pointSeed = Math.floor(rnd() * 2 ** 31);
    const n = 1 + Math.floor(rnd() * total);
    const sectorSize = SECTORS[Math.floor(rnd() * SECTORS.length)]!;
    const unflushed = FATES[Math.floor(rnd() * FATES.length)]!;
    const run = await runUntilCrash(commits, new Faults({ seed: pointSeed, crashAtWrite: n, sectorSize, unflushed }));
    const what = `${label} point ${p}: seed ${pointSeed}, crash at write ${n}/${total}, ${sectorSize} B, ${unflushed}`;
    await verifyRecovery(run, prefixes, what, p % 10 === 0);
  }
}
