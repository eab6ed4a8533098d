/**
 * What a page's database worker exposes through Comlink (`WorkerApi`, protocol.ts): the page's
 * calls, routed to where the database is. On a leader that is this worker's own `LocalDb`; on a
 * follower it is the leader's, reached through a `RemoteLeader`. The election (election.ts) says
 * which, and can change it at any time: the leader's tab closes and this worker takes over, or
 * another tab does.
 *
 * - **Nothing is lost in a change.** Every call the page made that has no answer yet stays in
 *   `#inflight`, in the page's order. When a new backend is attached, all of them are sent to it
 *   again, in that order, before anything newer. Writes are idempotent (`LocalDb.write`: the batch
 *   key is the engine's batch id), reads simply run again; the first answer wins.
 * - **Live queries carry on.** Each of the page's subscriptions is subscribed again on the new
 *   backend; its first message is a `reset`, which the page's cache diffs against what it shows,
 *   so a callback sees only what really changed. Messages from the old backend are ignored.
 * - **Transactions do not move.** A transaction lives in one leader's engine; one that is open when
 *   the leader changes fails with `TRANSACTION_CONFLICT` (run it again).
 * - `memory` databases have no leader: each tab has its own, and nothing is shared.
 */
import { JazzError } from '../src/util/errors.ts';
import { Election } from './election.ts';
import { LeaderServer } from './leader-server.ts';
import type { Link } from './link.ts';
import { LocalDb } from './local-db.ts';
import { checkDriver, prefetchStore } from './open-store.ts';
import type { OpfsFiles } from './opfs-blockfile.ts';
import { RemoteLeader } from './remote-leader.ts';
import {
  PROTOCOL_VERSION,
  type AsOf,
  type Credentials,
  type BranchInfo,
  type FieldConflict,
  type FileCall,
  type MergeChange,
  type HistoryEntry,
  type OpenConfig,
  type PeerCall,
  type QueryAst,
  type RejectionSink,
  type Revert,
  type StatusSink,
  type SubSpec,
  type SubscriptionMessage,
  type SubscriptionSink,
  type Tier,
  type WireError,
  type WireRow,
  type WorkerApi,
  type WorkerStatus,
  type WriteOp,
} from './protocol.ts';
import { toWireError } from './wire-errors.ts';

/** Where calls go: this worker's engine (leader) or the leader's (follower). */
interface Backend {
  readonly role: 'leader' | 'follower';
  call(call: PeerCall): Promise<unknown>;
  subscribe(sub: number, spec: SubSpec, sink: SubscriptionSink): Promise<unknown>;
  unsubscribe(sub: number): void;
  /** Leader: stops serving and closes the storage (files closed when it resolves). */
  close(): Promise<void>;
}

interface Inflight {
  readonly call: PeerCall;
  /** False for transaction calls: they fail when the backend changes under them. */
  readonly movable: boolean;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** The backend generation it was last sent to (0: not sent). */
  sentTo: number;
}

interface HostSub {
  readonly spec: SubSpec;
  readonly sink: SubscriptionSink;
  /** Only messages from this backend generation reach the page. */
  generation: number;
  /** Settles with the first backend's answer (an invalid query rejects the page's `subscribe`). */
  readonly first: { resolve: () => void; reject: (e: unknown) => void; settled: boolean };
}

/** How many of this page's batch keys are remembered to route the server's rejections to it. */
const MAX_WRITTEN = 50_000;

export class DbHost implements WorkerApi {
  #config: OpenConfig | undefined;
  #election: Election | undefined;
  #backend: Backend | undefined;
  #generation = 0;
  readonly #inflight: Inflight[] = [];
  readonly #subs = new Map<number, HostSub>();
  #nextSub = 1;
  /** The transactions' backend generation (a transaction dies with its backend). */
  readonly #txs = new Map<number, number>();
  readonly #statusSinks = new Set<StatusSink>();
  readonly #rejectionSinks = new Set<RejectionSink>();
  readonly #written = new Set<string>();
  #status: WorkerStatus | undefined;
  #auth: Credentials | undefined;
  #opened: { resolve: (s: WorkerStatus) => void; reject: (e: unknown) => void; settled: boolean } | undefined;
  /** The store's files, looked up during the first election; used if this worker leads at once. */
  #found: Promise<OpfsFiles | undefined> | undefined;
  #closed = false;

