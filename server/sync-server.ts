/**
 * The reference sync server (DESIGN.md §8): Node's http plus the `ws` WebSocket library, running
 * the same engine as the clients.
 *
 * - `GET /health`; `GET /apps/:appId/ws` upgrades to the sync protocol; admin routes under
 *   `/apps/:appId/admin/...` need `Authorization: Bearer <admin secret>`.
 * - Each app has one engine on the project's durable store (`<data>/<appId>.db`) or in memory.
 * - A client's subscriptions run as live incremental queries on the server engine; when one gains
 *   rows the client lacks, their versions are sent. Every row a client holds is remembered for
 *   the connection, so later versions of it are forwarded as they arrive.
 * - Pushed batches are checked against the schema and applied whole or rejected whole; the
 *   acknowledgement (tiers `edge` and `global` together: this server is the authority) goes out once
 *   the batch is durable.
 * - A malformed or oversized frame closes that connection with an error code; nothing else is
 *   affected.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Engine } from '../src/engine/engine.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { KvStore } from '../src/store/types.ts';
import { schemaFromJSON, schemaHash, canonicalSchemaJSON, type AppSchema } from '../src/schema/schema.ts';
import { buildGraph, type Graph } from '../src/query/graph.ts';
import { checkQuery } from '../src/query/validate.ts';
import type { QueryAst } from '../src/query/ast.ts';
import type { OutRow } from '../src/query/ivm/view.ts';
import { CloseCode, PROTOCOL_VERSION, decodeClientMessage, encodeMessage, type ClientMessage, type ServerMessage, type WireVersion } from '../src/sync/protocol.ts';
import { ProtocolError } from '../src/sync/codec.ts';
import { fromWire, toWire } from '../src/sync/versions.ts';
import { JazzError } from '../src/util/errors.ts';
import { openFileStore } from './fs-store.ts';
import { createLogger, lineLogger, serverLog, type Logger } from './log.ts';
import { AuthError, createAuthenticator, type AuthOptions, type Session } from './auth.ts';
import { PolicyEvaluator } from '../src/policy/evaluate.ts';
import { checkPermissions, type Permissions } from '../src/policy/define.ts';
import type { RowObject } from '../src/rows/row-codec.ts';
import type { VisibleState } from '../src/rows/version.ts';

export interface SyncServerOptions {
  readonly port?: number;
  readonly host?: string;
  /** Folder for the apps' databases; absent with `inMemory`. */
  readonly dataDir?: string;
  readonly inMemory?: boolean;
  /** Development mode: anonymous clients, a client's schema is adopted, everything allowed. */
  readonly dev?: boolean;
  readonly adminSecret?: string;
  /** Largest accepted frame in bytes (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** Origins allowed to open a WebSocket; absent: any. */
  readonly allowedOrigins?: readonly string[];
  /**
   * Where to log: a pino logger or anything with its four level methods (see log.ts for the events
   * and their fields). Default: JSON lines on stdout at level info.
   */
  readonly logger?: Logger;
  /** The older form, used when `logger` is absent: every record as one human-readable line. */
  readonly log?: (line: string) => void;
  /** How users prove who they are (JWT keys, backend secret). `dev` is passed on. */
  readonly auth?: Omit<AuthOptions, 'dev'>;
  /** Permissions for apps with the matching schema (deny by default once loaded). */
  readonly permissions?: Permissions;
  /** Most rows one connection may hold (default 1,000,000): bounds the server's memory per client. */
  readonly maxHeldRows?: number;
  /** Most subscriptions one connection may hold (default 1000). */
  readonly maxSubscriptions?: number;
  /** Most messages one connection may send per second, averaged over 10 s (default 1000). */
  readonly maxMessagesPerSecond?: number;
  /**
   * Other HTTP routes (a static site, a sign-in endpoint): called for every request the server has
   * no route of its own for; answer it and return true, or return false for the server's 404.
   */
  readonly onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface SyncServer {
  readonly port: number;
  readonly url: string;
  /** Stops accepting, closes every socket with 1001, flushes and closes the databases. */
  close(): Promise<void>;
  /** Counts for tests and /health. */
  stats(): { apps: number; connections: number };
  /** The engine of an app, once it has a schema (for tests and embedding). */
  engineOf(appId: string): Engine | undefined;
  /**
   * Publishes an app's schema (and its permissions) from the embedding code, as the admin routes do:
   * the same schema again is a no-op, a different one throws `SCHEMA_INVALID` (it needs a migration).
   */
  publish(appId: string, schema: AppSchema, permissions?: Permissions): void;
}

