import { describe, expect, it } from 'vitest';
import { createMemoryStore, memoryStoreStats, verifyMemoryStore } from './memory.ts';
import { runKvContract } from './testing/kv-contract.ts';
import { compareBytes, type KvStore } from './types.ts';
import { mulberry32 as prng } from '../util/random.ts';

runKvContract('memory', () => createMemoryStore());
// Tiny nodes make every test above build deep trees, split and merge constantly.
runKvContract('memory with tiny nodes', () => createMemoryStore({ leafBytes: 64, leafEntries: 4, innerChildren: 4 }));

describe('memory store', () => {
  it('is not persistent', () => {
    expect(createMemoryStore().persistent).toBe(false);
  });

  it('throws on writes through a finished transaction', async () => {
    const store = createMemoryStore();
    const committed = store.transaction();
    committed.put(bytes(1), bytes(1));
    await committed.commit();
    expect(() => committed.put(bytes(2), bytes(2))).toThrow(/ended/);
    expect(() => committed.delete(bytes(1))).toThrow(/ended/);
    expect(() => committed.commit()).toThrow(/ended/);
    const rolled = store.transaction();
    rolled.rollback();
    expect(() => rolled.put(bytes(3), bytes(3))).toThrow(/ended/);
    expect(() => rolled.rollback()).toThrow(/ended/);
    expect([...store.scan()].map((e) => [...e.key])).toEqual([[1]]);
  });

  it('commit returns an already resolved promise', async () => {
    const store = createMemoryStore();
    const tx = store.transaction();
    tx.put(bytes(1), bytes(1));
    let resolved = false;
    void tx.commit().then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(true);
  });

  it('keeps its invariants through random writes, merges and rollbacks', async () => {
    for (const options of [{ leafBytes: 64, leafEntries: 4, innerChildren: 4 }, { leafBytes: 256, leafEntries: 8, innerChildren: 5 }, {}]) {
      const store = createMemoryStore(options);
      const rnd = prng(99);
      const model = new Map<number, number>();
      for (let round = 0; round < 40; round++) {
        const tx = store.transaction();
        const before = new Map(model);
        const ops = 50 + Math.floor(rnd() * 400);
        for (let i = 0; i < ops; i++) {
          const k = Math.floor(rnd() * 3000);
          // Deletes dominate in some rounds so the tree shrinks and merges.
          if (rnd() < (round % 3 === 2 ? 0.8 : 0.35)) {
            tx.delete(numKey(k));
            model.delete(k);
          } else {
            const v = Math.floor(rnd() * 1000);
            tx.put(numKey(k), new Uint8Array(v % 40).fill(v & 0xff));
            model.set(k, v);
          }
        }
        verifyMemoryStore(store);
        if (rnd() < 0.3) {
          tx.rollback();
          model.clear();
          for (const [k, v] of before) model.set(k, v);
        } else {
          await tx.commit();
        }
        verifyMemoryStore(store);
        const summary = (k: number, value: Uint8Array): string => `${k}:${value.length}:${value[0] ?? '-'}`;
        const expected = [...model].sort((a, b) => a[0] - b[0]).map(([k, v]) => summary(k, new Uint8Array(v % 40).fill(v & 0xff)));
        expect([...store.scan()].map((e) => summary(unNumKey(e.key), e.value))).toEqual(expected);
        const gets: string[] = [];
        for (const k of model.keys()) gets.push(summary(k, store.get(numKey(k))!));
        expect(gets.sort(byNumber)).toEqual(expected);
      }
      // Emptying the store collapses the tree back to one leaf.
      const tx = store.transaction();
      for (const k of model.keys()) tx.delete(numKey(k));
      await tx.commit();
      verifyMemoryStore(store);
      expect([...store.scan()]).toEqual([]);
    }
  });

  it('copes with entries larger than a leaf', async () => {
    const store = createMemoryStore({ leafBytes: 1024, leafEntries: 16, innerChildren: 4 });
    const tx = store.transaction();
    for (let i = 0; i < 200; i++) {
      const size = i % 7 === 0 ? 5000 : 10;
      tx.put(numKey((i * 7919) % 200), new Uint8Array(size).fill(i));
    }
    verifyMemoryStore(store);
    for (let i = 0; i < 200; i += 3) tx.put(numKey(i), new Uint8Array(i % 2 ? 3000 : 0));
    verifyMemoryStore(store);
    await tx.commit();
    const keys = [...store.scan()].map((e) => unNumKey(e.key));
    expect(keys).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('holds 300k keys inserted in random order', async () => {
    const store = createMemoryStore();
    const count = 300_000;
    const rnd = prng(4242);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      // A shared table prefix and a random 16-byte id, like the engine's keys.
      const key = new Uint8Array(24);
      key.set([0x01, 0x74, 0x61, 0x73, 0x6b, 0x00, 0x68, 0x00]);
      for (let j = 8; j < 24; j++) key[j] = Math.floor(rnd() * 256);
      keys.push(key);
    }
    const started = performance.now();
    for (let b = 0; b < count; b += 10_000) {
      const tx = store.transaction();
      for (let i = b; i < b + 10_000; i++) tx.put(keys[i]!, valueFor(i));
      await tx.commit();
    }
    const loaded = performance.now();
    verifyMemoryStore(store);

    const sorted = keys.map((k, i) => ({ k, i })).sort((a, b) => compareBytes(a.k, b.k));
    let n = 0;
    for (const { key, value } of store.scan()) {
      const want = sorted[n]!;
      if (compareBytes(key, want.k) !== 0 || value[0] !== (want.i & 0xff) || value.length !== 20 + (want.i % 80)) {
        throw new Error(`forward scan mismatch at ${n}`);
      }
      n++;
    }
    expect(n).toBe(count);
    n = count;
    for (const { key } of store.scan({ reverse: true })) {
      n--;
      if (compareBytes(key, sorted[n]!.k) !== 0) throw new Error(`reverse scan mismatch at ${n}`);
    }
    expect(n).toBe(0);
    for (let i = 0; i < count; i += 997) expect(store.get(keys[i]!)).toEqual(valueFor(i));
    const missing = keys[5]!.slice();
    missing[23] ^= 0xff;
    expect(store.get(missing)).toBeUndefined();

    // A range in the middle, both ways.
    const lo = sorted[100_000]!.k;
    const hi = sorted[100_500]!.k;
    expect(countOf(store, { gte: lo, lt: hi })).toBe(500);
    expect(countOf(store, { gt: lo, lte: hi, reverse: true })).toBe(500);

    // Delete two thirds in random order and check the rest.
    const tx = store.transaction();
    for (let i = 0; i < count; i++) if (i % 3 !== 0) tx.delete(keys[i]!);
    await tx.commit();
    verifyMemoryStore(store);
    expect(countOf(store, {})).toBe(count / 3);
    for (let i = 0; i < count; i += 1001) expect(store.get(keys[i]!) !== undefined).toBe(i % 3 === 0);
    console.log(`300k random inserts: ${(loaded - started).toFixed(0)} ms`);
  });

  it('loads sequential keys and rolls a large transaction back', () => {
    const store = createMemoryStore();
    const tx = store.transaction();
    for (let i = 0; i < 100_000; i++) tx.put(numKey(i), valueFor(i));
    verifyMemoryStore(store);
    expect(countOf(store, {})).toBe(100_000);
    tx.rollback();
    verifyMemoryStore(store);
    expect(countOf(store, {})).toBe(0);
  });
});

function byNumber(a: string, b: string): number {
  return parseInt(a, 10) - parseInt(b, 10);
}

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

function numKey(n: number): Uint8Array {
  return new Uint8Array([0x6b, n >>> 16, (n >>> 8) & 0xff, n & 0xff]);
}

function unNumKey(key: Uint8Array): number {
  return (key[1]! << 16) | (key[2]! << 8) | key[3]!;
}

function valueFor(i: number): Uint8Array {
  return new Uint8Array(20 + (i % 80)).fill(i & 0xff);
}

function countOf(store: KvStore, range: Parameters<KvStore['scan']>[0]): number {
  let n = 0;
  for (const _ of store.scan(range)) n++;
  return n;
}

describe('memory store layout', () => {
  it('fills leaves when keys arrive in order', () => {
    const store = createMemoryStore();
    const tx = store.transaction();
    for (let i = 0; i < 100_000; i++) tx.put(numKey(i), valueFor(i));
    const stats = memoryStoreStats(store);
    expect(stats.entries).toBe(100_000);
    // Appends split off only the new entry, so leaves stay nearly full (16 KiB by default).
    expect(stats.bytesUsed / stats.leaves).toBeGreaterThan(0.9 * 16384);
    // Entries here average 64 bytes, so the 12 bytes of positions and head per entry weigh in.
    expect(stats.bytesAllocated / stats.bytesUsed).toBeLessThan(1.35);
    tx.rollback();
  });
});
