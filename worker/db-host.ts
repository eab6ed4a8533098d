/**
 * The engine's owner in the worker: one database, its store, its sync client, and the `WorkerApi`
 * the page calls through Comlink (protocol.ts).
 *
 * - Calls run in arrival order: every method first awaits the current database (`#current`), a
 *   promise that is already resolved except while the database is opening or reopening, and
 *   continuations of one promise run in the order they were registered.
 * - Writes carry their row ids and a batch key from the page; the engine is asked to trust the
 *   ids of inserts (`fresh: true`), so an insert costs no lookup. The batch key is the page's name
 *   for the batch; the engine names it itself, and this host maps one to the other (in memory, for
 *   the waits and rejections that follow).
 * - A storage failure in the commit path (quota, I/O) stops the store by design (the store keeps
 *   nothing it cannot vouch for). The host then reopens the database from disk, which recovers
 *   exactly what was durable, resubscribes every live query (their sinks get a `reset`) and reports
 *   the error in its status; the writer's promise rejects with the typed error. So a quota error
 *   reaches the page and leaves the database usable.
 */
import { createDb, type BatchHandle, type Db, type Transaction } from '../src/db.ts';
import { QueryBuilder } from '../src/query/builder.ts';
import { checkQuery } from '../src/query/validate.ts';
import type { AppSchema } from '../src/schema/schema.ts';
import type { KvStore } from '../src/store/types.ts';
import { JazzError } from '../src/util/errors.ts';
import { openStore } from './open-store.ts';
import { wsConnector } from './ws-connector.ts';
import { toWireError } from './wire-errors.ts';
import {
  PROTOCOL_VERSION,
  pageCanOrder,
  type Credentials,
  type DriverStatus,
  type OpenConfig,
  type QueryAst,
  type RejectionSink,
  type StatusSink,
  type SubscriptionSink,
  type Tier,
  type WireError,
  type WireRow,
  type WorkerApi,
  type WorkerStatus,
  type WriteOp,
} from './protocol.ts';

type AnyDb = Db<{ readonly $schema: AppSchema }>;

interface Sub {
  readonly ast: QueryAst;
  readonly tier: Tier | undefined;
  readonly sink: SubscriptionSink;
  stop: (() => void) | undefined;
}

interface Tx {
  readonly tx: Transaction;
  commit(ops: readonly WriteOp[]): void;
  abort(): void;
  readonly done: Promise<void>;
}

/** How many batch keys are remembered for `wait` and rejections (the oldest are forgotten). */
const MAX_BATCH_KEYS = 50_000;

export class DbHost implements WorkerApi {
  #config: OpenConfig | undefined;
  #current: Promise<AnyDb> | undefined;
  #db: AnyDb | undefined;
  #driver: DriverStatus | undefined;
  #role: 'leader' | 'follower' = 'leader';
  #lastStorageError: WireError | undefined;
  #recovering = false;
  #closed = false;
  readonly #subs = new Map<number, Sub>();
  #nextSub = 1;
  readonly #txs = new Map<number, Tx>();
  #nextTx = 1;
  /** page batch key → the engine's handle (for waits), engine batch id → page key (for rejections). */
  readonly #keys = new Map<string, BatchHandle>();
  readonly #batchIds = new Map<string, string>();
  readonly #statusSinks = new Set<StatusSink>();
  readonly #rejectionSinks = new Set<RejectionSink>();
  #stopSyncStatus: (() => void) | undefined;

  async open(config: OpenConfig): Promise<WorkerStatus> {
    if (config.protocol !== PROTOCOL_VERSION) {
      throw new JazzError('QUERY_INVALID', `the page script speaks protocol ${config.protocol} and the worker file ${PROTOCOL_VERSION}: serve jazz.js and jazz-worker.js from the same build`);
    }
    if (this.#current) throw new JazzError('QUERY_INVALID', 'this worker has already opened a database; start one worker per database');
    this.#config = config;
    this.#current = this.#openDb(config);
    await this.#current;
    return this.status();
  }

  async #openDb(config: OpenConfig, driver: DriverStatus['requested'] = config.driver): Promise<AnyDb> {
    const opened = await openStore(driver, config.dbName);
    // A reopen after a failure keeps the original request (and reason) in the status.
    this.#driver = this.#driver ? { ...this.#driver, used: opened.driver.used, persistent: opened.driver.persistent } : opened.driver;
    const db = this.#createDb(config, opened.store);
    await db.engine.ready;
    this.#db = db;
    this.#stopSyncStatus = db.onSyncStatus(() => this.#emitStatus());
    db.onRejected((e) => {
      const batchId = String(e.details['batchId'] ?? '');
      const wire = toWireError(e);
      for (const s of this.#rejectionSinks) void s(this.#batchIds.get(batchId), wire);
    });
    return db;
  }

  #createDb(config: OpenConfig, store: KvStore): AnyDb {
    return createDb({
      app: { $schema: config.schema },
      store,
      ...(config.server !== undefined ? { server: config.server, connect: wsConnector } : {}),
      ...(config.appId !== undefined ? { appId: config.appId } : {}),
      ...(config.auth ? { auth: config.auth } : {}),
      ...(config.backoff ? { backoff: config.backoff } : {}),
    });
  }

