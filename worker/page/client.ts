/**
 * The page's database: the engine's `Db` API (README.md) over a dedicated worker that owns the
 * engine and its storage. The page never blocks on storage:
 *
 * - Writes return their handle at once. Row ids and the batch id are generated here (UUIDv7, the
 *   engine's own generator), so `insert(...).id` is known before the worker has seen the write;
 *   the worker applies writes in the order the page made them. `wait({ tier: 'local' })` resolves
 *   when the worker has made the write durable. A write the engine refuses (an unknown column, a
 *   missing row) rejects its `wait` with the engine's `JazzError`; if nobody waits, the error goes
 *   to `onError` listeners (or the console).
 * - `subscribeAll` keeps a result cache per query on the page, patched by the worker's deltas
 *   (`result-cache.ts`); the callback gets `{ all, delta }` as with the engine.
 * - `all` / `one` ask the worker (one round trip).
 *
 * The handle's `batchId` is made here too, and the worker writes the batch under it: it is the
 * batch id the engine stores in history (so `revertBatch(handle.batchId)` works after a reload,
 * and on the user's other devices), and the key of `wait` and rejections.
 */
import { chosenId, type InsertOptions } from '../../src/rows/insert-options.ts';
import * as Comlink from 'comlink';
import { IdGenerator } from '../../src/rows/ids.ts';
import { rowById, type QueryAst } from '../../src/query/ast.ts';
import { BatchWriter, tableName, type InsertOfRef, type TableRef } from '../../src/rows/batch-writer.ts';
import type { WaitOptions, WriteHandle, BatchHandle, SubscriptionUpdate, DbContract } from '../../src/handles.ts';

export type { WaitOptions, WriteHandle, BatchHandle, SubscriptionUpdate };
import type { QueryBuilder } from '../../src/query/builder.ts';
import type { AppSchema } from '../../src/schema/schema.ts';
import { JazzError } from '../../src/util/errors.ts';
import { checkOptions } from '../../src/util/options.ts';
import {
  PROTOCOL_VERSION,
  type AsOf,
  type BatchRejection,
  type Credentials,
  type DriverStatus,
  type DriverType,
  type BranchInfo,
  type FieldConflict,
  type FileCall,
  type FileInfo,
  type MergeChange,
  type OpenConfig,
  type HistoryEntry,
  type SubSpec,
  type SubscriptionMessage,
  type SyncStatus,
  type Tier,
  type WireError,
  type WireRow,
  type WorkerApi,
  type WorkerStatus,
  type WriteOp,
} from '../protocol.ts';
import { fromWireError, installWireErrors } from '../wire-errors.ts';
import { ResultCache } from './result-cache.ts';
import type { WarmResults } from './warm.ts';
import type { Transaction } from './revisions.ts';
import type { PageCreateFileOptions, PageStreamWriter } from './files.ts';
import { defaultBrokerUrl, defaultWorkerUrl } from './worker-url.ts';

export interface BrowserDriverConfig {
  /** `opfs` (default): durable files in the origin private file system. `idb`: IndexedDB. `memory`: nothing kept. */
  readonly type: DriverType;
  /** Names the database in its storage (default `default`); one worker serves one name. */
  readonly dbName?: string;
  /**
   * `opfs` only: how many bytes of the database's pages the worker keeps in memory (default 32 MiB,
   * at least 1 MiB). Loads and updates of a database whose indexes outgrow it read and write pages
   * for most rows; a larger cache trades memory for that. The first tab to open the database (the
   * leader) sets it for all tabs; `status.driver.cacheBytes` says what is in use (absent where
   * `opfs` fell back to `idb`, which holds the whole database in memory).
   */
  readonly cacheBytes?: number;
}

