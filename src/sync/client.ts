/**
 * The sync client: one connection to one server, kept up in the background.
 *
 * - On connect it says hello (protocol, client id, credentials, schema), then replays every active
 *   subscription (anti-entropy: the server resends what we lack) and re-pushes every batch in the
 *   durable outbox that the server has not acknowledged. Pushing twice is harmless.
 * - Local writes are pushed as they happen; acknowledgements move their batches to `edge`/`global`,
 *   rejections undo them (engine.rejectBatch), fail their waiters with `BATCH_REJECTED` and are
 *   reported (`onRejected`). A rejected batch is settled for good: it leaves the outbox, so the
 *   batches after it go through.
 * - A frame has a size limit (the server says its own in `welcome`). A write whose push frame would
 *   pass the limit fails when it is written (`checkWrite`, `TOO_LARGE`), so it never reaches the
 *   outbox; a batch already in the outbox that a server with a smaller limit cannot take is
 *   rejected here with `TOO_LARGE` instead of being sent (it would close the connection and come
 *   back with every reconnect).
 * - Versions from the server are applied to the engine like any other (idempotent).
 * - Branches: a batch written on a branch is pushed with the records of its branch's line, and a
 *   subscription on a branch names it, only to a server whose `welcome` says it keeps branches.
 *   An older server would take a branch's versions for main's, so there such batches stay in the
 *   outbox (their waiters at `edge`/`global` fail with `NO_SERVER`) and such subscriptions ask for
 *   main's rows only. Branch records that come with versions are adopted when this replica lacks
 *   them; a branch of the same name that started elsewhere is kept as it is here (and said once).
 * - When the connection drops it retries with exponential backoff and jitter. A server that says
 *   our protocol or schema is wrong is retried slowly; bad credentials wait for `setAuth`.
 */
import { tierRank } from '../engine/tiers.ts';
import { MAIN, type Engine, type Tier } from '../engine/engine.ts';
import { adoptBranches, branchLine } from '../history/branches.ts';
import type { QueryAst } from '../query/ast.ts';
import { JazzError } from '../util/errors.ts';
import {
  CloseCode,
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeMessage,
  type ClientMessage,
  type Credentials,
  type HaveEntry,
  type ServerMessage,
  type TxnQuery,
  type WireBranch,
  type WireVersion,
  type LiveChunk,
} from './protocol.ts';
import { encodedSize } from './codec.ts';
import type { RowVersion } from '../rows/version.ts';
import { fromWire, toWire } from './versions.ts';
import type { Connector, Transport } from './transport.ts';

export type SyncState = 'offline' | 'connecting' | 'online';

export interface SyncStatus {
  readonly state: SyncState;
  /** Local batches the server has not acknowledged yet. */
  readonly pendingBatches: number;
  /** Online with work in flight: batches not yet acknowledged or subscriptions not yet settled. */
  readonly syncing: boolean;
  /** The last error the server reported, if any. */
  readonly lastError?: { readonly code: string; readonly message: string };
}

export interface SyncClientOptions {
  /** The server's base address, e.g. `ws://localhost:4000`. */
  readonly server: string;
  readonly appId: string;
  readonly connect: Connector;
  readonly schemaJSON: string;
  readonly schemaHash: string;
  /** The migrations the client knows, as JSON (an array), for a server in development mode to adopt. */
  readonly migrationsJSON?: string;
  readonly auth?: Credentials;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly random?: () => number;
  /** Told when a batch the server rejected (or that could never be sent) was undone. */
  readonly onRejected?: (rejection: BatchRejection) => void;
  /** The frame limit to assume until a server says its own (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** Receives the chunks of the live streams this client watches (src/files/live.ts). */
  readonly onChunk?: (chunk: LiveChunk) => void;
  /**
   * Applies versions the server sent (and an accepted transaction's), in place of the engine's
   * `applyVersions`: an edge server applies them and passes them on to its own clients.
   */
  readonly applyVersions?: (items: { table: string; version: RowVersion }[]) => void;
}

/**
 * A batch that will never be applied, undone here by the time this is reported: the server refused
 * it (`code` says why: `PERMISSION_DENIED`, `TOO_LARGE`, `INTERNAL`, `TYPE_MISMATCH`, ...), or it is
 * too large for the server's frames. Its waiters got `error` (code `BATCH_REJECTED`).
 */
