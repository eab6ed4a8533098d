/**
 * A copy-on-write B+tree over the pager's pages.
 *
 * - Leaves hold sorted (key, value) cells; branches hold separator keys and child page numbers:
 *   child i holds the keys k with keys[i-1] <= k < keys[i]. All leaves are at the same depth; there
 *   are no sibling links (a sibling link would force every copy to ripple sideways), so cursors
 *   keep a root-to-leaf stack.
 * - A leaf in memory is its page image (`Leaf`): a slot array and cells, searched and changed in
 *   place, with no object per key. Loading one is a checksum and a bounds check (no decoding),
 *   writing one a copy. Cell bytes never change once written (replaced and moved cells become
 *   garbage until the page is compacted into a new buffer), so the key and value views that reads
 *   return stay valid. Branches, few and small, stay decoded (arrays of keys and children).
 * - Copy-on-write: a page that is not fresh (a durable superblock may reach it) is never changed in
 *   place. The first change after a checkpoint copies the path from the root to a newly allocated
 *   page each and frees the old ones (see pager.ts for when freed pages come back).
 * - Keys and values are variable-length byte strings. A cell is at most a third of the page, so a
 *   split always yields two pages that fit and a branch has at least three children. A value that
 *   would make its cell larger, or is larger than a quarter page, lives in a chain of overflow
 *   pages and the cell keeps (head page, length).
 * - Separators are suffix-truncated (the shortest prefix of the right key that still sorts above
 *   the left one). A leaf split by a sequential insert (at the end of the page, or right after the
 *   previous insert into it) splits at the new key instead of the middle, so runs of increasing
 *   keys fill pages completely, also when several runs grow side by side in different parts of the
 *   tree (the engine's history, visible rows and index groups, each keyed by time-ordered ids).
 * - Puts come in interleaved streams (`put`'s `stream`: the caller says how many leading bytes name
 *   one, default 12); each remembers its last leaf and skips the descent when the next key falls
 *   in the same leaf (`Finger`).
 * - Deletes merge a page that falls under a quarter full into a neighbour when both fit in one.
 *
 * Page layouts (after the 16-byte header: crc, type, count, a, b):
 *   leaf:     a = b = 0; u16 cell offsets (one per entry, in key order) from byte 16, cells packed
 *             at the end of the page: [u16 key length][u32 value length | 0x8000_0000 if overflow]
 *             [key][value | u32 head]; unused and garbage bytes in between
 *   branch:   a = child 0; cells [u16 key length][u32 child][key]
 *   overflow: a = next page (0 at the end), b = bytes in this page; data
 */
import type { JazzError } from '../util/errors.ts';
import { assert } from '../util/assert.ts';
import { compareBytes } from './types.ts';
import { PAGE_HEADER, PageType, corrupt, type CachedPage, type Pager } from './pager.ts';

/** A value stored out of line. */
export interface Overflow {
  readonly head: number;
  readonly length: number;
}

/** A value as a leaf holds it: the bytes, or where the bytes are. */
export type StoredValue = Uint8Array | Overflow;

const OVERFLOW_FLAG = 0x8000_0000;

export function isOverflow(v: StoredValue): v is Overflow {
  return !(v instanceof Uint8Array);
}

/** Leaf cell cost in a page: u16 slot + u16 key length + u32 value length word. */
const LEAF_OVERHEAD = 8;
/** Branch cell cost: u16 key length + u32 child. */
const BRANCH_OVERHEAD = 6;

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = v >>> 8;
}

function setU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

/** Bytes of the cell at `off` (without its slot). */
function cellBytes(b: Uint8Array, off: number): number {
  const w = u32(b, off + 2);
  return 6 + u16(b, off) + (w & OVERFLOW_FLAG ? 4 : w);
}

/**
 * A leaf held as its page image: a slot array of u16 cell offsets after the header, growing up,
 * and the cells packed at the end of the page, growing down. Cell bytes are never changed once
 * written (a replaced or deleted cell becomes garbage; compacting, splitting and merging build a
 * new buffer), so the key and value views it hands out stay valid for as long as anyone holds
 * them; only the slot array and the header change in place.
 */
export class Leaf implements CachedPage {
  id: number;
  dirty = false;
  ref = false;
  buf: Uint8Array;
  /** Number of cells. */
  n: number;
  /** Offset of the lowest cell: [16 + 2n, top) is free. */
  top: number;
  /** What the live cells need: PAGE_HEADER + Σ (slot + cell). */
  bytes: number;
  /** Index of the last insert (in memory only): the next one right after it looks sequential. */
  lastInsert = -1;
  /** Length of the prefix every key here shares (that of the first and last), -1 until computed. */
  pfx = -1;
  /**
   * Bumped whenever this page gives up part of its key range (a split keeps the left part in the
   * same object): a finger taken before then may hold bounds wider than the page's (see `put`).
   */
  gen = 0;

  constructor(id: number, buf: Uint8Array, n: number, top: number, bytes: number) {
    this.id = id;
    this.buf = buf;
    this.n = n;
    this.top = top;
    this.bytes = bytes;
  }

  static empty(id: number, pageSize: number): Leaf {
    return new Leaf(id, new Uint8Array(pageSize), 0, pageSize, PAGE_HEADER);
  }

  clone(id: number): Leaf {
    const copy = new Leaf(id, this.buf.slice(), this.n, this.top, this.bytes);
    copy.lastInsert = this.lastInsert;
    copy.pfx = this.pfx;
    return copy;
  }