export interface BrowserCreateDbOptions<A extends { readonly $schema: AppSchema }> {
  readonly app: A;
  /**
   * Migrations (`s.defineMigration`'s JSON form, as objects or text) connecting the schema versions
   * the database was written with (or other tabs run) to `app`'s; checked in the worker.
   */
  readonly migrations?: readonly unknown[] | undefined;
  /**
   * Indexes on several columns, per table: `{ todos: [['projectId', 'title']] }` (see the engine's
   * createDb). The tab that opens the database's files (the leader) puts its own in place.
   */
  readonly indexes?: Readonly<Record<string, readonly (readonly string[])[]>> | undefined;
  readonly driver?: BrowserDriverConfig;
  /** A sync server, e.g. `ws://localhost:4000`. */
  readonly server?: string | undefined;
  readonly appId?: string | undefined;
  readonly auth?: Credentials | undefined;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number } | undefined;
  /** Read and write on this branch (made from main, now, if the database does not have it). */
  readonly branch?: string | undefined;
  /** Where the worker script is (default: `jazz-worker.js` beside `jazz.js`). */
  readonly workerUrl?: string | URL | undefined;
  /**
   * Where the tab broker's script is (default: `jazz-broker.js` beside `jazz.js`), a SharedWorker
   * that connects the tabs of one database to their leader. `false`: do without it (the tabs then
   * talk over BroadcastChannel, as where SharedWorker does not exist).
   */
  readonly brokerUrl?: string | URL | false;
  /**
   * Show each live query's result from the last visit at once (kept in localStorage, its first 100
   * rows), marked `stale` and `partial`, until the database answers (see warm.ts). Default false.
   */
  readonly warmStart?: boolean | undefined;
}

