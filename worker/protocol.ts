/**
 * The page ↔ worker protocol in one place (every message type in one file).
 *
 * The page's client (`worker/page/client.ts`) calls the worker's `WorkerApi` through Comlink; the
 * worker calls back through the Comlink proxies the page hands it (`SubscriptionSink`,
 * `StatusSink`). Everything that crosses is structured-clonable plain data: query ASTs, write ops,
 * rows, status objects. Errors cross as `JazzError`s with their `code` and `details` (see
 * `wire-errors.ts`, installed on both sides).
 *
 * `PROTOCOL_VERSION` is checked by `open`: a page script and a worker file from different builds
 * fail with an error that says to serve them together, never with silent misbehaviour.
 *
 * This file is compiled against both the DOM and the WebWorker library, so it holds types and
 * DOM-free code only.
 */
import type { QueryAst } from '../src/query/ast.ts';
import type { AppSchema } from '../src/schema/schema.ts';
import type { Credentials } from '../src/sync/protocol.ts';
import type { WriteOp, Tier } from '../src/engine/engine.ts';
import type { BatchRejection, SyncStatus } from '../src/sync/client.ts';
import type { FieldConflict, HistoryEntry } from '../src/history/history.ts';
import type { BranchInfo, MergeChange } from '../src/history/branches.ts';
import type { FileInfo, LoadFileOptions } from '../src/files/files.ts';

export const PROTOCOL_VERSION = 5;

export type { WriteOp, Tier, SyncStatus, Credentials, QueryAst, BatchRejection, HistoryEntry, FieldConflict, BranchInfo, MergeChange };

/** Where the data lives: OPFS (durable B+tree + WAL), IndexedDB (memory + persisted commits) or memory. */
export type DriverType = 'opfs' | 'idb' | 'memory';

/** Options the page did not give are absent or undefined. */
export interface OpenConfig {
  readonly protocol: number;
  /** This tab's schema version: its calls, rows and errors are in its names. */
  readonly schema: AppSchema;
  /**
   * Migrations (their JSON form) connecting the versions the database holds, or the other tabs
   * run, to `schema`; checked by the worker (a bad one fails the open with `MIGRATION_INVALID`).
   */
  readonly migrations?: readonly unknown[] | undefined;
  /** Indexes on several columns (the engine's createDb `indexes`), checked in the worker; the leader's are in place. */
  readonly indexes?: Readonly<Record<string, readonly (readonly string[])[]>> | undefined;
  /**
   * The page's `createDb` driver as given (`BrowserDriverConfig`: `type`, and `dbName` and
   * `cacheBytes` if set), checked here (`checkDriver`); the leader's `cacheBytes` is the one in use.
   */
  readonly driver: { readonly type: DriverType; readonly cacheBytes?: number };
  /** The database's name (`driver.dbName`, default `default`). */
  readonly dbName: string;
  readonly server?: string | undefined;
  readonly appId?: string | undefined;
  readonly auth?: Credentials | undefined;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number } | undefined;
  /** This tab reads and writes on this branch (the engine's `createDb({ branch })`); main when absent. */
  readonly branch?: string | undefined;
  /**
   * A port to the tab broker (`worker/broker.ts`, a SharedWorker the page connected to and
   * transferred here). Absent where SharedWorker is missing: followers then reach the leader over
   * BroadcastChannel.
   */
  readonly broker?: MessagePort | undefined;
}

/** Which driver holds the data, and why it is not the one asked for. */
export interface DriverStatus {
  readonly requested: DriverType;
  readonly used: DriverType;
  /** False for `memory`: nothing survives a reload. */
  readonly persistent: boolean;
  /** Set when `used` differs from `requested`: what made the runtime fall back. */
  readonly fallbackReason?: string;
  /** The page cache's budget in bytes, for `opfs` (the other drivers hold the whole database in memory). */
  readonly cacheBytes?: number;
}