export interface BatchRejection {
  readonly code: string;
  readonly message: string;
  readonly batchId: string;
  readonly error: JazzError;
}

interface RemoteSub {
  readonly id: number;
  readonly query: QueryAst;
  readonly tier: Tier;
  /** Read on this branch (main when absent). */
  readonly branch: string;
  /** The rows held locally for this query, computed each time the subscription is (re)sent. */
  readonly have: () => HaveEntry[];
  settled: boolean;
  readonly waiters: (() => void)[];
  /** The server refused the query: its `settled` rejects. */
  readonly fail: (e: JazzError) => void;
}

export class SyncClient {
  readonly #engine: Engine;
  readonly #opts: SyncClientOptions;
  #auth: Credentials;
  #transport: Transport | undefined;
  #state: SyncState = 'offline';
  #stopped = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextSubId = 1;
  readonly #subs = new Map<number, RemoteSub>();
  readonly #batchWaiters = new Map<string, { tier: Tier; resolve: () => void; reject: (e: unknown) => void }[]>();
  #lastError: SyncStatus['lastError'];
  /** Transactions sent to the server and not decided yet (resent after a reconnect). */
  readonly #txns = new Map<string, { message: ClientMessage; items: { table: string; version: RowVersion }[]; resolve: () => void; reject: (e: unknown) => void }>();
  readonly #statusListeners = new Set<(s: SyncStatus) => void>();
  #pending: number;
  /** The largest frame the server takes, as far as this client knows. */
  #maxFrame: number;
  /** The server said it keeps branches (welcome). */
  #serverBranches = false;
  /** The server relays live streams (its welcome said so). */
  #serverStreams = false;

