/**
 * A copy-on-write B+tree over the pager's pages.
 *
 * - Leaves hold sorted (key, value) cells; branches hold separator keys and child page numbers:
 *   child i holds the keys k with keys[i-1] <= k < keys[i]. All leaves are at the same depth; there
 *   are no sibling links (a sibling link would force every copy to ripple sideways), so cursors
 *   keep a root-to-leaf stack.
 * - Copy-on-write: a page that is not fresh (a durable superblock may reach it) is never changed in
 *   place. The first change after a checkpoint copies the path from the root to a newly allocated
 *   page each and frees the old ones (see pager.ts for when freed pages come back).
 * - Keys and values are variable-length byte strings. A cell is at most a third of the page, so a
 *   split always yields two pages that fit and a branch has at least three children. A value that
 *   would make its cell larger, or is larger than a quarter page, lives in a chain of overflow
 *   pages and the cell keeps (head page, length).
 * - Separators are suffix-truncated (the shortest prefix of the right key that still sorts above
 *   the left one), and a leaf filled by appending at the right edge splits off only the new cell,
 *   so sequential loads fill pages almost completely.
 * - Deletes merge a page that falls under a quarter full into a neighbour when both fit in one.
 *
 * Page layouts (after the 16-byte header: crc, type, count, a, b):
 *   leaf:     cells [u16 key length][u32 value length | 0x8000_0000 if overflow][key][value | u32 head]
 *   branch:   a = child 0; cells [u16 key length][u32 child][key]
 *   overflow: a = next page (0 at the end), b = bytes in this page; data
 */
import { JazzError } from '../util/errors.ts';
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
const CELL_OVERHEAD = 6;

export function isOverflow(v: StoredValue): v is Overflow {
  return !(v instanceof Uint8Array);
}

export class Leaf implements CachedPage {
  id: number;
  dirty = false;
  ref = false;
  keys: Uint8Array[];
  vals: StoredValue[];
  bytes: number;

  constructor(id: number, keys: Uint8Array[], vals: StoredValue[], bytes: number) {
    this.id = id;
    this.keys = keys;
    this.vals = vals;
    this.bytes = bytes;
  }

  clone(id: number): Leaf {
    return new Leaf(id, this.keys.slice(), this.vals.slice(), this.bytes);
  }

  encode(out: Uint8Array, view: DataView): void {
    view.setUint8(4, PageType.leaf);
    view.setUint16(6, this.keys.length, true);
    let at = PAGE_HEADER;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      const v = this.vals[i]!;
      view.setUint16(at, k.length, true);
      if (v instanceof Uint8Array) {
        view.setUint32(at + 2, v.length, true);
        out.set(k, at + 6);
        out.set(v, at + 6 + k.length);
        at += 6 + k.length + v.length;
      } else {
        view.setUint32(at + 2, (OVERFLOW_FLAG | v.length) >>> 0, true);
        out.set(k, at + 6);
        view.setUint32(at + 6 + k.length, v.head, true);
        at += 10 + k.length;
      }
    }
    assert(at === this.bytes, `leaf ${this.id} size ${at} != ${this.bytes}`);
  }
}

