import { describe, expect, it } from 'vitest';
import { MemoryBlockFile } from './blockfile.ts';
import { openDurableStore, type DurableStore } from './durable-store.ts';
import { runKvContract } from './testing/kv-contract.ts';
import { mulberry32 } from '../util/random.ts';
import type { KvStore } from './types.ts';

/** A store on memory files that a reopen finds again. */
function memoryFactory(pageSize?: number, extra: { cacheBytes?: number; checkpointWalBytes?: number; idleCheckpointMs?: number } = {}) {
  const files = new WeakMap<KvStore, { data: MemoryBlockFile; wal: MemoryBlockFile }>();
  const open = (data: MemoryBlockFile, wal: MemoryBlockFile): DurableStore => {
    const store = openDurableStore({ data, wal, pageSize, ...extra });
    files.set(store, { data, wal });
    return store;
  };
  return {
    open: () => open(new MemoryBlockFile(), new MemoryBlockFile()),
    reopen: async (store: KvStore) => {
      const f = files.get(store)!;
      await store.close();
      return open(MemoryBlockFile.fromImage(f.data.crashImage()), MemoryBlockFile.fromImage(f.wal.crashImage()));
    },
  };
}

const m4 = memoryFactory();
runKvContract('durable store, 4 KiB pages (the default), memory files', m4.open, m4.reopen);

const m16 = memoryFactory(16384);
runKvContract('durable store, 16 KiB pages, memory files', m16.open, m16.reopen);

const small = memoryFactory(16384, { cacheBytes: 16 * 16384, checkpointWalBytes: 64 * 1024 });
runKvContract('durable store, tiny cache and frequent checkpoints', small.open, small.reopen);

// Idle checkpoints whenever the contract's steps leave the event loop free, with evictions too.
const idle = memoryFactory(4096, { cacheBytes: 32 * 4096, idleCheckpointMs: 0 });
runKvContract('durable store, idle checkpoints at once', idle.open, idle.reopen);

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextTurn = () => new Promise((r) => setImmediate(r));

/** Commits `n` transactions of 500 new 100-byte entries each: a few hundred changed 4 KiB pages. */
async function load(store: DurableStore, n: number, tag = 'k'): Promise<void> {
  for (let t = 0; t < n; t++) {
    const tx = store.transaction();
    for (let i = 0; i < 500; i++) tx.put(enc.encode(`${tag}${t}-${i}`), new Uint8Array(100).fill(i & 0xff));
    await tx.commit();
  }
  // A read puts the committed writes into the tree (the store holds them back until one needs them).
  store.get(enc.encode(`${tag}0-0`));
}

function entries(store: DurableStore): number {
  let n = 0;
  for (const _ of store.scan()) n++;
  return n;
}

