/**
 * The in-memory `KvStore`: the engine's `memory` driver and the store behind every engine test.
 *
 * Layout. A B+tree whose nodes pack their bytes into one buffer each instead of holding one object
 * per key: at ten million keys, per-key objects would cost more than the data and keep the garbage
 * collector busy tracing them. A node owns one ArrayBuffer, viewed as
 *
 *   pos  [k0, v0, h0, k1, v1, h1, ..., end]   per entry: where its key starts, where its value
 *                                               starts (= where the key ends), and its head;
 *                                               pos[3n] is the number of bytes used
 *   buf  key0 value0 key1 value1 ...          entries in key order, back to back, no gaps
 *
 * Every key of a node starts with the node's shared prefix (`plen` bytes: the common prefix of its
 * first and last keys). The head is the next 4 bytes of the key as a big-endian integer, so a binary
 * search compares integers in `pos` and reads key bytes only on a tie. Engine keys share long
 * prefixes (table, kind, branch), which is what makes a plain byte comparison slow.
 *
 * Leaves hold entries and link to their neighbours for scans. Inner nodes use the same packing for
 * their separator keys (with empty values) plus an array of n + 1 children; child i holds the keys
 * k with sep[i-1] <= k < sep[i]. Separators are cut to the shortest prefix of the right node's
 * first key that still sorts after the left node's last key, so inner nodes stay small.
 *
 * Writes keep each leaf's bytes contiguous (an insert moves the tail with `copyWithin`), so there is
 * no fragmentation to compact and memory stays close to the raw bytes: buffers are sized to their
 * content plus 1/8 and grow by 1/4 up to the leaf size, where the leaf splits (about 1.2× the raw
 * bytes in buffers after random inserts). Splits are by bytes; an insert at the end of a leaf
 * (time-ordered ids) splits off just the new entry so sequential loads fill leaves completely.
 * Deletes merge small neighbours. Node sizes were tuned with `bench/memory-store.ts`.
 *
 * Reads return `subarray` views into leaf buffers; the contract makes them valid only until the next
 * write. Iterators remember their position and a copy of the last key they yielded, and re-seek
 * after it when the tree's modification counter moved.
 *
 * Transactions apply writes at once and append the previous state of each written key to an undo
 * log packed in one growing buffer; rollback replays it backwards. Commit has nothing to flush.
 */
import { assert } from '../util/assert.ts';
import { JazzError } from '../util/errors.ts';
import type { KeyRange, KvEntry, KvStore, KvTransaction } from './types.ts';

/** Node sizes. The defaults suit large stores; tests shrink them to exercise splits and merges. */
export interface MemoryStoreOptions {
  /** A leaf splits when its entries take more bytes than this. */
  readonly leafBytes?: number;
  /** A leaf splits when it holds more entries than this. */
  readonly leafEntries?: number;
  /** An inner node splits when it has more children than this. */
  readonly innerChildren?: number;
}

const DEFAULTS = { leafBytes: 16384, leafEntries: 512, innerChildren: 128 };

/** Creates an empty in-memory store (`persistent` is false). */
export function createMemoryStore(options: MemoryStoreOptions = {}): KvStore {
  const leafBytes = options.leafBytes ?? DEFAULTS.leafBytes;
  const leafEntries = options.leafEntries ?? DEFAULTS.leafEntries;
  const innerChildren = options.innerChildren ?? DEFAULTS.innerChildren;
  assert(leafBytes >= 64 && leafEntries >= 4 && innerChildren >= 4, 'memory store node sizes too small');
  return new MemoryStore(new Tree(leafBytes, leafEntries, innerChildren));
}

/**
 * Checks the B+tree's structural invariants (order, separators, links, sizes) of a store made by
 * `createMemoryStore`; throws on the first violation. For tests.
 */
export function verifyMemoryStore(store: KvStore): void {
  assert(store instanceof MemoryStore, 'not a memory store');
  verifyTree(store.tree);
}

/** Shape and memory of a memory store's tree, for benchmarks and tuning. */
export interface MemoryStoreStats {
  readonly depth: number;
  readonly leaves: number;
  readonly innerNodes: number;
  readonly entries: number;
  /** Bytes of keys and values (and separators) held. */
  readonly bytesUsed: number;
  /** Bytes of node buffers and position arrays allocated. */
  readonly bytesAllocated: number;
}