/** What the worker reports about its database. */
export interface WorkerStatus {
  readonly dbName: string;
  readonly driver: DriverStatus;
  /** Null when the database has no server. */
  readonly sync: SyncStatus | null;
  /** `leader`: this tab's worker owns the storage; `follower`: it reaches another tab's. */
  readonly role: 'leader' | 'follower';
  /** Set after a storage failure the worker recovered from by reopening (the last one). */
  readonly lastStorageError?: WireError;
}

/** A `JazzError` as plain data. */
export interface WireError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** A row as the worker sends it (frozen again on the page). */
export type WireRow = Record<string, unknown> & { readonly id: string };

/** A moment to read at (`asOf`): a Date (structured clone keeps it) or epoch milliseconds. */
export type AsOf = Date | number;

/**
 * What a subscription follows: a query (live, or as it stood at `asOf`), or a row's history
 * (`table`, `id`).
 */
export type SubSpec =
  | {
      readonly ast: QueryAst;
      readonly tier?: Tier | undefined;
      readonly asOf?: AsOf | undefined;
      readonly conflicts?: boolean | undefined;
      /** Send a long result's first rows early (`SubscribeOptions.firstRows`). */
      readonly firstRows?: number | undefined;
    }
  | { readonly table: string; readonly id: string };

/**
 * Writes the worker works out where the data is, as one batch named by the page's key: a row put
 * back as it was at version `to` (`db.revert`), or a batch undone (`db.revertBatch`).
 */
export type Revert = { readonly table: string; readonly id: string; readonly to: string } | { readonly batchId: string } | { readonly merge: string; readonly resolve: 'from' | 'into' };

/**
 * What a subscription's sink receives.
 * - `reset`: the whole result (the first message, and after the worker reopened its storage or a
 *   new leader took over); the page diffs it against its cache. `partial`: only the result's first
 *   rows (`firstRows`), sent while the rest is read, with the whole result's length when the worker
 *   knows it already (`total`); a whole `reset` follows.
 * - `delta`: rows added, removed (by id) and changed since the last message; `size` is the result's
 *   length after it, which the page checks its cache against.
 * - `error`: the query failed and was stopped.
 */
export type SubscriptionMessage =
  | { readonly kind: 'reset'; readonly rows: readonly WireRow[]; readonly partial?: true; readonly stale?: true; readonly total?: number }
  | {
      readonly kind: 'delta';
      readonly added: readonly WireRow[];
      readonly removed: readonly string[];
      readonly changed: readonly WireRow[];
      readonly size: number;
      /** The result's ids in order, only when the page cannot order the rows itself (`pageCanOrder`). */
      readonly order?: readonly string[];
    }
  | { readonly kind: 'error'; readonly error: WireError }
  /** A history subscription's message: the row's whole history, now (the first) and after each change. */
  | { readonly kind: 'history'; readonly entries: readonly HistoryEntry[] };

/**
 * A files call (worker/file-calls.ts has the contract). An upload: `start` (answers its handle),
 * `part`s in order (each answers the bytes stored since the last answer, once the writer took the
 * part), then `end` (answers `{ id, progress }`) or `abort`. A read: `open` (answers
 * `{ reader, info }`), `read` until it answers null, or `close`. `info` and `delete` are the Db's
 * `fileInfo` and `deleteFile`.
 */
export type FileCall =
  | { readonly f: 'start'; readonly opts: { readonly name?: string; readonly mimeType?: string; readonly tier?: Tier; readonly partSize?: number; readonly size?: number } }
  | { readonly f: 'part'; readonly upload: number; readonly bytes: Uint8Array }
  | { readonly f: 'end' | 'abort'; readonly upload: number }
  | { readonly f: 'open' | 'info'; readonly id: string; readonly opts?: LoadFileOptions | undefined }
  | { readonly f: 'read' | 'close'; readonly reader: number }
  | { readonly f: 'delete'; readonly id: string; readonly opts?: { readonly tier?: Tier } | undefined }
  /** A live stream (`createStream`): `stream` starts it, `chunk`s feed it, `finish` closes or aborts it. */
  | { readonly f: 'stream'; readonly opts?: { readonly mimeType?: string; readonly name?: string; readonly partSize?: number; readonly flushMs?: number } | undefined }
  | { readonly f: 'chunk'; readonly stream: number; readonly data: string | Uint8Array }
  | { readonly f: 'finish'; readonly stream: number; readonly abort: boolean };