  async open(config: OpenConfig): Promise<WorkerStatus> {
    if (config.protocol !== PROTOCOL_VERSION) {
      throw new JazzError('PROTOCOL_MISMATCH', `the page script speaks protocol ${config.protocol} and the worker file ${PROTOCOL_VERSION}: serve jazz.js and jazz-worker.js from the same build`);
    }
    if (this.#config) throw new JazzError('UNSUPPORTED', 'this worker has already opened a database; start one worker per database');
    checkDriver(config);
    this.#config = config;
    this.#auth = config.auth;
    const opened = new Promise<WorkerStatus>((resolve, reject) => (this.#opened = { resolve, reject, settled: false }));
    if (config.driver.type === 'memory' || typeof navigator === 'undefined' || !navigator.locks) {
      // Nothing to share (memory), or no Web Locks to elect with: this tab's own database.
      this.#attach(this.#lead().backend);
    } else {
      this.#elect();
      // Looking the files up (no file is opened) overlaps the election; the leader opens them.
      this.#found = prefetchStore(config.driver.type, config.dbName);
    }
    return opened;
  }

  // ─── the election's side ──────────────────────────────────────────────────

  #elect(): void {
    const config = this.#config!;
    const election = new Election(config.dbName, config.broker, {
      lead: () => {
        const { backend, server } = this.#lead();
        this.#attach(backend);
        return server;
      },
      follow: (leader, link) => this.#follow(leader, link),
      leaderGone: () => this.#detach(),
    });
    this.#election = election;
    election.start().catch((e: unknown) => this.#openFailed(e));
  }

  /** Opens this worker's own database (it is the leader now) and serves followers from it. */
  #lead(): { backend: Backend; server: LeaderServer } {
    const config = this.#config!;
    const db = new LocalDb();
    const server = new LeaderServer(db);
    const subs = new Map<number, Promise<number>>();
    let stopped = false;
    const backend: Backend = {
      role: 'leader',
      call: (call) => db.call(call),
      subscribe: (sub, spec, sink) => {
        const id = db.subscribe(spec, sink);
        subs.set(sub, id);
        return id;
      },
      unsubscribe: (sub) => {
        void subs
          .get(sub)
          ?.then((n) => db.unsubscribe(n))
          .catch(() => {});
        subs.delete(sub);
      },
      close: async () => {
        if (stopped) return;
        stopped = true;
        server.stop();
        await db.close();
      },
    };
    void db.onStatus((s) => this.#setStatus(backend, s));
    void db.onRejected((key, e) => this.#rejected(key, e));
    const { broker: _broker, ...rest } = config;
    const found = this.#found;
    this.#found = undefined;
    db.open({ ...rest, ...(this.#auth ? { auth: this.#auth } : {}) }, found).then(
      (s) => this.#setStatus(backend, s),
      (e: unknown) => this.#openFailed(e),
    );
    return { backend, server };
  }

  #follow(leader: string, link: Link): void {
    this.#found = undefined; // a takeover later looks the files up again
    const config = this.#config!;
    const remote = new RemoteLeader(leader, link, {
      schema: config.schema,
      ...(config.migrations ? { migrations: config.migrations } : {}),
      ...(config.branch !== undefined ? { branch: config.branch } : {}),
    });
    const backend: Backend = {
      role: 'follower',
      call: (call) => remote.call(call),
      subscribe: (sub, spec, sink) => remote.subscribe(sub, spec, sink),
      unsubscribe: (sub) => remote.unsubscribe(sub),
      close: async () => remote.close(),
    };
    remote.onStatus = (s) => this.#setStatus(backend, s);
    remote.onRejected = (key, e) => this.#rejected(key, e);
    this.#attach(backend);
    remote.call({ op: 'status' }).then(
      (s) => this.#setStatus(backend, s as WorkerStatus),
      () => {},
    );
  }

  /** Makes `backend` the one calls go to, and sends it everything still unanswered. */
  #attach(backend: Backend): void {
    const old = this.#backend;
    this.#backend = backend;
    const generation = ++this.#generation;
    if (old) void old.close().catch(() => {});
    for (const f of [...this.#inflight]) this.#dispatch(f, backend, generation);
    for (const [id, sub] of this.#subs) this.#subscribeOn(backend, generation, id, sub);
  }

  /** No leader for now (it retired); calls wait for the next one. */
  #detach(): void {
    const old = this.#backend;
    this.#backend = undefined;
    this.#generation++;
    if (old) void old.close().catch(() => {});
  }

  #setStatus(backend: Backend, s: WorkerStatus): void {
    if (backend !== this.#backend) return;
    this.#status = { ...s, role: backend.role };
    if (this.#opened && !this.#opened.settled) {
      this.#opened.settled = true;
      this.#opened.resolve(this.#status);
    }
    for (const sink of this.#statusSinks) void sink(this.#status);
  }

  #openFailed(e: unknown): void {
    if (this.#opened && !this.#opened.settled) {
      this.#opened.settled = true;
      this.#opened.reject(e);
    }
  }

  #rejected(key: string | undefined, e: WireError): void {
    if (key !== undefined && !this.#written.has(key)) return; // another tab's batch
    for (const s of this.#rejectionSinks) void s(key, e);
  }

  // ─── calls ────────────────────────────────────────────────────────────────

  #call(call: PeerCall, movable = true): Promise<unknown> {
    if (this.#closed) return Promise.reject(new JazzError('CLOSED', 'the database is closed; open it again with createDb'));
    if (!this.#config) return Promise.reject(new JazzError('CLOSED', 'the database is not open yet; call open first'));
    return new Promise((resolve, reject) => {
      const f: Inflight = { call, movable, resolve, reject, sentTo: 0 };
      this.#inflight.push(f);
      if (this.#backend) this.#dispatch(f, this.#backend, this.#generation);
    });
  }

  #dispatch(f: Inflight, backend: Backend, generation: number): void {
    if (f.sentTo !== 0 && !f.movable) {
      this.#settle(f);
      f.reject(
        f.call.op === 'file'
          ? new JazzError('CLOSED', 'the leader tab changed during this file upload or read; do it again')
          : new JazzError('TRANSACTION_CONFLICT', 'the tab that ran this transaction closed before it ended; run the transaction again'),
      );
      return;
    }
    f.sentTo = generation;
    backend.call(f.call).then(
      (v) => {
        if (this.#settle(f)) f.resolve(v);
      },
      (e: unknown) => {
        if (this.#settle(f)) f.reject(e);
      },
    );
  }

  /** Removes `f` from the unanswered calls; false if it was answered already. */
  #settle(f: Inflight): boolean {
    const i = this.#inflight.indexOf(f);
    if (i < 0) return false;
    this.#inflight.splice(i, 1);
    return true;
  }

  /** Remembers that this page wrote the batch `key` (its rejections are routed to it). */
  #wrote(key: string): void {
    this.#written.add(key);
    if (this.#written.size > MAX_WRITTEN) this.#written.delete(this.#written.values().next().value!);
  }

  async write(key: string, ops: readonly WriteOp[]): Promise<WireRow | null | undefined> {
    this.#wrote(key);
    return (await this.#call({ op: 'write', key, ops })) as WireRow | null | undefined;
  }

  async revert(key: string, what: Revert): Promise<string[]> {
    this.#wrote(key);
    return (await this.#call({ op: 'revert', key, what })) as string[];
  }

  async branches(): Promise<BranchInfo[]> {
    return (await this.#call({ op: 'branches' })) as BranchInfo[];
  }

  async mergePreview(from: string, into?: string): Promise<MergeChange[]> {
    return (await this.#call({ op: 'mergePreview', from, into })) as MergeChange[];
  }

  async deleteBranch(name: string): Promise<void> {
    await this.#call({ op: 'deleteBranch', name });
  }

  async history(table: string, id: string): Promise<HistoryEntry[]> {
    return (await this.#call({ op: 'history', table, id })) as HistoryEntry[];
  }

  async conflicts(table: string, id: string): Promise<FieldConflict[]> {
    return (await this.#call({ op: 'conflicts', table, id })) as FieldConflict[];
  }

  async wait(key: string, tier: Tier): Promise<void> {
    await this.#call({ op: 'wait', key, tier });
  }

  async all(ast: QueryAst, tier?: Tier, asOf?: AsOf, conflicts?: boolean): Promise<WireRow[]> {
    return (await this.#call({ op: 'all', ast, tier, asOf, conflicts })) as WireRow[];
  }

  /** A live query or a row's history; it carries on across leader changes (its first message there is a `reset` or the whole history). */
  async subscribe(spec: SubSpec, sink: SubscriptionSink): Promise<number> {
    if (this.#closed) throw new JazzError('CLOSED', 'the database is closed; open it again with createDb');
    const id = this.#nextSub++;
    let first!: HostSub['first'];
    const answered = new Promise<void>((resolve, reject) => (first = { resolve, reject, settled: false }));
    const sub: HostSub = { spec, sink, generation: 0, first };
    this.#subs.set(id, sub);
    if (this.#backend) this.#subscribeOn(this.#backend, this.#generation, id, sub);
    await answered;
    return id;
  }

  #subscribeOn(backend: Backend, generation: number, id: number, sub: HostSub): void {
    sub.generation = generation;
    const sink = (m: SubscriptionMessage): void => {
      if (sub.generation === generation && this.#subs.get(id) === sub) void sub.sink(m);
    };
    backend.subscribe(id, sub.spec, sink).then(
      () => {
        if (sub.first.settled) return;
        sub.first.settled = true;
        sub.first.resolve();
      },
      (e: unknown) => {
        if (sub.generation !== generation) return; // a lost backend's answer
        this.#subs.delete(id);
        if (!sub.first.settled) {
          sub.first.settled = true;
          sub.first.reject(e);
        } else void sub.sink({ kind: 'error', error: toWireError(e) });
      },
    );
  }

  async unsubscribe(id: number): Promise<void> {
    const sub = this.#subs.get(id);
    this.#subs.delete(id);
    if (sub && this.#backend) this.#backend.unsubscribe(id);
  }

  /** Files (file-calls.ts): not moved to a new leader, whose worker has none of the handles. */
  file(call: FileCall): Promise<unknown> {
    return this.#call({ op: 'file', call }, false);
  }

  async txBegin(): Promise<number> {
    const generation = this.#generation;
    const tx = (await this.#call({ op: 'txBegin' }, false)) as number;
    this.#txs.set(tx, generation);
    return tx;
  }

  #txAlive(tx: number): void {
    if (this.#txs.get(tx) !== this.#generation) {
      this.#txs.delete(tx);
      throw new JazzError('TRANSACTION_CONFLICT', 'the tab that ran this transaction closed before it ended; run the transaction again');
    }
  }

  async txRead(tx: number, ast: QueryAst): Promise<WireRow[]> {
    this.#txAlive(tx);
    return (await this.#call({ op: 'txRead', tx, ast }, false)) as WireRow[];
  }

  async txCommit(tx: number, key: string, ops: readonly WriteOp[]): Promise<void> {
    this.#txAlive(tx);
    this.#txs.delete(tx);
    await this.#call({ op: 'txCommit', tx, key, ops }, false);
  }

  async txAbort(tx: number): Promise<void> {
    if (this.#txs.get(tx) !== this.#generation) return void this.#txs.delete(tx);
    this.#txs.delete(tx);
    await this.#call({ op: 'txAbort', tx }, false);
  }

  async status(): Promise<WorkerStatus> {
    if (this.#status) return this.#status;
    return (await this.#call({ op: 'status' })) as WorkerStatus;
  }

  async onStatus(sink: StatusSink): Promise<void> {
    this.#statusSinks.add(sink);
  }

  async onRejected(sink: RejectionSink): Promise<void> {
    this.#rejectionSinks.add(sink);
  }

  async setAuth(auth: Credentials): Promise<void> {
    this.#auth = auth; // used if this worker takes over
    await this.#call({ op: 'setAuth', auth });
  }

  async retire(): Promise<void> {
    const election = this.#election;
    if (!election) return;
    this.#election = undefined;
    const backend = this.#backend;
    this.#backend = undefined;
    this.#generation++;
    await election.retire(async () => {
      await backend?.close();
    });
  }

  async resume(): Promise<void> {
    if (this.#closed || this.#election || !this.#config || this.#config.driver.type === 'memory') return;
    this.#elect();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    this.#statusSinks.clear();
    this.#rejectionSinks.clear();
    if (this.#election) await this.retire();
    else {
      const backend = this.#backend;
      this.#backend = undefined;
      await backend?.close();
    }
  }
}