  #off(i: number): number {
    return u16(this.buf, PAGE_HEADER + 2 * i);
  }

  keyAt(i: number): Uint8Array {
    const off = this.#off(i);
    return this.buf.subarray(off + 6, off + 6 + u16(this.buf, off));
  }

  valAt(i: number): StoredValue {
    const b = this.buf;
    const off = this.#off(i);
    const at = off + 6 + u16(b, off);
    const w = u32(b, off + 2);
    if (w & OVERFLOW_FLAG) return { head: u32(b, at), length: w & 0x7fff_ffff };
    return b.subarray(at, at + w);
  }

  /** The page bytes cell i costs (slot included). */
  sizeAt(i: number): number {
    return 2 + cellBytes(this.buf, this.#off(i));
  }

  /** Whether cell i holds exactly `key`. */
  equalsAt(i: number, key: Uint8Array): boolean {
    const b = this.buf;
    const off = this.#off(i);
    const kl = u16(b, off);
    if (kl !== key.length) return false;
    const base = off + 6;
    for (let j = kl - 1; j >= 0; j--) if (b[base + j] !== key[j]) return false;
    return true;
  }

  /** The sign of `key` compared with the key of cell i. */
  compareAt(i: number, key: Uint8Array): number {
    const b = this.buf;
    const off = this.#off(i);
    const kl = u16(b, off);
    const base = off + 6;
    const n = kl < key.length ? kl : key.length;
    for (let j = 0; j < n; j++) {
      const d = key[j]! - b[base + j]!;
      if (d !== 0) return d;
    }
    return key.length - kl;
  }

  /**
   * Where `key` goes (`search(key, false)`), trying first right after the last insert: a stream of
   * increasing keys (time-ordered row ids) lands there each time, found with two comparisons.
   */
  place(key: Uint8Array): number {
    const i = this.lastInsert + 1;
    if (i > 0 && i <= this.n && this.compareAt(i - 1, key) > 0 && (i === this.n || this.compareAt(i, key) <= 0)) return i;
    return this.search(key, false);
  }

  /** The first index whose key is >= `key` (`strict`: > key); see `search`. */
  search(key: Uint8Array, strict: boolean): number {
    const b = this.buf;
    const count = this.n;
    if (count === 0) return 0;
    const kl = key.length;
    // Every key here shares the first `p` bytes; compare those once. A key that differs in them
    // sorts before or after the whole page; otherwise every probe below starts after them.
    const first = this.#off(0);
    let p = this.pfx;
    if (p < 0) {
      const last = this.#off(count - 1);
      const fl = u16(b, first);
      const ll = u16(b, last);
      const n = fl < ll ? fl : ll;
      p = 0;
      while (p < n && b[first + 6 + p] === b[last + 6 + p]) p++;
      this.pfx = p;
    }
    const m = p < kl ? p : kl;
    let d = 0;
    while (d < m && b[first + 6 + d] === key[d]) d++;
    if (d < p) return d === kl || key[d]! < b[first + 6 + d]! ? 0 : count;
    let lo = 0;
    let hi = count;
    let lcpLo = p;
    let lcpHi = p;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = PAGE_HEADER + 2 * mid;
      const off = b[s]! | (b[s + 1]! << 8);
      const ml = b[off]! | (b[off + 1]! << 8);
      const base = off + 6;
      const n = ml < kl ? ml : kl;
      let i = lcpLo < lcpHi ? lcpLo : lcpHi;
      while (i < n && b[base + i] === key[i]) i++;
      const c = i < n ? b[base + i]! - key[i]! : ml - kl;
      if (c < 0 || (strict && c === 0)) {
        lo = mid + 1;
        lcpLo = i;
      } else {
        hi = mid;
        lcpHi = i;
      }
    }
    return lo;
  }

  /** Writes a cell below `top` (compacting first when the gap is short); returns its offset. */
  #writeCell(key: Uint8Array, value: StoredValue, newSlots: number): number {
    const inline = value instanceof Uint8Array;
    const size = 6 + key.length + (inline ? value.length : 4);
    if (this.top - size < PAGE_HEADER + 2 * (this.n + newSlots)) this.compact();
    const b = this.buf;
    const off = this.top - size;
    assert(off >= PAGE_HEADER + 2 * (this.n + newSlots), `leaf ${this.id} has no room for a cell`);
    setU16(b, off, key.length);
    b.set(key, off + 6);
    const at = off + 6 + key.length;
    if (inline) {
      setU32(b, off + 2, value.length);
      b.set(value, at);
    } else {
      setU32(b, off + 2, (OVERFLOW_FLAG | value.length) >>> 0);
      setU32(b, at, value.head);
    }
    this.top = off;
    return off;
  }

  /** Inserts a cell at index i. The caller has checked that `bytes` stays within the page. */
  insertAt(i: number, key: Uint8Array, value: StoredValue): void {
    const off = this.#writeCell(key, value, 1);
    const b = this.buf;
    const s = PAGE_HEADER + 2 * i;
    if (i < this.n) b.copyWithin(s + 2, s, PAGE_HEADER + 2 * this.n);
    setU16(b, s, off);
    if (i === 0 || i === this.n) this.pfx = -1;
    this.n++;
    this.bytes += cellSize(key, value);
    this.lastInsert = i;
  }

  /** Points slot i at a new cell (same key, new value). The caller has checked the size. */
  replaceAt(i: number, key: Uint8Array, value: StoredValue): void {
    const s = PAGE_HEADER + 2 * i;
    if (this.top - PAGE_HEADER - 2 * this.n >= 6 + key.length + (value instanceof Uint8Array ? value.length : 4)) {
      const old = this.sizeAt(i);
      setU16(this.buf, s, this.#writeCell(key, value, 0));
      this.bytes += cellSize(key, value) - old;
    } else {
      // Compacting must leave the old cell out: remove it first.
      this.removeAt(i);
      this.insertAt(i, key, value);
    }
  }

  removeAt(i: number): void {
    if (i === 0 || i === this.n - 1) this.pfx = -1;
    this.bytes -= this.sizeAt(i);
    const s = PAGE_HEADER + 2 * i;
    this.buf.copyWithin(s, s + 2, PAGE_HEADER + 2 * this.n);
    this.n--;
  }

  /** Appends a copy of cell j of `src` (whose key sorts after every key here). */
  appendCell(src: Leaf, j: number): void {
    const from = src.#off(j);
    const size = cellBytes(src.buf, from);
    if (this.top - size < PAGE_HEADER + 2 * (this.n + 1)) this.compact();
    const off = this.top - size;
    assert(off >= PAGE_HEADER + 2 * (this.n + 1), `leaf ${this.id} has no room for a cell`);
    this.buf.set(src.buf.subarray(from, from + size), off);
    setU16(this.buf, PAGE_HEADER + 2 * this.n, off);
    this.pfx = -1;
    this.top = off;
    this.n++;
    this.bytes += 2 + size;
  }

  /** Keeps the first `n` entries (the others' cells become garbage). */
  truncate(n: number): void {
    this.gen++;
    for (let i = n; i < this.n; i++) this.bytes -= this.sizeAt(i);
    this.n = n;
    if (this.lastInsert >= n) this.lastInsert = -1;
    this.pfx = -1;
  }

  /** Moves the live cells into a new buffer, packed at its end (views of the old one stay valid). */
  compact(): void {
    const old = this.buf;
    const P = old.length;
    const b = new Uint8Array(P);
    let top = P;
    for (let i = 0; i < this.n; i++) {
      const off = this.#off(i);
      const size = cellBytes(old, off);
      top -= size;
      b.set(old.subarray(off, off + size), top);
      setU16(b, PAGE_HEADER + 2 * i, top);
    }
    this.buf = b;
    this.top = top;
  }

  encode(out: Uint8Array, view: DataView): void {
    out.set(this.buf);
    view.setUint32(0, 0, true);
    view.setUint8(4, PageType.leaf);
    view.setUint8(5, 0);
    view.setUint16(6, this.n, true);
    view.setUint32(8, 0, true);
    view.setUint32(12, 0, true);
  }
}