/** Reports the tree shape of a store made by `createMemoryStore`. */
export function memoryStoreStats(store: KvStore): MemoryStoreStats {
  assert(store instanceof MemoryStore, 'not a memory store');
  const tree = store.tree;
  let depth = 0;
  let leaves = 0;
  let innerNodes = 0;
  let entries = 0;
  let bytesUsed = 0;
  let bytesAllocated = 0;
  const walk = (node: Node, level: number): void => {
    depth = Math.max(depth, level);
    bytesUsed += node.pos[3 * node.n]!;
    bytesAllocated += node.buf.length + 4 * node.pos.length;
    if (node.children === null) {
      leaves++;
      entries += node.n;
    } else {
      innerNodes++;
      for (const child of node.children) walk(child, level + 1);
    }
  };
  walk(tree.root, 1);
  return { depth, leaves, innerNodes, entries, bytesUsed, bytesAllocated };
}

// ---- the store ----

class MemoryStore implements KvStore {
  readonly persistent = false;
  #tree: Tree;
  #undo = new UndoLog();
  #tx: KvTransaction | null = null;

  constructor(tree: Tree) {
    this.#tree = tree;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    return this.#tree.get(key);
  }

  scan(range: KeyRange = {}): IterableIterator<KvEntry> {
    this.#checkOpen();
    return new MemoryIterator(this.#tree, range);
  }

  transaction(): KvTransaction {
    this.#checkOpen();
    if (this.#tx !== null) {
      throw new Error('KvStore: a transaction is already open; commit or roll it back before starting another');
    }
    const tree = this.#tree;
    const undo = this.#undo;
    let open = true;
    const check = (): void => {
      if (tree.closed) throw closedError();
      if (!open) throw new Error('KvStore: this transaction has ended; start a new one to write');
    };
    const end = (): void => {
      open = false;
      this.#tx = null;
      undo.clear();
    };
    const tx: KvTransaction = {
      put(key, value) {
        check();
        tree.put(key, value, undo);
      },
      delete(key) {
        check();
        tree.delete(key, undo);
      },
      commit() {
        check();
        end();
        return RESOLVED;
      },
      rollback() {
        check();
        undo.replay(tree);
        end();
      },
    };
    this.#tx = tx;
    return tx;
  }

  flush(): Promise<void> {
    this.#checkOpen();
    return RESOLVED;
  }

  close(): Promise<void> {
    if (!this.#tree.closed) {
      this.#tree.close();
      this.#tx = null;
      this.#undo.clear();
    }
    return RESOLVED;
  }

  /** The tree, for `verifyMemoryStore` and `memoryStoreStats` (functions, so bundles leave them out). */
  get tree(): Tree {
    this.#checkOpen();
    return this.#tree;
  }

  #checkOpen(): void {
    if (this.#tree.closed) throw closedError();
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

function closedError(): JazzError {
  return new JazzError('CLOSED', 'The store is closed; open the database again to use it.');
}

// ---- iterators ----

const DONE: IteratorResult<KvEntry> = { done: true, value: undefined };

class MemoryIterator implements IterableIterator<KvEntry> {
  readonly #tree: Tree;
  readonly #lo: Uint8Array | undefined;
  readonly #loStrict: boolean;
  readonly #hi: Uint8Array | undefined;
  readonly #hiStrict: boolean;
  readonly #reverse: boolean;
  #started = false;
  #done = false;
  #leaf: Node | null = null;
  #idx = 0;
  #mod = 0;
  /** A copy of the last key yielded, to re-seek from after a write moved things. */
  #last: Uint8Array = EMPTY;
  #lastLength = 0;

  constructor(tree: Tree, range: KeyRange) {
    this.#tree = tree;
    // Copy the bounds: the caller may reuse its arrays while the iterator lives.
    this.#lo = range.gt !== undefined ? range.gt.slice() : range.gte?.slice();
    this.#loStrict = range.gt !== undefined;
    this.#hi = range.lt !== undefined ? range.lt.slice() : range.lte?.slice();
    this.#hiStrict = range.lt !== undefined;
    this.#reverse = range.reverse === true;
  }

  [Symbol.iterator](): IterableIterator<KvEntry> {
    return this;
  }

  next(): IteratorResult<KvEntry> {
    const tree = this.#tree;
    if (tree.closed) throw closedError();
    if (this.#done) return DONE;
    const reverse = this.#reverse;
    let leaf: Node | null;
    let idx: number;
    if (!this.#started) {
      this.#started = true;
      leaf = reverse ? tree.seekLE(this.#hi, this.#hiStrict) : tree.seekGE(this.#lo, this.#loStrict);
      idx = tree.seekIdx;
    } else if (this.#mod !== tree.mod) {
      const last = this.#last.subarray(0, this.#lastLength);
      leaf = reverse ? tree.seekLE(last, true) : tree.seekGE(last, true);
      idx = tree.seekIdx;
    } else {
      leaf = this.#leaf!;
      idx = this.#idx;
      if (reverse) {
        if (--idx < 0) {
          leaf = leaf.prev;
          if (leaf !== null) idx = leaf.n - 1;
        }
      } else if (++idx >= leaf.n) {
        leaf = leaf.next;
        idx = 0;
      }
    }
    if (leaf === null) return this.return();
    const { buf, pos } = leaf;
    const ks = pos[3 * idx]!;
    const ke = pos[3 * idx + 1]!;
    if (reverse) {
      if (this.#lo !== undefined) {
        const c = compareAt(buf, ks, ke, this.#lo, 0);
        if (c < 0 || (c === 0 && this.#loStrict)) return this.return();
      }
    } else if (this.#hi !== undefined) {
      const c = compareAt(buf, ks, ke, this.#hi, 0);
      if (c > 0 || (c === 0 && this.#hiStrict)) return this.return();
    }
    this.#leaf = leaf;
    this.#idx = idx;
    this.#mod = tree.mod;
    const key = buf.subarray(ks, ke);
    const length = ke - ks;
    if (length > this.#last.length) this.#last = new Uint8Array(Math.max(length, 2 * this.#last.length, 64));
    this.#last.set(key);
    this.#lastLength = length;
    return { done: false, value: { key, value: buf.subarray(ke, pos[3 * idx + 3]!) } };
  }

  return(): IteratorResult<KvEntry> {
    this.#done = true;
    this.#leaf = null;
    return DONE;
  }
}

// ---- the undo log ----

const ABSENT = 0xffffffff;

/**
 * The previous state of every key a transaction wrote, newest last, packed as
 * `key, old value, u32 key length, u32 value length (ABSENT if the key did not exist)`
 * so it can be read backwards without an index.
 */
class UndoLog {
  #buf: Uint8Array = EMPTY;
  #used = 0;

  record(key: Uint8Array, old: Uint8Array | undefined): void {
    const vlen = old === undefined ? 0 : old.length;
    const need = this.#used + key.length + vlen + 8;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#buf.length, 4096));
      grown.set(this.#buf.subarray(0, this.#used));
      this.#buf = grown;
    }
    const buf = this.#buf;
    let at = this.#used;
    buf.set(key, at);
    at += key.length;
    if (old !== undefined) {
      buf.set(old, at);
      at += vlen;
    }
    writeU32(buf, at, key.length);
    writeU32(buf, at + 4, old === undefined ? ABSENT : vlen);
    this.#used = at + 8;
  }

  /** Undoes every recorded write, newest first. */
  replay(tree: Tree): void {
    const buf = this.#buf;
    let end = this.#used;
    while (end > 0) {
      const klen = readU32(buf, end - 8);
      const vlen = readU32(buf, end - 4);
      const vstart = end - 8 - (vlen === ABSENT ? 0 : vlen);
      const kstart = vstart - klen;
      const key = buf.subarray(kstart, vstart);
      if (vlen === ABSENT) tree.delete(key, null);
      else tree.put(key, buf.subarray(vstart, vstart + vlen), null);
      end = kstart;
    }
    this.#used = 0;
  }

  clear(): void {
    this.#used = 0;
    // Keep a modest buffer for the next transaction; give a bulk load's back.
    if (this.#buf.length > 1 << 20) this.#buf = EMPTY;
  }
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

// ---- the B+tree ----

const EMPTY = new Uint8Array(0);

/** A leaf (children === null) or an inner node; see the layout at the top of the file. */
class Node {
  n: number;
  /** Bytes every key of the node starts with (those of key 0); heads are the 4 bytes after. */
  plen = 0;
  buf: Uint8Array;
  pos: Uint32Array;
  children: Node[] | null;
  next: Node | null = null;
  prev: Node | null = null;

  /** An empty node with room for `bytes` bytes and `entries` entries. */
  constructor(bytes: number, entries: number, children: Node[] | null) {
    const slots = fitSlots(entries);
    const memory = new ArrayBuffer(4 * slots + bytes);
    this.pos = new Uint32Array(memory, 0, slots);
    this.buf = new Uint8Array(memory, 4 * slots, bytes);
    this.n = 0;
    this.children = children;
  }
}

function newLeaf(): Node {
  return new Node(256, 8, null);
}

/**
 * Moves a node into one new ArrayBuffer holding its positions and then its bytes: one allocation
 * per node instead of two, which halves the per-node overhead and the work of the collector.
 */
function relocate(node: Node, bytes: number, slots: number): void {
  const used = node.pos[3 * node.n]!;
  const memory = new ArrayBuffer(4 * slots + bytes);
  const pos = new Uint32Array(memory, 0, slots);
  const buf = new Uint8Array(memory, 4 * slots, bytes);
  pos.set(node.pos.subarray(0, 3 * node.n + 1));
  buf.set(node.buf.subarray(0, used));
  node.pos = pos;
  node.buf = buf;
}

class Tree {
  root: Node = newLeaf();
  /** Bumped by every change; iterators re-seek when it moved. */
  mod = 0;
  closed = false;
  /** The entry index that goes with the leaf the last seek returned. */
  seekIdx = 0;
  readonly #leafBytes: number;
  readonly leafEntries: number;
  readonly innerChildren: number;
  /** The inner nodes and child indexes of the last descent, root first. */
  readonly #pathNode: Node[] = [];
  readonly #pathIdx: number[] = [];
  #depth = 0;

  constructor(leafBytes: number, leafEntries: number, innerChildren: number) {
    this.#leafBytes = leafBytes;
    this.leafEntries = leafEntries;
    this.innerChildren = innerChildren;
  }

  close(): void {
    this.closed = true;
    this.root = newLeaf();
    this.mod++;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    let node = this.root;
    while (node.children !== null) node = node.children[searchInner(node, key)]!;
    const i = searchLeaf(node, key);
    if (i < 0) return undefined;
    return node.buf.subarray(node.pos[3 * i + 1]!, node.pos[3 * i + 3]!);
  }

  put(key: Uint8Array, value: Uint8Array, undo: UndoLog | null): void {
    const leaf = this.#descend(key);
    const found = searchLeaf(leaf, key);
    this.mod++;
    let at: number;
    if (found >= 0) {
      at = found;
      const pos = leaf.pos;
      if (undo !== null) undo.record(key, leaf.buf.subarray(pos[3 * at + 1]!, pos[3 * at + 3]!));
      setValueAt(leaf, at, value, this.#leafBytes);
    } else {
      at = ~found;
      if (undo !== null) undo.record(key, undefined);
      insertAt(leaf, at, key, value, this.#leafBytes);
    }
    if ((leaf.pos[3 * leaf.n]! > this.#leafBytes || leaf.n > this.leafEntries) && leaf.n > 1) {
      this.#splitLeaf(leaf, at);
    }
  }

  /** Returns whether the key existed. */
  delete(key: Uint8Array, undo: UndoLog | null): boolean {
    const leaf = this.#descend(key);
    const i = searchLeaf(leaf, key);
    if (i < 0) return false;
    this.mod++;
    if (undo !== null) undo.record(key, leaf.buf.subarray(leaf.pos[3 * i + 1]!, leaf.pos[3 * i + 3]!));
    removeAt(leaf, i);
    if (this.#depth > 0) this.#afterLeafShrank(leaf);
    return true;
  }

  /** The leaf and `seekIdx` of the first entry >= key (> key if strict), or null past the end. */
  seekGE(key: Uint8Array | undefined, strict: boolean): Node | null {
    let leaf = this.root;
    let idx = 0;
    if (key === undefined) {
      while (leaf.children !== null) leaf = leaf.children[0]!;
    } else {
      while (leaf.children !== null) leaf = leaf.children[searchInner(leaf, key)]!;
      const found = searchLeaf(leaf, key);
      idx = found >= 0 ? (strict ? found + 1 : found) : ~found;
    }
    if (idx >= leaf.n) {
      // Only the root leaf is ever empty, so the next leaf has an entry.
      const next = leaf.next;
      this.seekIdx = 0;
      return next;
    }
    this.seekIdx = idx;
    return leaf;
  }

  /** The leaf and `seekIdx` of the last entry <= key (< key if strict), or null before the start. */
  seekLE(key: Uint8Array | undefined, strict: boolean): Node | null {
    let leaf = this.root;
    let idx: number;
    if (key === undefined) {
      while (leaf.children !== null) leaf = leaf.children[leaf.children.length - 1]!;
      idx = leaf.n - 1;
    } else {
      while (leaf.children !== null) leaf = leaf.children[searchInner(leaf, key)]!;
      const found = searchLeaf(leaf, key);
      idx = found >= 0 ? (strict ? found - 1 : found) : ~found - 1;
    }
    if (idx < 0) {
      const prev = leaf.prev;
      this.seekIdx = prev === null ? 0 : prev.n - 1;
      return prev;
    }
    this.seekIdx = idx;
    return leaf;
  }

  /** Walks to the leaf for `key`, recording the path for splits and merges. */
  #descend(key: Uint8Array): Node {
    let node = this.root;
    let d = 0;
    while (node.children !== null) {
      const i = searchInner(node, key);
      this.#pathNode[d] = node;
      this.#pathIdx[d] = i;
      d++;
      node = node.children[i]!;
    }
    this.#depth = d;
    return node;
  }

  #splitLeaf(leaf: Node, at: number): void {
    const n = leaf.n;
    let m: number;
    if (at === n - 1) {
      m = n - 1; // appending: leave the leaf full, start a new one
    } else if (at === 0) {
      m = 1; // prepending, the mirror image
    } else {
      const pos = leaf.pos;
      const half = pos[3 * n]! >>> 1;
      let lo = 1;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pos[3 * mid]! < half) lo = mid + 1;
        else hi = mid;
      }
      m = lo;
    }
    // The separator: the shortest prefix of the right's first key above the left's last key.
    const pos = leaf.pos;
    const buf = leaf.buf;
    const sepLength = commonPrefix(buf, pos[3 * m - 3]!, pos[3 * m - 2]!, pos[3 * m]!, pos[3 * m + 1]!) + 1;
    const right = splitOff(leaf, m);
    truncate(leaf, m);
    right.next = leaf.next;
    if (right.next !== null) right.next.prev = right;
    right.prev = leaf;
    leaf.next = right;
    this.#addChild(this.#depth - 1, leaf, right.buf.subarray(0, sepLength), right);
  }

  /** Puts `right` after `left` in the inner node at path level `level` (a new root if < 0). */
  #addChild(level: number, left: Node, sep: Uint8Array, right: Node): void {
    if (level < 0) {
      const root = new Node(fitBytes(sep.length), 1, [left, right]);
      insertAt(root, 0, sep, EMPTY, Infinity);
      this.root = root;
      return;
    }
    const parent = this.#pathNode[level]!;
    const i = this.#pathIdx[level]!;
    insertAt(parent, i, sep, EMPTY, Infinity);
    parent.children!.splice(i + 1, 0, right);
    if (parent.n + 1 > this.innerChildren) {
      const m = parent.n >>> 1;
      const up = parent.buf.slice(parent.pos[3 * m]!, parent.pos[3 * m + 1]!);
      const sibling = splitOff(parent, m + 1);
      sibling.children = parent.children!.splice(m + 1);
      truncate(parent, m);
      this.#addChild(level - 1, parent, up, sibling);
    }
  }

  /** Removes an emptied leaf or merges a small one into a neighbour. */
  #afterLeafShrank(leaf: Node): void {
    const level = this.#depth - 1;
    const parent = this.#pathNode[level]!;
    const i = this.#pathIdx[level]!;
    if (leaf.n === 0) {
      if (leaf.prev !== null) leaf.prev.next = leaf.next;
      if (leaf.next !== null) leaf.next.prev = leaf.prev;
      this.#removeChild(level, i);
      return;
    }
    const used = leaf.pos[3 * leaf.n]!;
    if (4 * used >= this.#leafBytes || 4 * leaf.n >= this.leafEntries) return;
    const children = parent.children!;
    const fits = (other: Node): boolean => 4 * (used + other.pos[3 * other.n]!) <= 3 * this.#leafBytes && 4 * (leaf.n + other.n) <= 3 * this.leafEntries;
    if (i + 1 < children.length && fits(children[i + 1]!)) {
      mergeLeaves(leaf, children[i + 1]!);
      this.#removeChild(level, i + 1);
    } else if (i > 0 && fits(children[i - 1]!)) {
      mergeLeaves(children[i - 1]!, leaf);
      this.#removeChild(level, i);
    }
  }

  /** Drops child `i` of the inner node at path level `level`, with the separator next to it. */
  #removeChild(level: number, i: number): void {
    const node = this.#pathNode[level]!;
    const children = node.children!;
    children.splice(i, 1);
    if (node.n > 0) removeAt(node, i > 0 ? i - 1 : 0);
    if (level === 0) {
      let root = node;
      while (root.children !== null && root.children.length === 1) root = root.children[0]!;
      this.root = root.children !== null && root.children.length === 0 ? newLeaf() : root;
      return;
    }
    if (children.length === 0) {
      this.#removeChild(level - 1, this.#pathIdx[level - 1]!);
      return;
    }
    if (4 * children.length >= this.innerChildren) return;
    const parent = this.#pathNode[level - 1]!;
    const at = this.#pathIdx[level - 1]!;
    const siblings = parent.children!;
    const fits = (other: Node): boolean => 4 * (children.length + other.children!.length) <= 3 * this.innerChildren;
    if (at + 1 < siblings.length && fits(siblings[at + 1]!)) {
      mergeInner(node, sepAt(parent, at), siblings[at + 1]!);
      this.#removeChild(level - 1, at + 1);
    } else if (at > 0 && fits(siblings[at - 1]!)) {
      mergeInner(siblings[at - 1]!, sepAt(parent, at - 1), node);
      this.#removeChild(level - 1, at);
    }
  }
}

/** Throws on the first broken invariant of the tree (order, separators, links, sizes). */
function verifyTree(tree: Tree): void {
  const leaves: Node[] = [];
  const walk = (node: Node, lo: Uint8Array | undefined, hi: Uint8Array | undefined, isRoot: boolean): number => {
    const { n, pos, buf } = node;
    assert(pos[0] === 0, 'node bytes start at 0');
    for (let j = 0; j < n; j++) {
      assert(pos[3 * j]! <= pos[3 * j + 1]! && pos[3 * j + 1]! <= pos[3 * j + 3]!, 'positions ascend');
    }
    assert(pos[3 * n]! <= buf.length, 'positions within the buffer');
    const key = (j: number): Uint8Array => buf.subarray(pos[3 * j]!, pos[3 * j + 1]!);
    for (let j = 1; j < n; j++) assert(compare(key(j - 1), key(j)) < 0, 'keys ascend');
    for (let j = 0; j < n; j++) {
      const k = key(j);
      assert(k.length >= node.plen && compare(k.subarray(0, node.plen), buf.subarray(0, node.plen)) === 0, 'prefix');
      assert(pos[3 * j + 2] === headAt(k, 0, k.length, node.plen), 'head');
    }
    if (node.children === null) {
      assert(isRoot || n > 0, 'only the root leaf may be empty');
      for (let j = 0; j < n; j++) {
        if (lo !== undefined) assert(compare(key(j), lo) >= 0, 'leaf key below its separator');
        if (hi !== undefined) assert(compare(key(j), hi) < 0, 'leaf key at or above its separator');
      }
      assert(n <= tree.leafEntries, 'leaf over its entry count');
      leaves.push(node);
      return 0;
    }
    assert(node.children.length === n + 1, 'inner node has n + 1 children');
    assert(node.children.length <= tree.innerChildren, 'inner node over its child count');
    assert(!isRoot || n > 0, 'root inner node has at least two children');
    let height = -1;
    for (let j = 0; j <= n; j++) {
      const h = walk(node.children[j]!, j === 0 ? lo : key(j - 1), j === n ? hi : key(j), false);
      assert(height === -1 || h === height, 'leaves at one depth');
      height = h;
    }
    for (let j = 0; j < n; j++) {
      if (lo !== undefined) assert(compare(key(j), lo) >= 0, 'separator below its range');
      if (hi !== undefined) assert(compare(key(j), hi) < 0, 'separator above its range');
    }
    return height + 1;
  };
  walk(tree.root, undefined, undefined, true);
  for (let j = 0; j < leaves.length; j++) {
    assert(leaves[j]!.prev === (j === 0 ? null : leaves[j - 1]), 'leaf prev link');
    assert(leaves[j]!.next === (j === leaves.length - 1 ? null : leaves[j + 1]), 'leaf next link');
  }
}

// ---- packed node primitives ----

/** Unsigned byte order of buf[start, end) against key, both known equal before offset `from`. */
function compareAt(buf: Uint8Array, start: number, end: number, key: Uint8Array, from: number): number {
  const len = end - start;
  const klen = key.length;
  const n = len < klen ? len : klen;
  for (let i = from; i < n; i++) {
    const d = buf[start + i]! - key[i]!;
    if (d !== 0) return d;
  }
  return len - klen;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  return compareAt(a, 0, a.length, b, 0);
}

/** Length of the common prefix of buf[a0, a1) and buf[b0, b1). */
function commonPrefix(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  let i = 0;
  while (i < n && buf[a0 + i] === buf[b0 + i]) i++;
  return i;
}

/** The 4 bytes of buf[start, end) after `skip` bytes, big-endian, zero-padded. */
function headAt(buf: Uint8Array, start: number, end: number, skip: number): number {
  const s = start + skip;
  if (s + 4 <= end) return ((buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!) >>> 0;
  let h = 0;
  for (let j = 0; j < 4; j++) h = h * 256 + (s + j < end ? buf[s + j]! : 0);
  return h;
}

/**
 * Where `key` falls against the node's shared prefix: -1 below every key of the node, 1 above
 * every key, 0 when it starts with the prefix (then heads decide).
 */
function againstPrefix(node: Node, key: Uint8Array): number {
  const buf = node.buf;
  const p = node.plen;
  const klen = key.length;
  for (let j = 0; j < p; j++) {
    if (j >= klen) return -1;
    const d = key[j]! - buf[j]!; // key 0 starts at byte 0
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The child of an inner node that covers key: the number of separators <= key. */
function searchInner(node: Node, key: Uint8Array): number {
  const n = node.n;
  if (n === 0) return 0;
  const side = againstPrefix(node, key);
  if (side !== 0) return side < 0 ? 0 : n;
  const { buf, pos } = node;
  const p = node.plen;
  const h = headAt(key, 0, key.length, p);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const mh = pos[3 * mid + 2]!;
    if (mh < h || (mh === h && compareAt(buf, pos[3 * mid]!, pos[3 * mid + 1]!, key, p) <= 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of key in a leaf, or ~(where it would go). */
function searchLeaf(node: Node, key: Uint8Array): number {
  const n = node.n;
  if (n === 0) return ~0;
  const side = againstPrefix(node, key);
  if (side !== 0) return side < 0 ? ~0 : ~n;
  const { buf, pos } = node;
  const p = node.plen;
  const h = headAt(key, 0, key.length, p);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const mh = pos[3 * mid + 2]!;
    const c = mh !== h ? mh - h : compareAt(buf, pos[3 * mid]!, pos[3 * mid + 1]!, key, p);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid;
    else return mid;
  }
  return ~lo;
}

function sepAt(node: Node, i: number): Uint8Array {
  return node.buf.subarray(node.pos[3 * i]!, node.pos[3 * i + 1]!);
}

/** Sets the shared prefix to that of the first and last keys and recomputes every head. */
function refreshHeads(node: Node): void {
  const { buf, pos, n } = node;
  if (n === 0) {
    node.plen = 0;
    return;
  }
  const p = commonPrefix(buf, pos[0]!, pos[1]!, pos[3 * n - 3]!, pos[3 * n - 2]!);
  node.plen = p;
  for (let j = 0; j < n; j++) pos[3 * j + 2] = headAt(buf, pos[3 * j]!, pos[3 * j + 1]!, p);
}

/** Buffer size for `bytes` of content: a little slack so the next few inserts fit. */
function fitBytes(bytes: number): number {
  return (bytes + (bytes >>> 3) + 63) & ~63;
}

function fitSlots(entries: number): number {
  return 3 * (entries + (entries >>> 3) + 2) + 1;
}

/** Makes room for `bytes` more bytes and `entries` more entries; grows up to `limit` bytes at once. */
function reserve(node: Node, bytes: number, entries: number, limit: number): void {
  const need = node.pos[3 * node.n]! + bytes;
  const slots = 3 * (node.n + entries) + 1;
  const cap = node.buf.length;
  if (need > cap || slots > node.pos.length) {
    const target = need > cap ? Math.max(need, Math.min(cap + (cap >>> GROWTH_SHIFT), limit)) : cap;
    const grown = slots > node.pos.length ? Math.max(slots, fitSlots(node.n + entries + (node.n >>> 2))) : node.pos.length;
    relocate(node, (target + 63) & ~63, grown);
  }
}

/** Buffers grow by 1/2^GROWTH_SHIFT of their size (and at least to what is needed). */
const GROWTH_SHIFT = 2;

function insertAt(node: Node, i: number, key: Uint8Array, value: Uint8Array, limit: number): void {
  const n = node.n;
  const klen = key.length;
  // A new first or last key may share less of the prefix; keys in between share it anyway.
  let plen = node.plen;
  if (n === 0) {
    plen = klen;
  } else if (i === 0 || i === n) {
    const buf = node.buf;
    let l = 0;
    while (l < plen && l < klen && key[l] === buf[l]) l++;
    plen = l;
  }
  const size = klen + value.length;
  reserve(node, size, 1, limit);
  const { buf, pos } = node;
  const start = pos[3 * i]!;
  const used = pos[3 * n]!;
  if (start < used) buf.copyWithin(start + size, start, used);
  pos[3 * n + 3] = used + size;
  for (let j = n - 1; j >= i; j--) {
    const d = 3 * j;
    pos[d + 3] = pos[d]! + size;
    pos[d + 4] = pos[d + 1]! + size;
    pos[d + 5] = pos[d + 2]!;
  }
  pos[3 * i] = start;
  pos[3 * i + 1] = start + klen;
  buf.set(key, start);
  buf.set(value, start + klen);
  node.n = n + 1;
  if (plen !== node.plen || n === 0) {
    node.plen = plen;
    for (let j = 0; j <= n; j++) pos[3 * j + 2] = headAt(buf, pos[3 * j]!, pos[3 * j + 1]!, plen);
  } else {
    pos[3 * i + 2] = headAt(key, 0, klen, plen);
  }
}

function removeAt(node: Node, i: number): void {
  const { buf, pos } = node;
  const n = node.n;
  const start = pos[3 * i]!;
  const end = pos[3 * i + 3]!;
  const size = end - start;
  const used = pos[3 * n]!;
  if (end < used) buf.copyWithin(start, end, used);
  for (let j = i + 1; j < n; j++) {
    const d = 3 * j;
    pos[d - 3] = pos[d]! - size;
    pos[d - 2] = pos[d + 1]! - size;
    pos[d - 1] = pos[d + 2]!;
  }
  pos[3 * n - 3] = used - size;
  node.n = n - 1;
}

function setValueAt(node: Node, i: number, value: Uint8Array, limit: number): void {
  const vstart = node.pos[3 * i + 1]!;
  const vend = node.pos[3 * i + 3]!;
  const delta = value.length - (vend - vstart);
  if (delta !== 0) {
    if (delta > 0) reserve(node, delta, 0, limit);
    const { buf, pos } = node;
    const n = node.n;
    const used = pos[3 * n]!;
    if (vend < used) buf.copyWithin(vend + delta, vend, used);
    for (let j = i + 1; j < n; j++) {
      pos[3 * j] = pos[3 * j]! + delta;
      pos[3 * j + 1] = pos[3 * j + 1]! + delta;
    }
    pos[3 * n] = used + delta;
  }
  node.buf.set(value, vstart);
}

/** A new node holding entries [from, n) of `node`; the caller then cuts `node` down. */
function splitOff(node: Node, from: number): Node {
  const { buf, pos } = node;
  const n = node.n;
  const start = pos[3 * from]!;
  const end = pos[3 * n]!;
  const count = n - from;
  const out = new Node(fitBytes(end - start), count, null);
  out.n = count;
  out.buf.set(buf.subarray(start, end));
  const p = out.pos;
  for (let j = 0; j < count; j++) {
    const s = 3 * (from + j);
    p[3 * j] = pos[s]! - start;
    p[3 * j + 1] = pos[s + 1]! - start;
  }
  p[3 * count] = end - start;
  refreshHeads(out);
  return out;
}

/** Cuts `node` down to its first `n` entries and gives back most of the space that freed. */
function truncate(node: Node, n: number): void {
  node.n = n;
  refreshHeads(node);
  const used = node.pos[3 * n]!;
  const fit = fitBytes(used);
  const slots = fitSlots(n);
  if (node.buf.length > fit + (fit >>> 1) || node.pos.length > slots + (slots >>> 1)) relocate(node, fit, slots);
}

/** Appends the entries of `right` to `left` and unlinks `right`. */
function mergeLeaves(left: Node, right: Node): void {
  appendEntries(left, right);
  left.next = right.next;
  if (left.next !== null) left.next.prev = left;
}

function mergeInner(left: Node, sep: Uint8Array, right: Node): void {
  insertAt(left, left.n, sep, EMPTY, Infinity);
  appendEntries(left, right);
  left.children!.push(...right.children!);
}

function appendEntries(left: Node, right: Node): void {
  const bytes = right.pos[3 * right.n]!;
  reserve(left, bytes, right.n, Infinity);
  const base = left.pos[3 * left.n]!;
  left.buf.set(right.buf.subarray(0, bytes), base);
  const lp = left.pos;
  const rp = right.pos;
  const off = 3 * left.n;
  for (let j = 0; j < right.n; j++) {
    lp[off + 3 * j] = rp[3 * j]! + base;
    lp[off + 3 * j + 1] = rp[3 * j + 1]! + base;
  }
  lp[off + 3 * right.n] = bytes + base;
  left.n += right.n;
  refreshHeads(left);
}
