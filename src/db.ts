/**
 * The public database API, shaped like jazz-tools:
 *
 *   const db = createDb({ app, driver: { type: 'memory' } });
 *   const h = db.insert(app.todos, { title: 'write tests' });  await h.wait({ tier: 'local' });
 *   const rows = await db.all(app.todos.where({ done: false }).orderBy('title').limit(20));
 *   const stop = db.subscribeAll(query, ({ all, delta }) => { ... });
 *
 * Writes apply at once (reads right after see them) and return a handle whose `wait({ tier })`
 * resolves when the write reached that durability tier. Subscribers hear about the writes of one
 * tick together, in a microtask after the writes.
 */
import type { KvStore } from './store/types.ts';
import { createMemoryStore } from './store/memory.ts';
import { HLC_COUNTER, hlcMillis } from './clock/hlc.ts';
import { Engine, MAIN, type Tier, type WriteOp, type WriteResult } from './engine/engine.ts';
import { QueryBuilder } from './query/builder.ts';
import type { QueryAst } from './query/ast.ts';
import { BatchWriter, tableName, type InsertOfRef, type TableRef } from './rows/batch-writer.ts';
import type { WaitOptions, WriteHandle, BatchHandle, SubscriptionUpdate, DbContract } from './handles.ts';
import { buildGraph, type Graph } from './query/graph.ts';
import type { Delta, OutRow } from './query/ivm/view.ts';
import { JazzError } from './util/errors.ts';
import type { RandomSource } from './rows/ids.ts';
import type { AppSchema } from './schema/schema.ts';
import { checkQuery } from './query/validate.ts';
import { SyncClient, type BatchRejection, type SyncStatus } from './sync/client.ts';
import type { SchemaView } from './schema/view.ts';
import { migrationFromJSON, type Migration } from './lens/migration.ts';
import { TRUE, rowById } from './query/ast.ts';
import { checkOptions } from './util/options.ts';
import type { Connector } from './sync/transport.ts';
import type { Credentials, HaveEntry, TxnQuery } from './sync/protocol.ts';
import { haveOf } from './sync/have.ts';
import { authorOf } from './sync/author.ts';
import { canonicalSchemaJSON, schemaHash } from './schema/schema.ts';
import { asOfMillis, queryAsOf, queryRows, tablesOf } from './history/as-of.ts';
import { checkBranchName, createBranch, deleteBranch, lineOf, listBranches, mergeOps, mergePreview, readBranch, rowsOn, stateOn, type BranchInfo, type MergeChange } from './history/branches.ts';
import { conflictsOf, historyOf, revertBatchOps, revertOps, type FieldConflict, type HistoryEntry } from './history/history.ts';
import type { ViewTable } from './schema/catalogue.ts';
import { isUuid } from './rows/ids.ts';
import { insertId, type InsertOptions } from './rows/insert-options.ts';
import type { RowVersion } from './rows/version.ts';
import {
  checkCreateOptions,
  createFileFromStream,
  discardAbandoned,
  installFileHooks,
  loadFileAsBlob,
  loadFileAsStream,
  loadFileInfo,
  type CreateFileOptions,
  type FileHooks,
  type FileInfo,
  type LoadFileOptions,
} from './files/files.ts';
import { FILES } from './files/system-tables.ts';
import { LiveHub, createStream, liveStream, type CreateStreamOptions, type LiveHost, type StreamWriter } from './files/live.ts';

export type { Tier, Delta, OutRow, SyncStatus, Credentials, Connector, BatchRejection };

export type DriverConfig = { readonly type: 'memory' };

export interface CreateDbOptions<A extends { readonly $schema: AppSchema }> {
  readonly app: A;
  /** Where the data lives. `memory` keeps nothing after close. */
  readonly driver?: DriverConfig;
  /**
   * Migrations (`s.defineMigration`, or their JSON form) connecting the schema versions the data
   * was written with to `app`'s: a database written by an older (or newer) version of the app is
   * read in `app`'s shape. Adding tables, or columns that are optional or have a default, needs none.
   */
  readonly migrations?: readonly (Migration | string)[];
  /**
   * Indexes on several columns, per table: `{ todos: [['projectId', 'title']] }` (every column has
   * its own index already). A query that fixes the leading columns by equality and sorts by the
   * last (`projectId = p ... order by title limit 30`) then reads only the rows it shows. Local to
   * this database, not part of the schema; one added later is built in the background, one left out
   * is deleted. See src/engine/composite.ts.
   */
  readonly indexes?: Readonly<Record<string, readonly (readonly string[])[]>>;
  /** Advanced: run on this store instead of the driver's (the Node entry passes its file store). */
  readonly store?: KvStore;
  /**
   * Gone: the author of a write is the user the credentials (`auth`) name, which the server checks
   * (sync/author.ts). Passing it is refused. To write on behalf of a user with the backend secret,
   * use `db.onBehalfOf(userId)`.
   */
  readonly author?: never;
  /**
   * Read and write on this branch instead of main (src/history/branches.ts); made from main, now,
   * if this replica does not have it yet.
   */
  readonly branch?: string;
  /** A sync server to talk to, e.g. `ws://localhost:4000`. Without one the database is local only. */
  readonly server?: string;
  /** The app's id on the server (default `default`). */
  readonly appId?: string;
  /** Credentials for the server: a user's JWT, or the backend secret. */
  readonly auth?: Credentials;
  /** How to open a connection (the Node entry and the browser worker supply theirs). */
  readonly connect?: Connector;
  /** Reconnect backoff, in ms. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** For tests: a fake wall clock and randomness. */
  readonly wall?: () => number;
  readonly random?: RandomSource;
}

export type { WaitOptions, WriteHandle, BatchHandle, SubscriptionUpdate } from './handles.ts';

export interface ReadOptions {
  /** Hold the result until the query has settled at this tier (default `local`: no wait). */
  readonly tier?: Tier;
  /** Answer as the data stood at this moment (a Date or epoch milliseconds): src/history/as-of.ts. */
  readonly asOf?: Date | number;
  /**
   * Add `$conflicts` to each row: its fields whose concurrent edits lost (`db.conflicts`), empty
   * when none. It reads each row's history, so ask for it where it is shown.
   */
  readonly conflicts?: boolean;
}