  #ready(): Promise<AnyDb> {
    if (this.#closed) return Promise.reject(new JazzError('CLOSED', 'the database is closed; open it again with createDb'));
    if (!this.#current) return Promise.reject(new JazzError('CLOSED', 'the database is not open yet; call open first'));
    return this.#current;
  }

  /** A storage failure stopped the store: reopen from disk and carry on (see the top of the file). */
  #storageFailed(e: unknown): void {
    if (!(e instanceof JazzError) || (e.code !== 'STORAGE_QUOTA' && e.code !== 'STORAGE_IO')) return;
    if (this.#recovering || this.#closed || !this.#config) return;
    this.#recovering = true;
    this.#lastStorageError = toWireError(e);
    const config = this.#config;
    const old = this.#db;
    this.#current = (async () => {
      for (const s of this.#subs.values()) {
        s.stop?.();
        s.stop = undefined;
      }
      this.#stopSyncStatus?.();
      try {
        await old?.close();
      } catch {
        // The store had stopped; closing releases its files, which is all we need.
      }
      const db = await this.#openDb(config, this.#driver?.used ?? config.driver);
      for (const s of this.#subs.values()) this.#start(db, s);
      this.#recovering = false;
      this.#emitStatus();
      return db;
    })();
    this.#current.catch(() => {
      this.#recovering = false;
    });
  }

  async write(key: string, ops: readonly WriteOp[]): Promise<void> {
    const db = await this.#ready();
    let handle;
    try {
      handle = db.batch((b) => {
        b.ops.push(...ops);
      });
    } catch (e) {
      this.#storageFailed(e);
      throw e;
    }
    this.#remember(key, handle);
    try {
      await handle.wait({ tier: 'local' });
    } catch (e) {
      this.#storageFailed(e);
      throw e;
    }
  }

  #remember(key: string, handle: BatchHandle): void {
    this.#keys.set(key, handle);
    this.#batchIds.set(handle.batchId, key);
    if (this.#keys.size > MAX_BATCH_KEYS) {
      const [oldKey, old] = this.#keys.entries().next().value!;
      this.#keys.delete(oldKey);
      this.#batchIds.delete(old.batchId);
    }
  }

  async wait(key: string, tier: Tier): Promise<void> {
    const db = await this.#ready();
    if (tier === 'local') {
      // Commits are durable in order: once the store has flushed, every earlier batch is.
      await db.engine.store.flush();
      return;
    }
    const handle = this.#keys.get(key);
    if (!handle) throw new JazzError('QUERY_INVALID', `no batch ${key} was written through this worker (or it is too old to wait for)`);
    await handle.wait({ tier });
  }

  async all(ast: QueryAst, tier?: Tier): Promise<WireRow[]> {
    const db = await this.#ready();
    return (await db.all(builder(db, ast), tier ? { tier } : {})) as WireRow[];
  }

  async subscribe(ast: QueryAst, tier: Tier | undefined, sink: SubscriptionSink): Promise<number> {
    const db = await this.#ready();
    checkQuery(db.app.$schema, ast);
    const id = this.#nextSub++;
    const sub: Sub = { ast, tier, sink, stop: undefined };
    this.#subs.set(id, sub);
    this.#start(db, sub);
    return id;
  }

  #start(db: AnyDb, sub: Sub): void {
    let first = true;
    const sendOrder = !pageCanOrder(sub.ast);
    sub.stop = db.subscribeAll(
      sub.ast,
      ({ all, delta }) => {
        if (first) {
          first = false;
          void sub.sink({ kind: 'reset', rows: all as WireRow[] });
          return;
        }
        void sub.sink({
          kind: 'delta',
          added: delta.added as WireRow[],
          removed: delta.removed.map((r) => (r as WireRow).id),
          changed: delta.changed as WireRow[],
          size: all.length,
          ...(sendOrder ? { order: all.map((r) => (r as WireRow).id) } : {}),
        });
      },
      {
        ...(sub.tier ? { tier: sub.tier } : {}),
        onError: (e) => {
          sub.stop = undefined;
          void sub.sink({ kind: 'error', error: toWireError(e) });
        },
      },
    );
  }

  async unsubscribe(id: number): Promise<void> {
    const sub = this.#subs.get(id);
    this.#subs.delete(id);
    sub?.stop?.();
  }

  async txBegin(): Promise<number> {
    const db = await this.#ready();
    const id = this.#nextTx++;
    return new Promise<number>((resolveBegin, rejectBegin) => {
      let commit!: (ops: readonly WriteOp[]) => void;
      let abort!: () => void;
      const decided = new Promise<readonly WriteOp[]>((resolve, reject) => {
        commit = resolve;
        abort = () => reject(new JazzError('QUERY_INVALID', 'the transaction was abandoned (its function threw)'));
      });
      decided.catch(() => {});
      const done = db.transaction(async (tx) => {
        this.#txs.set(id, { tx, commit, abort, done });
        resolveBegin(id);
        const ops = await decided;
        tx.ops.push(...ops);
      });
      done.then(
        () => this.#txs.delete(id),
        (e: unknown) => {
          this.#txs.delete(id);
          rejectBegin(e); // no effect once begun
        },
      );
    });
  }

  #tx(id: number): Tx {
    const tx = this.#txs.get(id);
    if (!tx) throw new JazzError('CLOSED', `transaction ${id} is over`);
    return tx;
  }

  async txRead(id: number, ast: QueryAst): Promise<WireRow[]> {
    const db = await this.#ready();
    return (await this.#tx(id).tx.all(builder(db, ast))) as WireRow[];
  }

  async txCommit(id: number, key: string, ops: readonly WriteOp[]): Promise<void> {
    const tx = this.#tx(id);
    tx.commit(ops);
    await tx.done;
    void key;
  }

  async txAbort(id: number): Promise<void> {
    const tx = this.#txs.get(id);
    tx?.abort();
    await tx?.done.catch(() => {});
  }

  async status(): Promise<WorkerStatus> {
    return this.#status();
  }

  #status(): WorkerStatus {
    const db = this.#db;
    return {
      dbName: this.#config?.dbName ?? '',
      driver: this.#driver ?? { requested: this.#config?.driver ?? 'memory', used: 'memory', persistent: false },
      sync: db && this.#config?.server !== undefined ? db.syncStatus : null,
      role: this.#role,
      ...(this.#lastStorageError ? { lastStorageError: this.#lastStorageError } : {}),
    };
  }

  #emitStatus(): void {
    const s = this.#status();
    for (const sink of this.#statusSinks) void sink(s);
  }

  async onStatus(sink: StatusSink): Promise<void> {
    this.#statusSinks.add(sink);
  }

  async onRejected(sink: RejectionSink): Promise<void> {
    this.#rejectionSinks.add(sink);
  }

  async setAuth(auth: Credentials): Promise<void> {
    (await this.#ready()).setAuth(auth);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const current = this.#current;
    this.#closed = true;
    for (const s of this.#subs.values()) s.stop?.();
    this.#subs.clear();
    this.#statusSinks.clear();
    this.#rejectionSinks.clear();
    if (!current) return;
    const db = await current.catch(() => undefined);
    await db?.close();
  }
}

/**
 * A query builder around an AST from the page, checked against the schema first: `Db.all` and
 * `Transaction.all` take builders. (`QueryBuilder`'s constructor is private; `forTable` then
 * swapping the AST keeps its prototype and so its `instanceof`.)
 */
function builder(db: AnyDb, ast: QueryAst): QueryBuilder<any, any> {
  checkQuery(db.app.$schema, ast);
  const base = QueryBuilder.forTable(db.app.$schema, ast.table);
  return Object.assign(Object.create(QueryBuilder.prototype) as QueryBuilder<any, any>, { schema: base.schema, ast });
}