const VERSIONS_PER_FRAME = 2000;
/** What an app id may be (it names files in the data folder and appears in URLs). */
const APP_ID = '[A-Za-z0-9_-]{1,64}';
const ADMIN_ROUTE = new RegExp(`^/apps/(${APP_ID})/admin/(schema|permissions)$`);
const WS_ROUTE = new RegExp(`^/apps/(${APP_ID})/ws$`);
const WHOLE_APP_ID = new RegExp(`^${APP_ID}$`);

class AppState {
  readonly id: string;
  engine: Engine | undefined;
  schema: AppSchema | undefined;
  hash: string | undefined;
  readonly conns = new Set<Conn>();
  permissions: Permissions | undefined;
  /** Tables some connection's read rules depend on, with a listener each. */
  readonly watched = new Map<string, () => void>();
  /** Which connections hold which rows: key `${table}\u0000${rowId}`. */
  readonly holders = new Map<string, Set<Conn>>();

  constructor(id: string) {
    this.id = id;
  }
}

class Conn {
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
  /** Messages are handled one after another, even while one waits (authentication). */
  queue: Promise<void> = Promise.resolve();
  expiry: NodeJS.Timeout | undefined;
  /** For each table: the tables whose read rules depend on it. */
  deps: Map<string, Set<string>> | undefined;
  /** Token bucket for the message rate limit. */
  tokens = 0;
  lastRefill = Date.now();
  readonly subs = new Map<number, { graph: Graph; query: QueryAst; first: boolean; scheduled: boolean; restart?: (id: number) => void }>();
  readonly holds = new Set<string>();

  constructor(ws: WebSocket, app: AppState) {
    this.ws = ws;
    this.app = app;
  }

  send(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(m));
  }

  fail(code: number, errorCode: string, message: string): void {
    this.closedWith ??= { code, cause: errorCode };
    this.send({ t: 'error', code: errorCode, message });
    this.ws.close(code, closeReason(message));
  }
}

/**
 * Merging many versions of one row out of order costs the square of their number (each looks for
 * its children in the row's history); one batch may carry at most this many per row.
 */