  constructor(engine: Engine, opts: SyncClientOptions) {
    this.#engine = engine;
    this.#opts = opts;
    this.#auth = opts.auth ?? {};
    this.#pending = engine.outbox().length;
    this.#maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** The frame limit writes are checked against (the server's, once it said). */
  get maxFrameBytes(): number {
    return this.#maxFrame;
  }

  /**
   * Throws `TOO_LARGE` when these versions, pushed as one batch, would not fit in a frame: call
   * before a write is applied, so a write that could never be sent fails at once and leaves nothing.
   */
  checkWrite(batchId: string, items: readonly { table: string; version: RowVersion }[]): void {
    const size = this.#frameSize(this.#pushMessage(batchId, items));
    if (size > this.#maxFrame) throw tooLarge(size, this.#maxFrame, batchId);
  }

  /** The encoded size of a message; a value the codec cannot carry (nested too deep) counts as infinite. */
  #frameSize(m: ClientMessage): number {
    try {
      return encodedSize(m);
    } catch {
      return Infinity;
    }
  }

  get url(): string {
    return `${this.#opts.server.replace(/\/+$/, '')}/apps/${encodeURIComponent(this.#opts.appId)}/ws`;
  }

  get status(): SyncStatus {
    const unsettled = [...this.#subs.values()].some((x) => !x.settled);
    const syncing = this.#state === 'online' && (this.#pending > 0 || unsettled);
    return { state: this.#state, pendingBatches: this.#pending, syncing, ...(this.#lastError ? { lastError: this.#lastError } : {}) };
  }

  onStatus(listener: (s: SyncStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  #emitStatus(): void {
    const s = this.status;
    for (const l of this.#statusListeners) l(s);
  }

  #setState(state: SyncState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emitStatus();
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** Closes the connection; the outbox stays for next time. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const t = this.#transport;
    this.#transport = undefined;
    t?.close(CloseCode.normal, 'client stopped');
    this.#setState('offline');
    for (const [, ws] of this.#batchWaiters) for (const w of ws) w.reject(new JazzError('CLOSED', 'the database was closed before the write reached the server'));
    this.#batchWaiters.clear();
    for (const t of this.#txns.values()) t.reject(new JazzError('CLOSED', 'the database was closed before the transaction was decided; it may or may not have been applied'));
    this.#txns.clear();
  }

  /** New credentials (a refreshed token): reconnects with them; nothing pending is lost. */
  setAuth(auth: Credentials): void {
    this.#auth = auth;
    if (this.#stopped) return;
    this.#transport?.close(CloseCode.normal, 'new credentials');
    if (!this.#transport) this.#connect();
  }

  #connect(): void {
    if (this.#stopped || this.#transport) return;
    this.#setState('connecting');
    let opened = false;
    const transport = this.#opts.connect(this.url, {
      open: () => {
        opened = true;
        this.#send(
          {
            t: 'hello',
            protocol: PROTOCOL_VERSION,
            clientId: this.#engine.clientId,
            schemaHash: this.#opts.schemaHash,
            schema: this.#opts.schemaJSON,
            ...(this.#opts.migrationsJSON ? { migrations: this.#opts.migrationsJSON } : {}),
            auth: this.#auth,
          },
          transport,
        );
      },
      message: (data) => {
        if (this.#transport !== transport) return;
        let m: ServerMessage;
        try {
          m = decodeServerMessage(data);
        } catch (e) {
          this.#lastError = { code: 'PROTOCOL', message: String(e) };
          transport.close(CloseCode.protocolError, 'bad frame from server');
          return;
        }
        this.#receive(m, transport);
      },
      close: (code, reason) => {
        if (this.#transport !== transport) return;
        this.#transport = undefined;
        this.#clearInFlight();
        this.#setState('offline');
        if (this.#stopped) return;
        if (!opened) this.#lastError = { code: 'UNREACHABLE', message: `cannot reach ${this.url}${reason ? `: ${reason}` : ''}` };
        this.#scheduleReconnect(code);
      },
    });
    this.#transport = transport;
  }

  #scheduleReconnect(code: number): void {
    if (code === CloseCode.unauthorized) return; // wait for setAuth
    // A server that says the app, our protocol or our schema is wrong will say so again for a
    // while: retry slowly (someone has to publish the app or deploy an update).
    const slow = code === CloseCode.versionMismatch || code === CloseCode.schemaMismatch || code === CloseCode.unknownApp;
    const initial = this.#opts.backoff?.initialMs ?? 250;
    const max = this.#opts.backoff?.maxMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** this.#attempt) * (slow ? 4 : 1);
    this.#attempt++;
    const rand = this.#opts.random ?? Math.random;
    const delay = base * (0.5 + rand()); // jitter: 50–150 %
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay);
  }

  #send(m: ClientMessage, transport = this.#transport): boolean {
    if (!transport) return false;
    try {
      transport.send(encodeMessage(m));
      return true;
    } catch {
      return false;
    }
  }

  #receive(m: ServerMessage, transport: Transport): void {
    switch (m.t) {
      case 'welcome':
        this.#attempt = 0;
        this.#lastError = undefined;
        if (m.maxFrameBytes !== undefined) this.#maxFrame = m.maxFrameBytes;
        this.#serverBranches = m.branches === true;
        this.#serverStreams = m.streams === true;
        this.#setState('online');
        this.#clearInFlight();
        for (const s of this.#subs.values()) this.#send(this.#subMessage(s), transport);
        if (this.#serverStreams) for (const file of this.#watches.keys()) this.#send({ t: 'watch', file }, transport);
        // Stored by an edge, not known to be global yet: the edge says how far they got.
        for (const b of this.#belowGlobal) this.#pushBatch(b);
        this.#pushOutbox();
        for (const t of this.#txns.values()) this.#send(t.message, transport);
        return;
      case 'versions': {
        if (m.branches) {
          const kept = adoptBranches(this.#engine, m.branches);
          for (const b of kept) console.warn(`jazz-elements: the server has a branch "${b.name}" that started elsewhere than this replica's; this replica keeps its own`);
        }
        const items = [];
        for (const w of m.versions) {
          try {
            items.push(fromWire(this.#engine, w));
          } catch (e) {
            console.warn('jazz-elements: ignored a version from the server that does not fit the schema', e);
          }
        }
        if (items.length) {
          try {
            this.#apply(items);
          } catch (e) {
            console.error('jazz-elements: applying synced rows failed', e);
          }
        }
        return;
      }
      case 'settled': {
        const s = this.#subs.get(m.id);
        if (s && !s.settled && tierRank(m.tier) >= tierRank(s.tier)) {
          s.settled = true;
          for (const w of s.waiters.splice(0)) w();
          this.#emitStatus();
        }
        return;
      }
      case 'ack': {
        const txn = this.#txns.get(m.batchId);
        if (txn) {
          this.#txns.delete(m.batchId);
          try {
            this.#apply(txn.items);
            txn.resolve();
          } catch (e) {
            txn.reject(e);
          }
          return;
        }
        if (m.tier === 'global') this.#belowGlobal.delete(m.batchId);
        else this.#belowGlobal.add(m.batchId);
        void this.#engine.confirmBatch(m.batchId, m.tier).then(
          () => this.#outboxChanged(),
          (e: unknown) => console.error('jazz-elements: recording an acknowledgement failed', e),
        );
        this.#settleBatch(m.batchId, m.tier, undefined);
        this.#landed(m.batchId);
        return;
      }
      case 'reject': {
        const txn = this.#txns.get(m.batchId);
        if (txn) {
          this.#txns.delete(m.batchId);
          const code = m.code === 'PERMISSION_DENIED' ? 'PERMISSION_DENIED' : 'TRANSACTION_CONFLICT';
          txn.reject(
            new JazzError(
              code,
              code === 'TRANSACTION_CONFLICT' ? `the transaction conflicted with another write and was not applied: ${m.reason}; run it again` : `the transaction was refused: ${m.reason}`,
              { batchId: m.batchId },
            ),
          );
          return;
        }
        this.#rejectBatch(m.batchId, m.code, `the server rejected a batch: ${m.reason}`);
        return;
      }
      case 'error': {
        this.#lastError = { code: m.code, message: m.message };
        const sub = m.sub !== undefined ? this.#subs.get(m.sub) : undefined;
        if (sub && !sub.settled) {
          // The server will not run this query (it is invalid there, or too many): it never settles.
          this.#subs.delete(m.sub!);
          sub.fail(new JazzError(m.code, m.message));
        }
        this.#emitStatus();
        return;
      }
      case 'drop':
        void this.#engine.purgeRows(m.rows.map(([table, rowId]) => ({ table, rowId }))).catch((e) => console.error('jazz-elements: forgetting rows failed', e));
        return;
      case 'chunk':
        this.#opts.onChunk?.(m);
        return;
      case 'pong':
        return;
    }
  }

  #apply(items: { table: string; version: RowVersion }[]): void {
    if (this.#opts.applyVersions) return this.#opts.applyVersions(items);
    this.#engine.applyVersions(items).durable.catch((e) => console.error('jazz-elements: storing synced rows failed', e));
  }

  /** Live streams watched, with how many readers watch each. */
  readonly #watches = new Map<string, number>();

  /** Asks the server for the chunks of a live stream as they are written (until `unwatch`). */
  watch(file: string): void {
    const n = this.#watches.get(file) ?? 0;
    this.#watches.set(file, n + 1);
    if (n === 0 && this.#state === 'online' && this.#serverStreams) this.#send({ t: 'watch', file });
  }

  unwatch(file: string): void {
    const n = this.#watches.get(file);
    if (n === undefined) return;
    if (n > 1) return void this.#watches.set(file, n - 1);
    this.#watches.delete(file);
    if (this.#state === 'online' && this.#serverStreams) this.#send({ t: 'unwatch', file });
  }

  /**
   * Sends a chunk of a live stream this client writes, if online: relayed to its watchers, never
   * stored (the stream's parts are, through the outbox). Offline, readers get the parts later.
   */
  sendChunk(chunk: LiveChunk): void {
    if (this.#state === 'online' && this.#serverStreams) this.#send(chunk);
  }

  #settleBatch(batchId: string, tier: Tier, error: JazzError | undefined): void {
    const ws = this.#batchWaiters.get(batchId);
    if (!ws) return;
    const rest = ws.filter((w) => {
      if (error) w.reject(error);
      else if (tierRank(w.tier) <= tierRank(tier)) w.resolve();
      else return true;
      return false;
    });
    if (rest.length) this.#batchWaiters.set(batchId, rest);
    else this.#batchWaiters.delete(batchId);
  }

  /**
   * Undoes a batch that will never be applied, settles its waiters with the error and reports it.
   * It leaves the outbox for good, so nothing queues behind it.
   */
  #rejectBatch(batchId: string, code: string, message: string): void {
    const error = new JazzError('BATCH_REJECTED', message, { batchId, reason: code });
    void this.#engine.rejectBatch(batchId, message).then(
      () => this.#outboxChanged(),
      (e: unknown) => console.error('jazz-elements: undoing a rejected batch failed', e),
    );
    this.#settleBatch(batchId, 'global', error);
    this.#belowGlobal.delete(batchId);
    this.#opts.onRejected?.({ code, message, batchId, error });
    this.#landed(batchId);
  }

  /** The outbox changed (a batch was acknowledged or undone): count it again, unless the database closed meanwhile. */
  #outboxChanged(): void {
    if (this.#engine.closed) return;
    this.#pending = this.#engine.outbox().length;
    this.#emitStatus();
  }

  /**
   * Pushed batches not acknowledged yet, with their frame sizes: at most `MAX_IN_FLIGHT_BYTES`
   * together (one batch always goes), so memory waiting in the socket stays bounded however much
   * the outbox holds (a large file's parts, each its own batch). The rest waits in the outbox, in
   * order, and goes as acknowledgements come back.
   */
  readonly #inFlight = new Map<string, number>();
  #inFlightBytes = 0;
  /** Some batch waits for room in the window (so newer ones wait behind it). */
  #held = false;
  /**
   * Batches an edge server acknowledged (they left the outbox) whose `global` acknowledgement has
   * not come: pushed again after a reconnect (harmless), so the server says how far they got.
   */
  readonly #belowGlobal = new Set<string>();

  #pushOutbox(): void {
    this.#held = false;
    for (const batchId of this.#engine.outbox()) {
      if (this.#inFlight.has(batchId)) continue;
      if (!this.#pushBatch(batchId)) {
        this.#held = true;
        return;
      }
    }
  }

  /** A pushed batch was acknowledged or refused: its room goes to the batches waiting. */
  #landed(batchId: string): void {
    const n = this.#inFlight.get(batchId);
    if (n === undefined) return;
    this.#inFlight.delete(batchId);
    this.#inFlightBytes -= n;
    if (this.#held && this.#state === 'online' && !this.#engine.closed) this.#pushOutbox();
  }

  #clearInFlight(): void {
    this.#inFlight.clear();
    this.#inFlightBytes = 0;
    this.#held = false;
  }

  /** A batch as pushed: with the records of its branch's line when it was written on a branch. */
  #pushMessage(batchId: string, items: readonly { table: string; version: RowVersion }[]): ClientMessage {
    const versions: WireVersion[] = items.map(({ table, version }) => toWire(this.#engine, table, version));
    const branch = items[0]?.version.branch ?? MAIN;
    if (branch === MAIN) return { t: 'push', batchId, versions };
    const branches: WireBranch[] = branchLine(this.#engine, branch);
    return { t: 'push', batchId, versions, branches };
  }

  #subMessage(s: RemoteSub): ClientMessage {
    const onBranch = s.branch !== MAIN && this.#serverBranches;
    return { t: 'sub', id: s.id, query: s.query, tier: s.tier, have: s.have(), ...(onBranch ? { branch: s.branch } : {}) };
  }

  /** Sends a batch of the outbox; false when the window has no room for it now (it waits). */
  #pushBatch(batchId: string): boolean {
    const items = this.#engine.batchVersions(batchId);
    if (items.length > 0 && items[0]!.version.branch !== MAIN && !this.#serverBranches) {
      // An older server would apply them on main: they wait for one that keeps branches.
      this.#settleBatch(
        batchId,
        'global',
        new JazzError('NO_SERVER', `the server does not keep branches (it is an older version); the writes on branch "${items[0]!.version.branch}" stay on this replica until one does`, { batchId }),
      );
      return true;
    }
    const message = this.#pushMessage(batchId, items);
    const size = this.#frameSize(message);
    if (size > this.#maxFrame) {
      // Written under a larger limit than this server's: sending it would only close the connection.
      const e = tooLarge(size, this.#maxFrame, batchId);
      this.#rejectBatch(batchId, 'TOO_LARGE', e.message);
      return true;
    }
    if (this.#inFlightBytes > 0 && this.#inFlightBytes + size > MAX_IN_FLIGHT_BYTES) return false;
    this.#inFlight.set(batchId, size);
    this.#inFlightBytes += size;
    this.#send(message);
    return true;
  }

  /** A local batch was written: push it now if online (else it waits in the outbox). */
  pushed(batchId: string): void {
    this.#pending = this.#engine.outbox().length;
    this.#emitStatus();
    if (this.#state === 'online' && !this.#held && !this.#pushBatch(batchId)) this.#held = true;
  }

  /** Resolves when the batch reached `tier` at the server; rejects if the server refused it. */
  waitBatch(batchId: string, tier: Tier): Promise<void> {
    const rec = this.#engine.batchRecord(batchId);
    if (rec?.s === 'rejected') return Promise.reject(new JazzError('BATCH_REJECTED', `the server rejected a batch: ${rec.reason ?? ''}`, { batchId }));
    if (rec && rec.s === 'accepted' && tierRank(rec.tier) >= tierRank(tier)) return Promise.resolve();
    const branch = this.#state === 'online' && !this.#serverBranches ? this.#engine.batchVersions(batchId)[0]?.version.branch : undefined;
    if (branch !== undefined && branch !== MAIN) {
      return Promise.reject(new JazzError('NO_SERVER', 'the server does not keep branches (it is an older version); this write on a branch stays on this replica until one does', { batchId }));
    }
    return new Promise((resolve, reject) => {
      let ws = this.#batchWaiters.get(batchId);
      if (!ws) this.#batchWaiters.set(batchId, (ws = []));
      ws.push({ tier, resolve, reject });
    });
  }

  /**
   * Sends a transaction to the authority and resolves once it is accepted (its versions are then
   * applied here too); rejects with TRANSACTION_CONFLICT if what it read changed meanwhile. Waits
   * for a connection if there is none.
   */
  transaction(batchId: string, reads: HaveEntry[], queries: TxnQuery[], items: { table: string; version: RowVersion }[]): Promise<void> {
    const message: ClientMessage = { t: 'txn', batchId, reads, queries, versions: items.map(({ table, version }) => toWire(this.#engine, table, version)) };
    const size = this.#frameSize(message);
    if (size > this.#maxFrame) return Promise.reject(tooLarge(size, this.#maxFrame, batchId));
    return new Promise((resolve, reject) => {
      this.#txns.set(batchId, { message, items, resolve, reject });
      if (this.#state === 'online') this.#send(message);
    });
  }

  /** Asks the server for a query's rows (and their changes from then on). */
  subscribe(query: QueryAst, tier: Tier, have: () => HaveEntry[] = () => [], branch: string = MAIN): { id: number; settled: Promise<void> } {
    const id = this.#nextSubId++;
    let fail: (e: JazzError) => void = () => {};
    const sub: RemoteSub = { id, query, tier, branch, have, settled: false, waiters: [], fail: (e) => fail(e) };
    this.#subs.set(id, sub);
    const settled = new Promise<void>((resolve, reject) => {
      sub.waiters.push(resolve);
      fail = reject;
    });
    settled.catch(() => {}); // a subscription nobody waits on may fail unobserved
    if (this.#state === 'online') this.#send(this.#subMessage(sub));
    return { id, settled };
  }

  unsubscribe(id: number): void {
    if (!this.#subs.delete(id)) return;
    if (this.#state === 'online') this.#send({ t: 'unsub', id });
  }
}

/** Bytes of pushed batches waiting for their acknowledgement at once (see #inFlight). */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

function tooLarge(size: number, max: number, batchId: string): JazzError {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MiB`;
  const what = size === Infinity ? 'a value nested too deeply to encode' : mib(size);
  return new JazzError(
    'TOO_LARGE',
    `this write takes ${what} to send, and the server takes frames of at most ${mib(max)}; split it into smaller writes (a value may be up to a little less than the limit)`,
    { batchId, size: size === Infinity ? null : size, maxFrameBytes: max },
  );
}