describe('durable store: committed writes held back from the tree', () => {
  it('keeps committed writes out of the tree until a read of one of their keys, a scan, a quiet moment or 32k of them (50 ms later, or at once past them already), and a crash meanwhile loses none', async () => {
    const data = new MemoryBlockFile();
    const wal = new MemoryBlockFile();
    const store = openDurableStore({ data, wal, idleCheckpointMs: Infinity });
    const model = new Map<string, number>(); // key → the transaction that wrote it last
    for (let t = 0; t < 10; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 1500; i++) {
        const k = `h${(i * 7919 + t * 13) % 3000}`;
        tx.put(enc.encode(k), new Uint8Array(40).fill(t));
        model.set(k, t);
      }
      await tx.commit();
    }
    expect(store.stats().dirtyPages).toBe(0); // nothing in the tree yet: the WAL holds it all
    const crashed = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: MemoryBlockFile.fromImage(wal.crashImage()), idleCheckpointMs: Infinity });
    const all = (s: DurableStore) => [...s.scan()].map((e) => [new TextDecoder().decode(e.key), e.value[0]]);
    const want = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(all(crashed)).toEqual(want);
    await crashed.close();
    expect(all(store)).toEqual(want);
    expect(store.stats().dirtyPages).toBeGreaterThan(0); // the read put them in
    // Without reads, the commit that brings the held writes past 32,768 puts them in: 50 ms later
    // (APPLY_BIG_AFTER_MS), after its WAL flush and its live queries' page, not 5 ms later as a
    // small commit's ... (The commits before it in one task: no timer runs in between.)
    const before = store.stats().dirtyPages;
    for (let t = 0; t < 30; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 1100; i++) tx.put(enc.encode(`g${t}-${i}`), new Uint8Array(8));
      const done = tx.commit();
      if (t === 29) await done;
      expect(store.stats().dirtyPages, `commit ${t + 1}`).toBe(before);
    }
    await sleep(15);
    expect(store.stats().dirtyPages).toBe(before);
    await sleep(50);
    expect(store.stats().dirtyPages).toBeGreaterThan(before);
    // ... and a commit when the writes held before it are past the limit, at once: commits in a
    // loop hold no more than the limit and one transaction.
    const before2 = store.stats().dirtyPages;
    for (let t = 0; t < 31; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 1100; i++) tx.put(enc.encode(`f${t}-${i}`), new Uint8Array(8));
      void tx.commit();
      expect(store.stats().dirtyPages, `commit ${t + 1}`)[t < 30 ? 'toBe' : 'toBeGreaterThan'](before2);
    }
    await store.flush();
    // A small transaction (a few rows') waits too. A point read of another key reads the tree as it
    // is and leaves it waiting; a read of one of its keys (a delete's too) puts it in.
    store.get(enc.encode('h0'));
    const quiet = store.stats().dirtyPages;
    const small = store.transaction();
    for (let i = 0; i < 50; i++) small.put(enc.encode(`s${i}`), new Uint8Array(3000).fill(i));
    small.delete(enc.encode('h2'));
    await small.commit();
    expect(store.stats().dirtyPages).toBe(quiet);
    expect(store.get(enc.encode('h1'))?.[0]).toBe(model.get('h1'));
    expect(store.get(enc.encode('nothing'))).toBeUndefined();
    expect(store.stats().dirtyPages).toBe(quiet);
    expect(store.get(enc.encode('h2'))).toBeUndefined();
    expect(store.stats().dirtyPages).toBeGreaterThan(quiet);
    expect(store.get(enc.encode('s7'))?.[0]).toBe(7);
    // ... and so does a quiet moment after the last commit.
    const quiet2 = store.stats().dirtyPages;
    const small2 = store.transaction();
    for (let i = 0; i < 50; i++) small2.put(enc.encode(`t${i}`), new Uint8Array(3000));
    await small2.commit();
    expect(store.stats().dirtyPages).toBe(quiet2);
    await sleep(50);
    expect(store.stats().dirtyPages).toBeGreaterThan(quiet2);
    // ... or the commit that brings their bytes past 8 MiB (large values: a file's parts).
    store.get(enc.encode('h0'));
    const settled = store.stats().dirtyPages;
    const tx = store.transaction();
    tx.put(enc.encode('big'), new Uint8Array(9 * 1024 * 1024).fill(7));
    await tx.commit();
    await sleep(60);
    expect(store.stats().dirtyPages).toBeGreaterThan(settled + 2000); // its overflow pages
    store.checkIntegrity();
    await store.close();
  });
});

describe('durable store: which point reads put waiting writes in', () => {
  it('past 4,096 waiting writes any point read does (their keys are no longer noted)', async () => {
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), idleCheckpointMs: Infinity });
    const tx = store.transaction();
    for (let i = 0; i < 5000; i++) tx.put(enc.encode(`b${i}`), new Uint8Array(8).fill(i & 0xff));
    await tx.commit();
    expect(store.stats().dirtyPages).toBe(0);
    expect(store.get(enc.encode('other'))).toBeUndefined();
    expect(store.stats().dirtyPages).toBeGreaterThan(0);
    expect(store.get(enc.encode('b4999'))?.[0]).toBe(4999 & 0xff);
    await store.close();
  });
});