export class Branch implements CachedPage {
  id: number;
  dirty = false;
  ref = false;
  keys: Uint8Array[];
  children: number[];
  bytes: number;
  /** Length of the prefix all keys share; -1 until computed. Reset whenever `keys` changes. */
  pfx = -1;

  constructor(id: number, keys: Uint8Array[], children: number[], bytes: number) {
    this.id = id;
    this.keys = keys;
    this.children = children;
    this.bytes = bytes;
  }

  clone(id: number): Branch {
    return new Branch(id, this.keys.slice(), this.children.slice(), this.bytes);
  }

  encode(out: Uint8Array, view: DataView): void {
    view.setUint8(4, PageType.branch);
    view.setUint8(5, 0);
    view.setUint16(6, this.keys.length, true);
    view.setUint32(8, this.children[0]!, true);
    view.setUint32(12, 0, true);
    let at = PAGE_HEADER;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      view.setUint16(at, k.length, true);
      view.setUint32(at + 2, this.children[i + 1]!, true);
      out.set(k, at + 6);
      at += 6 + k.length;
    }
    assert(at === this.bytes, `branch ${this.id} size ${at} != ${this.bytes}`);
    out.fill(0, at);
  }
}

export class OverflowPage implements CachedPage {
  id: number;
  dirty = false;
  ref = false;
  next: number;
  data: Uint8Array;

  constructor(id: number, next: number, data: Uint8Array) {
    this.id = id;
    this.next = next;
    this.data = data;
  }

  encode(out: Uint8Array, view: DataView): void {
    view.setUint8(4, PageType.overflow);
    view.setUint8(5, 0);
    view.setUint16(6, 0, true);
    view.setUint32(8, this.next, true);
    view.setUint32(12, this.data.length, true);
    out.set(this.data, PAGE_HEADER);
    out.fill(0, PAGE_HEADER + this.data.length);
  }
}

type Node = Leaf | Branch;

/** Decodes any page the tree writes. Malformed content is `STORAGE_CORRUPT`. */
export function decodePage(id: number, bytes: Uint8Array, view: DataView): CachedPage {
  const type = view.getUint8(4);
  const count = view.getUint16(6, true);
  const size = bytes.length;
  const bad = (): JazzError => corrupt(`page ${id} has a malformed layout`, { page: id });
  if (type === PageType.leaf) {
    // Zero-copy: the page image is the leaf. Check every cell lies inside the page.
    const slotsEnd = PAGE_HEADER + 2 * count;
    if (slotsEnd > size) throw bad();
    let top = size;
    let live = 0;
    for (let i = 0; i < count; i++) {
      const off = bytes[PAGE_HEADER + 2 * i]! | (bytes[PAGE_HEADER + 2 * i + 1]! << 8);
      if (off < slotsEnd || off + 6 > size) throw bad();
      const cell = cellBytes(bytes, off);
      if (off + cell > size) throw bad();
      live += cell;
      if (off < top) top = off;
    }
    if (live > size - top) throw bad();
    return new Leaf(id, bytes, count, top, slotsEnd + live);
  }
  if (type === PageType.branch) {
    const keys: Uint8Array[] = new Array(count);
    const children: number[] = new Array(count + 1);
    children[0] = view.getUint32(8, true);
    let at = PAGE_HEADER;
    for (let i = 0; i < count; i++) {
      if (at + 6 > size) throw bad();
      const kl = view.getUint16(at, true);
      children[i + 1] = view.getUint32(at + 2, true);
      if (at + 6 + kl > size) throw bad();
      keys[i] = bytes.slice(at + 6, at + 6 + kl);
      at += 6 + kl;
    }
    return new Branch(id, keys, children, at);
  }
  if (type === PageType.overflow) {
    const n = view.getUint32(12, true);
    if (PAGE_HEADER + n > size) throw bad();
    return new OverflowPage(id, view.getUint32(8, true), bytes.slice(PAGE_HEADER, PAGE_HEADER + n));
  }
  throw corrupt(`page ${id} has an unknown type ${type}`, { page: id });
}

interface PathStep {
  node: Branch;
  idx: number;
}

/** Position of a cursor: the stack of branches and the leaf with an index into it. */
export interface Position {
  path: PathStep[];
  leaf: Leaf;
  idx: number;
}

export type SeekMode = 'first' | 'last' | 'ge' | 'gt' | 'le' | 'lt';

