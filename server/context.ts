/**
 * What the sync server's modules share: its settings, its log and its apps. Made once by
 * `startSyncServer` and passed to the handlers (handshake.ts, subscriptions.ts, batches.ts,
 * http-routes.ts), so each module states what it needs instead of closing over the server's state.
 */
import type { Apps, AppState } from './apps.ts';
import type { Conn } from './connection.ts';
import type { Authenticator } from './auth.ts';
import type { ServerLog } from './log.ts';
import type { ServerMetrics } from './metrics.ts';
import type { Edge } from './edge.ts';

export interface ServerContext {
  readonly serverId: string;
  /** Development mode: anonymous clients, a client's schema is adopted. */
  readonly dev: boolean;
  readonly apps: Apps;
  readonly events: ServerLog;
  /** What GET /metrics reports (metrics.ts). */
  readonly metrics: ServerMetrics;
  readonly authenticate: Authenticator;
  /** Largest frame a client may send (and is told about in `welcome`). */
  readonly maxFrameBytes: number;
  readonly maxSubscriptions: number;
  readonly maxHeldRows: number;
  readonly maxMessagesPerSecond: number;
  /**
   * The app's engine was replaced (another schema version or more migrations): its connections
   * (but `except`) are closed with 1012 and reconnect to the new one.
   */
  readonly engineReplaced: (app: AppState, except?: Conn) => void;
  /**
   * Several nodes on one PostgreSQL (pg-follow.ts): applies what the other nodes logged for the app
   * and this one has not, inside the app's exclusive work. Absent on other stores.
   */
  catchUp?: (app: AppState) => Promise<void>;
  /** On an edge server (`upstream`): its link to the upstream (edge.ts). Absent on the authority. */
  edge?: Edge;
}