describe('durable store: the idle checkpoint', () => {
  it('waits for the writes to stop, writes the changed pages back a slice at a time, then checkpoints; a crash after it replays no WAL', async () => {
    const data = new MemoryBlockFile();
    const wal = new MemoryBlockFile();
    // 150 ms: far more than the 10 ms between the commits below, even on a busy machine.
    const store = openDurableStore({ data, wal, idleCheckpointMs: 150 });
    await load(store, 20);
    const before = store.stats();
    expect(before.walBytes).toBeGreaterThan(0);
    expect(before.dirtyPages).toBeGreaterThan(64 * 2); // more than two slices
    // Commits more often than every 150 ms: no checkpoint, nothing written back.
    for (let k = 0; k < 6; k++) {
      await sleep(10);
      const tx = store.transaction();
      tx.put(enc.encode('tick'), new Uint8Array([k]));
      await tx.commit();
    }
    expect(store.stats().generation).toBe(before.generation);
    expect(store.stats().dirtyPages).toBeGreaterThanOrEqual(before.dirtyPages);
    // Quiet: the first slice is written, and the checkpoint has not run yet.
    while (store.stats().dirtyPages >= before.dirtyPages) await nextTurn();
    const mid = store.stats();
    expect(mid.dirtyPages).toBeGreaterThan(0);
    expect(mid.generation).toBe(before.generation);
    // A crash in the middle of the write-back loses nothing: the early pages are in slots no
    // superblock names, and the WAL still holds every commit.
    const crashed = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: MemoryBlockFile.fromImage(wal.crashImage()), idleCheckpointMs: Infinity });
    expect(entries(crashed)).toBe(10_001);
    crashed.checkIntegrity();
    await crashed.close();
    // Then the checkpoint: nothing dirty, the WAL starts over.
    const started = performance.now();
    while (store.stats().walBytes > 0) {
      expect(performance.now() - started, 'the idle checkpoint ran').toBeLessThan(5_000);
      await sleep(5);
    }
    const after = store.stats();
    expect(after.generation).toBe(before.generation + 1);
    expect(after.dirtyPages).toBe(0);
    store.checkIntegrity();
    // A crash now: the superblock alone holds everything, and the WAL file is empty.
    const walImage = wal.crashImage();
    const again = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: MemoryBlockFile.fromImage(walImage), idleCheckpointMs: Infinity });
    expect(again.stats().walBytes).toBe(0);
    expect(entries(again)).toBe(10_001);
    again.checkIntegrity();
    await again.close();
    await store.close();
  });

  it('a commit during the write-back postpones the checkpoint until the store is quiet again', async () => {
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), idleCheckpointMs: 40 });
    await load(store, 20);
    const before = store.stats();
    while (store.stats().dirtyPages >= before.dirtyPages) await nextTurn();
    const tx = store.transaction();
    tx.put(enc.encode('late'), new Uint8Array([1]));
    await tx.commit();
    const committed = performance.now();
    while (store.stats().generation === before.generation) await sleep(2);
    expect(performance.now() - committed).toBeGreaterThanOrEqual(35);
    expect(store.stats().dirtyPages).toBe(0);
    expect(store.get(enc.encode('late'))).toEqual(new Uint8Array([1]));
    await store.close();
  });

  it('never runs with Infinity, and refuses a value that is not a number of milliseconds', async () => {
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), idleCheckpointMs: Infinity });
    await load(store, 2);
    const before = store.stats();
    await sleep(700); // past the default
    expect(store.stats()).toEqual(before);
    await store.close();
    for (const bad of [-1, Number.NaN, '10', true]) {
      expect(() => openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), idleCheckpointMs: bad as number }), String(bad)).toThrow(
        expect.objectContaining({ code: 'OPTION_INVALID' }),
      );
    }
  });
});

describe('durable store', () => {
  it('passes its integrity check after many writes', async () => {
    const { open } = memoryFactory(1024, { cacheBytes: 32 * 1024, checkpointWalBytes: 8 * 1024 });
    const store = open();
    for (let t = 0; t < 50; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 50; i++) tx.put(new TextEncoder().encode(`k${(t * 37 + i * 11) % 997}`), new Uint8Array(i * 7));
      for (let i = 0; i < 10; i++) tx.delete(new TextEncoder().encode(`k${(t * 13 + i) % 997}`));
      await tx.commit();
      store.checkIntegrity();
    }
    await store.checkpoint();
    expect(store.checkIntegrity().entries).toBeGreaterThan(0);
  });
});