export type { FileInfo, LoadFileOptions };

export type SubscriptionSink = (message: SubscriptionMessage) => void;
export type StatusSink = (status: WorkerStatus) => void;
/** Told when the server rejected a batch (undone locally by then); `key` is the page's batch id. */
export type RejectionSink = (key: string | undefined, error: WireError) => void;

/**
 * The worker's API. Calls are handled in the order they are sent: a write is applied before the
 * read sent after it runs. `key` is the batch id the page generated for a write (the handle's
 * `batchId`); the worker maps it to the engine's own batch id.
 */
export interface WorkerApi {
  /** Opens the database (once); resolves with the status, including the driver actually used. */
  open(config: OpenConfig): Promise<WorkerStatus>;
  /**
   * Applies a batch at once; resolves when it is durable at tier `local`, with the row as it reads
   * then when the batch is one write (null if deleted: what the handle's `wait` gives), else undefined.
   */
  write(key: string, ops: readonly WriteOp[]): Promise<WireRow | null | undefined>;
  /** Resolves when the batch `key` reached `tier` (`edge`/`global` need a server). */
  wait(key: string, tier: Tier): Promise<void>;
  /** `conflicts`: each row with `$conflicts` (the engine's read option). */
  all(ast: QueryAst, tier?: Tier, asOf?: AsOf, conflicts?: boolean): Promise<WireRow[]>;
  subscribe(spec: SubSpec, sink: SubscriptionSink): Promise<number>;
  unsubscribe(id: number): Promise<void>;
  history(table: string, id: string): Promise<HistoryEntry[]>;
  conflicts(table: string, id: string): Promise<FieldConflict[]>;
  /**
   * Works out the writes of a revert where the data is and applies them as the batch `key`, like
   * `write` (and as idempotently); resolves with the row ids written once durable at `local`.
   */
  revert(key: string, what: Revert): Promise<string[]>;
  /** The branches the database has; what merging one into this tab's branch would change; dropping one. */
  branches(): Promise<BranchInfo[]>;
  mergePreview(from: string, into?: string): Promise<MergeChange[]>;
  deleteBranch(name: string): Promise<void>;
  /** A transaction: reads are recorded by the worker, writes sent at commit. */
  txBegin(): Promise<number>;
  txRead(tx: number, ast: QueryAst): Promise<WireRow[]>;
  txCommit(tx: number, key: string, ops: readonly WriteOp[]): Promise<void>;
  txAbort(tx: number): Promise<void>;
  status(): Promise<WorkerStatus>;
  /** Files (`FileCall`): handles live in the leader's worker, so a leader change fails the call (CLOSED). */
  file(call: FileCall): Promise<unknown>;
  onStatus(sink: StatusSink): Promise<void>;
  onRejected(sink: RejectionSink): Promise<void>;
  setAuth(auth: Credentials): Promise<void>;
  /**
   * The page is going away (`pagehide`): a leader stops serving, makes everything durable,
   * closes its files and only then releases the leadership; a follower stops being a candidate.
   * Calls made afterwards wait until `resume`.
   */
  retire(): Promise<void>;
  /** The page came back from the back/forward cache: rejoin the election. */
  resume(): Promise<void>;
  /** Makes everything durable and releases the storage (and the leadership). */
  close(): Promise<void>;
}

// ─── between tabs ───────────────────────────────────────────────
//
// One worker per database holds the Web Lock `jazz:<dbName>` and with it the storage: the leader.
// The other tabs' workers (followers) forward their page's calls to it over a `Link`: a
// MessagePort the broker SharedWorker handed out, or addressed messages on a BroadcastChannel.