export interface SubscribeOptions {
  /** Hold the first result until the query has settled at this tier. */
  readonly tier?: Tier;
  /** Called if the query fails after it started (its callback is not called again). */
  readonly onError?: (error: unknown) => void;
  /** Follow the query as it stood at this moment: the result changes only if versions from before it arrive. */
  readonly asOf?: Date | number;
  /** Add `$conflicts` to each row (see ReadOptions.conflicts), kept current as the rows change. */
  readonly conflicts?: boolean;
  /**
   * A result longer than this many rows is first delivered as its first `firstRows` rows, marked
   * `partial`, as soon as they are read, then whole: a long list shows its top before the rest is
   * read. Rows come in the result's order, so the partial result is the whole one's beginning.
   * The partial call is made while the query is read, so before `subscribeAll` returns (the whole
   * result comes in a microtask, as always). No effect with `tier` above `local` (the first result
   * waits for it), `asOf`, or on another branch (those results are read whole).
   */
  readonly firstRows?: number;
}

type RowOfRef<T> = T extends QueryBuilder<infer R, any> ? R : Record<string, unknown>;

/** Collects the writes of `db.batch`; each returns the row id at once. */

/**
 * The handle of `db.transaction`: writes are staged (no reader sees them) and reads are recorded.
 * Reads see the database as it was when they ran; the transaction's own writes are not visible to
 * them. At the end the authority accepts it only if nothing it read has changed since.
 */
export class Transaction extends BatchWriter {
  readonly #db: Db<any>;
  readonly reads = new Map<string, HaveEntry>();
  readonly queries: TxnQuery[] = [];

  constructor(db: Db<any>, ids: { next(): string }) {
    super(ids);
    this.#db = db;
  }

  /** Reads a query's result and records it: if it differs at commit time, the transaction fails. */
  async all<Q extends QueryBuilder<any, any>>(query: Q): Promise<OutRowOf<Q>[]> {
    const rows = this.#db.allSync(query);
    // Recorded in the engine's names, which the server reads them in.
    const internal = this.#db.view.query(query.ast);
    for (const e of haveOf(this.#db.engine, internal, rows)) this.reads.set(`${e[0]}\u0000${e[1]}`, e);
    this.queries.push({ query: internal, ids: rows.map((r) => r.id as string) });
    return rows;
  }

  async one<Q extends QueryBuilder<any, any>>(query: Q): Promise<OutRowOf<Q> | null> {
    return (await this.all(query.limit(1)))[0] ?? null;
  }
}

function toAst(q: QueryBuilder<any, any> | QueryAst, schema: AppSchema): QueryAst {
  if (q instanceof QueryBuilder) return q.ast;
  checkQuery(schema, q);
  return q;
}

/** What the views of one database share: its subscriptions, its sync client and its listeners. */
interface Shared {
  readonly subs: Set<Subscription<any>>;
  sync: SyncClient | undefined;
  /** The credentials the database was opened with, or last given (setAuth). */
  auth: Credentials | undefined;
  readonly rejectedListeners: Set<(r: BatchRejection) => void>;
  /** Purges the parts of deleted files; without a server also deletes files no row references (src/files). */
  fileHooks?: FileHooks;
  /** The chunks of live streams, to this database's readers (src/files/live.ts). */
  readonly hub: LiveHub;
}

export class Db<A extends { readonly $schema: AppSchema } = { readonly $schema: AppSchema }> implements DbContract<A> {
  readonly app: A;
  readonly engine: Engine;
  /** The schema version this Db reads and writes in (the engine's current one, unless made by `as`). */
  readonly view: SchemaView;
  readonly #shared: Shared;

  constructor(app: A, engine: Engine, sync?: Omit<ConstructorParameters<typeof SyncClient>[1], 'onRejected'>, view?: SchemaView, shared?: Shared) {
    this.app = app;
    this.engine = engine;
    this.view = view ?? engine.view();
    this.#shared = shared ?? { subs: new Set(), sync: undefined, auth: sync?.auth, rejectedListeners: new Set(), hub: new LiveHub() };
    if (sync && !shared) {
      const hub = this.#shared.hub;
      this.#shared.sync = new SyncClient(engine, { ...sync, onRejected: (r) => this.#rejected(r), onChunk: (c) => hub.publish(c.file, { at: c.at, data: c.data, ...(c.end ? { end: true } : {}) }) });
      this.#shared.sync.start();
    }
    if (!shared) {
      // Without a server this database is the authority, and collects files no row references.
      this.#shared.fileHooks = installFileHooks(engine, sync ? undefined : (ids) => void this.#write(ids.map((id) => ({ kind: 'delete', table: FILES, id }))).durable.catch(() => {}));
      // Uploads this replica never finished (it stopped, or its store did) leave nothing behind.
      if (!engine.closed) this.#shared.fileHooks.track(discardAbandoned(this.#files));
    }
  }

  get #sync(): SyncClient | undefined {
    return this.#shared.sync;
  }

  get #subs(): Set<Subscription<any>> {
    return this.#shared.subs;
  }

