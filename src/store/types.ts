/**
 * The ordered key-value store the engine runs on.
 *
 * Contract, for every implementation (memory now, the B+tree over a BlockFile next):
 * - Keys and values are byte strings; keys are ordered by unsigned byte-wise comparison
 *   (memcmp, shorter prefix first). The engine builds keys with the order-preserving tuple codec in
 *   `keys.ts`, so byte order is tuple order.
 * - Reads are synchronous and always see the latest writes, including those of the open
 *   transaction (read-your-writes; there is a single writer, the engine).
 * - A transaction's puts and deletes are applied to the readable state as they are made. `commit()`
 *   makes them durable as one atomic unit: after a crash either all of them are there or none.
 *   The promise it returns resolves when the commit is durable (that is tier `local`); commits made
 *   in the same tick may share one flush (group commit). `rollback()` undoes every write of the
 *   transaction. At most one transaction is open at a time.
 * - `scan` yields entries in key order (or reverse order) within the range. It stays valid while
 *   the store is written: an iterator continues after the last key it yielded, seeing the
 *   current state from there on.
 * - Returned `Uint8Array`s belong to the caller only until the next write; copy what you keep.
 * - `put` copies the key and value it is given: the caller may reuse those buffers once it returns.
 */
export interface KvStore {
  get(key: Uint8Array): Uint8Array | undefined;
  scan(range?: KeyRange): IterableIterator<KvEntry>;
  /**
   * Optional: about how many entries `scan(range)` would yield, without reading them all: exact
   * for a range of a page or two, an estimate from the tree's shape beyond (durable store). For
   * a query planner's weighing only; absent, it counts with `scan`.
   */
  estimate?(range?: KeyRange): number;
  /** Starts the single write transaction. Throws if one is already open. */
  transaction(): KvTransaction;
  /** Resolves when every commit so far is durable. */
  flush(): Promise<void>;
  /** Makes everything durable and releases the store. Further use throws `CLOSED`. */
  close(): Promise<void>;
  /** False for stores that lose their contents when closed (memory). */
  readonly persistent: boolean;
  /**
   * The longest key `put` takes (a longer one throws); absent: no limit. Values have no limit
   * short of 2 GiB.
   */
  readonly maxKeyBytes?: number;
}

export interface KvTransaction {
  /**
   * `stream`: how many leading bytes of `key` name the run of keys it belongs to, a run whose
   * later keys tend to land right after this one (the engine: an index's column and value, before
   * the row id). A hint a store may use to skip searching for where the key goes; ignoring it
   * changes nothing but speed. (The durable store uses it for small transactions; a large one's
   * writes reach its tree sorted, where one finger serves every run.)
   */
  put(key: Uint8Array, value: Uint8Array, stream?: number): void;
  delete(key: Uint8Array): void;
  /** Ends the transaction; resolves once it is durable. */
  commit(): Promise<void>;
  /** Ends the transaction, undoing all of its writes. */
  rollback(): void;
}

export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Bounds are optional; give at most one lower (`gt`/`gte`) and one upper (`lt`/`lte`). */
export interface KeyRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
}

/** Unsigned byte-wise order of two keys: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
