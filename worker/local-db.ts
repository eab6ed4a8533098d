/**
 * The engine's owner in the leader's worker: one database, its store, its sync client, answering
 * the page calls of every tab (its own through `DbHost`, the followers' through `LeaderServer`).
 *
 * - Calls run in arrival order: every method first awaits the current database (`#current`), a
 *   promise that is already resolved except while the database is opening or reopening, and
 *   continuations of one promise run in the order they were registered.
 * - Writes are idempotent. A write carries its row ids and its batch key from the page, and the
 *   key becomes the engine's batch id, whose record is committed with the batch's versions. A
 *   write whose batch record exists was applied already (by this leader or by one before it whose
 *   tab went away before its answer arrived) and is answered without applying it again. So a
 *   follower resends every write it has no answer for to the next leader, and none is lost or
 *   doubled. Inserts are trusted to be new (`fresh: true`, no existence lookup): their ids are
 *   UUIDv7s made on the page.
 * - A storage failure in the commit path (quota, I/O) stops the store by design (the store keeps
 *   nothing it cannot vouch for). This then reopens the database from disk, which recovers
 *   exactly what was durable, resubscribes every live query (their sinks get a `reset`) and reports
 *   the error in its status; the writer's promise rejects with the typed error. So a quota error
 *   reaches the page and leaves the database usable.
 * - Opening retries `STORAGE_LOCKED` for a few seconds: the previous leader's files can still be
 *   closing in the browser just after its Web Lock was released (a tab that closed without
 *   `pagehide`); the lock, not the files, says whose turn it is.
 */
import { tierRank } from '../src/engine/tiers.ts';
import { createDb, type BatchHandle, type Db, type Transaction } from '../src/db.ts';
import { QueryBuilder } from '../src/query/builder.ts';
import { rowById } from '../src/query/ast.ts';
import { checkQuery } from '../src/query/validate.ts';
import { schemaHash, type AppSchema } from '../src/schema/schema.ts';
import type { Migration } from '../src/lens/migration.ts';
import type { KvStore } from '../src/store/types.ts';
import { JazzError } from '../src/util/errors.ts';
import { openStore } from './open-store.ts';
import type { OpfsFiles } from './opfs-blockfile.ts';
import { wsConnector } from './ws-connector.ts';
import { FileCalls } from './file-calls.ts';
import { toWireError } from './wire-errors.ts';
import {
  pageCanOrder,
  type AsOf,
  type Credentials,
  type DriverStatus,
  type OpenConfig,
  type PeerCall,
  type QueryAst,
  type RejectionSink,
  type Revert,
  type StatusSink,
  type SubSpec,
  type SubscriptionSink,
  type Tier,
  type WireError,
  type WireRow,
  type WorkerStatus,
  type WriteOp,
} from './protocol.ts';

type AnyDb = Db<{ readonly $schema: AppSchema }>;

interface Sub {
  readonly spec: SubSpec;
  readonly sink: SubscriptionSink;
  /** The schema version of the tab that subscribed (undefined: this database's own). */
  readonly version: string | undefined;
  stop: (() => void) | undefined;
}

interface Tx {
  readonly tx: Transaction;
  /** The view the transaction began in (its tab's schema version). */
  readonly db: AnyDb;
  commit(ops: readonly WriteOp[]): void;
  abort(): void;
  readonly done: Promise<void>;
}

/** How many batch handles are remembered for `wait` (older batches are waited for through their record). */
const MAX_BATCH_KEYS = 50_000;
/** How long opening retries while the files are still held by the tab that led before. */
const LOCKED_RETRY_MS = 5_000;

/** The database of the leader's worker. */
export class LocalDb {
  #config: OpenConfig | undefined;
  #current: Promise<AnyDb> | undefined;
  #db: AnyDb | undefined;
  #driver: DriverStatus | undefined;
  #lastStorageError: WireError | undefined;
  #recovering = false;
  #closed = false;
  readonly #subs = new Map<number, Sub>();
  #nextSub = 1;
  readonly #txs = new Map<number, Tx>();
  /** Uploads and reads of files in progress, for this tab and the followers (file-calls.ts). */
  readonly #files = new FileCalls();
  #nextTx = 1;
  /** batch key (= the engine's batch id) → its handle, for waits at `edge`/`global`. */
  readonly #keys = new Map<string, BatchHandle>();
  readonly #statusSinks = new Set<StatusSink>();
  readonly #rejectionSinks = new Set<RejectionSink>();
  #stopSyncStatus: (() => void) | undefined;
  /** Whether `open` has resolved (see `subscribe`). */
  #opened = false;

