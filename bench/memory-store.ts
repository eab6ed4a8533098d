/**
 * Benchmark of the in-memory KvStore at a few million keys.
 *
 *   npx tsx --expose-gc bench/memory-store.ts [counts...]      (default: 1000000 5000000)
 *   LEAF_BYTES=16384 LEAF_ENTRIES=512 INNER=128 npx tsx --expose-gc bench/memory-store.ts 1000000
 *
 * Keys look like the engine's: an 8-byte table prefix, a 16-byte row id and a 16-byte version id
 * (40 bytes); values are 60–140 bytes. Keys are derived from their index by a hash, so the benchmark
 * keeps no copy of them and the memory figures are the store's own.
 */
import { createMemoryStore, type MemoryStoreOptions } from '../src/store/memory.ts';
import type { KvStore } from '../src/store/types.ts';

const KEY_BYTES = 40;
const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const options: MemoryStoreOptions = {
  ...(process.env.LEAF_BYTES ? { leafBytes: Number(process.env.LEAF_BYTES) } : {}),
  ...(process.env.LEAF_ENTRIES ? { leafEntries: Number(process.env.LEAF_ENTRIES) } : {}),
  ...(process.env.INNER ? { innerChildren: Number(process.env.INNER) } : {}),
};
const gc = (globalThis as { gc?: () => void }).gc;

function hash(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Writes key number `i` into `out` (40 bytes). */
function keyInto(i: number, out: Uint8Array): Uint8Array {
  out.set([0x01, 0x74, 0x61, 0x73, 0x6b, 0x73, 0x00, 0x68]); // (tasks, 'h')
  let h = hash(i + 0x9e3779b9);
  for (let j = 8; j < KEY_BYTES; j++) {
    if ((j & 3) === 0) h = hash(h + j);
    out[j] = h & 0xff;
    h >>>= 8;
  }
  return out;
}

const valueBuf = new Uint8Array(140);
function valueFor(i: number): Uint8Array {
  const len = 60 + (hash(i) % 81);
  valueBuf.fill(i & 0xff, 0, len);
  return valueBuf.subarray(0, len);
}

function percentile(samples: Float64Array, p: number): number {
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function us(ms: number): string {
  return `${(ms * 1000).toFixed(2)} µs`;
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function memory(): { heap: number; buffers: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

function load(store: KvStore, from: number, to: number): void {
  const key = new Uint8Array(KEY_BYTES);
  for (let b = from; b < to; b += 1000) {
    const tx = store.transaction();
    const end = Math.min(to, b + 1000);
    for (let i = b; i < end; i++) tx.put(keyInto(i, key), valueFor(i));
    void tx.commit();
  }
}

function run(count: number): void {
  console.log(`\n== ${count.toLocaleString('en')} keys ${JSON.stringify(options)}`);
  const base = memory();
  const store = createMemoryStore(options);
  let raw = 0;
  for (let i = 0; i < count; i++) raw += KEY_BYTES + valueFor(i).length;

  let t = performance.now();
  load(store, 0, count);
  const loadMs = performance.now() - t;
  console.log(`load: ${(loadMs / 1000).toFixed(2)} s, ${us(loadMs / count)} per put (transactions of 1000)`);

  const after = memory();
  const heap = after.heap - base.heap;
  const buffers = after.buffers - base.buffers;
  console.log(`memory: raw ${mb(raw)}; heap +${mb(heap)}, arrayBuffers +${mb(buffers)}, ` + `total ${((heap + buffers) / raw).toFixed(2)}× raw (${((heap + buffers) / count).toFixed(0)} B/key)`);

  const samples = 200_000;
  const key = new Uint8Array(KEY_BYTES);
  const times = new Float64Array(samples);
  let found = 0;
  for (let s = 0; s < samples; s++) {
    const i = hash(s * 7 + 1) % count;
    keyInto(i, key);
    const t0 = performance.now();
    const v = store.get(key);
    times[s] = performance.now() - t0;
    if (v !== undefined) found++;
  }
  if (found !== samples) throw new Error(`get found ${found} of ${samples}`);
  console.log(`get (hit): p50 ${us(percentile(times, 0.5))}, p95 ${us(percentile(times, 0.95))}`);
  for (let s = 0; s < samples; s++) {
    keyInto(count + s, key);
    const t0 = performance.now();
    store.get(key);
    times[s] = performance.now() - t0;
  }
  console.log(`get (miss): p50 ${us(percentile(times, 0.5))}, p95 ${us(percentile(times, 0.95))}`);

  // New keys, timed one by one inside transactions of 1000.
  let tx = store.transaction();
  for (let s = 0; s < samples; s++) {
    if (s % 1000 === 999) {
      void tx.commit();
      tx = store.transaction();
    }
    keyInto(count + s, key);
    const value = valueFor(count + s);
    const t0 = performance.now();
    tx.put(key, value);
    times[s] = performance.now() - t0;
  }
  void tx.commit();
  console.log(`put (insert): p50 ${us(percentile(times, 0.5))}, p95 ${us(percentile(times, 0.95))}`);
  tx = store.transaction();
  for (let s = 0; s < samples; s++) {
    if (s % 1000 === 999) {
      void tx.commit();
      tx = store.transaction();
    }
    const i = hash(s * 13 + 5) % count;
    keyInto(i, key);
    const value = valueFor(i + 1);
    const t0 = performance.now();
    tx.put(key, value);
    times[s] = performance.now() - t0;
  }
  void tx.commit();
  console.log(`put (overwrite): p50 ${us(percentile(times, 0.5))}, p95 ${us(percentile(times, 0.95))}`);

  // Single-put transactions end to end.
  t = performance.now();
  for (let s = 0; s < samples; s++) {
    const one = store.transaction();
    one.put(keyInto(count + samples + s, key), valueFor(s));
    void one.commit();
  }
  console.log(`transaction with one put: ${us((performance.now() - t) / samples)} mean`);

  t = performance.now();
  let n = 0;
  let bytes = 0;
  for (const entry of store.scan()) {
    n++;
    bytes += entry.key.length + entry.value.length;
  }
  let ms = performance.now() - t;
  console.log(`full scan: ${(((n / ms) * 1000) / 1e6).toFixed(1)} M entries/s, ${(((bytes / ms) * 1000) / 2 ** 20).toFixed(0)} MiB/s`);
  t = performance.now();
  n = 0;
  for (const _ of store.scan({ reverse: true })) n++;
  ms = performance.now() - t;
  console.log(`full reverse scan: ${(((n / ms) * 1000) / 1e6).toFixed(1)} M entries/s`);

  // Short range scans: seek then 100 entries.
  const ranges = 20_000;
  t = performance.now();
  for (let s = 0; s < ranges; s++) {
    keyInto(hash(s + 99) % count, key);
    let k = 0;
    for (const _ of store.scan({ gte: key })) if (++k === 100) break;
  }
  ms = performance.now() - t;
  console.log(`seek + 100 entries: ${us(ms / ranges)} per scan`);
  void store.close();
}

for (const count of counts.length > 0 ? counts : [1_000_000, 5_000_000]) run(count);
if (!gc) console.log('\n(run with `npx tsx --expose-gc` for exact memory figures)');
