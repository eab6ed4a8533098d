/**
 * The order of a batch of keys by unsigned bytes (a shorter prefix first), stable: equal keys keep
 * the order they came in. Used by the durable store to put a run of writes into its B+tree in key
 * order (durable-store.ts, `applyWaiting`).
 *
 * A least-significant-digit radix sort on the first `HEAD` bytes (one pass per byte, skipped when
 * every key has the same byte there: the engine's keys share their table, kind and index prefix),
 * then each run of keys equal in those bytes sorted by the rest with a comparison. Keys of a write
 * batch differ early (index values, row ids), so the comparison sort sees short runs, mostly of one
 * index value's row ids, which arrive in order. Measured on a 100k-row bulk load's 1.2M writes in
 * Node: ~0.15 µs a key, against ~0.9 µs for `Array.prototype.sort` comparing the keys' first 18
 * bytes as numbers before the rest.
 */

/** Bytes sorted by radix passes; the rest by comparison within runs equal so far. */
const HEAD = 16;
/** Up to this many keys (a single-row write's), an insertion sort: no tables to set up. */
const SMALL = 48;

/**
 * `n` keys: key `i` is `bufs[group[i]]` from `at[i]`, `len[i]` bytes long. Returns their indexes
 * in key order (equal keys by index).
 */
export function sortKeys(n: number, bufs: readonly Uint8Array[], group: Uint32Array, at: Uint32Array, len: Uint32Array): Uint32Array {
  if (n <= SMALL) return insertionSort(n, bufs, group, at, len);
  // Each key's first HEAD bytes, 0 past its end (keys that differ only there, like "ab" and
  // "ab\0", differ in length, and runs of such keys are sorted by comparison below).
  const digits = new Uint8Array(HEAD * n);
  for (let i = 0; i < n; i++) {
    const buf = bufs[group[i]!]!;
    const a = at[i]!;
    const l = len[i]! < HEAD ? len[i]! : HEAD;
    const o = i * HEAD;
    for (let b = 0; b < l; b++) digits[o + b] = buf[a + b]!;
  }
  let idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(257);
  for (let p = HEAD - 1; p >= 0; p--) {
    count.fill(0);
    const first = digits[p]!;
    let same = true;
    for (let i = 0; i < n; i++) {
      const d = digits[i * HEAD + p]!;
      if (d !== first) same = false;
      count[d + 1]!++;
    }
    if (same) continue;
    for (let d = 1; d < 257; d++) count[d]! += count[d - 1]!;
    for (let i = 0; i < n; i++) {
      const k = idx[i]!;
      tmp[count[digits[k * HEAD + p]!]!++] = k;
    }
    const t = idx;
    idx = tmp;
    tmp = t;
  }
  // Runs equal in their first HEAD bytes, when their keys differ in length or go on: by the rest.
  const rest = (x: number, y: number): number => {
    const bx = bufs[group[x]!]!;
    const by = bufs[group[y]!]!;
    const ax = at[x]!;
    const ay = at[y]!;
    const lx = len[x]!;
    const ly = len[y]!;
    const m = lx < ly ? lx : ly;
    for (let b = m < HEAD ? m : HEAD; b < m; b++) {
      const c = bx[ax + b]! - by[ay + b]!;
      if (c !== 0) return c;
    }
    return lx - ly || x - y;
  };
  for (let s = 0; s < n; ) {
    const k = idx[s]!;
    let e = s + 1;
    let long = len[k]! > HEAD;
    for (; e < n; e++) {
      const j = idx[e]!;
      let b = 0;
      while (b < HEAD && digits[k * HEAD + b] === digits[j * HEAD + b]) b++;
      if (b < HEAD) break;
      if (len[j]! > HEAD || len[j] !== len[k]) long = true;
    }
    if (long && e - s > 1) {
      const run = Array.from(idx.subarray(s, e));
      run.sort(rest);
      idx.set(run, s);
    }
    s = e;
  }
  return idx;
}

function insertionSort(n: number, bufs: readonly Uint8Array[], group: Uint32Array, at: Uint32Array, len: Uint32Array): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let j = i;
    // Stable: a key moves left only past keys greater than it.
    while (j > 0 && compare(bufs[group[idx[j - 1]!]!]!, at[idx[j - 1]!]!, len[idx[j - 1]!]!, bufs[group[i]!]!, at[i]!, len[i]!) > 0) {
      idx[j] = idx[j - 1]!;
      j--;
    }
    idx[j] = i;
  }
  return idx;
}

function compare(x: Uint8Array, ax: number, lx: number, y: Uint8Array, ay: number, ly: number): number {
  const m = lx < ly ? lx : ly;
  for (let b = 0; b < m; b++) {
    const c = x[ax + b]! - y[ay + b]!;
    if (c !== 0) return c;
  }
  return lx - ly;
}