  /**
   * Opens the database (once); resolves with its status. `found`: the store's files, looked up
   * while this worker waited for the lock (`prefetchStore`).
   */
  async open(config: OpenConfig, found?: Promise<OpfsFiles | undefined>): Promise<WorkerStatus> {
    if (this.#current) throw new JazzError('UNSUPPORTED', 'this database is already open');
    this.#config = config;
    this.#current = this.#openDb(config, config.driver.type, found);
    await this.#current;
    this.#opened = true;
    return this.status();
  }

  async #openStore(driver: DriverStatus['requested'], dbName: string, found: OpfsFiles | undefined): ReturnType<typeof openStore> {
    const deadline = Date.now() + LOCKED_RETRY_MS;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      try {
        return await openStore(driver, dbName, found, this.#config?.driver.cacheBytes);
      } catch (e) {
        if (!(e instanceof JazzError) || e.code !== 'STORAGE_LOCKED' || Date.now() > deadline || this.#closed) throw e;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #openDb(config: OpenConfig, driver: DriverStatus['requested'], found?: Promise<OpfsFiles | undefined>): Promise<AnyDb> {
    const opened = await this.#openStore(driver, config.dbName, await found);
    if (this.#closed) {
      await opened.store.close();
      throw new JazzError('CLOSED', 'the database was closed while it opened');
    }
    // A reopen after a failure keeps the original request (and reason) in the status.
    this.#driver = this.#driver ? { ...this.#driver, used: opened.driver.used, persistent: opened.driver.persistent } : opened.driver;
    const db = this.#createDb(config, opened.store);
    await db.engine.ready;
    this.#db = db;
    this.#stopSyncStatus = db.onSyncStatus(() => this.#emitStatus());
    db.onRejected((r) => {
      // The page named the batch (its key is the engine's batch id); the error carries the reason.
      const wire = toWireError(r.error);
      for (const s of this.#rejectionSinks) void s(r.batchId, wire);
    });
    return db;
  }

  #createDb(config: OpenConfig, store: KvStore): AnyDb {
    return createDb({
      app: { $schema: config.schema },
      ...(config.migrations?.length ? { migrations: config.migrations as Migration[] } : {}),
      ...(config.indexes !== undefined ? { indexes: config.indexes } : {}),
      store,
      ...(config.server !== undefined ? { server: config.server, connect: wsConnector } : {}),
      ...(config.appId !== undefined ? { appId: config.appId } : {}),
      ...(config.auth ? { auth: config.auth } : {}),
      ...(config.backoff ? { backoff: config.backoff } : {}),
      ...(config.branch !== undefined ? { branch: config.branch } : {}),
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
    this.#lastStorageError = toWireError(e);
    this.#reopen();
  }

  /**
   * Another tab runs a schema version this database does not know: learn it (its migrations join
   * this tab's, the database reopens with them, every live query starts again) and return its hash.
   * `MIGRATION_INVALID` when nothing connects it.
   */
  async learn(schema: AppSchema, migrations: readonly unknown[]): Promise<string> {
    const db = await this.#ready();
    const hash = schemaHash(schema);
    if (db.engine.catalogue.knows(hash)) return hash;
    const config = this.#config!;
    const known = new Set((config.migrations ?? []).map((m) => JSON.stringify(m)));
    this.#config = { ...config, migrations: [...(config.migrations ?? []), ...migrations.filter((m) => !known.has(JSON.stringify(m)))] };
    const next = await this.#reopen();
    if (!next.engine.catalogue.knows(hash)) {
      throw new JazzError('MIGRATION_INVALID', `another tab runs schema version ${hash}, which no migration connects to this database's; reload it`, { version: hash });
    }
    return hash;
  }

  /** Closes the database and opens it again (with the current config), resubscribing every live query. */
  #reopen(): Promise<AnyDb> {
    this.#recovering = true;
    const config = this.#config!;
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
      const db = await this.#openDb(config, this.#driver?.used ?? config.driver.type);
      for (const s of this.#subs.values()) this.#start(db, s);
      this.#recovering = false;
      this.#emitStatus();
      return db;
    })();
    this.#current.catch(() => {
      this.#recovering = false;
    });
    return this.#current;
  }

  /** Makes the view a tab will use (its branch, made now if it is new). */
  async prepare(version: string | undefined): Promise<void> {
    this.#as(await this.#ready(), version);
  }

  /**
   * The database as a tab reads and writes it: `version` is its schema version's hash, then `@` and
   * its branch when it said one (leader-server.ts); undefined: this database's own view.
   */
  #as(db: AnyDb, version: string | undefined): AnyDb {
    if (version === undefined) return db;
    const at = version.indexOf('@');
    const hash = at < 0 ? version : version.slice(0, at);
    let d = hash === '' || hash === db.view.hash ? db : db.as({ $schema: db.engine.catalogue.graph.schemas.get(hash)! });
    if (at >= 0 && version.slice(at + 1) !== d.currentBranch) d = d.branch('main').branch(version.slice(at + 1));
    return d;
  }