/** The last leaf a stream of puts went to, with the separators bounding it: lo <= key < hi. */
interface Finger {
  leaf: Leaf;
  lo: Uint8Array | undefined;
  hi: Uint8Array | undefined;
  /** The leaf's `gen` then. */
  gen: number;
  /** The stream's hash (`streamHash`). */
  stream: number;
  /** Puts it saved a descent lately (0..3): another stream takes the slot only at 0. */
  hits: number;
}

const FINGERS = 256;

/**
 * A hash of the key's first `n` bytes: the stream it belongs to (see `BTree.put`); of the whole key,
 * the durable store's note of which keys have writes waiting (`#waitingKeys`).
 */
export function streamHash(key: Uint8Array, n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + key[i]!) | 0;
  return h ^ (h >>> 11) ^ (h >>> 21);
}

export class BTree {
  readonly pager: Pager;
  root: number;
  /** Bumped on every change; cursors re-seek when it moved. */
  version = 0;
  readonly maxCell: number;
  /** Longest key a cell can hold (with an overflow reference for its value). */
  readonly maxKey: number;
  readonly maxInlineValue: number;
  readonly #body: number;
  /**
   * Per stream of keys (by hash), the leaf its last put went to. The engine's puts come in
   * interleaved streams (visible rows; each index value: `done = false`, project p, `$createdAt`),
   * most of them appending in key order (time-ordered row ids), so the next put of a stream often
   * lands in the same leaf: it skips the descent from the root.
   */
  readonly #fingers: (Finger | undefined)[] = new Array<Finger | undefined>(FINGERS);

  constructor(pager: Pager, root: number) {
    this.pager = pager;
    this.root = root;
    this.#body = pager.pageSize - PAGE_HEADER;
    this.maxCell = Math.floor(this.#body / 3);
    this.maxKey = Math.min(0xffff, this.maxCell - LEAF_OVERHEAD - 4);
    this.maxInlineValue = Math.floor(pager.pageSize / 4);
  }

  #node(id: number): Node {
    const page = this.pager.get(id);
    if (!(page instanceof Leaf) && !(page instanceof Branch)) {
      throw corrupt(`page ${id} should be a tree page`, { page: id });
    }
    return page;
  }

  // ---- values ----

  /** Whether a value of this length goes inline next to a key of this length. */
  inline(keyLength: number, valueLength: number): boolean {
    return valueLength <= this.maxInlineValue && LEAF_OVERHEAD + keyLength + valueLength <= this.maxCell;
  }

  writeOverflow(bytes: Uint8Array): Overflow {
    const chunk = this.pager.pageSize - PAGE_HEADER;
    const n = Math.max(1, Math.ceil(bytes.length / chunk));
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(this.pager.allocate());
    for (let i = 0; i < n; i++) {
      this.pager.add(new OverflowPage(ids[i]!, ids[i + 1] ?? 0, bytes.slice(i * chunk, (i + 1) * chunk)));
    }
    return { head: ids[0]!, length: bytes.length };
  }

  readValue(v: StoredValue): Uint8Array {
    if (v instanceof Uint8Array) return v;
    const out = new Uint8Array(v.length);
    let at = 0;
    let id = v.head;
    while (at < v.length) {
      const page = id === 0 ? undefined : this.pager.get(id);
      if (!(page instanceof OverflowPage) || page.data.length === 0 || at + page.data.length > v.length) {
        throw corrupt(`an overflow chain is broken at page ${id}`, { page: id });
      }
      out.set(page.data, at);
      at += page.data.length;
      id = page.next;
    }
    return out;
  }

  freeOverflow(v: Overflow): void {
    let id = v.head;
    let left = Math.max(1, Math.ceil(v.length / (this.pager.pageSize - PAGE_HEADER)));
    while (id !== 0 && left-- > 0) {
      const page = this.pager.get(id);
      if (!(page instanceof OverflowPage)) throw corrupt(`page ${id} should be an overflow page`, { page: id });
      const next = page.next;
      this.pager.free(id);
      id = next;
    }
  }

  // ---- point operations ----

  get(key: Uint8Array): StoredValue | undefined {
    if (this.root === 0) return undefined;
    let node = this.#node(this.root);
    while (node instanceof Branch) node = this.#node(node.children[branchSearch(node, key)]!);
    const i = node.search(key, false);
    return i < node.n && node.equalsAt(i, key) ? node.valAt(i) : undefined;
  }