/** A page call as a follower forwards it to the leader. `sub` is the follower's subscription id. */
export type PeerCall =
  | { readonly op: 'write'; readonly key: string; readonly ops: readonly WriteOp[] }
  | { readonly op: 'wait'; readonly key: string; readonly tier: Tier }
  | { readonly op: 'all'; readonly ast: QueryAst; readonly tier: Tier | undefined; readonly asOf?: AsOf | undefined; readonly conflicts?: boolean | undefined }
  | { readonly op: 'subscribe'; readonly sub: number; readonly spec: SubSpec }
  | { readonly op: 'unsubscribe'; readonly sub: number }
  | { readonly op: 'history' | 'conflicts'; readonly table: string; readonly id: string }
  | { readonly op: 'revert'; readonly key: string; readonly what: Revert }
  | { readonly op: 'branches' }
  | { readonly op: 'mergePreview'; readonly from: string; readonly into?: string | undefined }
  | { readonly op: 'deleteBranch'; readonly name: string }
  | { readonly op: 'txBegin' }
  | { readonly op: 'txRead'; readonly tx: number; readonly ast: QueryAst }
  | { readonly op: 'txCommit'; readonly tx: number; readonly key: string; readonly ops: readonly WriteOp[] }
  | { readonly op: 'txAbort'; readonly tx: number }
  | { readonly op: 'status' }
  | { readonly op: 'file'; readonly call: FileCall }
  | { readonly op: 'setAuth'; readonly auth: Credentials };

/**
 * Follower → leader. `hello` says the follower's schema version (and its migrations): the leader
 * runs that follower's calls in its version, learning the version first if it is new to it.
 */
export type PeerRequest =
  | { readonly kind: 'hello'; readonly schema?: AppSchema; readonly migrations?: readonly unknown[]; readonly branch?: string }
  | { readonly kind: 'call'; readonly id: number; readonly call: PeerCall };

/** Leader → follower. */
export type PeerEvent =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly kind: 'sub'; readonly sub: number; readonly message: SubscriptionMessage }
  | { readonly kind: 'status'; readonly status: WorkerStatus }
  | { readonly kind: 'rejected'; readonly key: string | undefined; readonly error: WireError };

/**
 * The election's own BroadcastChannel (`jazz-elements:<dbName>`). `since` orders leaders: lock
 * grants are serialised, so a later leader has a later `since`, and a follower ignores an
 * announcement older than the leader it follows (a late answer from a tab that has gone).
 */
export type ControlMessage = { readonly kind: 'who-leads' } | { readonly kind: 'leader'; readonly id: string; readonly since: number } | { readonly kind: 'retiring'; readonly id: string };

/** Follower/leader ↔ follower/leader over the BroadcastChannel fallback (`jazz-elements:<dbName>:rpc`). */
export interface BcEnvelope {
  readonly to: string;
  readonly from: string;
  readonly msg: PeerRequest | PeerEvent;
}

/** Worker → broker (`worker/broker.ts`). */
export type BrokerRequest =
  | { readonly kind: 'register'; readonly db: string; readonly id: string }
  | { readonly kind: 'unregister'; readonly db: string; readonly id: string }
  | { readonly kind: 'connect'; readonly db: string; readonly leader: string; readonly from: string };

/** Broker → worker; each carries one end of a new MessageChannel. */
export type BrokerEvent =
  | { readonly kind: 'peer'; readonly db: string; readonly from: string; readonly port: MessagePort }
  | { readonly kind: 'connected'; readonly db: string; readonly leader: string; readonly port: MessagePort };

/**
 * True when the page can order a query's rows itself with `rowComparator`: every orderBy column
 * is in the rows it receives. Otherwise the worker sends the id order with each delta.
 */
export function pageCanOrder(ast: QueryAst): boolean {
  return !ast.select || ast.orderBy.every((t) => ast.select!.includes(t.column));
}
