/**
 * The contract of the database API, written once: what a write, a batch and a live query hand
 * back, and `DbContract`, which the engine's `Db` (src/db.ts) and the page's client
 * (worker/page/client.ts) both implement.
 */
import type { Tier } from './engine/engine.ts';
import type { QueryBuilder } from './query/builder.ts';
import type { BatchWriter, InsertOfRef, TableRef } from './rows/batch-writer.ts';
import type { InsertOptions } from './rows/insert-options.ts';

export interface WaitOptions {
  readonly tier: Tier;
}

/**
 * What a write returns at once: the row's id, its batch, and `wait`, which resolves once the write
 * is durable at the tier (`local` by default) to the row as it reads then (null when it is deleted,
 * or the database was closed before it could be read), or rejects with the reason it never will be.
 */
export interface WriteHandle<R = Readonly<Record<string, unknown>> & { readonly id: string }> {
  readonly id: string;
  readonly batchId: string;
  wait(opts?: WaitOptions): Promise<R | null>;
}

/** What a batch returns: the ids it wrote, in order, and its one fate. */
export interface BatchHandle {
  readonly batchId: string;
  readonly ids: readonly string[];
  wait(opts?: WaitOptions): Promise<void>;
}

export interface SubscriptionUpdate<R> {
  /** The whole current result, in order. */
  readonly all: readonly R[];
  /** What changed since the last call (the first call reports every row as added). */
  readonly delta: { readonly added: readonly R[]; readonly removed: readonly R[]; readonly changed: readonly R[] };
  /** Only with the `firstRows` option: `all` is the result's first rows; the whole follows. */
  readonly partial?: true | undefined;
  /**
   * With `partial`, where it is known before the rest is read: the whole result's length (a query
   * of every row of a table, in any order). A virtual list sizes its scroll range with it.
   */
  readonly total?: number | undefined;
  /**
   * Only in the browser with `warmStart`: `all` is the result as the last visit left it (its first
   * rows; `partial` too), shown until the database answers; the next call carries the difference.
   */
  readonly stale?: true | undefined;
}

/** What a transaction's function gets: the batch writer's writes, and reads that it records. */
export interface TransactionContract extends BatchWriter {
  all<Q extends QueryBuilder<any, any>>(query: Q): Promise<readonly unknown[]>;
  one<Q extends QueryBuilder<any, any>>(query: Q): Promise<unknown>;
}

/**
 * What the engine's `Db` (src/db.ts) and the page's `BrowserDb` (worker/page/client.ts) both are:
 * the writes, reads, live queries and history that code written against either one may use (the
 * React hooks, the elements, an inspector). Each adds its own (`allSync` in Node, `status` and
 * `onStatus` on the page). Both classes declare `implements DbContract`, so the compiler keeps
 * them in step.
 */
export interface DbContract<A = unknown> {
  readonly app: A;
  insert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts?: InsertOptions): WriteHandle<any>;
  update<T extends TableRef>(table: T, id: string, values: Partial<InsertOfRef<T>>): WriteHandle<any>;
  upsert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts: { id: string }): WriteHandle<any>;
  delete<T extends TableRef>(table: T, id: string): WriteHandle<any>;
  restore<T extends TableRef>(table: T, id: string, values?: Partial<InsertOfRef<T>>): WriteHandle<any>;
  /** Writes applied together with one fate. */
  batch(fn: (b: BatchWriter) => void): BatchHandle;
  /** Reads and writes decided by the server: accepted only if what it read is unchanged. */
  transaction<T>(fn: (tx: TransactionContract) => Promise<T> | T): Promise<T>;
  all<Q extends QueryBuilder<any, any>>(query: Q, opts?: { readonly tier?: Tier; readonly asOf?: Date | number; readonly conflicts?: boolean }): Promise<readonly unknown[]>;
  one<Q extends QueryBuilder<any, any>>(query: Q, opts?: { readonly tier?: Tier; readonly asOf?: Date | number; readonly conflicts?: boolean }): Promise<unknown>;
  subscribeAll<Q extends QueryBuilder<any, any>>(
    query: Q,
    callback: (update: SubscriptionUpdate<any>) => void,
    opts?: { readonly tier?: Tier; readonly onError?: (error: unknown) => void },
  ): () => void;
  history(table: TableRef, id: string): Promise<readonly unknown[]>;
  conflicts(table: TableRef, id: string): Promise<readonly unknown[]>;
  revertBatch(batchId: string): Promise<BatchHandle>;
  close(): Promise<void>;
}