  /**
   * Sets `key` to `value`; returns the value it replaced. The tree copies both (an inline value's
   * bytes go into the leaf), so the caller may reuse its buffers. `stream`: how many leading bytes
   * of the key name the run of keys it belongs to (`KvTransaction.put`), which picks its finger.
   */
  put(key: Uint8Array, value: StoredValue, stream = 12): StoredValue | undefined {
    this.version++;
    const cell = cellSize(key, value);
    assert(cell <= this.maxCell, 'cell too large');
    const P = this.pager.pageSize;
    if (this.root === 0) {
      const leaf = Leaf.empty(this.pager.allocate(), P);
      leaf.insertAt(0, key, value);
      this.pager.add(leaf);
      this.root = leaf.id;
      return undefined;
    }
    const h = streamHash(key, stream < key.length ? stream : key.length);
    const slot = h & (FINGERS - 1);
    const f = this.#fingers[slot];
    if (f !== undefined) {
      // The same leaf as this stream's last put, if the key is within its bounds and the leaf is
      // still the cached, writable page covering them. Its key range only ever shrinks by a split
      // of it (which bumps its gen); copied, merged away, freed or evicted, it is no longer the
      // cached page of its id. A merge into it only widens its range. Other pages' splits and
      // copies leave it alone: invalidating every finger on each of them (as a tree-wide counter
      // did) sent most puts of a bulk load down from the root again.
      const leaf = f.leaf;
      if (
        f.gen === leaf.gen &&
        leaf.dirty &&
        this.pager.peek(leaf.id) === leaf &&
        this.pager.isFresh(leaf.id) &&
        (f.lo === undefined || compareBytes(key, f.lo) >= 0) &&
        (f.hi === undefined || compareBytes(key, f.hi) < 0)
      ) {
        leaf.ref = true;
        const i = leaf.place(key);
        if (i < leaf.n && leaf.equalsAt(i, key)) {
          if (leaf.bytes - leaf.sizeAt(i) + cell <= P) {
            const old = leaf.valAt(i);
            leaf.replaceAt(i, key, value);
            if (f.hits < 3) f.hits++;
            return old;
          }
        } else if (leaf.bytes + cell <= P) {
          leaf.insertAt(i, key, value);
          if (f.hits < 3) f.hits++;
          return undefined;
        }
      }
    }
    const path: PathStep[] = [];
    let lo: Uint8Array | undefined;
    let hi: Uint8Array | undefined;
    let node = this.#node(this.root);
    while (node instanceof Branch) {
      const idx = branchSearch(node, key);
      if (idx > 0) lo = node.keys[idx - 1];
      if (idx < node.keys.length) hi = node.keys[idx];
      path.push({ node, idx });
      node = this.#node(node.children[idx]!);
    }
    const leaf = this.#writablePath(path, node);
    const i = leaf.place(key);
    if (i < leaf.n && leaf.equalsAt(i, key)) {
      const old = leaf.valAt(i);
      if (leaf.bytes - leaf.sizeAt(i) + cell <= P) {
        leaf.replaceAt(i, key, value);
        this.#point(slot, h, leaf, lo, hi);
      } else this.#splitLeaf(path, leaf, i, key, value, true);
      return old;
    }
    if (leaf.bytes + cell <= P) {
      leaf.insertAt(i, key, value);
      this.#point(slot, h, leaf, lo, hi);
    } else this.#splitLeaf(path, leaf, i, key, value, false);
    return undefined;
  }