  get #rejectedListeners(): Set<(r: BatchRejection) => void> {
    return this.#shared.rejectedListeners;
  }

  /**
   * The same database as another schema version reads and writes it: its tables, columns and
   * names, its defaults for what it lacks (for a tab or a client still on an older version, or a
   * newer one). `MIGRATION_INVALID` for a version the database does not know (open it with the
   * migrations that connect it).
   */
  as<B extends { readonly $schema: AppSchema }>(app: B): Db<B> {
    const hash = schemaHash(app.$schema);
    if (hash === this.view.hash) return this as unknown as Db<B>;
    const d = new Db(app, this.engine, undefined, this.engine.view(hash), this.#shared);
    d.#behalf = this.#behalf;
    d.#branch = this.#branch;
    return d;
  }

  #rejected(r: BatchRejection): void {
    if (this.#rejectedListeners.size === 0) console.warn(`jazz-elements: ${r.message} (${r.code}, batch ${r.batchId})`);
    for (const l of this.#rejectedListeners) {
      try {
        l(r);
      } catch (e) {
        console.error('jazz-elements: an onRejected listener threw', e);
      }
    }
  }

  /**
   * Told whenever a batch will never be applied: the server refused it, or it is too large for the
   * server's frames. `{ code, message, batchId, error }`: `code` says why (`PERMISSION_DENIED`,
   * `TOO_LARGE`, `INTERNAL`, `TYPE_MISMATCH`, ...); the batch has been undone here by then, and its
   * waiters got `error` (code `BATCH_REJECTED`). Returns a function that stops listening.
   */
  onRejected(listener: (rejection: BatchRejection) => void): () => void {
    this.#rejectedListeners.add(listener);
    return () => this.#rejectedListeners.delete(listener);
  }

  /** Sync status: online, offline or connecting, and how many batches wait for the server. */
  get syncStatus(): SyncStatus {
    return this.#sync?.status ?? { state: 'offline', pendingBatches: 0, syncing: false };
  }

  onSyncStatus(listener: (s: SyncStatus) => void): () => void {
    return this.#sync?.onStatus(listener) ?? (() => {});
  }

  /**
   * Replaces the credentials (a refreshed token) without losing pending writes. Later writes are
   * made as the user the new credentials name; writes already made keep their author (a batch
   * written as another user than the new session's is refused by the server: AUTHOR_MISMATCH).
   */
  setAuth(auth: Credentials): void {
    this.engine.setAuthor(authorOf(auth, this.engine.clientId));
    this.#shared.auth = auth;
    this.#sync?.setAuth(auth);
  }

  /**
   * This database writing on behalf of another user: versions written through it name `userId` as
   * their author and record who really wrote them (`via`). Only the backend secret may (`admin`); a
   * user's client is refused at once. Reads are the same as this database's.
   */
  onBehalfOf(userId: string): Db<A> {
    if (typeof userId !== 'string' || userId === '') throw new JazzError('TYPE_MISMATCH', 'onBehalfOf takes a user id (a non-empty string)');
    if (this.#shared.auth?.secret === undefined || this.#shared.auth.role === 'peer') {
      throw new JazzError('PERMISSION_DENIED', 'only a database opened with the backend secret (admin) may write on behalf of a user');
    }
    const d = new Db(this.app, this.engine, undefined, this.view, this.#shared);
    d.#behalf = userId;
    d.#branch = this.#branch;
    return d;
  }

  /** The branch this view reads and writes (`main` unless made by `branch` or createDb's `branch`). */
  #branch: string = MAIN;

  /** The user this view writes on behalf of (onBehalfOf), or undefined for the engine's own author. */
  #behalf: string | undefined;

  /** Which driver holds the data, and whether it survives a close. */
  get storage(): { persistent: boolean } {
    return { persistent: this.engine.store.persistent };
  }

  /** `batchId`: a fresh UUID made elsewhere (the page, for the browser worker), else a new one. */
  #write(ops: WriteOp[], batchId?: string): WriteResult {
    const branch = this.#branch;
    // On a branch: the rows as they read there. Its batches are pushed like main's, to a server
    // that keeps branches (the sync client holds them back from one that does not).
    const planned =
      branch === MAIN
        ? this.engine.planWrite(ops, batchId, this.view, this.#behalf)
        : this.engine.planWrite(ops, batchId, this.view, this.#behalf, { branch, state: (t, id) => stateOn(this.engine, t, id, branch) });
    // A write that could never be sent fails now, before it is applied.
    if (planned.versions.length > 0) this.#sync?.checkWrite(planned.batchId, planned.versions);
    const result = this.engine.applyPlanned(planned);
    // A write that changed nothing (deleting a deleted row) has no batch to push.
    if (result.written > 0) this.#sync?.pushed(result.batchId);
    return result;
  }

  #waiter(result: WriteResult): (opts?: WaitOptions) => Promise<void> {
    return (opts) => {
      const tier = opts?.tier ?? 'local';
      if (tier === 'local') return result.durable;
      if ((tier === 'edge' || tier === 'global') && this.#sync) {
        // A write that changed nothing (deleting a deleted row) was never pushed: there is nothing
        // for the server to confirm, and nothing it could refuse.
        return result.written === 0 ? result.durable : this.#sync.waitBatch(result.batchId, tier);
      }
      if (tier === 'edge' || tier === 'global') {
        return Promise.reject(new JazzError('NO_SERVER', `this database has no server, so no write reaches tier "${tier}"; pass server to createDb or wait for tier "local"`));
      }
      return Promise.reject(new JazzError('OPTION_INVALID', `unknown tier "${String(tier)}"; use local, edge or global`));
    };
  }

  #handle<R>(result: WriteResult, table: TableRef, id = result.ids[0]!): WriteHandle<R> {
    // Nobody may be waiting: keep an unobserved durability failure from crashing the process.
    result.durable.catch(() => {});
    const waiter = this.#waiter(result);
    const wait = async (opts?: WaitOptions): Promise<R | null> => {
      await waiter(opts);
      // The row as it reads now; a database closed meanwhile cannot be read (the write stands).
      const rows = await this.all(rowById(tableName(table), id)).catch(() => []);
      return (rows[0] ?? null) as R | null;
    };
    return { id, batchId: result.batchId, wait };
  }

  /**
   * Inserts a row; `{ id }` chooses its id (any UUID: `ROW_EXISTS` if a row has it), else a new
   * UUIDv7 is made. Any other option is `OPTION_INVALID`.
   */
  insert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts?: InsertOptions): WriteHandle<RowOfRef<T>> {
    const id = insertId(opts);
    return this.#handle(this.#write([{ kind: 'insert', table: tableName(table), ...(id !== undefined ? { id } : {}), values: values as Record<string, unknown> }]), table);
  }

  update<T extends TableRef>(table: T, id: string, values: Partial<InsertOfRef<T>>): WriteHandle<RowOfRef<T>> {
    return this.#handle(this.#write([{ kind: 'update', table: tableName(table), id, values: values as Record<string, unknown> }]), table);
  }

  /** Updates the row with this id, or inserts it with this id if it does not exist (or was deleted). */
  upsert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts: { id: string }): WriteHandle<RowOfRef<T>> {
    return this.#handle(this.#write([{ kind: 'upsert', table: tableName(table), id: opts.id, values: values as Record<string, unknown> }]), table);
  }

  /** Soft delete: the row leaves live queries and stays in history. */
  delete<T extends TableRef>(table: T, id: string): WriteHandle<RowOfRef<T>> {
    return this.#handle(this.#write([{ kind: 'delete', table: tableName(table), id }]), table);
  }

  /** Undeletes the row (it comes back into live queries), setting `values` in the same version when given. */
  restore<T extends TableRef>(table: T, id: string, values?: Partial<InsertOfRef<T>>): WriteHandle<RowOfRef<T>> {
    return this.#handle(this.#write([{ kind: 'restore', table: tableName(table), id, ...(values ? { values } : {}) }]), table);
  }

  /**
   * Writes applied together with one fate: all of them or none. `batchId`: name the batch with a
   * fresh UUID made elsewhere (the browser's page does, so the id is known before the worker runs it).
   */
  batch(fn: (b: BatchWriter) => void, opts: { batchId?: string } = {}): BatchHandle {
    const writer = new BatchWriter({ next: () => this.engine.newRowId() });
    fn(writer);
    const result = this.#write(writer.ops, opts.batchId);
    result.durable.catch(() => {});
    return { batchId: result.batchId, ids: result.ids, wait: this.#waiter(result) };
  }

  /**
   * Runs `fn` as a globally consistent transaction: its writes are staged, then sent to the
   * authority (the server), which applies them only if every row and query the transaction read is
   * unchanged and its permissions pass. Of several conflicting transactions exactly one is accepted;
   * the others reject with `TRANSACTION_CONFLICT` and leave nothing behind. Resolves with `fn`'s
   * result once accepted (the writes are visible here from then on).
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    if (!this.#sync) throw new JazzError('NO_SERVER', 'transactions are decided by a server; pass server to createDb (or use db.batch for local all-or-nothing writes)');
    if (this.#branch !== MAIN) throw new JazzError('UNSUPPORTED', `transactions are decided by the server on main; on branch "${this.#branch}" use db.batch`);
    const tx = new Transaction(this, { next: () => this.engine.newRowId() });
    const result = await fn(tx);
    const { batchId, versions } = this.engine.planWrite(tx.ops, undefined, this.view, this.#behalf);
    await this.#sync.transaction(batchId, [...tx.reads.values()], tx.queries, versions);
    return result;
  }

  /** The query's result: at once from local data, or once it has settled at `tier`. */
  async all<Q extends QueryBuilder<any, any>>(query: Q | QueryAst, opts: ReadOptions = {}): Promise<OutRowOf<Q>[]> {
    const ms = opts.asOf === undefined ? undefined : asOfMillis(opts.asOf);
    this.#branchRead(opts);
    await this.#settle(this.#internal(query), opts.tier);
    const rows = ms === undefined && this.#branch === MAIN ? this.allSync(query) : this.#allAsOf<OutRowOf<Q>>(this.#internal(query), ms);
    return opts.conflicts ? this.#withConflicts(toAst(query, this.view.schema).table, rows) : rows;
  }

  /** The rows, each with `$conflicts` (its fields whose concurrent edits lost). */
  #withConflicts<R>(table: string, rows: readonly R[]): R[] {
    const vt = this.view.table(table);
    const on = this.#line();
    return rows.map((r) => Object.freeze({ ...r, $conflicts: conflictsOf(this.engine, vt, (r as { id: string }).id, on) }) as R);
  }

  /** The rows of a query at a moment (`ms`), or on this view's branch. */
  #allAsOf<R>(internal: QueryAst, ms: number | undefined): R[] {
    this.#checkOpen();
    const columns = (t: string) => this.view.columns(t);
    const branch = this.#branch;
    const rows = ms !== undefined ? queryAsOf(this.engine, internal, ms, columns) : queryRows(internal, (t, ids) => rowsOn(this.engine, t, branch, ids), columns);
    return rows.map((r) => Object.freeze(r)) as R[];
  }

  /** What a branch does not do: read as of a moment. */
  #branchRead(opts: { asOf?: unknown }): void {
    if (this.#branch === MAIN) return;
    if (opts.asOf !== undefined) throw new JazzError('UNSUPPORTED', `asOf reads main's past; on branch "${this.#branch}" read without it (a branch is already a view of a moment plus its writes)`);
  }

  /** subscribeAll with `asOf`: answered again whenever a table it reads gets a version. */
  #subscribeAsOf<R>(internal: QueryAst, ms: number | undefined, callback: (update: SubscriptionUpdate<R>) => void, opts: SubscribeOptions): () => void {
    let prev = new Map<string, R>();
    let stopped = false;
    let queued = false;
    let started = false;
    const run = () => {
      queued = false;
      if (stopped || this.engine.closed) return;
      let all: R[];
      try {
        all = this.#allAsOf<R>(internal, ms);
      } catch (e) {
        stop();
        if (opts.onError) opts.onError(e);
        else console.error('jazz-elements: an as-of query failed and was stopped', e);
        return;
      }
      const next = new Map(all.map((r) => [(r as { id: string }).id, r]));
      const added = all.filter((r) => !prev.has((r as { id: string }).id));
      const removed = [...prev.values()].filter((r) => !next.has((r as { id: string }).id));
      const changed = all.filter((r) => prev.has((r as { id: string }).id) && JSON.stringify(prev.get((r as { id: string }).id)) !== JSON.stringify(r));
      const first = !started;
      started = true;
      prev = next;
      if (first || added.length || removed.length || changed.length) callback({ all, delta: { added, removed, changed } });
    };
    const later = () => {
      if (queued) return;
      queued = true;
      queueMicrotask(run);
    };
    const unwatch = [...tablesOf(internal)].map((t) => this.engine.watchHistory(t, '*', later));
    // On a branch with a server: the server sends the branch's rows, for as long as this runs.
    let remote: { id: number; settled: Promise<void> } | undefined;
    if (ms === undefined && this.#branch !== MAIN && this.#sync) {
      const ast = this.#remoteAst(internal);
      remote = this.#sync.subscribe(ast, opts.tier ?? 'local', () => haveOf(this.engine, ast, this.#rows(ast)), this.#branch);
    }
    const stop = () => {
      stopped = true;
      for (const u of unwatch) u();
      if (remote) this.#sync!.unsubscribe(remote.id);
    };
    const settled = remote ? (opts.tier && opts.tier !== 'local' ? remote.settled : Promise.resolve()) : this.#settle(internal, opts.tier);
    void settled.then(later, (e: unknown) => (opts.onError ? opts.onError(e) : console.error(e)));
    return stop;
  }

  /** A query in this Db's version, checked, in the engine's internal names. */
  #internal(query: QueryBuilder<any, any> | QueryAst): QueryAst {
    return this.view.query(toAst(query, this.view.schema));
  }

  /**
   * What the server is asked for: the query itself, as the sync client speaks the engine's current
   * version. A query of an older or newer view that names columns the current version lacks is
   * widened to its whole table (the server sends more rows than it needs, never fewer).
   */
  #remoteAst(internal: QueryAst): QueryAst {
    if (this.view.hash === this.engine.catalogue.current) return internal;
    return { table: internal.table, where: TRUE, orderBy: [] };
  }

  async #settle(internal: QueryAst, tier: Tier | undefined): Promise<void> {
    if (!tier || tier === 'local') return;
    if (!this.#sync) throw new JazzError('NO_SERVER', `this database has no server, so no query settles at tier "${tier}"; pass server to createDb or read at tier "local"`);
    const remote = this.#remoteAst(internal);
    const { id, settled } = this.#sync.subscribe(remote, tier, () => haveOf(this.engine, remote, this.#rows(remote)), this.#branch);
    try {
      await settled;
    } finally {
      this.#sync.unsubscribe(id);
    }
  }

  /** The rows of a query in internal names, as the engine has them (for digests). */
  #rows(internal: QueryAst): OutRow[] {
    const g = buildGraph(this.engine, internal, { attach: false, onChange: () => {} });
    const rows = g.view.all.slice();
    g.destroy();
    return rows;
  }

  /** The query's current result, computed synchronously. */
  allSync<Q extends QueryBuilder<any, any>>(query: Q | QueryAst): OutRowOf<Q>[] {
    const ast = this.#internal(query);
    this.#checkOpen();
    if (this.#branch !== MAIN) return this.#allAsOf<OutRowOf<Q>>(ast, undefined);
    const g = buildGraph(this.engine, ast, { attach: false, onChange: () => {}, columns: (t) => this.view.columns(t) });
    const rows = g.view.all.slice();
    g.destroy();
    return rows as OutRowOf<Q>[];
  }

  /** The first row of the query, or null. */
  async one<Q extends QueryBuilder<any, any>>(query: Q, opts: ReadOptions = {}): Promise<OutRowOf<Q> | null> {
    const rows = await this.all(query.limit(1), opts);
    return rows[0] ?? null;
  }

  /**
   * Calls `callback` with the result now (in a microtask) and after every change to it. Returns a
   * function that stops the subscription.
   */
  subscribeAll<Q extends QueryBuilder<any, any>>(query: Q | QueryAst, callback: (update: SubscriptionUpdate<OutRowOf<Q>>) => void, opts: SubscribeOptions = {}): () => void {
    const ast = this.#internal(query);
    this.#checkOpen();
    checkFirstRows(opts.firstRows);
    // With conflicts: rows carry $conflicts, and a version that changes only them (an edit that
    // lost, arriving late) is reported as a change of its row.
    let last: readonly Record<string, unknown>[] = [];
    let unwatch = () => {};
    if (opts.conflicts) {
      const table = toAst(query, this.view.schema).table;
      const inner = callback;
      callback = ({ all, delta, partial }) => {
        const withC = this.#withConflicts(table, all);
        const changed = new Set(delta.changed.map((r) => (r as { id: string }).id));
        last = withC as Record<string, unknown>[];
        const added = this.#withConflicts(table, delta.added);
        inner({ all: withC, delta: { added, removed: delta.removed, changed: withC.filter((r) => changed.has((r as { id: string }).id)) }, ...(partial ? { partial } : {}) });
      };
      let queued = false;
      // (An as-of subscription answers again at every version of its tables anyway.)
      if (opts.asOf === undefined && this.#branch === MAIN)
        unwatch = this.engine.watchHistory(ast.table, '*', () => {
          if (queued || !sub) return;
          queued = true;
          queueMicrotask(() => {
            queued = false;
            if (!sub || !this.#subs.has(sub)) return;
            const before = new Map(last.map((r) => [r.id as string, JSON.stringify(r.$conflicts)]));
            const now = this.#withConflicts(table, sub.rows) as Record<string, unknown>[];
            const moved = now.filter((r) => before.has(r.id as string) && before.get(r.id as string) !== JSON.stringify(r.$conflicts));
            if (moved.length === 0) return;
            last = now;
            inner({ all: now as never, delta: { added: [], removed: [], changed: moved as never } });
          });
        });
    }
    this.#branchRead(opts);
    if (opts.tier && opts.tier !== 'local' && !this.#sync) {
      throw new JazzError('NO_SERVER', `this database has no server, so no query settles at tier "${opts.tier}"`);
    }
    if (opts.asOf !== undefined || this.#branch !== MAIN) return this.#subscribeAsOf(ast, opts.asOf === undefined ? undefined : asOfMillis(opts.asOf), callback, opts);
    let sub: Subscription<OutRowOf<Q>> | undefined;
    const remoteAst = this.#remoteAst(ast);
    // Projected rows keep their ids and include names, which is all the digests need.
    const remote = this.#sync?.subscribe(remoteAst, opts.tier ?? 'local', () => haveOf(this.engine, remoteAst, remoteAst === ast ? (sub?.rows ?? []) : this.#rows(remoteAst)));
    sub = new Subscription<OutRowOf<Q>>(
      this.engine,
      ast,
      (t) => this.view.columns(t),
      callback,
      opts,
      remote && opts.tier && opts.tier !== 'local' ? remote.settled : undefined,
      () => {
        this.#subs.delete(sub!);
        unwatch();
        if (remote) this.#sync!.unsubscribe(remote.id);
      },
    );
    this.#subs.add(sub);
    return () => sub!.stop();
  }

  #checkOpen(): void {
    if (this.engine.closed) throw new JazzError('CLOSED', 'the database is closed; open it again with createDb');
  }

  // ─── branches ─────────────────────────────────────────────────────────────

  /** The versions this view reads: main's, or its branch's line. */
  #line(): ((v: RowVersion) => boolean) | undefined {
    return this.#branch === MAIN ? undefined : lineOf(this.engine, this.#branch);
  }

  /** The branch this database reads and writes: `main`, or the one `branch`/createDb named. */
  get currentBranch(): string {
    return this.#branch;
  }

  /**
   * This database on branch `name`, made if this replica does not have it: from `from` (this
   * view's branch by default) as it stands `at` (now by default). Reads there see that state plus
   * the branch's own writes; writes stay on it until `merge` (src/history/branches.ts).
   */
  branch(name: string, opts: { from?: string; at?: Date | number } = {}): Db<A> {
    this.#checkOpen();
    checkBranchName(name);
    const d = new Db(this.app, this.engine, undefined, this.view, this.#shared);
    d.#behalf = this.#behalf;
    d.#branch = name;
    if (name !== MAIN && !readBranch(this.engine, name)) {
      const from = opts.from ?? this.#branch;
      if (from !== MAIN && !readBranch(this.engine, checkBranchName(from))) throw new JazzError('BRANCH_NOT_FOUND', `there is no branch "${from}" to start "${name}" from`, { branch: from });
      const at = opts.at === undefined ? hlcMillis(this.engine.clock.tick()) : asOfMillis(opts.at);
      // The record is in the store at once; only its durability is awaited in the background.
      createBranch(this.engine, name, from, Math.max(at, 0)).catch(() => {});
      // A fork "now" takes every version of its millisecond: this replica's next writes go to the
      // next millisecond, so none written after the fork is on the branch.
      if (opts.at === undefined) this.engine.clock.observe(at * HLC_COUNTER + (HLC_COUNTER - 1));
    } else if (opts.from !== undefined && name !== MAIN && readBranch(this.engine, name)!.from !== opts.from) {
      throw new JazzError('BRANCH_CONFLICT', `branch "${name}" exists already, started from "${readBranch(this.engine, name)!.from}"`, { branch: name });
    }
    return d;
  }

  /** The branches this replica has. */
  branches(): BranchInfo[] {
    this.#checkOpen();
    return listBranches(this.engine);
  }

  /** Drops a branch and its writes (not one another branch started from). */
  async deleteBranch(name: string): Promise<void> {
    this.#checkOpen();
    await deleteBranch(this.engine, checkBranchName(name));
  }

  /**
   * What merging branch `from` into `into` (main by default) would change: per row and field,
   * the value on each side, and `conflict` where both changed it since the fork.
   */
  async mergePreview(from: string, into: string = MAIN): Promise<MergeChange[]> {
    this.#checkOpen();
    return mergePreview(this.engine, this.view, checkBranchName(from), checkBranchName(into));
  }

  /** The writes that merge branch `from` into this view's branch (what `merge` writes; the browser's worker uses it). */
  mergeWrites(from: string, resolve: 'from' | 'into'): WriteOp[] {
    this.#checkOpen();
    if (resolve !== 'from' && resolve !== 'into') throw new JazzError('OPTION_INVALID', "merge's resolve is 'from' or 'into' here");
    return mergeOps(mergePreview(this.engine, this.view, checkBranchName(from), this.#branch), () => resolve);
  }

  /**
   * Merges branch `from` into `into` as one batch on `into` (synced as any write when `into` is
   * main). Conflicts take `from`'s value, `into`'s, or what `resolve` says for each.
   */
  async merge(from: string, into: string = MAIN, opts: { resolve?: 'from' | 'into' | ((c: MergeChange) => 'from' | 'into') } = {}): Promise<BatchHandle> {
    const resolve = opts.resolve ?? 'into';
    if (resolve !== 'from' && resolve !== 'into' && typeof resolve !== 'function') throw new JazzError('OPTION_INVALID', "merge's resolve is 'from', 'into' or a function of a conflict");
    const changes = await this.mergePreview(from, into);
    const pick = typeof resolve === 'function' ? resolve : () => resolve;
    const target = into === this.#branch ? this : this.branch(into);
    const ops = mergeOps(changes, (c) => {
      const r = pick(c);
      if (r !== 'from' && r !== 'into') throw new JazzError('OPTION_INVALID', `resolve must answer 'from' or 'into', got ${JSON.stringify(r)}`);
      return r;
    });
    return target.batch((b) => void b.ops.push(...ops));
  }

  // ─── history ──────────────────────────────────────────────────────────────

  /** This schema version's table, and the id checked: the start of every history call. */
  #rowOf(table: TableRef, id: string): ViewTable {
    this.#checkOpen();
    const vt = this.view.table(tableName(table));
    if (!isUuid(id)) throw new JazzError('TYPE_MISMATCH', `a row id is a UUID, got ${JSON.stringify(String(id)).slice(0, 60)}`, { table: vt.name, id });
    return vt;
  }

  /**
   * The row's versions as this replica holds them, oldest first: who wrote each, when, what it
   * changed, its batch and how far that batch got (src/history/history.ts). Empty for a row never
   * seen here.
   */
  async history(table: TableRef, id: string): Promise<HistoryEntry[]> {
    return historyOf(this.engine, this.#rowOf(table, id), id, this.#line());
  }

  /** Calls `callback` with the row's history now (in a microtask) and whenever it changes. */
  subscribeHistory(table: TableRef, id: string, callback: (entries: HistoryEntry[]) => void): () => void {
    const vt = this.#rowOf(table, id);
    let stopped = false;
    let queued = false;
    const run = () => {
      queued = false;
      if (!stopped && !this.engine.closed) callback(historyOf(this.engine, vt, id, this.#line()));
    };
    const later = () => {
      if (queued) return;
      queued = true;
      queueMicrotask(run);
    };
    const unwatch = this.engine.watchHistory(vt.table.name, id, later);
    later();
    return () => {
      stopped = true;
      unwatch();
    };
  }

  /**
   * The row's fields whose concurrent edits lost under last-writer-wins: per field the winning
   * version and the losing ones, with values and authors. The same on every replica that holds
   * the same versions; empty once someone has written the field again after seeing them all.
   */
  async conflicts(table: TableRef, id: string): Promise<FieldConflict[]> {
    return conflictsOf(this.engine, this.#rowOf(table, id), id, this.#line());
  }

  /**
   * Writes a new version that makes the row read as it did just after version `to` (one of its
   * `history`): the fields that differ now, a restore if it was deleted since, or a delete. The
   * old versions stay; the revert is an ordinary write with its own author and batch.
   */
  async revert<T extends TableRef>(table: T, id: string, opts: { to: string }): Promise<WriteHandle<RowOfRef<T>>> {
    return this.#handle(this.#write(this.revertOps(table, id, opts)), table, id);
  }

  /**
   * The writes `revert` makes, for a caller that applies them itself as a batch it names (the
   * browser's worker, under the page's batch id: `db.batch(..., { batchId })`).
   */
  revertOps(table: TableRef, id: string, opts: { to: string }): WriteOp[] {
    const vt = this.#rowOf(table, id);
    if (typeof opts?.to !== 'string') throw new JazzError('OPTION_INVALID', 'revert takes { to: versionId }, a version id from db.history');
    return revertOps(this.engine, vt, id, opts.to, this.#line());
  }

  /**
   * Undoes a batch (a write's `batchId`) as one new batch: each field it set goes back to the
   * value it replaced unless it was set again since, rows it created are deleted and rows it
   * deleted restored. Works for any batch this replica holds, written here or received.
   */
  async revertBatch(batchId: string): Promise<BatchHandle> {
    const result = this.#write(this.revertBatchOps(batchId));
    result.durable.catch(() => {});
    return { batchId: result.batchId, ids: result.ids, wait: this.#waiter(result) };
  }

  /** The writes `revertBatch` makes (see `revertOps`). */
  revertBatchOps(batchId: string): WriteOp[] {
    this.#checkOpen();
    if (typeof batchId !== 'string' || batchId === '') throw new JazzError('OPTION_INVALID', 'revertBatch takes the batchId of a write');
    return revertBatchOps(this.engine, this.view, batchId, this.#line());
  }

  // ─── files (src/files) ────────────────────────────────────────────────────

  /** What the files code needs of this database. Files live on main, also when made through a branch's view. */
  get #files(): LiveHost {
    const sync = this.#sync;
    const main: Db<A> = this.#branch === MAIN ? this : this.branch(MAIN);
    return {
      engine: this.engine,
      hub: this.#shared.hub,
      write: (ops) => main.#write(ops),
      wait: (result, tier) => this.#waiter(result)({ tier }),
      ...(sync
        ? {
            fetch: (query: QueryAst, tier: Exclude<Tier, 'local'>) => {
              const sub = sync.subscribe(query, tier);
              return sub.settled.finally(() => sync.unsubscribe(sub.id));
            },
            sendChunk: (file: string, e: { at: number; data: Uint8Array; end?: boolean }) => sync.sendChunk({ t: 'chunk', file, at: e.at, data: e.data, ...(e.end ? { end: true } : {}) }),
            follow: (file: string, queries: QueryAst[]) => {
              sync.watch(file);
              const subs = queries.map((q) => sync.subscribe(q, 'local').id);
              return () => {
                sync.unwatch(file);
                for (const id of subs) sync.unsubscribe(id);
              };
            },
          }
        : {}),
    };
  }

  /**
   * Starts a live stream: a file whose bytes readers of `loadFileAsStream` receive as they are
   * written. `write(chunk)` (strings as UTF-8, or bytes), `close()`, `abort()`; small writes are
   * stored together, as a few parts a second (src/files/live.ts).
   */
  createStream(opts?: CreateStreamOptions): StreamWriter {
    this.#checkOpen();
    return createStream(this.#files, opts);
  }

  /**
   * Stores a Blob (or File) as a file and resolves to its id once it reached `tier` (`local` by
   * default); put the id in a `s.file()` column. `onProgress({ loaded, total })` after each part;
   * aborting `signal` removes what was written. `name` and `mimeType` default to the File's.
   */
  async createFileFromBlob(blob: Blob, opts?: CreateFileOptions): Promise<string> {
    this.#checkOpen();
    const o = checkCreateOptions(opts);
    if (!(blob instanceof Blob)) throw new JazzError('TYPE_MISMATCH', 'createFileFromBlob takes a Blob or a File');
    const name = o.name ?? ((blob as { name?: unknown }).name as string | undefined);
    return createFileFromStream(this.#files, blob.stream(), { ...o, size: blob.size, mimeType: o.mimeType ?? (blob.type || undefined), ...(name !== undefined ? { name } : {}) });
  }

  /** Stores a stream of bytes (or strings, as UTF-8) as a file: as createFileFromBlob. */
  async createFileFromStream(readable: ReadableStream<Uint8Array | string>, opts?: CreateFileOptions): Promise<string> {
    this.#checkOpen();
    const o = checkCreateOptions(opts);
    if (typeof (readable as { getReader?: unknown })?.getReader !== 'function') throw new JazzError('TYPE_MISMATCH', 'createFileFromStream takes a ReadableStream');
    return createFileFromStream(this.#files, readable, o);
  }

  /** A file's record (name, MIME type, size, parts, SHA-256, state); FILE_NOT_FOUND if none may be read. */
  async fileInfo(id: string, opts?: LoadFileOptions): Promise<FileInfo> {
    this.#checkOpen();
    return loadFileInfo(this.#files, id, opts);
  }

  /**
   * A file's content as a Blob of its MIME type. `tier`: `local` reads only this replica; `edge`
   * (the default with a server) fetches missing parts. FILE_NOT_FOUND, FILE_INCOMPLETE.
   */
  async loadFileAsBlob(id: string, opts?: LoadFileOptions): Promise<Blob> {
    this.#checkOpen();
    return loadFileAsBlob(this.#files, id, opts);
  }

  /** A file's content as a stream, part by part (fetched as it is read); as loadFileAsBlob. */
  async loadFileAsStream(id: string, opts?: LoadFileOptions): Promise<ReadableStream<Uint8Array>> {
    this.#checkOpen();
    const host = this.#files;
    return loadFileAsStream(host, id, opts, (info, tier) => liveStream(host, info, tier));
  }

  /**
   * Deletes a file: its record (a version like any delete, synced) and, on every replica that
   * applies it, its parts' bytes. Allowed for its creator and for whoever may delete a row that
   * references it (docs/sync.md, "Files"). Resolves when the deletion reached `tier` (`local` by
   * default). FILE_NOT_FOUND if there is no file this user may read.
   */
  async deleteFile(id: string, opts?: { tier?: Tier }): Promise<void> {
    this.#checkOpen();
    if (opts !== undefined && (typeof opts !== 'object' || opts === null || Object.keys(opts).some((k) => k !== 'tier'))) {
      throw new JazzError('OPTION_INVALID', 'deleteFile takes { tier }');
    }
    const host = this.#files;
    const info = await loadFileInfo(host, id, this.#sync ? { tier: 'edge' } : { tier: 'local' });
    const result = host.write([{ kind: 'delete', table: FILES, id: info.id }]);
    result.durable.catch(() => {});
    await host.wait(result, opts?.tier ?? 'local');
  }

  /** Resolves once the parts of deleted files have been purged (for tests and tools). */
  async filesSettled(): Promise<void> {
    await this.#shared.fileHooks?.settled();
  }

  /** Stops every subscription, makes everything durable and releases the storage. */
  async close(): Promise<void> {
    this.#shared.fileHooks?.stop();
    for (const s of [...this.#subs]) s.stop();
    this.#sync?.stop();
    await this.engine.close();
  }
}

type OutRowOf<Q> = Q extends QueryBuilder<infer R, any> ? R & Record<string, unknown> : OutRow;

class Subscription<R> {
  readonly #engine: Engine;
  readonly #callback: (u: SubscriptionUpdate<R>) => void;
  readonly #opts: SubscribeOptions;
  readonly #onStop: () => void;
  #graph: Graph | undefined;
  #scheduled = false;
  #first = true;
  #stopped = false;
  /** The first delivery waits for this (the query settling at the asked-for tier). */
  #held = false;
  /** The first rows delivered early (`firstRows`), until the whole result is. */
  #partial: readonly OutRow[] | undefined;

  constructor(
    engine: Engine,
    ast: QueryAst,
    columns: (table: string) => readonly (readonly [string, string])[] | undefined,
    callback: (u: SubscriptionUpdate<R>) => void,
    opts: SubscribeOptions,
    settled: Promise<void> | undefined,
    onStop: () => void,
  ) {
    this.#engine = engine;
    if (settled) {
      this.#held = true;
      settled.then(
        () => {
          this.#held = false;
          this.#schedule();
        },
        (e: unknown) => this.#fail(e),
      );
    }
    this.#callback = callback;
    this.#opts = opts;
    this.#onStop = onStop;
    // The first rows of a long result, at once (not when the first delivery waits for a tier).
    const count = opts.firstRows;
    const first = count && !settled ? { count, emit: (rows: readonly OutRow[], total: number | undefined) => this.#early(rows, total) } : undefined;
    this.#graph = buildGraph(engine, ast, { attach: true, onChange: () => this.#schedule(), columns, ...(first ? { first } : {}) });
    this.#graph.source.onFail = (e) => this.#fail(e);
    this.#schedule();
    // Rows past a limited window, read in a quiet moment rather than when rows start leaving it.
    engine.whenIdle(() => {
      if (this.#stopped || !this.#graph) return;
      try {
        this.#graph.prefetch();
      } catch (e) {
        this.#fail(e);
      }
    });
  }

  /** The current local result. */
  get rows(): readonly OutRow[] {
    return this.#graph?.view.all ?? [];
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped || this.#held) return;
    this.#scheduled = true;
    this.#engine.schedule(() => this.#deliver());
  }

  /** The first rows of a long result, handed over while the rest is read (`firstRows`). */
  #early(rows: readonly OutRow[], total: number | undefined): void {
    this.#partial = rows;
    try {
      this.#callback({ all: rows as unknown as readonly R[], delta: { added: rows as unknown as readonly R[], removed: [], changed: [] }, partial: true, ...(total !== undefined ? { total } : {}) });
    } catch (e) {
      console.error('jazz-elements: a subscription callback threw', e);
    }
  }

  #deliver(): void {
    this.#scheduled = false;
    if (this.#stopped || !this.#graph) return;
    const view = this.#graph.view;
    const all = view.all as unknown as readonly R[];
    let delta: SubscriptionUpdate<R>['delta'];
    if (this.#first) {
      this.#first = false;
      view.clearDelta();
      delta = this.#partial ? (sincePartial(this.#partial, all as unknown as readonly OutRow[]) as unknown as SubscriptionUpdate<R>['delta']) : { added: all, removed: [], changed: [] };
      this.#partial = undefined;
    } else {
      delta = view.takeDelta() as unknown as SubscriptionUpdate<R>['delta'];
      if (delta.added.length + delta.removed.length + delta.changed.length === 0) return;
    }
    try {
      this.#callback({ all, delta });
    } catch (e) {
      console.error('jazz-elements: a subscription callback threw', e);
    }
  }

  #fail(e: unknown): void {
    this.stop();
    if (this.#opts.onError) this.#opts.onError(e);
    else console.error('jazz-elements: a live query failed and was stopped', e);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#graph?.destroy();
    this.#graph = undefined;
    this.#onStop();
  }
}

/** A `firstRows` option is a whole number of rows, at least 1. */
function checkFirstRows(n: unknown): void {
  if (n !== undefined && !(Number.isSafeInteger(n) && (n as number) >= 1)) {
    throw new JazzError('OPTION_INVALID', `firstRows is a number of rows (a whole number, at least 1), not ${JSON.stringify(n)}`, { option: 'firstRows' });
  }
}

/**
 * What changed from the first rows delivered early to the whole result: the rows that are not
 * among them were added, and those of them that changed or left in between (writes that ran
 * before the first delivery) are reported too.
 */
function sincePartial(partial: readonly OutRow[], all: readonly OutRow[]): { added: OutRow[]; removed: OutRow[]; changed: OutRow[] } {
  const before = new Map(partial.map((r) => [r.id, r]));
  const added: OutRow[] = [];
  const changed: OutRow[] = [];
  for (const r of all) {
    const b = before.get(r.id);
    if (!b) added.push(r);
    else {
      before.delete(r.id);
      if (b !== r) changed.push(r);
    }
  }
  return { added, removed: [...before.values()], changed };
}

/** Opens a database. In the browser the default driver keeps data in OPFS (see worker/). */
export function createDb<A extends { readonly $schema: AppSchema }>(opts: CreateDbOptions<A>): Db<A> {
  checkOptions('createDb', opts, 'app driver migrations indexes store author branch server appId auth connect backoff wall random');
  const driver = opts.driver ?? { type: 'memory' };
  let store = opts.store;
  if (!store) {
    if (driver.type !== 'memory') {
      throw new JazzError(
        'OPTION_INVALID',
        `driver "${(driver as { type: string }).type}" is not available here; use { type: 'memory' }, or the Node entry (jazz-elements/server) for { type: 'file' }`,
      );
    }
    store = createMemoryStore();
  }
  if ((opts as { author?: unknown }).author !== undefined) {
    throw new JazzError(
      'OPTION_INVALID',
      "createDb no longer takes author: a write's author is the user its credentials (auth) name, and the server checks it; with the backend secret, write as a user through db.onBehalfOf(userId)",
    );
  }
  const migrations = (opts.migrations ?? []).map((m) => migrationFromJSON(m));
  const engine = Engine.open({ schema: opts.app.$schema, migrations, store, wall: opts.wall, random: opts.random, ...(opts.indexes !== undefined ? { indexes: opts.indexes } : {}) });
  engine.setAuthor(authorOf(opts.auth, engine.clientId));
  const onBranch = (db: Db<A>) => (opts.branch === undefined || opts.branch === MAIN ? db : db.branch(opts.branch));
  if (opts.server === undefined) return onBranch(new Db(opts.app, engine));
  if (!opts.connect) {
    throw new JazzError('NO_SERVER', 'to sync with a server this runtime needs a connector; use createDb from jazz-elements/server in Node, or the browser build');
  }
  return onBranch(
    new Db(opts.app, engine, {
      server: opts.server,
      appId: opts.appId ?? 'default',
      connect: opts.connect,
      schemaJSON: canonicalSchemaJSON(opts.app.$schema),
      schemaHash: schemaHash(opts.app.$schema),
      ...(engine.catalogue.json.migrations.length ? { migrationsJSON: JSON.stringify(engine.catalogue.json.migrations) } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    }),
  );
}