  /**
   * Runs a call that needs no bookkeeping of its caller's (this tab's, or a follower's through
   * the leader server): subscriptions are the callers' own business.
   */
  call(call: PeerCall, version?: string): Promise<unknown> {
    switch (call.op) {
      case 'write':
        // The page knows its ids; a single write's row goes back for its handle's `wait`.
        return this.write(call.key, call.ops, version).then((ids) => (call.ops.length === 1 && ids.length === 1 ? this.#rowNow(call.ops[0]!.table, ids[0]!, version) : undefined));
      case 'wait':
        return this.wait(call.key, call.tier);
      case 'all':
        return this.all(call.ast, call.tier, version, call.asOf, call.conflicts);
      case 'history':
      case 'conflicts':
        return this.#ready().then((db): Promise<unknown> => this.#as(db, version)[call.op](call.table, call.id));
      case 'revert':
        return this.revert(call.key, call.what, version);
      case 'branches':
        return this.#ready().then((db) => this.#as(db, version).branches());
      case 'mergePreview':
        return this.#ready().then((db) => {
          const d = this.#as(db, version);
          return d.mergePreview(call.from, call.into ?? d.currentBranch);
        });
      case 'deleteBranch':
        return this.#ready().then((db) => this.#as(db, version).deleteBranch(call.name));
      case 'txBegin':
        return this.txBegin(version);
      case 'txRead':
        return this.txRead(call.tx, call.ast);
      case 'txCommit':
        return this.txCommit(call.tx, call.key, call.ops);
      case 'txAbort':
        return this.txAbort(call.tx);
      case 'status':
        return this.status();
      case 'file':
        return this.#files.run(call.call, () => this.#ready().then((db) => this.#as(db, version)));
      case 'setAuth':
        return this.setAuth(call.auth);
      case 'subscribe':
      case 'unsubscribe':
        return Promise.reject(new Error('subscriptions go through LocalDb.subscribe'));
    }
  }

