/**
 * The page ↔ worker protocol in one place (STYLE.md: "the wire protocol in one types file").
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
import type { SyncStatus } from '../src/sync/client.ts';

export const PROTOCOL_VERSION = 1;

export type { WriteOp, Tier, SyncStatus, Credentials, QueryAst };

/** Where the data lives: OPFS (durable B+tree + WAL), IndexedDB (memory + persisted commits) or memory. */
export type DriverType = 'opfs' | 'idb' | 'memory';

export interface OpenConfig {
  readonly protocol: number;
  readonly schema: AppSchema;
  readonly driver: DriverType;
  readonly dbName: string;
  readonly server?: string;
  readonly appId?: string;
  readonly auth?: Credentials;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** Which driver holds the data, and why it is not the one asked for. */
export interface DriverStatus {
  readonly requested: DriverType;
  readonly used: DriverType;
  /** False for `memory`: nothing survives a reload. */
  readonly persistent: boolean;
  /** Set when `used` differs from `requested`: what made the runtime fall back. */
  readonly fallbackReason?: string;
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

/**
 * What a subscription's sink receives.
 * - `reset`: the whole result (the first message, and after the worker reopened its storage or a
 *   new leader took over); the page diffs it against its cache.
 * - `delta`: rows added, removed (by id) and changed since the last message; `size` is the result's
 *   length after it, which the page checks its cache against.
 * - `error`: the query failed and was stopped.
 */
export type SubscriptionMessage =
  | { readonly kind: 'reset'; readonly rows: readonly WireRow[] }
  | {
      readonly kind: 'delta';
      readonly added: readonly WireRow[];
      readonly removed: readonly string[];
      readonly changed: readonly WireRow[];
      readonly size: number;
      /** The result's ids in order, only when the page cannot order the rows itself (`pageCanOrder`). */
      readonly order?: readonly string[];
    }
  | { readonly kind: 'error'; readonly error: WireError };

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
  /** Applies a batch at once; resolves when it is durable at tier `local`. */
  write(key: string, ops: readonly WriteOp[]): Promise<void>;
  /** Resolves when the batch `key` reached `tier` (`edge`/`global` need a server). */
  wait(key: string, tier: Tier): Promise<void>;
  all(ast: QueryAst, tier?: Tier): Promise<WireRow[]>;
  subscribe(ast: QueryAst, tier: Tier | undefined, sink: SubscriptionSink): Promise<number>;
  unsubscribe(id: number): Promise<void>;
  /** A transaction: reads are recorded by the worker, writes sent at commit. */
  txBegin(): Promise<number>;
  txRead(tx: number, ast: QueryAst): Promise<WireRow[]>;
  txCommit(tx: number, key: string, ops: readonly WriteOp[]): Promise<void>;
  txAbort(tx: number): Promise<void>;
  status(): Promise<WorkerStatus>;
  onStatus(sink: StatusSink): Promise<void>;
  onRejected(sink: RejectionSink): Promise<void>;
  setAuth(auth: Credentials): Promise<void>;
  /** Makes everything durable and releases the storage (and the leadership). */
  close(): Promise<void>;
}

/**
 * True when the page can order a query's rows itself with `rowComparator`: every orderBy column
 * is in the rows it receives. Otherwise the worker sends the id order with each delta.
 */
export function pageCanOrder(ast: QueryAst): boolean {
  return !ast.select || ast.orderBy.every((t) => ast.select!.includes(t.column));
}
