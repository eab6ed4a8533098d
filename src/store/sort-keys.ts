/**
 * The order of a batch of keys by unsigned bytes (a shorter prefix first), stable: equal keys keep
 * the order they came in. Used by the durable store to put a run of writes into its B+tree in key
 * order (durable-store.ts, `applyWaiting`).
 *
 * A most-significant-digit radix sort: a bucket of keys (at first all of them) skips the bytes all
 * its keys share (the engine's keys share their table, kind and index prefix, and a batch's row
 * ids their time), is split by the first byte where they differ (a stable counting sort; keys that
 * end there come first), and each part is sorted the same way from the next byte; a part of up to
 * `SMALL` keys by insertion. A part already in order is left as it is: most of a bulk load's
 * streams append (the visible rows, the manifest, the system fields, each value of a column of few
 * values: runs of increasing row ids). Every key is looked at a few times, where a comparison sort
 * compares it ~log n times along its shared prefix. Measured on a 100k-row bulk load's 1.25M
 * writes in Node (32k keys a batch, timed alone): 0.37 µs a key, against 0.47 for a
 * least-significant-digit radix sort on the first 16 bytes (most keys tie there: a uint takes 3
 * bytes, an index key's prefix 12–14, a row id 17 of which 6 are its time) and ~0.9 for
 * `Array.prototype.sort` comparing the first 18 bytes as numbers; the in-order check then took
 * the first 20 batches from 0.25 to 0.19–0.22 µs a key (sorted again and again, warm). What
 * remains is reading each key's bytes from the WAL records, spread over megabytes, once per level.
 */

/** Parts of up to this many keys are sorted by insertion. */
const SMALL = 16;

/**
 * `n` keys: key `i` is `bufs[group[i]]` from `at[i]`, `len[i]` bytes long. Returns their indexes
 * in key order (equal keys by index).
 */
export function sortKeys(n: number, bufs: readonly Uint8Array[], group: Uint32Array, at: Uint32Array, len: Uint32Array): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (n < 2) return idx;
  const keyBuf: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) keyBuf[i] = bufs[group[i]!]!;
  /** Byte `d` of key `k`, or -1 past its end. */
  const byteAt = (k: number, d: number): number => (d < len[k]! ? keyBuf[k]![at[k]! + d]! : -1);
  const tmp = new Uint32Array(n);
  const count = new Uint32Array(258);
  const stack: number[] = [0, n, 0];
  while (stack.length > 0) {
    let d = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    if (end - start <= SMALL) {
      insertion(idx, start, end, d, keyBuf, at, len);
      continue;
    }
    // A part already in order (a run of keys appended in order: time-ordered row ids) is done:
    // each key against the one before it, from byte d, stopping at the first one out of order.
    if (inOrder(idx, start, end, d, keyBuf, at, len)) continue;
    // Skip the bytes every key of the part shares: the common prefix with its first key, key by key
    // (each key's bytes read in a row).
    const k0 = idx[start]!;
    const b0 = keyBuf[k0]!;
    const a0 = at[k0]!;
    let lcp = len[k0]!;
    for (let i = start + 1; i < end && lcp > d; i++) {
      const k = idx[i]!;
      const bk = keyBuf[k]!;
      const ak = at[k]!;
      const m = len[k]! < lcp ? len[k]! : lcp;
      let b = d;
      while (b < m && bk[ak + b] === b0[a0 + b]) b++;
      lcp = b;
    }
    d = lcp;
    // A counting sort on byte d, over the range of values present (count is all zeros between).
    let lo = 257;
    let hi = 0;
    for (let i = start; i < end; i++) {
      const c = byteAt(idx[i]!, d) + 2;
      count[c]!++;
      if (c < lo) lo = c;
      if (c > hi) hi = c;
    }
    if (lo === hi) {
      count[lo] = 0; // every key ends here: all equal (they cannot all share byte d: lcp)
      continue;
    }
    // count[c] becomes where the keys of value c - 2 start (c - 2 = -1: those that end here).
    let sum = 0;
    for (let c = lo; c <= hi; c++) {
      const x = count[c]!;
      count[c] = sum;
      sum += x;
    }
    for (let i = start; i < end; i++) {
      const k = idx[i]!;
      tmp[start + count[byteAt(k, d) + 2]!++] = k;
    }
    idx.set(tmp.subarray(start, end), start);
    // count[c] is now where they end. Keys that end at d are equal; each other value, from d + 1.
    let from = start + (lo === 1 ? count[1]! : 0);
    for (let c = lo === 1 ? 2 : lo; c <= hi; c++) {
      const to = start + count[c]!;
      if (to - from > 1) stack.push(from, to, d + 1);
      from = to;
    }
    for (let c = lo; c <= hi; c++) count[c] = 0;
  }
  return idx;
}

/** Sorts `idx[start, end)` by insertion, comparing keys from byte `d` (they agree before it). */
function insertion(idx: Uint32Array, start: number, end: number, d: number, keyBuf: Uint8Array[], at: Uint32Array, len: Uint32Array): void {
  for (let i = start + 1; i < end; i++) {
    const k = idx[i]!;
    let j = i;
    for (; j > start; j--) {
      const p = idx[j - 1]!;
      // Stable: a key moves left only past keys greater than it.
      if (compareFrom(p, k, d, keyBuf, at, len) <= 0) break;
      idx[j] = p;
    }
    idx[j] = k;
  }
}

/** Whether `idx[start, end)` is in key order already (keys compared from byte `d`; equal ones by index). */
function inOrder(idx: Uint32Array, start: number, end: number, d: number, keyBuf: Uint8Array[], at: Uint32Array, len: Uint32Array): boolean {
  let p = idx[start]!;
  for (let i = start + 1; i < end; i++) {
    const k = idx[i]!;
    const c = compareFrom(p, k, d, keyBuf, at, len);
    if (c > 0 || (c === 0 && p > k)) return false;
    p = k;
  }
  return true;
}

/** The sign of key `p` compared with key `k`, from byte `d` on (a key sorts after its prefixes). */
function compareFrom(p: number, k: number, d: number, keyBuf: Uint8Array[], at: Uint32Array, len: Uint32Array): number {
  const bp = keyBuf[p]!;
  const bk = keyBuf[k]!;
  const ap = at[p]!;
  const ak = at[k]!;
  const lp = len[p]!;
  const lk = len[k]!;
  const m = lp < lk ? lp : lk;
  let b = d;
  while (b < m && bp[ap + b] === bk[ak + b]) b++;
  return b < m ? bp[ap + b]! - bk[ak + b]! : lp - lk;
}