const MAX_VERSIONS_PER_ROW = 256;
function tooManyVersionsOfOneRow(versions: readonly WireVersion[]): void {
  const counts = new Map<string, number>();
  for (const v of versions) {
    const n = (counts.get(v.rowId) ?? 0) + 1;
    if (n > MAX_VERSIONS_PER_ROW) throw new JazzError('BATCH_REJECTED', `a batch may write at most ${MAX_VERSIONS_PER_ROW} versions of one row`);
    counts.set(v.rowId, n);
  }
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8: cut on a character boundary. */
function closeReason(message: string): string {
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

/** A visible state as a row object, for permission checks. */
function rowOf(id: string, state: VisibleState): RowObject {
  return { id, ...state.values } as RowObject;
}

function digestOf(engine: Engine, table: string, rowId: string): string | undefined {
  return engine.rowDigest(table, rowId);
}

/** Whether a query reads any of these tables (at any include depth). */
function touches(q: QueryAst, tables: Set<string>): boolean {
  return tables.has(q.table) || Object.values(q.include ?? {}).some((i) => touches(i.query, tables));
}

export async function startSyncServer(opts: SyncServerOptions = {}): Promise<SyncServer> {
  const events = serverLog(opts.logger ?? (opts.log ? lineLogger(opts.log) : createLogger()));
  const logger = events.logger;
  /** Who a log record about this connection is about. */
  const who = (conn: Conn) => ({ app: conn.app.id, ...(conn.clientId ? { client: conn.clientId } : {}), ...(conn.session ? { user: conn.session.userId } : {}) });
  /** Refuses a pushed batch or transaction: tells the client, and the log. */
  const reject = (conn: Conn, batchId: string, code: string, reason: string): void => {
    conn.send({ t: 'reject', batchId, code, reason });
    events.batchRejected({ ...who(conn), batchId, code, reason });
  };
  const apps = new Map<string, AppState>();
  const serverId = randomUUID();
  const maxFrame = opts.maxFrameBytes ?? 16 * 2 ** 20;
  if (!opts.inMemory && !opts.dataDir) throw new Error('give a data folder (--data) or --in-memory');

  const authenticate = createAuthenticator({ ...(opts.auth ?? {}), dev: opts.dev ?? false });
  const maxSubs = opts.maxSubscriptions ?? 1000;
  const maxHeldRows = opts.maxHeldRows ?? 1_000_000;
  const rate = opts.maxMessagesPerSecond ?? 1000;

  const openStore = (appId: string): KvStore =>
    opts.inMemory ? createMemoryStore() : openFileStore(path.join(opts.dataDir!, `${appId}.db`));

  const ensureEngine = (app: AppState, schema: AppSchema): Engine => {
    if (!app.engine) {
      app.schema = schema;
      app.hash = schemaHash(schema);
      app.engine = Engine.open({ schema, store: openStore(app.id), author: `server:${serverId}` });
      if (opts.permissions) {
        if (opts.permissions.schemaHash === app.hash) app.permissions = opts.permissions;
        else logger.warn({ event: 'permissions-not-applied', app: app.id, schemaHash: app.hash, permissionsFor: opts.permissions.schemaHash }, `the permissions were written for schema ${opts.permissions.schemaHash}, app "${app.id}" has ${app.hash}; not applied (everything is denied to users until matching permissions are published)`);
      }
      if (!opts.inMemory) {
        try {
          const text = fs.readFileSync(path.join(opts.dataDir!, `${app.id}.permissions.json`), 'utf8');
          const p = JSON.parse(text) as Permissions;
          checkPermissions(schema, p);
          app.permissions = p;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      if (opts.permissions && !app.permissions) app.permissions = { schemaHash: app.hash!, tables: {} }; // deny by default
    }
    return app.engine;
  };

  const appFor = (appId: string): AppState => {
    let app = apps.get(appId);
    if (!app) {
      app = new AppState(appId);
      apps.set(appId, app);
      // A schema published earlier lives in the app's own store.
      if (!opts.inMemory) {
        const file = path.join(opts.dataDir!, `${appId}.schema.json`);
        try {
          const text = fs.readFileSync(file, 'utf8');
          ensureEngine(app, schemaFromJSON(JSON.parse(text)));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    }
    return app;
  };

  const publishSchema = (app: AppState, schema: AppSchema): void => {
    if (app.engine) {
      if (schemaHash(schema) !== app.hash) throw new JazzError('SCHEMA_INVALID', 'this app already has a different schema; changing it needs a migration');
      return;
    }
    ensureEngine(app, schema);
    if (!opts.inMemory) {
      fs.mkdirSync(opts.dataDir!, { recursive: true });
      fs.writeFileSync(path.join(opts.dataDir!, `${app.id}.schema.json`), canonicalSchemaJSON(schema));
    }
  };

  const setPermissions = (app: AppState, p: Permissions): void => {
    checkPermissions(app.schema!, p);
    if (p.schemaHash !== app.hash) throw new JazzError('SCHEMA_INVALID', `these permissions are for schema ${p.schemaHash}, the app has ${app.hash}`);
    app.permissions = p;
    if (!opts.inMemory) fs.writeFileSync(path.join(opts.dataDir!, `${app.id}.permissions.json`), JSON.stringify(p));
    for (const c of app.conns) if (c.session) setPolicy(c);
  };

  const readBody = (req: http.IncomingMessage, done: (body: string) => void): void => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 1_000_000) req.destroy();
    });
    req.on('end', () => done(body));
  };

  // ─── HTTP ──────────────────────────────────────────────────────────────
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/health') return json(200, { ok: true, ...stats() });
    const admin = ADMIN_ROUTE.exec(url.pathname);
    if (admin) {
      if (!opts.adminSecret || req.headers.authorization !== `Bearer ${opts.adminSecret}`) {
        events.adminRefused({ app: admin[1]!, route: `${req.method} ${admin[2]}`, remote: req.socket.remoteAddress ?? '' });
        return json(401, { error: 'UNAUTHORIZED', message: 'admin routes need Authorization: Bearer <admin secret>' });
      }
      const app = appFor(admin[1]!);
      if (admin[2] === 'permissions') {
        if (req.method === 'GET') return app.permissions ? json(200, app.permissions) : json(404, { error: 'NO_PERMISSIONS' });
        if (req.method === 'POST') {
          readBody(req, (body) => {
            try {
              if (!app.engine) throw new JazzError('SCHEMA_INVALID', 'publish the schema before its permissions');
              setPermissions(app, JSON.parse(body) as Permissions);
              logger.info({ event: 'permissions-published', app: app.id, schemaHash: app.hash }, `permissions published for app "${app.id}"`);
              json(200, { ok: true });
            } catch (e) {
              json(400, { error: e instanceof JazzError ? e.code : 'BAD_REQUEST', message: e instanceof Error ? e.message : String(e) });
            }
          });
          return;
        }
      }
      if (req.method === 'GET') return app.schema ? json(200, { hash: app.hash, schema: JSON.parse(canonicalSchemaJSON(app.schema)) }) : json(404, { error: 'NO_SCHEMA' });
      if (req.method === 'POST') {
        readBody(req, (body) => {
          try {
            publishSchema(app, schemaFromJSON(JSON.parse(body)));
            logger.info({ event: 'schema-published', app: app.id, schemaHash: app.hash }, `schema published for app "${app.id}"`);
            json(200, { hash: app.hash });
          } catch (e) {
            json(400, { error: e instanceof JazzError ? e.code : 'BAD_REQUEST', message: e instanceof Error ? e.message : String(e) });
          }
        });
        return;
      }
    }
    if (opts.onRequest?.(req, res)) return;
    json(404, { error: 'NOT_FOUND', message: 'routes: GET /health, GET /apps/:appId/ws (WebSocket), /apps/:appId/admin/schema' });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = WS_ROUTE.exec(url.pathname);
    const origin = req.headers.origin;
    if (!m) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    if (opts.allowedOrigins && origin !== undefined && !opts.allowedOrigins.includes(origin)) {
      logger.debug({ event: 'upgrade-refused', app: m[1], status: 403, origin }, 'WebSocket refused: origin not allowed');
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    // Outside development mode only apps with a published schema exist: no state for made-up ids.
    // The upgrade is accepted and closed with a code and an error frame, because a browser sees
    // nothing of an HTTP 404 answered to a WebSocket upgrade but a connection that failed.
    const app = appFor(m[1]!);
    if (!opts.dev && !app.engine) {
      logger.debug({ event: 'upgrade-refused', app: app.id, status: 404 }, 'WebSocket refused: the app has no published schema');
      forget(app);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const message = `this server has no app "${app.id}": publish its schema (POST /apps/${app.id}/admin/schema with the admin secret) or run the server with --dev`;
        ws.send(encodeMessage({ t: 'error', code: 'UNKNOWN_APP', message }));
        ws.close(CloseCode.unknownApp, closeReason(`unknown app "${app.id}"`));
      });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, app, req.socket.remoteAddress));
  });

  const accept = (ws: WebSocket, app: AppState, remote: string | undefined): void => {
    const conn = new Conn(ws, app);
    conn.remote = remote;
    app.conns.add(conn);
    const helloTimer = setTimeout(() => {
      if (!conn.ready) conn.fail(CloseCode.protocolError, 'PROTOCOL', 'no hello within 10 s');
    }, 10_000);
    conn.tokens = rate * 10;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // Token bucket: `rate` messages a second, bursts up to ten seconds' worth.
      const now = Date.now();
      conn.tokens = Math.min(rate * 10, conn.tokens + ((now - conn.lastRefill) / 1000) * rate);
      conn.lastRefill = now;
      if (--conn.tokens < 0) return conn.fail(CloseCode.rateLimited, 'RATE_LIMITED', `more than ${rate} messages a second`);
      if (!isBinary) return conn.fail(CloseCode.protocolError, 'PROTOCOL', 'frames must be binary');
      let msg: ClientMessage;
      try {
        msg = decodeClientMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (e) {
        return conn.fail(CloseCode.protocolError, 'PROTOCOL', e instanceof ProtocolError ? e.message : 'malformed frame');
      }
      conn.queue = conn.queue
        .then(() => (conn.ws.readyState === conn.ws.OPEN ? handle(conn, msg) : undefined))
        .catch((e) => {
          events.messageFailed({ ...who(conn), type: msg.t }, e);
          conn.fail(CloseCode.serverError, 'SERVER', 'the server failed to handle a message');
        });
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => {
      const cause = conn.closedWith?.cause ?? (code === 1009 ? `FRAME_TOO_LARGE (over ${maxFrame} bytes)` : undefined);
      events.connectionClosed({ ...who(conn), code: conn.closedWith?.code ?? code, ...(cause ? { cause } : {}), seconds: Math.round((Date.now() - conn.since) / 100) / 10 });
      clearTimeout(helloTimer);
      drop(conn);
    });
  };

  const drop = (conn: Conn): void => {
    if (conn.expiry) clearTimeout(conn.expiry);
    for (const s of conn.subs.values()) s.graph.destroy();
    conn.subs.clear();
    for (const key of conn.holds) {
      const set = conn.app.holders.get(key);
      set?.delete(conn);
      if (set && set.size === 0) conn.app.holders.delete(key);
    }
    conn.holds.clear();
    conn.app.conns.delete(conn);
    forget(conn.app);
  };

  /** An app that never got a schema and has no connections is not kept. */
  const forget = (app: AppState): void => {
    if (!app.engine && app.conns.size === 0) apps.delete(app.id);
  };

  const hold = (conn: Conn, table: string, rowId: string): boolean => {
    const key = `${table}\u0000${rowId}`;
    if (conn.holds.has(key)) return false;
    if (conn.holds.size >= maxHeldRows) {
      conn.fail(CloseCode.tooLarge, 'TOO_MANY_ROWS', `a connection may hold at most ${maxHeldRows} rows; subscribe to narrower queries`);
      return false;
    }
    conn.holds.add(key);
    let set = conn.app.holders.get(key);
    if (!set) conn.app.holders.set(key, (set = new Set()));
    set.add(conn);
    return true;
  };

  const sendVersions = (conn: Conn, versions: WireVersion[]): void => {
    for (let i = 0; i < versions.length; i += VERSIONS_PER_FRAME) conn.send({ t: 'versions', versions: versions.slice(i, i + VERSIONS_PER_FRAME) });
  };

  /** Rows of a result (and of its includes) the connection does not hold yet: send their histories. */
  const collect = (conn: Conn, q: QueryAst, rows: readonly OutRow[], out: WireVersion[]): void => {
    const engine = conn.app.engine!;
    for (const row of rows) {
      if (hold(conn, q.table, row.id)) for (const v of engine.rowVersions(q.table, row.id)) out.push(toWire(engine, q.table, v));
      for (const [name, inc] of Object.entries(q.include ?? {})) {
        const nested = row[name];
        const list = Array.isArray(nested) ? (nested as OutRow[]) : nested ? [nested as OutRow] : [];
        collect(conn, inc.query, list, out);
      }
    }
  };

  const unhold = (conn: Conn, table: string, rowId: string): void => {
    const key = `${table}\u0000${rowId}`;
    conn.holds.delete(key);
    const set = conn.app.holders.get(key);
    set?.delete(conn);
    if (set && set.size === 0) conn.app.holders.delete(key);
  };

  /** (Re)builds the connection's permission evaluator and what its read rules depend on. */
  const setPolicy = (conn: Conn): void => {
    const app = conn.app;
    conn.policy = new PolicyEvaluator(app.engine!, app.permissions, conn.session!);
    conn.deps = new Map();
    for (const table of Object.keys(app.schema!.tables)) {
      for (const dep of conn.policy.dependsOn(table)) {
        let set = conn.deps.get(dep);
        if (!set) conn.deps.set(dep, (set = new Set()));
        set.add(table);
      }
    }
  };

  /**
   * Rows of other tables changed: for connections whose read rules depend on them, drop held rows
   * that left the scope and rerun subscriptions on the affected tables (rows may have entered it).
   */
  const recheckDependents = (app: AppState, changed: Set<string>): void => {
    const engine = app.engine!;
    for (const conn of app.conns) {
      if (!conn.deps || conn.deps.size === 0) continue;
      const affected = new Set<string>();
      for (const t of changed) for (const x of conn.deps.get(t) ?? []) affected.add(x);
      if (affected.size === 0) continue;
      const gone: [string, string][] = [];
      for (const key of [...conn.holds]) {
        const [table, rowId] = key.split('\u0000') as [string, string];
        if (!affected.has(table)) continue;
        const state = engine.getVisibleState(engine.table(table), rowId);
        if (state && !conn.policy!.canRead(table, rowOf(rowId, state))) {
          unhold(conn, table, rowId);
          gone.push([table, rowId]);
        }
      }
      if (gone.length) conn.send({ t: 'drop', rows: gone });
      for (const [id, sub] of conn.subs) if (touches(sub.query, affected)) sub.restart?.(id);
    }
  };

  /** Write permissions for a user's batch: the first denied write, described, or undefined. */
  const checkWrites = (conn: Conn, engine: Engine, items: { table: string; version: import('../src/rows/version.ts').RowVersion }[]): string | undefined => {
    const policy = conn.policy!;
    for (const p of engine.previewVersions(items)) {
      if (p.known) continue;
      const before = p.before && !p.before.deleted ? rowOf(p.rowId, p.before) : undefined;
      const after = !p.after.deleted ? rowOf(p.rowId, p.after) : undefined;
      if (!p.before) {
        if (!policy.canInsert(p.table, rowOf(p.rowId, p.after))) return `${p.table}: insert denied (no allowInsert rule matches the new row ${p.rowId})`;
      } else if (before && !after) {
        if (!policy.canDelete(p.table, before)) return `${p.table}: delete denied (no allowDelete rule matches row ${p.rowId})`;
      } else if (!policy.canUpdate(p.table, rowOf(p.rowId, p.before), rowOf(p.rowId, p.after))) {
        return `${p.table}: update denied (no allowUpdate rule matches row ${p.rowId} before and after)`;
      }
    }
    return undefined;
  };

  /** Applies an accepted batch, forwards it to the rows' holders, acknowledges it once durable. */
  const applyBatch = (conn: Conn, engine: Engine, batchId: string, items: { table: string; version: import('../src/rows/version.ts').RowVersion }[]): void => {
    const app = conn.app;
    const { new: fresh, durable } = engine.applyVersions(items);
    // The pusher holds these rows from now on. A row it did not hold yet may have versions it
    // lacks (it wrote offline on top of an older state): send it the rest of the history.
    const catchUp: WireVersion[] = [];
    const pushedIds = new Set(items.map((i) => i.version.versionId));
    for (const { table, version } of items) {
      if (!hold(conn, table, version.rowId)) continue;
      for (const v of engine.rowVersions(table, version.rowId)) if (!pushedIds.has(v.versionId)) catchUp.push(toWire(engine, table, v));
    }
    sendVersions(conn, catchUp);
    // Forward the new versions to every other connection that holds their rows.
    const perConn = new Map<Conn, WireVersion[]>();
    const drops = new Map<Conn, [string, string][]>();
    for (const { table, version } of fresh) {
      const holders = app.holders.get(`${table}\u0000${version.rowId}`);
      if (!holders) continue;
      const state = engine.getVisibleState(engine.table(table), version.rowId)!;
      const row = rowOf(version.rowId, state);
      for (const other of [...holders]) {
        if (other === conn) continue;
        if (!other.policy!.canRead(table, row)) {
          // The row left this user's scope: tell them to forget it, and stop sending it.
          unhold(other, table, version.rowId);
          let d = drops.get(other);
          if (!d) drops.set(other, (d = []));
          d.push([table, version.rowId]);
          continue;
        }
        let list = perConn.get(other);
        if (!list) perConn.set(other, (list = []));
        list.push(toWire(engine, table, version));
      }
    }
    for (const [other, list] of perConn) sendVersions(other, list);
    for (const [other, rows] of drops) other.send({ t: 'drop', rows });
    if (fresh.length) recheckDependents(app, new Set(fresh.map((f) => f.table)));
    durable.then(
      () => conn.send({ t: 'ack', batchId: batchId, tier: 'global' }),
      (e) => {
        events.storageFailed(app.id, batchId, e);
        conn.send({ t: 'error', code: 'STORAGE', message: 'the server could not store a batch; it will be retried' });
      },
    );

  };

  /** Why a transaction cannot be accepted (something it read changed), or undefined. */
  const txnConflict = (conn: Conn, engine: Engine, reads: readonly (readonly [string, string, string])[], queries: readonly { query: QueryAst; ids: readonly string[] }[]): string | undefined => {
    for (const [table, rowId, digest] of reads) {
      if (!engine.tables.has(table)) return `unknown table ${table}`;
      if ((engine.rowDigest(table, rowId) ?? '') !== digest) return `${table} row ${rowId} changed since it was read`;
    }
    for (const { query, ids } of queries) {
      try {
        checkQuery(conn.app.schema!, query);
      } catch (e) {
        return `a query of the transaction is invalid: ${e instanceof Error ? e.message : String(e)}`;
      }
      const g = buildGraph(engine, query, { attach: false, onChange: () => {}, readFilter: (t) => conn.policy!.readFilter(t) });
      const now = g.view.all.map((r) => r.id);
      g.destroy();
      if (now.length !== ids.length || now.some((id, i) => id !== ids[i])) return `the result of a query on ${query.table} changed since it was read`;
    }
    return undefined;
  };

  type Items = { table: string; version: import('../src/rows/version.ts').RowVersion }[];

  /** The versions of a pushed batch or transaction, checked against the schema; rejects it if not. */
  const readBatch = (conn: Conn, engine: Engine, batchId: string, versions: readonly WireVersion[]): Items | undefined => {
    try {
      tooManyVersionsOfOneRow(versions);
      return versions.map((w) => {
        if (w.batchId !== batchId) throw new JazzError('BATCH_REJECTED', 'every version of a batch must carry its batch id');
        return fromWire(engine, w);
      });
    } catch (e) {
      reject(conn, batchId, e instanceof JazzError ? e.code : 'INVALID', e instanceof Error ? e.message : String(e));
      return undefined;
    }
  };

  /** Rejects the batch (and says true) if the user's permissions forbid one of its writes. */
  const deniedWrites = (conn: Conn, engine: Engine, batchId: string, items: Items): boolean => {
    if (conn.policy!.unrestricted) return false;
    const denied = checkWrites(conn, engine, items);
    if (denied) reject(conn, batchId, 'PERMISSION_DENIED', denied);
    return denied !== undefined;
  };

  const handle = async (conn: Conn, msg: ClientMessage): Promise<void> => {
    const app = conn.app;
    if (!conn.ready) {
      if (msg.t !== 'hello') return conn.fail(CloseCode.protocolError, 'PROTOCOL', 'the first message must be hello');
      if (msg.protocol !== PROTOCOL_VERSION) {
        return conn.fail(CloseCode.versionMismatch, 'PROTOCOL_MISMATCH', `this server speaks sync protocol ${PROTOCOL_VERSION}, the client ${msg.protocol}; update the client`);
      }
      if (!app.engine) {
        if (!opts.dev) return conn.fail(CloseCode.schemaMismatch, 'NO_SCHEMA', `app "${app.id}" has no schema on this server; publish one through the admin route or run the server with --dev`);
        let schema: AppSchema;
        try {
          schema = schemaFromJSON(JSON.parse(msg.schema));
        } catch (e) {
          return conn.fail(CloseCode.protocolError, 'SCHEMA_INVALID', e instanceof Error ? e.message : 'bad schema');
        }
        if (schemaHash(schema) !== msg.schemaHash) return conn.fail(CloseCode.protocolError, 'SCHEMA_INVALID', 'the schema does not match its hash');
        publishSchema(app, schema);
        logger.info({ event: 'schema-adopted', app: app.id, client: msg.clientId, schemaHash: app.hash }, `app "${app.id}" adopted the schema of a client (dev mode)`);
      }
      if (msg.schemaHash !== app.hash) {
        return conn.fail(CloseCode.schemaMismatch, 'SCHEMA_MISMATCH', `the client's schema (${msg.schemaHash}) differs from the app's (${app.hash}); migrations come with lenses`);
      }
      let session: Session;
      try {
        session = await authenticate(msg.auth, msg.clientId);
      } catch (e) {
        if (e instanceof AuthError) {
          events.signInFailed({ app: app.id, client: msg.clientId, code: e.code, reason: e.message, ...(conn.remote ? { remote: conn.remote } : {}) });
          return conn.fail(CloseCode.unauthorized, e.code, e.message);
        }
        throw e;
      }
      conn.clientId = msg.clientId;
      conn.session = session;
      setPolicy(conn);
      conn.ready = true;
      if (session.expiresAt !== undefined) {
        const ms = Math.max(0, session.expiresAt - Date.now());
        conn.expiry = setTimeout(() => conn.fail(CloseCode.unauthorized, 'TOKEN_EXPIRED', 'the token expired; refresh it (db.setAuth) to keep syncing'), Math.min(ms, 2 ** 31 - 1));
        conn.expiry.unref();
      }
      conn.send({ t: 'welcome', protocol: PROTOCOL_VERSION, serverId, role: session.role });
      events.connectionOpened({ ...who(conn), role: session.role, ...(conn.remote ? { remote: conn.remote } : {}) });
      return;
    }
    const engine = app.engine!;
    switch (msg.t) {
      case 'hello':
        return conn.fail(CloseCode.protocolError, 'PROTOCOL', 'hello was already said');
      case 'ping':
        return conn.send({ t: 'pong' });
      case 'sub': {
        conn.subs.get(msg.id)?.graph.destroy();
        if (!conn.subs.has(msg.id) && conn.subs.size >= maxSubs) {
          conn.send({ t: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', message: `subscription ${msg.id}: at most ${maxSubs} subscriptions per connection` });
          return;
        }
        try {
          checkQuery(app.schema!, msg.query);
        } catch (e) {
          conn.send({ t: 'error', code: e instanceof JazzError ? e.code : 'QUERY_INVALID', message: `subscription ${msg.id}: ${e instanceof Error ? e.message : String(e)}` });
          return;
        }
        const sub = { graph: undefined as unknown as Graph, query: msg.query, first: true, scheduled: false };
        const flush = () => {
          sub.scheduled = false;
          if (conn.subs.get(msg.id) !== sub) return;
          const view = sub.graph.view;
          const out: WireVersion[] = [];
          if (sub.first) {
            view.clearDelta();
            collect(conn, msg.query, view.all, out);
          } else {
            const d = view.takeDelta();
            collect(conn, msg.query, [...d.added, ...d.changed], out);
          }
          sendVersions(conn, out);
          if (sub.first) {
            sub.first = false;
            conn.send({ t: 'settled', id: msg.id, tier: 'global' });
          }
        };
        const build = () =>
          buildGraph(engine, msg.query, {
            attach: true,
            readFilter: (t) => conn.policy!.readFilter(t),
            onChange: () => {
              if (sub.scheduled) return;
              sub.scheduled = true;
              engine.schedule(flush);
            },
          });
        sub.graph = build();
        // Permissions depending on other rows changed: run the query again; rows the client lacks
        // are sent as at the start.
        (sub as { restart?: () => void }).restart = () => {
          sub.graph.destroy();
          sub.graph = build();
          sub.graph.view.clearDelta();
          const out: WireVersion[] = [];
          collect(conn, msg.query, sub.graph.view.all, out);
          sendVersions(conn, out);
        };
        conn.subs.set(msg.id, sub);
        // Rows the client already holds: keep them up to date from now on, and resend those whose
        // versions differ from ours (this is how a returning client learns what it missed).
        const stale: WireVersion[] = [];
        const gone: [string, string][] = [];
        for (const [table, rowId, digest] of msg.have) {
          if (!engine.tables.has(table)) continue;
          const state = engine.getVisibleState(engine.table(table), rowId);
          if (state && !conn.policy!.canRead(table, rowOf(rowId, state))) {
            gone.push([table, rowId]);
            continue;
          }
          hold(conn, table, rowId);
          const ours = state && digestOf(engine, table, rowId);
          if (ours !== undefined && ours !== digest) for (const v of engine.rowVersions(table, rowId)) stale.push(toWire(engine, table, v));
        }
        if (gone.length) conn.send({ t: 'drop', rows: gone });
        sendVersions(conn, stale);
        sub.scheduled = true;
        engine.schedule(flush);
        return;
      }
      case 'unsub': {
        conn.subs.get(msg.id)?.graph.destroy();
        conn.subs.delete(msg.id);
        return;
      }
      case 'txn': {
        const items = readBatch(conn, engine, msg.batchId, msg.versions);
        if (!items) return;
        // Sent again after a reconnect, and already applied: say so again.
        const applied = items.length > 0 && items.every(({ table, version }) => engine.rowVersions(table, version.rowId).some((v) => v.versionId === version.versionId));
        if (!applied) {
          const conflict = txnConflict(conn, engine, msg.reads, msg.queries);
          if (conflict) {
            reject(conn, msg.batchId, 'TRANSACTION_CONFLICT', conflict);
            return;
          }
          if (deniedWrites(conn, engine, msg.batchId, items)) return;
        }
        // Accepted: from here on it is an ordinary batch, applied and fanned out.
        return applyBatch(conn, engine, msg.batchId, items);
      }
      case 'push': {
        const items = readBatch(conn, engine, msg.batchId, msg.versions);
        if (!items || deniedWrites(conn, engine, msg.batchId, items)) return;
        return applyBatch(conn, engine, msg.batchId, items);
      }
    }
  };

  const stats = () => ({ apps: apps.size, connections: [...apps.values()].reduce((n, a) => n + a.conns.size, 0) });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 4000, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  const port = address.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `ws://${opts.host ?? '127.0.0.1'}:${port}`,
    stats,
    engineOf: (appId) => apps.get(appId)?.engine,
    publish: (appId, schema, permissions) => {
      if (!WHOLE_APP_ID.test(appId)) throw new JazzError('SCHEMA_INVALID', `an app id is 1 to 64 letters, digits, "_" or "-", got "${appId}"`);
      const app = appFor(appId);
      publishSchema(app, schema);
      if (permissions) setPermissions(app, permissions);
    },
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const app of apps.values()) for (const c of app.conns) c.ws.close(CloseCode.goingAway, 'server shutting down');
          setTimeout(() => {
            for (const app of apps.values()) for (const c of app.conns) c.ws.terminate();
            server.closeAllConnections();
          }, 500).unref();
        });
        wss.close();
        for (const app of apps.values()) await app.engine?.close();
        events.close();
      })()),
  };
}