/** What revisions.ts's functions get of a `BrowserDb`: its calls to the worker and its ids. */
export interface Inner {
  call<T>(fn: (api: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T>;
  readonly ids: IdGenerator;
}

/** A merge made through `merge`: branch `from` into `into` (this database's branch), as the batch `batchId` on the rows `ids`. */
export interface MergeDone {
  readonly from: string;
  readonly into: string;
  readonly batchId: string;
  readonly ids: readonly string[];
}

export interface SubscribeOptions {
  readonly tier?: Tier;
  readonly onError?: (error: unknown) => void;
  /** Follow the query as it stood at this moment (a Date or epoch milliseconds), as the engine's `asOf`. */
  readonly asOf?: AsOf;
  /** Each row with `$conflicts`: its fields whose concurrent edits lost (`conflicts`), kept current. */
  readonly conflicts?: boolean;
  /**
   * A result longer than this many rows comes first as its first `firstRows` rows (the update
   * says `partial`), then whole: a long list shows its top before the rest is read and sent.
   */
  readonly firstRows?: number;
}

export interface ReadOptions {
  readonly tier?: Tier;
  /** Answer as the data stood at this moment (a Date or epoch milliseconds). */
  readonly asOf?: AsOf;
  /** Each row with `$conflicts`: its fields whose concurrent edits lost (`conflicts`). */
  readonly conflicts?: boolean;
}

/** What the page knows about its database. */
export interface DbStatus {
  /** False until the worker has opened the storage. */
  readonly ready: boolean;
  /** The driver asked for and the one in use (they differ after a fallback, with the reason). */
  readonly driver: DriverStatus | null;
  /** Whether the data survives a reload (false for `memory`). */
  readonly persistent: boolean;
  /** What `navigator.storage.persist()` answered (undefined before it has, or where it does not exist). */
  readonly storagePersisted: boolean | undefined;
  /** Null without a server. */
  readonly sync: SyncStatus | null;
  /** Writes sent to the worker and not yet durable at `local`. */
  readonly pendingWrites: number;
  /**
   * `leader`: this tab's worker holds the storage (and runs sync); `follower`: it reaches another
   * tab's leader (and takes over when that tab goes). Null until known.
   */
  readonly role: 'leader' | 'follower' | null;
  /** The last storage failure the worker recovered from by reopening. */
  readonly lastStorageError: WireError | null;
  /** Set when the worker could not open the database. */
  readonly error: WireError | null;
}

export type OutRowOf<Q> = Q extends QueryBuilder<infer R, any> ? R & Record<string, unknown> : Readonly<Record<string, unknown>> & { readonly id: string };
type QueryRef = QueryBuilder<any, any> | QueryAst;

interface PendingWrite {
  /** Settles when the write is durable at `local` (or was refused). */
  readonly local: Promise<unknown>;
  observed: boolean;
}

let persistAsked: Promise<boolean | undefined> | undefined;

/** Asks the browser once per page not to evict this origin's storage. */
function askPersist(): Promise<boolean | undefined> {
  persistAsked ??= (async () => {
    try {
      if (typeof navigator === 'undefined' || !navigator.storage?.persist) return undefined;
      if (await navigator.storage.persisted()) return true;
      return await navigator.storage.persist();
    } catch {
      return undefined;
    }
  })();
  return persistAsked;
}

export class BrowserDb<A extends { readonly $schema: AppSchema } = { readonly $schema: AppSchema }> implements DbContract<A> {
  readonly app: A;
  /** Resolves when the worker has opened the database; rejects with the reason it could not. */
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #remote: Comlink.Remote<WorkerApi>;
  /** The remote once open (and the page's status listeners registered); rejects if the database could not open. */
  readonly #api: Promise<Comlink.Remote<WorkerApi>>;
  readonly #ids = new IdGenerator();
  readonly #pending = new Set<PendingWrite>();
  readonly #subs = new Set<() => void>();
  readonly #statusListeners = new Set<(s: DbStatus) => void>();
  readonly #errorListeners = new Set<(e: unknown) => void>();
  readonly #rejectedListeners = new Set<(rejection: BatchRejection, batchId: string) => void>();
  readonly #mergeListeners = new Set<(merge: MergeDone) => void>();
  /** The branch this database reads and writes. */
  readonly #branch: string;
  #workerStatus: WorkerStatus | undefined;
  #storagePersisted: boolean | undefined;
  #openError: WireError | null = null;
  /** Whether `open` has answered: `yes`, `failed`, or `no` while it has not. */
  #open: 'no' | 'yes' | 'failed' = 'no';
  #closed = false;
  readonly #onPageHide: (() => void) | undefined;
  /** Live queries' last results (`warmStart`; jazz-warm.js, loaded at once: the worker takes longer). */
  readonly #warm: Promise<WarmResults | undefined> | undefined;
  readonly #onPageShow: ((e: PageTransitionEvent) => void) | undefined;

  constructor(opts: BrowserCreateDbOptions<A>) {
    checkOptions('createDb', opts, 'app migrations indexes driver server appId auth backoff branch workerUrl brokerUrl warmStart');
    installWireErrors();
    // The options the worker takes as they are (checkOptions above allows no others): server,
    // appId, auth, backoff, branch, indexes.
    const { app, driver = { type: 'opfs' }, migrations, workerUrl, brokerUrl, warmStart, ...passed } = opts;
    this.app = app;
    this.#branch = opts.branch ?? 'main';
    const dbName = driver.dbName ?? 'default';
    // warmStart's code (warm.ts, a lazy part) loads at once: the worker takes far longer to answer.
    if (warmStart) this.#warm = import('./warm.ts').then((m) => m.default(opts));
    this.#worker = new Worker(sameOrigin(workerUrl ?? defaultWorkerUrl()), { type: 'module', name: `jazz:${dbName}` });
    this.#remote = Comlink.wrap<WorkerApi>(this.#worker);
    const failedToLoad = new Promise<never>((_, reject) => {
      this.#worker.addEventListener('error', (event) => {
        event.preventDefault();
        reject(new JazzError('STORAGE_IO', `the database worker failed to start (${event.message || 'its script did not load'}); check that jazz-worker.js is served beside jazz.js`));
      });
    });
    failedToLoad.catch(() => {});
    const remote = this.#remote;
    const broker = driver.type === 'memory' ? undefined : connectBroker(brokerUrl);
    if (driver.type !== 'memory' && typeof window !== 'undefined') {
      // A leaving page hands the storage on at once (its worker closes the files, then lets go of
      // the lock); one restored from the back/forward cache rejoins. A page left before its
      // database opened ends its worker instead, and reloads if it is restored: WebKit keeps a
      // cached page's worker suspended, and with it the lock and an IndexedDB open half done,
      // which no later tab of the database could get past (worker/README.md, "Tabs").
      this.#onPageHide = () => (this.#open === 'no' ? this.#worker.terminate() : void remote.retire().catch(() => {}));
      this.#onPageShow = (e) => {
        if (e.persisted) this.#open === 'no' ? location.reload() : void remote.resume().catch(() => {});
      };
      window.addEventListener('pagehide', this.#onPageHide);
      window.addEventListener('pageshow', this.#onPageShow);
    }
    if (driver.type !== 'memory') void askPersist().then((p) => (this.#storagePersisted = p));
    const config: OpenConfig = {
      ...passed,
      protocol: PROTOCOL_VERSION,
      schema: app.$schema,
      // With its options (`cacheBytes`), checked by the worker.
      driver,
      dbName,
      migrations: migrations?.map((m) => (typeof m === 'string' ? JSON.parse(m) : m)),
      broker,
    };
    const opened = Promise.race([remote.open(broker ? Comlink.transfer(config, [broker]) : config), failedToLoad]);
    // Sent at once, behind `open` (the worker takes calls in order and holds them until the
    // database is open), so no round trip waits for another.
    const listening = Promise.all([
      remote.onStatus(
        Comlink.proxy((s: WorkerStatus) => {
          this.#workerStatus = s;
          this.#emitStatus();
        }),
      ),
      remote.onRejected(Comlink.proxy((key: string | undefined, e: WireError) => this.#rejected(key, e))),
    ]);
    listening.catch(() => {});
    this.#api = (async () => {
      const status = await opened;
      this.#workerStatus = status;
      if (status.driver.fallbackReason) {
        console.warn(
          `jazz-elements: the ${status.driver.requested} driver cannot run here, so the database uses ${status.driver.used}${status.driver.persistent ? '' : ' (nothing is kept after a reload)'}: ${status.driver.fallbackReason}`,
        );
      }
      await Promise.race([listening, failedToLoad]);
      this.#open = 'yes';
      this.#emitStatus();
      return remote;
    })();
    this.#api.catch((e: unknown) => {
      this.#open = 'failed';
      this.#openError = e instanceof JazzError ? e.toJSON() : { name: 'Error', code: '', message: String(e), details: {} };
      this.#emitStatus();
    });
    this.ready = this.#api.then(() => {});
    this.ready.catch(() => {});
  }

  // ─── status ───────────────────────────────────────────────────────────────

  get status(): DbStatus {
    const w = this.#workerStatus;
    return {
      ready: this.#open === 'yes',
      driver: w?.driver ?? null,
      persistent: w?.driver.persistent ?? false,
      storagePersisted: this.#storagePersisted,
      sync: w?.sync ?? null,
      pendingWrites: this.#pending.size,
      role: w?.role ?? null,
      lastStorageError: w?.lastStorageError ?? null,
      error: this.#openError,
    };
  }

  /** Sync status, as the engine's `db.syncStatus`. */
  get syncStatus(): SyncStatus {
    return this.#workerStatus?.sync ?? { state: 'offline', pendingBatches: 0, syncing: false };
  }

  /** Called with the status whenever it changes (driver known, sync state, pending writes, role). */
  onStatus(listener: (s: DbStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  #emitStatus(): void {
    if (this.#statusListeners.size === 0) return;
    const s = this.status;
    for (const l of this.#statusListeners) l(s);
  }

  /** Told about writes that failed while nobody waited for them. */
  onError(listener: (e: unknown) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Told whenever a batch will never be applied: the server refused it, or it is too large for the
   * server's frames. `{ code, message, batchId, error }`: `code` says why (`PERMISSION_DENIED`,
   * `TOO_LARGE`, `INTERNAL`, `TYPE_MISMATCH`, ...), `batchId` is the write handle's `batchId`, and
   * the batch has been undone by then (its waiters got `error`, code `BATCH_REJECTED`). The batch id
   * is also passed second, as before. Returns a function that stops listening.
   */
  onRejected(listener: (rejection: BatchRejection, batchId: string) => void): () => void {
    this.#rejectedListeners.add(listener);
    return () => this.#rejectedListeners.delete(listener);
  }

  #rejected(key: string | undefined, w: WireError): void {
    const error = fromWireError(w) as JazzError;
    const batchId = key ?? String(error.details['batchId'] ?? '');
    const reason = error.details['reason'];
    const rejection: BatchRejection = { code: typeof reason === 'string' && reason ? reason : error.code, message: error.message, batchId, error };
    if (this.#rejectedListeners.size === 0) console.warn(`jazz-elements: ${rejection.message} (${rejection.code}, batch ${batchId})`);
    for (const l of this.#rejectedListeners) {
      try {
        l(rejection, batchId);
      } catch (e) {
        console.error('jazz-elements: an onRejected listener threw', e);
      }
    }
  }

  setAuth(auth: Credentials): void {
    void this.#call((api) => api.setAuth(auth));
  }

  // ─── writes ───────────────────────────────────────────────────────────────

  /**
   * Sends a call at once, also while the worker is still opening: calls reach it in the order they
   * are made, behind `open`, and wait there for the database. Until `open` has answered, a call
   * settles only after it, so a database that failed to open rejects with the reason.
   */
  #call<T>(fn: (api: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new JazzError('CLOSED', 'the database is closed; open it again with createDb'));
    if (this.#open === 'yes') return fn(this.#remote);
    if (this.#open === 'failed') return this.#api.then(fn);
    const answer = fn(this.#remote);
    answer.catch(() => {});
    return this.#api.then(() => answer);
  }

  /**
   * Sends a write (`ops`, or what `run` sends under the batch key) and tracks it: pending until
   * durable, its failure to `wait` or else to `onError`, its rejection to `onRejected`.
   */
  #send<T = void>(ops: WriteOp[] | ((api: Comlink.Remote<WorkerApi>, key: string) => Promise<T>)): { key: string; wait: (opts?: WaitOptions) => Promise<void>; local: Promise<T> } {
    const key = this.#ids.next();
    const local = this.#call((api) => (typeof ops === 'function' ? ops(api, key) : (api.write(key, ops) as Promise<T>)));
    const pending: PendingWrite = { local, observed: false };
    this.#pending.add(pending);
    if (this.#pending.size === 1) this.#emitStatus();
    local.then(
      () => {
        this.#pending.delete(pending);
        if (this.#pending.size === 0) this.#emitStatus();
      },
      (e: unknown) => {
        this.#pending.delete(pending);
        this.#emitStatus();
        // Let a `wait` that is about to be called (same tick) claim the error first.
        queueMicrotask(() => {
          if (pending.observed) return;
          if (this.#errorListeners.size === 0) console.warn('jazz-elements: a write failed and nobody waited for it', e);
          for (const l of this.#errorListeners) l(e);
        });
      },
    );
    const wait = (opts?: WaitOptions): Promise<void> => {
      pending.observed = true;
      const tier = opts?.tier ?? 'local';
      if (tier === 'local') return local as Promise<unknown> as Promise<void>;
      return local.then(() => this.#call((api) => api.wait(key, tier)));
    };
    return { key, wait, local };
  }

  /** Inserts a row; `{ id }` chooses its id (any UUID; `wait` rejects with `ROW_EXISTS` if a row has it, `TYPE_MISMATCH` if it is not a UUID). */
  insert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts?: InsertOptions): WriteHandle<OutRowOf<T>> {
    const chosen = chosenId(opts);
    const id = chosen ?? this.#ids.next();
    return this.#handle(this.#send([{ kind: 'insert', table: tableName(table), id, fresh: chosen === undefined, values: values as Record<string, unknown> }]), table, id);
  }

  update<T extends TableRef>(table: T, id: string, values: Partial<InsertOfRef<T>>): WriteHandle<OutRowOf<T>> {
    return this.#handle(this.#send([{ kind: 'update', table: tableName(table), id, values: values as Record<string, unknown> }]), table, id);
  }

  upsert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts: { id: string }): WriteHandle<OutRowOf<T>> {
    return this.#handle(this.#send([{ kind: 'upsert', table: tableName(table), id: opts.id, values: values as Record<string, unknown> }]), table, opts.id);
  }

  delete<T extends TableRef>(table: T, id: string): WriteHandle<OutRowOf<T>> {
    return this.#handle(this.#send([{ kind: 'delete', table: tableName(table), id }]), table, id);
  }

  /** Undeletes the row (it comes back into live queries), setting `values` in the same version when given. */
  restore<T extends TableRef>(table: T, id: string, values?: Partial<InsertOfRef<T>>): WriteHandle<OutRowOf<T>> {
    return this.#handle(this.#send([{ kind: 'restore', table: tableName(table), id, values: values as Record<string, unknown> | undefined }]), table, id);
  }

  /**
   * A write's handle: `wait` resolves to the row as it reads once the write is at the tier (see
   * src/handles.ts). `rowSent`: the worker answers the write with the row (`WorkerApi.write`).
   */
  #handle<R>(sent: { key: string; wait: (opts?: WaitOptions) => Promise<void>; local: Promise<unknown> }, table: TableRef, id: string, rowSent = true): WriteHandle<R> {
    return {
      id,
      batchId: sent.key,
      wait: async (opts) => {
        await sent.wait(opts);
        // At `local` the worker sent the row with its answer; at another tier it reads it again.
        const row = rowSent && (opts?.tier ?? 'local') === 'local' ? await sent.local : undefined;
        if (row !== undefined) return (row && Object.freeze(row)) as R | null;
        return ((await this.all(rowById(tableName(table), id)).catch(() => []))[0] ?? null) as R | null;
      },
    };
  }

  /** Writes applied together with one fate: all of them or none. */
  batch(fn: (b: BatchWriter) => void): BatchHandle {
    const writer = new BatchWriter(this.#ids);
    fn(writer);
    const { key, wait } = this.#send(writer.ops);
    return { batchId: key, ids: writer.ops.map((o) => o.id!), wait };
  }

  // ─── reads ────────────────────────────────────────────────────────────────

  async all<Q extends QueryRef>(query: Q, opts: ReadOptions = {}): Promise<OutRowOf<Q>[]> {
    const rows = await this.#call((api) => api.all(astOf(query), opts.tier, opts.asOf, opts.conflicts));
    return rows.map((r) => Object.freeze(r)) as OutRowOf<Q>[];
  }

  async one<Q extends QueryRef>(query: Q, opts: ReadOptions = {}): Promise<OutRowOf<Q> | null> {
    return ((await this.all({ ...astOf(query), limit: 1 }, opts))[0] ?? null) as OutRowOf<Q> | null;
  }

  /**
   * Calls `callback` with the result once it is known and after every change to it, with the whole
   * result (`all`, in order) and what changed (`delta`). Returns a function that stops it.
   */
  subscribeAll<Q extends QueryRef>(query: Q, callback: (update: SubscriptionUpdate<OutRowOf<Q>>) => void, opts: SubscribeOptions = {}): () => void {
    const ast = astOf(query);
    const cache = new ResultCache(ast);
    const deliver = (delta: { added: readonly WireRow[]; removed: readonly WireRow[]; changed: readonly WireRow[] }, first: boolean, partial?: true, stale?: true, total?: number): void => {
      if (!first && delta.added.length + delta.removed.length + delta.changed.length === 0) return;
      try {
        callback({ all: cache.rows as unknown as OutRowOf<Q>[], delta: delta as unknown as SubscriptionUpdate<OutRowOf<Q>>['delta'], partial, stale, total });
      } catch (e) {
        console.error('jazz-elements: a subscription callback threw', e);
      }
    };
    let first = true;
    return this.#follow(
      { ast, tier: opts.tier, asOf: opts.asOf, conflicts: opts.conflicts, firstRows: opts.firstRows },
      opts.onError,
      (m, again) => {
        if (m.kind === 'reset') {
          deliver(cache.reset(m.rows), first, m.partial, m.stale, m.total);
          first = !!m.partial;
        } else if (m.kind === 'delta') {
          const d = cache.apply(m.added, m.removed, m.changed, m.order);
          if (cache.rows.length !== m.size) {
            // The cache and the worker disagree (a bug): start over from the worker's result.
            console.error(`jazz-elements: a live query has ${cache.rows.length} rows here, ${m.size} in the worker; resubscribing`);
            return again();
          }
          deliver(d, false);
        }
      },
      () => (first ? undefined : cache.rows),
    );
  }

  /**
   * A subscription in the worker (`spec`), carried on across leader changes: its messages go to
   * `on` (`again` subscribes afresh), an error stops it and goes to `onError`. Returns its stop.
   * `result`: the current whole result (undefined before it), for warmStart to keep.
   */
  #follow(spec: SubSpec, onError: ((e: unknown) => void) | undefined, on: (m: SubscriptionMessage, again: () => void) => void, result?: () => readonly WireRow[] | undefined): () => void {
    let stopped = false;
    let id: Promise<number> | undefined;
    const fail = (e: unknown): void => {
      stop();
      if (onError) onError(e);
      else console.error('jazz-elements: a live query failed and was stopped', e);
    };
    const sink = (m: SubscriptionMessage): void => {
      if (stopped) return;
      if (m.kind === 'error') fail(fromWireError(m.error));
      else on(m, resubscribe);
    };
    const subscribe = (): void => {
      id = this.#call((api) => api.subscribe(spec, Comlink.proxy(sink)));
      id.catch((e: unknown) => {
        if (!stopped) fail(e);
      });
    };
    const resubscribe = (): void => {
      const old = id;
      void old?.then((n) => this.#remote.unsubscribe(n)).catch(() => {});
      subscribe();
    };
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      this.#subs.delete(stop);
      if (!this.#closed) void id?.then((n) => this.#remote.unsubscribe(n)).catch(() => {});
    };
    this.#subs.add(stop);
    subscribe();
    // warmStart: the result the last visit kept for this spec, shown until the worker's first
    // message, never after a stop, never inside this call; `result` (subscribeAll's, whole) is kept.
    void this.#warm?.then((w) => w?.watch(JSON.stringify(spec), (rows) => stopped || on({ kind: 'reset', rows: rows as WireRow[], partial: true, stale: true }, resubscribe), result));
    return stop;
  }

  // ─── history (the engine's src/history/history.ts, run in the worker) ─────

  /**
   * Calls `callback` with the row's history once known and whenever it changes (also after the
   * leading tab changed, only if it differs). `onError`: a bad table or id stops it.
   */
  subscribeHistory(table: TableRef, id: string, callback: (entries: HistoryEntry[]) => void, opts: { onError?: (error: unknown) => void } = {}): () => void {
    let last = '';
    return this.#follow({ table: tableName(table), id }, opts.onError, (m) => {
      const json = m.kind === 'history' && JSON.stringify(m.entries);
      if (json && json !== last) callback(((last = json), m.entries as HistoryEntry[]));
    });
  }

  /** The row's versions, oldest first: author, `at` (a Date), what each changed, its batch and tier. */
  declare history: (table: TableRef, id: string) => Promise<HistoryEntry[]>;
  /** The row's fields whose concurrent edits lost under last-writer-wins. */
  declare conflicts: (table: TableRef, id: string) => Promise<FieldConflict[]>;
  /**
   * Writes what makes the row read as it did just after version `to`: worked out and applied in
   * the worker as one batch under this handle's `batchId`, tracked like any write (pending at
   * once). Resolves once it is durable at `local`; rejects if `to` is not one of the row's versions.
   */
  async revert<T extends TableRef>(table: T, id: string, opts: { to: string }): Promise<WriteHandle<OutRowOf<T>>> {
    const sent = this.#send((api, k) => api.revert(k, { table: tableName(table), id, to: opts?.to }));
    await sent.wait();
    return this.#handle(sent, table, id, false);
  }

  /** Undoes a batch (a write's `batchId`) as one new batch; resolves once durable, with the row ids it wrote. */
  async revertBatch(batchId: string): Promise<BatchHandle> {
    const { key, wait, local } = this.#send((api, k) => api.revert(k, { batchId }));
    void wait();
    return { batchId: key, ids: await local, wait };
  }

  /**
   * Merges branch `from` into this database's branch as one batch; conflicts keep `into`'s value
   * unless `resolve: 'from'`. Once it is durable, `onMerge` listeners hear of it.
   */
  async merge(from: string, opts: { resolve?: 'from' | 'into' } = {}): Promise<BatchHandle> {
    const { key, wait, local } = this.#send((api, k) => api.revert(k, { merge: from, resolve: opts.resolve ?? 'into' }));
    void wait();
    const ids = await local;
    for (const l of this.#mergeListeners) l({ from, into: this.#branch, batchId: key, ids });
    return { batchId: key, ids, wait };
  }
  /**
   * A globally consistent transaction, decided by the server (see the engine's `db.transaction`).
   * `fn` runs on the page; its reads go to the worker, which records them.
   */
  declare transaction: <T>(fn: (tx: Transaction) => Promise<T> | T) => Promise<T>;

  /** The branches this database has (`createDb({ branch })` opens one). */
  declare branches: () => Promise<BranchInfo[]>;
  /** What merging branch `from` into `into` (this database's branch by default) would change. */
  declare mergePreview: (from: string, into?: string) => Promise<MergeChange[]>;
  /** Drops a branch and its writes. */
  declare deleteBranch: (name: string) => Promise<void>;

  /** Told of each merge this page's `merge` made (`<jazz-db>` fires `jazz-merge` from it). Returns a function that stops listening. */
  onMerge(listener: (merge: MergeDone) => void): () => void {
    this.#mergeListeners.add(listener);
    return () => this.#mergeListeners.delete(listener);
  }

  // ─── files: files.ts (jazz-files.js), loaded on first use ──────────────────

  /** Stores a Blob (or File) as a file, sent to the worker a part at a time; resolves to its id (see files.ts). */
  declare createFileFromBlob: (blob: Blob, opts?: PageCreateFileOptions) => Promise<string>;
  /** A file's content as a Blob of its MIME type; FILE_NOT_FOUND, FILE_INCOMPLETE. */
  declare loadFileAsBlob: (id: string, opts?: { tier?: Tier }) => Promise<Blob>;
  /** A file's content as a stream, a part at a time from the worker. */
  declare loadFileAsStream: (id: string, opts?: { tier?: Tier }) => Promise<ReadableStream<Uint8Array>>;
  /** A file's record (name, MIME type, size, parts, SHA-256, state); FILE_NOT_FOUND. */
  declare fileInfo: (id: string, opts?: { tier?: Tier }) => Promise<FileInfo>;
  /** Deletes a file (its record, and its parts everywhere); FILE_NOT_FOUND. */
  declare deleteFile: (id: string, opts?: { tier?: Tier }) => Promise<void>;
  /** Stores what a stream gives (bytes, or strings as UTF-8) as a file; resolves to its id. */
  declare createFileFromStream: (readable: ReadableStream<Uint8Array | string>, opts?: PageCreateFileOptions) => Promise<string>;
  /** Starts a live stream: resolves, once its record is written, to `{ id, write, close, abort }` (see files.ts). */
  declare createStream: (opts?: { mimeType?: string; name?: string; partSize?: number; flushMs?: number }) => Promise<PageStreamWriter>;

  // Methods that only forward, made by loops instead of one by one (jazz.js's size budget):
  // `branches`, `mergePreview` and `deleteBranch` to the worker's namesakes; `history`, `conflicts`
  // and `transaction` to revisions.ts, loaded on first use, with the database's calls and ids; each
  // files method to its namesake in files.ts, likewise, with a way to send `FileCall`s (their bytes
  // transferred).
  static {
    for (const op of ['branches', 'mergePreview', 'deleteBranch'] as const) {
      (BrowserDb.prototype as unknown as Record<string, unknown>)[op] = function (this: BrowserDb, ...args: unknown[]) {
        return this.#call((api) => (api[op] as (...a: unknown[]) => Promise<unknown>)(...args));
      };
    }
    for (const op of ['history', 'conflicts', 'transaction'] as const) {
      (BrowserDb.prototype as unknown as Record<string, unknown>)[op] = function (this: BrowserDb, ...args: unknown[]) {
        const inner: Inner = { call: (fn) => this.#call(fn), ids: this.#ids };
        return import('./revisions.ts').then((m) => (m[op] as (...a: unknown[]) => unknown)(inner, ...args));
      };
    }
    for (const op of ['createFileFromBlob', 'createFileFromStream', 'createStream', 'loadFileAsBlob', 'loadFileAsStream', 'fileInfo', 'deleteFile'] as const) {
      (BrowserDb.prototype as unknown as Record<string, unknown>)[op] = function (this: BrowserDb, ...args: unknown[]) {
        return import('./files.ts').then((m) => (m[op] as (...a: unknown[]) => unknown)((c: FileCall, t?: Transferable[]) => this.#call((api) => api.file(Comlink.transfer(c, t!))), ...args));
      };
    }
  }

  /** Stops every subscription, makes everything durable, and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const stop of [...this.#subs]) stop();
    this.#closed = true;
    if (this.#onPageHide) window.removeEventListener('pagehide', this.#onPageHide);
    if (this.#onPageShow) window.removeEventListener('pageshow', this.#onPageShow);
    try {
      const api = await this.#api.catch(() => undefined);
      await api?.close();
    } finally {
      this.#remote[Comlink.releaseProxy]();
      this.#worker.terminate();
    }
  }
}

/**
 * A port to the tab broker, or undefined where there is none (no SharedWorker, or `false`). A
 * broker that fails to load costs nothing but speed: followers fall back to BroadcastChannel.
 */
/**
 * A worker's script must come from the page's origin: one served elsewhere (jazz.js from a CDN) is
 * started through a same-origin `blob:` module that imports it (the CDN must allow CORS, as public
 * ones do). The worker keeps the page's origin, so its storage is the page's. A SharedWorker cannot
 * be started so (a `blob:` URL is the page's own, never shared), so the broker is not: tabs then
 * find their leader through BroadcastChannel.
 */
function sameOrigin(url: string | URL): string | URL {
  const u = new URL(url, location.href);
  // (A blob: URL has its creator's origin, so it passes as it is.)
  return u.origin === location.origin ? url : URL.createObjectURL(new Blob([`import ${JSON.stringify(u.href)};`], { type: 'text/javascript' }));
}

function connectBroker(url: string | URL | false | undefined): MessagePort | undefined {
  if (url === false || typeof SharedWorker === 'undefined') return undefined;
  try {
    const worker = new SharedWorker(url ?? defaultBrokerUrl(), { type: 'module', name: 'jazz-broker' });
    worker.addEventListener('error', (e) => e.preventDefault());
    return worker.port;
  } catch {
    return undefined;
  }
}

/**
 * Opens a database in the browser: a dedicated worker owns the engine and the storage. Tabs that
 * open the same database share it: one tab's worker leads (holds the files, runs sync) and the
 * others reach it; `status.role` says which this tab is.
 */
export function createDb<A extends { readonly $schema: AppSchema }>(opts: BrowserCreateDbOptions<A>): BrowserDb<A> {
  return new BrowserDb(opts);
}

export function astOf(q: QueryRef): QueryAst {
  if (q && typeof q === 'object' && 'ast' in q && q.ast && typeof q.ast === 'object') return q.ast;
  if (q && typeof q === 'object' && typeof (q as QueryAst).table === 'string') return q as QueryAst;
  throw new JazzError('QUERY_INVALID', 'expected a query (like app.todos.where(...)) or a query AST');
}
