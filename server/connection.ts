/**
 * One client's WebSocket on the sync server, and what the server keeps for it: who it is (after
 * hello), its permission evaluator, its subscriptions, the rows it holds, its message rate.
 *
 * Contract: messages of one connection are handled one after another (`queue`), also while one
 * waits (authentication); `send` drops messages once the socket is no longer open; `fail` tells
 * the client why (an `error` frame) and closes with a code (a close reason of at most 123 bytes).
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Graph } from '../src/query/graph.ts';
import type { QueryAst } from '../src/query/ast.ts';
import { encodeMessage, type ServerMessage, type WireErrorCode } from '../src/sync/protocol.ts';
import { PolicyEvaluator } from '../src/policy/evaluate.ts';
import type { SchemaView } from '../src/schema/view.ts';
import type { AppState } from './apps.ts';
import type { Session } from './auth.ts';
import type { BranchSub } from './branch-sync.ts';
import { FILES, FILE_PARTS } from '../src/files/system-tables.ts';

/** A subscription as the server runs it: a live query on the app's engine. */
export interface ServerSub {
  graph: Graph;
  readonly query: QueryAst;
  first: boolean;
  scheduled: boolean;
  /** Runs the query again (read rules that depend on other rows changed). */
  restart?: () => void;
  /** On an edge: the same query subscribed upstream (edge.ts), released with this one. */
  upstream?: { readonly settled: Promise<void>; release(): void };
}

export class Conn {
  readonly ws: WebSocket;
  readonly app: AppState;
  readonly id = randomUUID();
  clientId = '';
  ready = false;
  readonly since = Date.now();
  remote: string | undefined;
  /** What the server closed the connection with, for the log. */
  closedWith: { code: number; cause: string } | undefined;
  session: Session | undefined;
  policy: PolicyEvaluator | undefined;
  /** The client's schema version: everything it sends and receives is in its names (after hello). */
  view: SchemaView | undefined;
  /** Messages are handled one after another, even while one waits (authentication). */
  queue: Promise<void> = Promise.resolve();
  expiry: NodeJS.Timeout | undefined;
  /** For each table: the tables whose read rules depend on it. */
  deps: Map<string, Set<string>> | undefined;
  readonly subs = new Map<number, ServerSub>();
  /** The rows this client holds (see holdings.ts). */
  readonly holds = new Set<string>();
  /** Subscriptions on a branch: the branch and the tables they read (branch-sync.ts). */
  readonly branchSubs = new Map<number, BranchSub>();
  /** Token bucket for the message rate limit. */
  #tokens: number;
  #lastRefill = Date.now();
  readonly #rate: number;

  constructor(ws: WebSocket, app: AppState, rate: number) {
    this.ws = ws;
    this.app = app;
    this.#rate = rate;
    this.#tokens = rate * 10;
  }

  /** Counts one message against the rate limit (`rate` a second, bursts of ten seconds' worth); false once over it. */
  takeToken(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#rate * 10, this.#tokens + ((now - this.#lastRefill) / 1000) * this.#rate);
    this.#lastRefill = now;
    return --this.#tokens >= 0;
  }

  send(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(m));
  }

  fail(code: number, errorCode: WireErrorCode, message: string): void {
    this.closedWith ??= { code, cause: errorCode };
    this.send({ t: 'error', code: errorCode, message });
    this.ws.close(code, closeReason(message));
  }

  /** (Re)builds the permission evaluator and what its read rules depend on (after hello, or new permissions). */
  setPolicy(): void {
    const app = this.app;
    this.policy = new PolicyEvaluator(app.engine!, app.permissions, this.session!);
    this.deps = new Map();
    for (const table of [...Object.keys(app.schema!.tables), FILES, FILE_PARTS]) {
      for (const dep of this.policy.dependsOn(table)) {
        let set = this.deps.get(dep);
        if (!set) this.deps.set(dep, (set = new Set()));
        set.add(table);
      }
    }
  }

  /** Who a log record about this connection is about. */
  get who(): { app: string; client?: string; user?: string } {
    return { app: this.app.id, ...(this.clientId ? { client: this.clientId } : {}), ...(this.session ? { user: this.session.userId } : {}) };
  }
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8: cut on a character boundary. */
export function closeReason(message: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of message) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > 123) break;
    out += ch;
    bytes += n;
  }
  return out;
}