export class Branch implements CachedPage {
  id: number;
  dirty = false;
  ref = false;
  keys: Uint8Array[];
  children: number[];
  bytes: number;

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
    view.setUint16(6, this.keys.length, true);
    view.setUint32(8, this.children[0]!, true);
    let at = PAGE_HEADER;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      view.setUint16(at, k.length, true);
      view.setUint32(at + 2, this.children[i + 1]!, true);
      out.set(k, at + 6);
      at += 6 + k.length;
    }
    assert(at === this.bytes, `branch ${this.id} size ${at} != ${this.bytes}`);
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
    view.setUint32(8, this.next, true);
    view.setUint32(12, this.data.length, true);
    out.set(this.data, PAGE_HEADER);
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
    const keys: Uint8Array[] = new Array(count);
    const vals: StoredValue[] = new Array(count);
    let at = PAGE_HEADER;
    for (let i = 0; i < count; i++) {
      if (at + 6 > size) throw bad();
      const kl = view.getUint16(at, true);
      const vi = view.getUint32(at + 2, true);
      const start = at + 6;
      if (start + kl > size) throw bad();
      keys[i] = bytes.slice(start, start + kl);
      if (vi & OVERFLOW_FLAG) {
        if (start + kl + 4 > size) throw bad();
        vals[i] = { head: view.getUint32(start + kl, true), length: vi & 0x7fff_ffff };
        at = start + kl + 4;
      } else {
        if (start + kl + vi > size) throw bad();
        vals[i] = bytes.slice(start + kl, start + kl + vi);
        at = start + kl + vi;
      }
    }
    return new Leaf(id, keys, vals, at);
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

  constructor(pager: Pager, root: number) {
    this.pager = pager;
    this.root = root;
    this.#body = pager.pageSize - PAGE_HEADER;
    this.maxCell = Math.floor(this.#body / 3);
    this.maxKey = Math.min(0xffff, this.maxCell - CELL_OVERHEAD - 4);
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
    return valueLength <= this.maxInlineValue && CELL_OVERHEAD + keyLength + valueLength <= this.maxCell;
  }

  writeOverflow(bytes: Uint8Array): Overflow {
    const chunk = this.pager.pageSize - PAGE_HEADER;
    const n = Math.max(1, Math.ceil(bytes.length / chunk));
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(this.pager.allocate());
    for (let i = 0; i < n; i++) {
      this.pager.add(new OverflowPage(ids[i]!, ids[i + 1] ?? 0, bytes.subarray(i * chunk, (i + 1) * chunk)));
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
    while (node instanceof Branch) node = this.#node(node.children[upperBound(node.keys, key)]!);
    const i = lowerBound(node.keys, key);
    return i < node.keys.length && compareBytes(node.keys[i]!, key) === 0 ? node.vals[i] : undefined;
  }

  /** Sets `key` to `value` (both owned by the tree from now on); returns the value it replaced. */
  put(key: Uint8Array, value: StoredValue): StoredValue | undefined {
    this.version++;
    const cell = cellSize(key, value);
    assert(cell <= this.maxCell, 'cell too large');
    if (this.root === 0) {
      const leaf = new Leaf(this.pager.allocate(), [key], [value], PAGE_HEADER + cell);
      this.pager.add(leaf);
      this.root = leaf.id;
      return undefined;
    }
    const { path, leaf: found } = this.#descend(key);
    const leaf = this.#writablePath(path, found);
    const i = lowerBound(leaf.keys, key);
    let old: StoredValue | undefined;
    if (i < leaf.keys.length && compareBytes(leaf.keys[i]!, key) === 0) {
      old = leaf.vals[i];
      leaf.bytes += cell - cellSize(leaf.keys[i]!, old!);
      leaf.vals[i] = value;
    } else {
      leaf.keys.splice(i, 0, key);
      leaf.vals.splice(i, 0, value);
      leaf.bytes += cell;
    }
    if (leaf.bytes > this.pager.pageSize) this.#splitLeaf(path, leaf, i);
    return old;
  }

  /** Removes `key`; returns the value it had, or undefined (and changes nothing) if missing. */
  delete(key: Uint8Array): StoredValue | undefined {
    if (this.root === 0) return undefined;
    const { path, leaf: found } = this.#descend(key);
    const i = lowerBound(found.keys, key);
    if (i >= found.keys.length || compareBytes(found.keys[i]!, key) !== 0) return undefined;
    this.version++;
    const leaf = this.#writablePath(path, found);
    const old = leaf.vals[i]!;
    leaf.bytes -= cellSize(leaf.keys[i]!, old);
    leaf.keys.splice(i, 1);
    leaf.vals.splice(i, 1);
    this.#rebalance(path, leaf);
    return old;
  }

  #descend(key: Uint8Array): { path: PathStep[]; leaf: Leaf } {
    const path: PathStep[] = [];
    let node = this.#node(this.root);
    while (node instanceof Branch) {
      const idx = upperBound(node.keys, key);
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

  #splitLeaf(path: PathStep[], leaf: Leaf, inserted: number): void {
    const n = leaf.keys.length;
    let at: number;
    const rightEdge = inserted === n - 1 && path.every((s) => s.idx === s.node.children.length - 1);
    if (rightEdge && n > 1) {
      at = n - 1; // appending: leave the left page full
    } else {
      at = splitPoint(leaf.keys.map((k, i) => cellSize(k, leaf.vals[i]!)), leaf.bytes - PAGE_HEADER);
    }
    const rightKeys = leaf.keys.splice(at);
    const rightVals = leaf.vals.splice(at);
    let rightBytes = PAGE_HEADER;
    for (let i = 0; i < rightKeys.length; i++) rightBytes += cellSize(rightKeys[i]!, rightVals[i]!);
    leaf.bytes -= rightBytes - PAGE_HEADER;
    const right = new Leaf(this.pager.allocate(), rightKeys, rightVals, rightBytes);
    this.pager.add(right);
    const sep = separator(leaf.keys[leaf.keys.length - 1]!, rightKeys[0]!);
    this.#insertSeparator(path, path.length - 1, leaf.id, sep, right.id);
  }

  /** Inserts (sep, right) after the child `left` in the branch at `level` (or grows a new root). */
  #insertSeparator(path: PathStep[], level: number, left: number, sep: Uint8Array, right: number): void {
    if (level < 0) {
      const root = new Branch(this.pager.allocate(), [sep], [left, right], PAGE_HEADER + CELL_OVERHEAD + sep.length);
      this.pager.add(root);
      this.root = root.id;
      return;
    }
    const step = path[level]!;
    const node = step.node;
    node.keys.splice(step.idx, 0, sep);
    node.children.splice(step.idx + 1, 0, right);
    node.bytes += CELL_OVERHEAD + sep.length;
    if (node.bytes <= this.pager.pageSize) return;
    // Split the branch: the middle key moves up.
    const n = node.keys.length;
    const rightEdge = step.idx === n - 1 && path.slice(0, level).every((s) => s.idx === s.node.children.length - 1);
    let m: number;
    if (rightEdge && n > 1) m = n - 1;
    else {
      m = splitPoint(
        node.keys.map((k) => CELL_OVERHEAD + k.length),
        node.bytes - PAGE_HEADER,
      );
      if (m >= n) m = n - 1;
    }
    const up = node.keys[m]!;
    const rightKeys = node.keys.splice(m + 1);
    node.keys.pop();
    const rightChildren = node.children.splice(m + 1);
    let rightBytes = PAGE_HEADER;
    for (const k of rightKeys) rightBytes += CELL_OVERHEAD + k.length;
    node.bytes -= rightBytes - PAGE_HEADER + CELL_OVERHEAD + up.length;
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
      const empty = node instanceof Leaf ? node.keys.length === 0 : node.children.length === 0;
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
      const merged =
        leftNode instanceof Leaf
          ? leftNode.bytes + rightNode.bytes - PAGE_HEADER
          : leftNode.bytes + rightNode.bytes - PAGE_HEADER + CELL_OVERHEAD + sep.length;
      if (merged > this.pager.pageSize) return;
      const left = this.#writable(leftNode, { node: parent, idx: li });
      if (left instanceof Leaf && rightNode instanceof Leaf) {
        left.keys.push(...rightNode.keys);
        left.vals.push(...rightNode.vals);
      } else if (left instanceof Branch && rightNode instanceof Branch) {
        left.keys.push(sep, ...rightNode.keys);
        left.children.push(...rightNode.children);
      } else {
        throw corrupt('sibling pages of different kinds', { page: rightNode.id });
      }
      left.bytes = merged;
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
    if (root instanceof Leaf && root.keys.length === 0) {
      this.pager.free(root.id);
      this.root = 0;
    }
  }

  #removeChild(parent: Branch, idx: number): void {
    if (parent.keys.length > 0) {
      const k = idx > 0 ? idx - 1 : 0;
      parent.bytes -= CELL_OVERHEAD + parent.keys[k]!.length;
      parent.keys.splice(k, 1);
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
      const idx =
        mode === 'first' ? 0 : mode === 'last' ? node.children.length - 1 : upperBound(node.keys, key!);
      path.push({ node, idx });
      node = this.#node(node.children[idx]!);
    }
    let idx: number;
    switch (mode) {
      case 'first':
        idx = 0;
        break;
      case 'last':
        idx = node.keys.length - 1;
        break;
      case 'ge':
        idx = lowerBound(node.keys, key!);
        break;
      case 'gt':
        idx = upperBound(node.keys, key!);
        break;
      case 'le':
        idx = upperBound(node.keys, key!) - 1;
        break;
      case 'lt':
        idx = lowerBound(node.keys, key!) - 1;
        break;
    }
    const pos: Position = { path, leaf: node, idx };
    const forward = mode === 'first' || mode === 'ge' || mode === 'gt';
    if (idx < 0 || idx >= node.keys.length) return forward ? this.#nextLeaf(pos) : this.#prevLeaf(pos);
    return pos;
  }

  /** Moves to the next entry; undefined at the end. */
  next(pos: Position): Position | undefined {
    pos.idx++;
    return pos.idx < pos.leaf.keys.length ? pos : this.#nextLeaf(pos);
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
      if (node.keys.length > 0) return pos;
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
      pos.idx = node.keys.length - 1;
      if (node.keys.length > 0) return pos;
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
        if (page.keys.length === 0 && depth > 0) throw corrupt(`leaf ${id} is empty`, { page: id });
        if (page.bytes > pageSize) throw corrupt(`leaf ${id} overflows its page`, { page: id });
        for (let i = 0; i < page.keys.length; i++) {
          const k = page.keys[i]!;
          if (i > 0 && compareBytes(page.keys[i - 1]!, k) >= 0) throw corrupt(`leaf ${id} is out of order`, { page: id });
          if (lo && compareBytes(k, lo) < 0) throw corrupt(`leaf ${id} holds a key below its range`, { page: id });
          if (hi && compareBytes(k, hi) >= 0) throw corrupt(`leaf ${id} holds a key above its range`, { page: id });
          const v = page.vals[i]!;
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
  return CELL_OVERHEAD + key.length + (value instanceof Uint8Array ? value.length : 4);
}

/**
 * The first index i with keys[i] >= key (`strict`: keys[i] > key).
 *
 * Binary search that skips prefixes already known to match: every key between the bounds shares
 * with `key` at least the shorter of the prefixes it shares with the two bounds (the keys are
 * sorted), so each comparison starts there. Keys in a page share long prefixes (table, column,
 * and for an index often the value: `'n'.repeat(100)`), and comparing those bytes again at every
 * step was the largest cost of a B+tree descent.
 */
function search(keys: Uint8Array[], key: Uint8Array, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  let lcpLo = 0; // common prefix of key and keys[lo - 1] (0 when lo = 0)
  let lcpHi = 0; // common prefix of key and keys[hi] (0 when hi = keys.length)
  const kl = key.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = keys[mid]!;
    const n = m.length < kl ? m.length : kl;
    let i = lcpLo < lcpHi ? lcpLo : lcpHi;
    while (i < n && m[i] === key[i]) i++;
    const c = i < n ? m[i]! - key[i]! : m.length - kl;
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

/** The first index i with keys[i] >= key. */
function lowerBound(keys: Uint8Array[], key: Uint8Array): number {
  return search(keys, key, false);
}

/** The first index i with keys[i] > key. */
function upperBound(keys: Uint8Array[], key: Uint8Array): number {
  return search(keys, key, true);
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