  /**
   * Points finger `slot` at the leaf stream `h` just put to, unless another stream's finger there
   * has been saving descents lately: then it only ages. Keys of unrelated values (titles, times)
   * each hash to some slot and would otherwise knock out the fingers of runs that do repeat.
   */
  #point(slot: number, h: number, leaf: Leaf, lo: Uint8Array | undefined, hi: Uint8Array | undefined): void {
    const g = this.#fingers[slot];
    if (g === undefined) {
      this.#fingers[slot] = { leaf, lo, hi, gen: leaf.gen, stream: h, hits: 0 };
      return;
    }
    if (g.stream !== h && g.hits > 0) {
      g.hits--;
      return;
    }
    g.leaf = leaf;
    g.lo = lo;
    g.hi = hi;
    g.gen = leaf.gen;
    if (g.stream !== h) g.hits = 0;
    g.stream = h;
  }

  /** Removes `key`; returns the value it had, or undefined (and changes nothing) if missing. */
  delete(key: Uint8Array): StoredValue | undefined {
    if (this.root === 0) return undefined;
    const { path, leaf: found } = this.#descend(key);
    const i = found.search(key, false);
    if (i >= found.n || !found.equalsAt(i, key)) return undefined;
    this.version++;
    const leaf = this.#writablePath(path, found);
    const old = leaf.valAt(i);
    leaf.removeAt(i);
    this.#rebalance(path, leaf);
    return old;
  }

  #descend(key: Uint8Array): { path: PathStep[]; leaf: Leaf } {
    const path: PathStep[] = [];
    let node = this.#node(this.root);
    while (node instanceof Branch) {
      const idx = branchSearch(node, key);
      path.push({ node, idx });
      node = this.#node(node.children[idx]!);
    }
    return { path, leaf: node };
  }

  /** Copies every non-fresh page of the path (root first) and returns the writable leaf. */
  #writablePath(path: PathStep[], leaf: Leaf): Leaf {
    let parent: PathStep | undefined;
    for (const step of path) {
      step.node = this.#writable(step.node, parent);
      parent = step;
    }
    return this.#writable(leaf, parent);
  }

  #writable<T extends Node>(node: T, parent: PathStep | undefined, childIdx = parent?.idx): T {
    if (this.pager.isFresh(node.id)) {
      if (!node.dirty) {
        // It may have been evicted and reloaded, or written early: make sure the cache holds it.
        this.pager.add(node);
      }
      node.dirty = true;
      return node;
    }
    const copy = node.clone(this.pager.allocate()) as T;
    this.pager.free(node.id);
    this.pager.add(copy);
    if (parent === undefined) this.root = copy.id;
    else parent.node.children[childIdx!] = copy.id;
    return copy;
  }

  /**
   * Puts (key, value) at index i of a leaf it does not fit in (`replace`: over entry i), splitting
   * it: the entries from the split point on are copied to a new right sibling, and the left page
   * keeps the rest (the moved cells stay behind as garbage until it is next compacted).
   */
  #splitLeaf(path: PathStep[], leaf: Leaf, i: number, key: Uint8Array, value: StoredValue, replace: boolean): void {
    const n = leaf.n;
    const count = replace ? n : n + 1;
    const cell = cellSize(key, value);
    // Entry j of the list with the new entry in place: the new one at i, else leaf entry phys(j).
    const phys = (j: number): number => (!replace && j > i ? j - 1 : j);
    const sizeOf = (j: number): number => (j === i ? cell : leaf.sizeAt(phys(j)));
    const P = this.pager.pageSize;
    const total = leaf.bytes - PAGE_HEADER + cell - (replace ? leaf.sizeAt(i) : 0);
    const fits = (at: number): boolean => {
      let left = 0;
      for (let j = 0; j < at; j++) left += sizeOf(j);
      return left <= P - PAGE_HEADER && total - left <= P - PAGE_HEADER;
    };
    let at = -1;
    if (!replace && count > 1 && (i === count - 1 || i === leaf.lastInsert + 1)) {
      // Sequential inserts (time-ordered ids; a run of keys growing inside an index group or
      // before another key range): the new key ends the left page, or starts the right one when
      // it is the last, so runs pack pages full instead of leaving each half empty behind them.
      if (i < count - 1 && fits(i + 1)) at = i + 1;
      else if (i >= 1 && fits(i)) at = i;
    }
    if (at < 0) {
      let acc = 0;
      at = count - 1;
      for (let j = 0; j < count; j++) {
        acc += sizeOf(j);
        if (acc >= total / 2) {
          at = Math.min(Math.max(j + 1, 1), count - 1);
          break;
        }
      }
    }
    const right = Leaf.empty(this.pager.allocate(), P);
    for (let j = at; j < count; j++) {
      if (j === i) right.insertAt(right.n, key, value);
      else right.appendCell(leaf, phys(j));
    }
    if (i >= at) {
      leaf.truncate(at); // the new entry went right; the leaf's entries [0, at) stay
    } else if (replace) {
      leaf.truncate(at);
      leaf.replaceAt(i, key, value);
    } else {
      leaf.truncate(at - 1);
      leaf.insertAt(i, key, value);
    }
    assert(leaf.bytes <= P && right.bytes <= P, 'a split leaf overflows its page');
    this.pager.add(right);
    const sep = separator(leaf.keyAt(leaf.n - 1), right.keyAt(0));
    this.#insertSeparator(path, path.length - 1, leaf.id, sep, right.id);
  }

  /** Inserts (sep, right) after the child `left` in the branch at `level` (or grows a new root). */
  #insertSeparator(path: PathStep[], level: number, left: number, sep: Uint8Array, right: number): void {
    if (level < 0) {
      const root = new Branch(this.pager.allocate(), [sep], [left, right], PAGE_HEADER + BRANCH_OVERHEAD + sep.length);
      this.pager.add(root);
      this.root = root.id;
      return;
    }
    const step = path[level]!;
    const node = step.node;
    node.keys.splice(step.idx, 0, sep);
    node.pfx = -1;
    node.children.splice(step.idx + 1, 0, right);
    node.bytes += BRANCH_OVERHEAD + sep.length;
    if (node.bytes <= this.pager.pageSize) return;
    // Split the branch: the middle key moves up.
    const n = node.keys.length;
    let m: number;
    if (step.idx === n - 1 && n > 1)
      m = n - 1; // appending, as for leaves
    else {
      m = splitPoint(
        node.keys.map((k) => BRANCH_OVERHEAD + k.length),
        node.bytes - PAGE_HEADER,
      );
      if (m >= n) m = n - 1;
    }
    const up = node.keys[m]!;
    const rightKeys = node.keys.splice(m + 1);
    node.keys.pop();
    node.pfx = -1;
    const rightChildren = node.children.splice(m + 1);
    let rightBytes = PAGE_HEADER;
    for (const k of rightKeys) rightBytes += BRANCH_OVERHEAD + k.length;
    node.bytes -= rightBytes - PAGE_HEADER + BRANCH_OVERHEAD + up.length;
    const sibling = new Branch(this.pager.allocate(), rightKeys, rightChildren, rightBytes);
    this.pager.add(sibling);
    this.#insertSeparator(path, level - 1, node.id, up, sibling.id);
  }

  /** After a delete: drops empty pages, merges small ones into a neighbour, shrinks the root. */
  #rebalance(path: PathStep[], leaf: Leaf): void {
    const quarter = this.pager.pageSize / 4;
    let node: Node = leaf;
    for (let level = path.length; level > 0; level--) {
      const { node: parent, idx } = path[level - 1]!;
      const empty = node instanceof Leaf ? node.n === 0 : node.children.length === 0;
      if (empty) {
        this.#removeChild(parent, idx);
        this.pager.free(node.id);
        node = parent;
        continue;
      }
      if (node.bytes >= quarter) return;
      if (parent.children.length < 2) {
        node = parent;
        continue;
      }
      const li = idx > 0 ? idx - 1 : idx;
      const leftId = parent.children[li]!;
      const rightId = parent.children[li + 1]!;
      const leftNode = leftId === node.id ? node : this.#node(leftId);
      const rightNode = rightId === node.id ? node : this.#node(rightId);
      const sep = parent.keys[li]!;
      const merged = leftNode instanceof Leaf ? leftNode.bytes + rightNode.bytes - PAGE_HEADER : leftNode.bytes + rightNode.bytes - PAGE_HEADER + BRANCH_OVERHEAD + sep.length;
      if (merged > this.pager.pageSize) return;
      const left = this.#writable(leftNode, { node: parent, idx: li });
      if (left instanceof Leaf && rightNode instanceof Leaf) {
        for (let j = 0; j < rightNode.n; j++) left.insertAt(left.n, rightNode.keyAt(j), rightNode.valAt(j));
      } else if (left instanceof Branch && rightNode instanceof Branch) {
        left.keys.push(sep, ...rightNode.keys);
        left.pfx = -1;
        left.children.push(...rightNode.children);
      } else {
        throw corrupt('sibling pages of different kinds', { page: rightNode.id });
      }
      if (left instanceof Branch) left.bytes = merged;
      assert(left.bytes === merged, 'merged size');
      this.#removeChild(parent, li + 1);
      this.pager.free(rightNode.id);
      node = parent;
    }
    // The root.
    if (this.root === 0) return;
    let root = this.#node(this.root);
    while (root instanceof Branch && root.children.length <= 1) {
      this.pager.free(root.id);
      if (root.children.length === 0) {
        this.root = 0;
        return;
      }
      this.root = root.children[0]!;
      root = this.#node(this.root);
    }
    if (root instanceof Leaf && root.n === 0) {
      this.pager.free(root.id);
      this.root = 0;
    }
  }

  #removeChild(parent: Branch, idx: number): void {
    if (parent.keys.length > 0) {
      const k = idx > 0 ? idx - 1 : 0;
      parent.bytes -= BRANCH_OVERHEAD + parent.keys[k]!.length;
      parent.keys.splice(k, 1);
      parent.pfx = -1;
    }
    parent.children.splice(idx, 1);
  }

  // ---- cursors ----

  /** Positions at the entry the mode asks for, or returns undefined when there is none. */
  seek(mode: SeekMode, key?: Uint8Array): Position | undefined {
    if (this.root === 0) return undefined;
    const path: PathStep[] = [];
    let node = this.#node(this.root);
    while (node instanceof Branch) {
      const idx = mode === 'first' ? 0 : mode === 'last' ? node.children.length - 1 : branchSearch(node, key!);
      path.push({ node, idx });
      node = this.#node(node.children[idx]!);
    }
    let idx: number;
    switch (mode) {
      case 'first':
        idx = 0;
        break;
      case 'last':
        idx = node.n - 1;
        break;
      case 'ge':
        idx = node.search(key!, false);
        break;
      case 'gt':
        idx = node.search(key!, true);
        break;
      case 'le':
        idx = node.search(key!, true) - 1;
        break;
      case 'lt':
        idx = node.search(key!, false) - 1;
        break;
    }
    const pos: Position = { path, leaf: node, idx };
    const forward = mode === 'first' || mode === 'ge' || mode === 'gt';
    if (idx < 0 || idx >= node.n) return forward ? this.#nextLeaf(pos) : this.#prevLeaf(pos);
    return pos;
  }

  /**
   * How many entries lie from `from` (inclusive) up to `to` (exclusive; undefined: the end):
   * exact when the two are in the same or neighbouring leaves, else the whole leaves between them
   * (exact under a common parent of leaves; higher up, the path's fan-out) counted at the two end
   * leaves' average, with an end leaf less than half full replaced by its neighbour inside the
   * range. Where runs of keys grow side by side (an index of a few values, each value's entries
   * appended in row id order), the splits at a run's growing end leave the leaves at its ends
   * nearly empty while those inside are full: a 10,000-entry range of such an index was estimated
   * at 231 from end leaves of 3 and 1 entries, and its query read all of it instead of walking 50
   * rows. Reads two to four leaves and the branches above them, where counting entry by entry
   * reads every leaf between: for a query planner's weighing.
   */
  estimate(from: Position, to: Position | undefined): number {
    if (to === undefined) {
      const last = this.seek('last')!;
      to = { path: last.path, leaf: last.leaf, idx: last.idx + 1 };
    }
    if (from.leaf === to.leaf) return Math.max(0, to.idx - from.idx);
    const a = from.path;
    const b = to.path;
    let d = 0;
    while (d < a.length && a[d]!.node === b[d]!.node && a[d]!.idx === b[d]!.idx) d++;
    if (d === a.length || b[d]!.idx < a[d]!.idx) return 0; // `to` is not after `from`: an empty range
    // Leaves under one child at depth e: the bottom branches' fan-out to the power of the levels below.
    const fan = (a[a.length - 1]!.node.children.length + b[b.length - 1]!.node.children.length) / 2;
    const under = (e: number): number => fan ** (a.length - 1 - e);
    let leaves = (b[d]!.idx - a[d]!.idx - 1) * under(d);
    for (let e = d + 1; e < a.length; e++) leaves += (a[e]!.node.children.length - a[e]!.idx - 1) * under(e);
    for (let e = d + 1; e < b.length; e++) leaves += b[e]!.idx * under(e);
    if (leaves <= 0) return from.leaf.n - from.idx + to.idx;
    // An end leaf less than half full is left for its neighbour inside the range (read only then:
    // planning 20 lists after a restart reads cold pages).
    const half = this.pager.pageSize / 2;
    const copy = (p: Position): Position => ({ path: p.path.map((s) => ({ node: s.node, idx: s.idx })), leaf: p.leaf, idx: p.idx });
    const first = from.leaf.bytes >= half ? from.leaf.n : (this.#nextLeaf(copy(from))?.leaf.n ?? from.leaf.n);
    const last = to.leaf.bytes >= half ? to.leaf.n : (this.#prevLeaf(copy(to))?.leaf.n ?? to.leaf.n);
    return from.leaf.n - from.idx + to.idx + Math.round((leaves * (first + last)) / 2);
  }

  /** Moves to the next entry; undefined at the end. */
  next(pos: Position): Position | undefined {
    pos.idx++;
    return pos.idx < pos.leaf.n ? pos : this.#nextLeaf(pos);
  }

  prev(pos: Position): Position | undefined {
    pos.idx--;
    return pos.idx >= 0 ? pos : this.#prevLeaf(pos);
  }

  #nextLeaf(pos: Position): Position | undefined {
    for (;;) {
      const path = pos.path;
      while (path.length > 0 && path[path.length - 1]!.idx >= path[path.length - 1]!.node.children.length - 1) path.pop();
      if (path.length === 0) return undefined;
      const top = path[path.length - 1]!;
      top.idx++;
      let node = this.#node(top.node.children[top.idx]!);
      while (node instanceof Branch) {
        path.push({ node, idx: 0 });
        node = this.#node(node.children[0]!);
      }
      pos.leaf = node;
      pos.idx = 0;
      if (node.n > 0) return pos;
    }
  }

  #prevLeaf(pos: Position): Position | undefined {
    for (;;) {
      const path = pos.path;
      while (path.length > 0 && path[path.length - 1]!.idx <= 0) path.pop();
      if (path.length === 0) return undefined;
      const top = path[path.length - 1]!;
      top.idx--;
      let node = this.#node(top.node.children[top.idx]!);
      while (node instanceof Branch) {
        path.push({ node, idx: node.children.length - 1 });
        node = this.#node(node.children[node.children.length - 1]!);
      }
      pos.leaf = node;
      pos.idx = node.n - 1;
      if (node.n > 0) return pos;
    }
  }

  // ---- integrity ----

  /**
   * Walks the tree from `root` reading pages with `load`; checks page kinds, key order within and
   * across pages, separator bounds, equal leaf depth, sizes and overflow chains. Returns every
   * page reached and the entry count; throws `STORAGE_CORRUPT` on the first fault.
   */
  static check(root: number, load: (id: number) => CachedPage, pageSize: number): { pages: Set<number>; entries: number } {
    const pages = new Set<number>();
    let entries = 0;
    let leafDepth = -1;
    const reach = (id: number): void => {
      if (pages.has(id)) throw corrupt(`page ${id} is reached twice`, { page: id });
      pages.add(id);
    };
    const walk = (id: number, lo: Uint8Array | undefined, hi: Uint8Array | undefined, depth: number): void => {
      reach(id);
      const page = load(id);
      if (page instanceof Leaf) {
        if (leafDepth === -1) leafDepth = depth;
        if (leafDepth !== depth) throw corrupt(`leaf ${id} is at depth ${depth}, others at ${leafDepth}`, { page: id });
        if (page.n === 0 && depth > 0) throw corrupt(`leaf ${id} is empty`, { page: id });
        if (page.bytes > pageSize) throw corrupt(`leaf ${id} overflows its page`, { page: id });
        for (let i = 0; i < page.n; i++) {
          const k = page.keyAt(i);
          if (i > 0 && compareBytes(page.keyAt(i - 1), k) >= 0) throw corrupt(`leaf ${id} is out of order`, { page: id });
          if (lo && compareBytes(k, lo) < 0) throw corrupt(`leaf ${id} holds a key below its range`, { page: id });
          if (hi && compareBytes(k, hi) >= 0) throw corrupt(`leaf ${id} holds a key above its range`, { page: id });
          const v = page.valAt(i);
          if (!(v instanceof Uint8Array)) {
            let at = 0;
            let o = v.head;
            while (at < v.length) {
              if (o === 0) throw corrupt(`overflow chain of leaf ${id} ends early`, { page: id });
              reach(o);
              const op = load(o);
              if (!(op instanceof OverflowPage) || op.data.length === 0) throw corrupt(`page ${o} should be an overflow page`, { page: o });
              at += op.data.length;
              o = op.next;
            }
            if (at !== v.length || o !== 0) throw corrupt(`overflow chain of leaf ${id} has the wrong length`, { page: id });
          }
          entries++;
        }
      } else if (page instanceof Branch) {
        if (page.children.length < 1 || page.children.length !== page.keys.length + 1) {
          throw corrupt(`branch ${id} is malformed`, { page: id });
        }
        if (page.bytes > pageSize) throw corrupt(`branch ${id} overflows its page`, { page: id });
        for (let i = 0; i < page.keys.length; i++) {
          const k = page.keys[i]!;
          if (i > 0 && compareBytes(page.keys[i - 1]!, k) >= 0) throw corrupt(`branch ${id} is out of order`, { page: id });
          if (lo && compareBytes(k, lo) < 0) throw corrupt(`branch ${id} holds a key below its range`, { page: id });
          if (hi && compareBytes(k, hi) > 0) throw corrupt(`branch ${id} holds a key above its range`, { page: id });
        }
        for (let i = 0; i < page.children.length; i++) {
          walk(page.children[i]!, i === 0 ? lo : page.keys[i - 1], i === page.keys.length ? hi : page.keys[i], depth + 1);
        }
      } else {
        throw corrupt(`page ${id} should be a tree page`, { page: id });
      }
    };
    if (root !== 0) walk(root, undefined, undefined, 0);
    return { pages, entries };
  }
}