describe('durable store: put fingers', () => {
  // Default streams (a key's first 12 bytes: nearly every key its own) and streams the caller names
  // (the head before the counter, as the engine names an index value before the row id: runs that
  // append, their fingers hit, and other heads' keys split the same leaves).
  it.each([
    ['default streams', false],
    ['streams named by the caller', true],
  ])('keeps every key in order when the leaf a stream last put to is split by another stream (randomised, %s)', async (_, named) => {
    const seed = Number(process.env['JAZZ_SEED'] ?? Math.floor(Math.random() * 1e9));
    console.log(`finger seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const rand = mulberry32(seed);
    // 512-byte pages split every few puts, so a finger is often reused on a leaf another stream
    // has split since (its bounds then too wide).
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: 512, cacheBytes: 64 * 512, checkpointWalBytes: 16 * 1024 });
    const model = new Map<string, number>();
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
    for (let t = 0; t < 40; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 200; i++) {
        // Runs of neighbouring keys (a shared random head, a growing tail) among random ones.
        const head = hex(rand() < 0.5 ? 3 : 14);
        for (let r = 0, run = 1 + Math.floor(rand() * 4); r < run; r++) {
          const key = `${head}${String(i * 4 + r).padStart(5, '0')}`;
          const v = Math.floor(rand() * 1e6);
          tx.put(enc.encode(key), enc.encode(String(v)), named ? key.length - 5 : undefined);
          model.set(key, v);
        }
        if (rand() < 0.2 && model.size > 0) {
          const victim = [...model.keys()][Math.floor(rand() * model.size)]!;
          tx.delete(enc.encode(victim));
          model.delete(victim);
        }
      }
      await tx.commit();
    }
    store.checkIntegrity();
    const got = [...store.scan({})].map((e) => [new TextDecoder().decode(e.key), Number(new TextDecoder().decode(e.value))]);
    expect(got).toEqual([...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});

describe('durable store: estimate', () => {
  const enc = new TextEncoder();
  /** Keys `k<group>:<n>`: group g holds 10 × g entries, so ranges of every size exist. */
  function filled(data = new MemoryBlockFile()): { store: DurableStore; groups: number[] } {
    const store = openDurableStore({ data, wal: new MemoryBlockFile(), pageSize: 1024 });
    const groups: number[] = [];
    const tx = store.transaction();
    for (let g = 0; g < 60; g++) {
      groups.push(10 * g);
      for (let n = 0; n < 10 * g; n++) tx.put(enc.encode(`k${String(g).padStart(3, '0')}:${String(n).padStart(5, '0')}`), enc.encode('v'.repeat(n % 7)));
    }
    void tx.commit();
    return { store, groups };
  }
  const group = (g: number) => ({ gte: enc.encode(`k${String(g).padStart(3, '0')}:`), lt: enc.encode(`k${String(g).padStart(3, '0')};`) });
  const scanned = (store: KvStore, r: object) => [...store.scan(r)].length;

  it('is exact for a range of a page or two, and close beyond, without reading every page', () => {
    const { store, groups } = filled();
    for (const [g, size] of groups.entries()) {
      const r = group(g);
      const est = store.estimate!(r);
      expect(scanned(store, r)).toBe(size);
      // A 1 KiB page holds ~40 of these entries: up to two pages' worth is counted exactly.
      if (size <= 40) expect(est, `group ${g}`).toBe(size);
      else expect(Math.abs(est - size) / size, `group ${g}: ${est} for ${size}`).toBeLessThan(0.5);
    }
    // Empty ranges, the whole tree, and a range to its end.
    expect(store.estimate!({ gte: enc.encode('a'), lt: enc.encode('b') })).toBe(0);
    expect(store.estimate!({ gt: enc.encode('z') })).toBe(0);
    expect(store.estimate!({ gte: enc.encode('k059;'), lt: enc.encode('k059:') })).toBe(0);
    const all = scanned(store, {});
    expect(Math.abs(store.estimate!({}) - all) / all, `${store.estimate!({})} for ${all}`).toBeLessThan(0.5);
    const tail = scanned(store, { gte: enc.encode('k050') });
    expect(Math.abs(store.estimate!({ gte: enc.encode('k050') }) - tail) / tail).toBeLessThan(0.5);
  });

  it('counts the leaves inside a range at their own fill, not at its end leaves', async () => {
    // An index of a few values whose entries come in row id order, a batch of rows at a time (a
    // bulk load): each value's run grows at its end, and the splits there leave the leaves at the
    // runs' ends nearly empty while those inside are full.
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: 1024 });
    const key = (g: number, n: number) => enc.encode(`v${g}:${String(n).padStart(6, '0')}`);
    for (let batch = 0; batch < 40; batch++) {
      const tx = store.transaction();
      for (let n = batch * 100; n < (batch + 1) * 100; n++) for (let g = 0; g < 5; g++) tx.put(key(g, n), new Uint8Array(0));
      await tx.commit();
      // A read puts the batch into the tree now, as the next batch's reads would.
      expect(scanned(store, { gte: key(0, 0), lte: key(0, 0) })).toBe(1);
    }
    for (let g = 0; g < 5; g++) {
      const r = { gte: enc.encode(`v${g}:`), lt: enc.encode(`v${g};`) };
      const est = store.estimate!(r);
      expect(scanned(store, r)).toBe(4000);
      expect(Math.abs(est - 4000) / 4000, `value ${g}: ${est} for 4000`).toBeLessThan(0.5);
    }
    await store.close();
  });

  it('reads a few pages where a count reads them all', async () => {
    const data = new MemoryBlockFile();
    const { store } = filled(data);
    await store.close();
    const again = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: new MemoryBlockFile() });
    const r = { gte: enc.encode('k010'), lt: enc.encode('k050') };
    const est = again.estimate!(r);
    const cachedByEstimate = again.stats().cachedPages;
    const n = scanned(again, r);
    expect(Math.abs(est - n) / n).toBeLessThan(0.5);
    expect(cachedByEstimate).toBeLessThan(10);
    expect(again.stats().cachedPages).toBeGreaterThan(150);
    await again.close();
  });
});