  /**
   * Applies `ops` as the batch `key`; resolves with the row ids written once durable. `ops` may be
   * worked out from the database at the moment it is applied (a revert's).
   */
  async write(key: string, ops: readonly WriteOp[] | ((db: AnyDb) => readonly WriteOp[]), version?: string): Promise<readonly string[]> {
    const db = this.#as(await this.#ready(), version);
    if (db.engine.batchRecord(key)) {
      // Applied already (a resend after a leader change): answer once it is durable.
      await db.engine.store.flush();
      return db.engine.batchVersions(key).map((v) => v.version.rowId);
    }
    let handle: BatchHandle;
    try {
      const planned = typeof ops === 'function' ? ops(db) : ops;
      handle = db.batch((b) => void b.ops.push(...planned), { batchId: key });
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
    return handle.ids;
  }

  /** The row as it reads now in the caller's version, null when deleted; undefined if it cannot be read here (the page reads it itself). */
  #rowNow(table: string, id: string, version?: string): WireRow | null | undefined {
    try {
      if (!this.#db) return undefined;
      return (this.#as(this.#db, version).allSync(rowById(table, id))[0] as WireRow | undefined) ?? null;
    } catch {
      return undefined;
    }
  }

  /** A revert (`Db.revertOps`) or the undoing of a batch (`Db.revertBatchOps`), written as the batch `key`. */
  revert(key: string, what: Revert, version?: string): Promise<readonly string[]> {
    return this.write(
      key,
      (db) => ('merge' in what ? db.mergeWrites(what.merge, what.resolve) : 'batchId' in what ? db.revertBatchOps(what.batchId) : db.revertOps(what.table, what.id, what)),
      version,
    );
  }

  #remember(key: string, handle: BatchHandle): void {
    this.#keys.set(key, handle);
    if (this.#keys.size > MAX_BATCH_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
  }

  async wait(key: string, tier: Tier): Promise<void> {
    const db = await this.#ready();
    if (tier === 'local') {
      // Commits are durable in order: once the store has flushed, every earlier batch is.
      await db.engine.store.flush();
      return;
    }
    const handle = this.#keys.get(key);
    if (handle) return handle.wait({ tier });
    // Written before this leader (or long ago): follow the batch's record, which acknowledgements
    // and rejections update, at each sync status change.
    if (this.#config?.server === undefined) {
      throw new JazzError('NO_SERVER', `this database has no server, so no write reaches tier "${tier}"; pass server to createDb or wait for tier "local"`);
    }
    if (!db.engine.batchRecord(key)) throw new JazzError('BATCH_NOT_FOUND', `no batch ${key} was written to this database`);
    await new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        const rec = db.engine.batchRecord(key);
        if (rec?.s === 'rejected') reject(new JazzError('BATCH_REJECTED', `the server rejected a batch: ${rec.reason ?? ''}`, { batchId: key }));
        else if (rec?.s === 'accepted' && tierRank(rec.tier) >= tierRank(tier)) resolve();
        else return false;
        return true;
      };
      if (check()) return;
      const stop = db.onSyncStatus(() => {
        if (check()) stop();
      });
    });
  }

  async all(ast: QueryAst, tier?: Tier, version?: string, asOf?: AsOf, conflicts?: boolean): Promise<WireRow[]> {
    const db = this.#as(await this.#ready(), version);
    return (await db.all(ast, { ...(tier ? { tier } : {}), ...(asOf !== undefined ? { asOf } : {}), ...(conflicts ? { conflicts } : {}) })) as WireRow[];
  }

  /** Subscribes to a query or a row's history (`spec`); throws at once for a bad one. */
  async subscribe(spec: SubSpec, sink: SubscriptionSink, version?: string): Promise<number> {
    const opening = !this.#opened;
    const db = this.#as(await this.#ready(), version);
    // Asked before the database was open: the answer to `open` goes out first (the page's `ready`
    // must not wait for the first results of every query the page started meanwhile).
    if (opening) await new Promise((r) => setTimeout(r));
    if ('ast' in spec) checkQuery(db.view.schema, spec.ast);
    const id = this.#nextSub++;
    const sub: Sub = { spec, sink, version, stop: undefined };
    this.#start(db, sub);
    this.#subs.set(id, sub);
    return id;
  }

  #start(base: AnyDb, sub: Sub): void {
    const db = this.#as(base, sub.version);
    const spec = sub.spec;
    if (!('ast' in spec)) {
      sub.stop = db.subscribeHistory(spec.table, spec.id, (entries) => void sub.sink({ kind: 'history', entries }));
      return;
    }
    let first = true;
    const sendOrder = !pageCanOrder(spec.ast);
    sub.stop = db.subscribeAll(
      spec.ast,
      ({ all, delta, partial, total }) => {
        if (partial) return void sub.sink({ kind: 'reset', rows: all as WireRow[], partial, ...(total !== undefined ? { total } : {}) });
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
        ...(spec.tier ? { tier: spec.tier } : {}),
        ...(spec.asOf !== undefined ? { asOf: spec.asOf } : {}),
        ...(spec.conflicts ? { conflicts: true } : {}),
        ...(spec.firstRows !== undefined ? { firstRows: spec.firstRows } : {}),
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

  async txBegin(version?: string): Promise<number> {
    const db = this.#as(await this.#ready(), version);
    const id = this.#nextTx++;
    return new Promise<number>((resolveBegin, rejectBegin) => {
      let commit!: (ops: readonly WriteOp[]) => void;
      let abort!: () => void;
      const decided = new Promise<readonly WriteOp[]>((resolve, reject) => {
        commit = resolve;
        abort = () => reject(new JazzError('TRANSACTION_ABORTED', 'the transaction was abandoned (its function threw)'));
      });
      decided.catch(() => {});
      // `db.transaction` calls its function before it returns (synchronously), so the function
      // must not touch `done` (it would throw "Cannot access 'done' before initialization" and
      // every page transaction would fail): it hands over its `tx`, registered once `done` exists.
      let begun!: (tx: Transaction) => void;
      const started = new Promise<Transaction>((r) => (begun = r));
      const done = db.transaction(async (tx) => {
        begun(tx);
        const ops = await decided;
        tx.ops.push(...ops);
      });
      void started.then((tx) => {
        this.#txs.set(id, { tx, db, commit, abort, done });
        resolveBegin(id);
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
    const tx = this.#tx(id);
    return (await tx.tx.all(builder(tx.db, ast))) as WireRow[];
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
      driver: this.#driver ?? { requested: this.#config?.driver.type ?? 'memory', used: 'memory', persistent: false },
      sync: db && this.#config?.server !== undefined ? db.syncStatus : null,
      role: 'leader',
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
    this.#files.stop();
    this.#statusSinks.clear();
    this.#rejectionSinks.clear();
    if (!current) return;
    const db = await current.catch(() => undefined);
    this.#stopSyncStatus?.();
    await db?.close();
  }
}

/** A query builder around an AST from the page, checked against the schema first: `Db.all` and `Transaction.all` take builders. */
function builder(db: AnyDb, ast: QueryAst): QueryBuilder<any, any> {
  checkQuery(db.view.schema, ast);
  return new QueryBuilder(db.view.schema, ast);
}