export function cellSize(key: Uint8Array, value: StoredValue): number {
  return LEAF_OVERHEAD + key.length + (value instanceof Uint8Array ? value.length : 4);
}

/**
 * The child of a branch that holds `key`: the first index i with keys[i] > key.
 *
 * Binary search that skips prefixes already known to match: every key between the bounds shares
 * with `key` at least the shorter of the prefixes it shares with the two bounds (the keys are
 * sorted), so each comparison starts there; and every key of the branch shares the prefix of its
 * first and last keys, compared once. Keys in a page share long prefixes (table, column, and for
 * an index often the value: `'n'.repeat(100)`), and comparing those bytes again at every step was
 * the largest cost of a B+tree descent. Leaves do the same on their page image (`Leaf.search`).
 */
function branchSearch(node: Branch, key: Uint8Array): number {
  const keys = node.keys;
  const count = keys.length;
  if (count === 0) return 0;
  const kl = key.length;
  const first = keys[0]!;
  let p = node.pfx;
  if (p < 0) {
    const last = keys[count - 1]!;
    const n = first.length < last.length ? first.length : last.length;
    p = 0;
    while (p < n && first[p] === last[p]) p++;
    node.pfx = p;
  }
  const m = p < kl ? p : kl;
  let d = 0;
  while (d < m && first[d] === key[d]) d++;
  if (d < p) return d === kl || key[d]! < first[d]! ? 0 : count;
  let lo = 0;
  let hi = count;
  let lcpLo = p; // common prefix of key and keys[lo - 1]
  let lcpHi = p; // common prefix of key and keys[hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const mk = keys[mid]!;
    const n = mk.length < kl ? mk.length : kl;
    let i = lcpLo < lcpHi ? lcpLo : lcpHi;
    while (i < n && mk[i] === key[i]) i++;
    const c = i < n ? mk[i]! - key[i]! : mk.length - kl;
    if (c <= 0) {
      lo = mid + 1;
      lcpLo = i;
    } else {
      hi = mid;
      lcpHi = i;
    }
  }
  return lo;
}

/** Index where the right half starts: the first cell at which the left half reaches half the bytes. */
function splitPoint(cells: number[], total: number): number {
  let acc = 0;
  for (let i = 0; i < cells.length; i++) {
    acc += cells[i]!;
    if (acc >= total / 2) return Math.min(Math.max(i + 1, 1), cells.length - 1);
  }
  return cells.length - 1;
}

/** The shortest key s with left < s <= right. */
function separator(left: Uint8Array, right: Uint8Array): Uint8Array {
  const n = Math.min(left.length, right.length);
  let i = 0;
  while (i < n && left[i] === right[i]) i++;
  return right.slice(0, i + 1);
}
