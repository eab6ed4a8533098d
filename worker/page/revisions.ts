/**
 * The page's `history`, `conflicts` and `transaction` with its `Transaction` handle
 * (`jazz-revisions.js`, loaded by `BrowserDb` on first use, so jazz.js carries only their names):
 * each runs the worker's namesake through the database's `Inner` with the Node Db's semantics.
 * (Reverts and merges stay in jazz.js: they are writes, counted as pending from the call on.)
 */
import type * as Comlink from 'comlink';
import type { QueryBuilder } from '../../src/query/builder.ts';
import { BatchWriter, tableName, type TableRef } from '../../src/rows/batch-writer.ts';
import type { IdGenerator } from '../../src/rows/ids.ts';
import type { WorkerApi } from '../protocol.ts';
import { astOf, type Inner, type OutRowOf } from './client.ts';

/** The handle of `db.transaction`: reads are recorded by the worker, writes staged until the end. */
export class Transaction extends BatchWriter {
  readonly #api: Comlink.Remote<WorkerApi>;
  readonly #id: number;

  constructor(ids: IdGenerator, api: Comlink.Remote<WorkerApi>, id: number) {
    super(ids);
    this.#api = api;
    this.#id = id;
  }

  async all<Q extends QueryBuilder<any, any>>(query: Q): Promise<OutRowOf<Q>[]> {
    return (await this.#api.txRead(this.#id, astOf(query))).map(Object.freeze) as OutRowOf<Q>[];
  }

  async one<Q extends QueryBuilder<any, any>>(query: Q): Promise<OutRowOf<Q> | null> {
    return ((await this.#api.txRead(this.#id, { ...astOf(query), limit: 1 }))[0] as OutRowOf<Q> | undefined) ?? null;
  }
}

/** The row's versions, oldest first. */
export const history = (db: Inner, table: TableRef, id: string) => db.call((api) => api.history(tableName(table), id));

/** The row's fields whose concurrent edits lost under last-writer-wins. */
export const conflicts = (db: Inner, table: TableRef, id: string) => db.call((api) => api.conflicts(tableName(table), id));

/** A globally consistent transaction, decided by the server; `fn` runs on the page, its reads in the worker. */
export async function transaction<T>({ call, ids }: Inner, fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
  const api = await call(async (a) => a);
  const id = await api.txBegin();
  const tx = new Transaction(ids, api, id);
  let result: T;
  try {
    result = await fn(tx);
  } catch (e) {
    await api.txAbort(id);
    throw e;
  }
  await api.txCommit(id, ids.next(), tx.ops);
  return result;
}
