/**
 * The reference sync server: Node's http plus the `ws` WebSocket library, running
 * the same engine as the clients. This file wires its parts together; each has its own module:
 *
 *   apps.ts           the apps: engines, schemas, permissions
 *   server-store.ts   where apps are kept: files under the data folder, or memory
 *   pg-store.ts       ... or PostgreSQL (pg-log.ts: its tables), each node a materialization of it
 *   pg-follow.ts      several nodes on one PostgreSQL: each follows what the others log
 *   http-routes.ts    GET /health, GET /metrics and the admin routes
 *   metrics.ts        what GET /metrics reports (prom-client)
 *   connection.ts     one client's socket: session, rate limit, subscriptions, holdings
 *   handshake.ts      hello → welcome (protocol, schema, credentials)
 *   subscriptions.ts  live queries and the rows they send
 *   batches.ts        pushed batches and transactions: checked, applied or refused, fanned out
 *   holdings.ts       which connection holds which rows
 *   read-gate.ts      what a connection may receive: every version passes it
 *   edge.ts           a server with an upstream (an edge): its link to the authority
 *   drain.ts          graceful shutdown: answer what is being judged, send clients elsewhere
 *   backup.ts         a live copy of the file store (POST /admin/backup)
 *
 * - `GET /apps/:appId/ws` upgrades to the sync protocol. An app the server does not have is
 *   accepted and closed at once with 4404 and an `UNKNOWN_APP` error frame (a browser sees nothing
 *   of an HTTP status answered to an upgrade).
 * - A malformed or oversized frame closes that connection with an error code. A batch the server
 *   fails to apply is refused, a query it fails to run fails that subscription; any other message
 *   it fails to handle closes the connection with 4500. Nothing else is affected.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Engine } from '../src/engine/engine.ts';
import { schemaHash, type AppSchema } from '../src/schema/schema.ts';
import { CloseCode, DEFAULT_MAX_FRAME_BYTES, decodeClientMessage, encodeMessage, type ClientMessage } from '../src/sync/protocol.ts';
import { ProtocolError } from '../src/sync/codec.ts';
import type { Permissions } from '../src/policy/define.ts';
import type { Migration } from '../src/lens/migration.ts';
import { unreachable } from '../src/util/assert.ts';
import { createLogger, lineLogger, serverLog, type Logger } from './log.ts';
import { createAuthenticator, type AuthOptions } from './auth.ts';
import { APP_ID, Apps, type AppState } from './apps.ts';
import { Conn, closeReason } from './connection.ts';
import type { ServerContext } from './context.ts';
import { requestHandler } from './http-routes.ts';
import { handleHello } from './handshake.ts';
import { handleSub, handleUnsub, stopAll } from './subscriptions.ts';
import { applyRemote, handlePush, handleTxn, reject } from './batches.ts';
import { Edge } from './edge.ts';
import { followOtherNodes } from './pg-follow.ts';
import { collectFiles, sweepFiles } from './files.ts';
import { releaseAll } from './holdings.ts';
import { handleChunk, handleUnwatch, handleWatch, unwatchAll } from './live-streams.ts';
import { LocalServerStore, type ServerStore } from './server-store.ts';
import { PgServerStore } from './pg-store.ts';
import { ServerMetrics } from './metrics.ts';
import { drainConnections } from './drain.ts';
import { BackupError, backupDataDir, type BackupReport } from './backup.ts';

export interface SyncServerOptions {
  readonly port?: number;
  readonly host?: string;
  /** Folder for the apps' databases; absent with `inMemory` or `postgres`. */
  readonly dataDir?: string;
  readonly inMemory?: boolean;
  /**
   * Keep everything in the PostgreSQL database at this URL (postgres://user:password@host:5432/db)
   * instead: the apps' registry and every accepted batch (pg-store.ts). Excludes `dataDir` and
   * `inMemory`. An unreachable database fails the start with a message naming host:port.
   */
  readonly postgres?: string;
  /** Development mode: anonymous clients, a client's schema is adopted, everything allowed. */
  readonly dev?: boolean;
  /**
   * Makes this server an edge of the server at this address (`ws://host:port`): it keeps a store
   * of its own, acknowledges `edge` once a batch is stored, forwards batches and subscriptions
   * upstream as a `peer` (signed in with `auth.backendSecret`, which the upstream must share) and
   * relays `global` when the upstream has them (edge.ts). Absent: this server is the authority.
   */
  readonly upstream?: string;
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
   * A file no row references is collected once nothing of it was written for this long (default
   * 24 h; checked at start and every half of it, at most hourly): uploads whose row never came
   * (server/files.ts `sweepFiles`). Not on an edge.
   */
  readonly fileGraceMs?: number;
  /**
   * Other HTTP routes (a static site, a sign-in endpoint): called for every request the server has
   * no route of its own for; answer it and return true, or return false for the server's 404.
   */
  readonly onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface SyncServer {
  readonly port: number;
  readonly url: string;
  /**
   * Graceful shutdown (drain.ts): /health says 503 draining and upgrades are refused, messages
   * already received are handled and answered, every socket is closed with 1001 (clients reconnect,
   * elsewhere behind a proxy), then the listener closes and the databases are flushed and closed.
   * `timeoutMs` (default 10 s) bounds the wait for messages being handled. Called again, it returns
   * the same promise.
   */
  drain(opts?: { readonly timeoutMs?: number }): Promise<void>;
  /** The same as `drain()`. */
  close(): Promise<void>;
  /** True once a drain began. */
  readonly draining: boolean;
  /**
   * A live backup of the file store into the new folder `to` (backup.ts): a data folder to start a
   * server on. Throws `BackupError` on PostgreSQL (use pg_dump) or in memory.
   */
  backup(to: string): BackupReport;
  /** The apps the store keeps: their schema hash, and whether they have published permissions. */
  storedApps(): { id: string; hash: string; readable: boolean; publishedPermissions: boolean }[];
  /** Counts for tests and /health. */
  stats(): { apps: number; connections: number };
  /** The engine of an app, once it has a schema (for tests and embedding); opens a stored app not open yet. */
  engineOf(appId: string): Engine | undefined;
  /**
   * Publishes an app's schema (and its permissions) from the embedding code, as the admin routes do:
   * the same schema again is a no-op; another one becomes the app's current version when
   * `migrations` (or those the app has) connect it, else `MIGRATION_INVALID`. The app's clients
   * reconnect, each still served in its own version. In force at once; the promise resolves when
   * the store keeps it (at once on files; after the write with PostgreSQL), or rejects if it cannot.
   */
  publish(appId: string, schema: AppSchema, permissions?: Permissions, migrations?: readonly Migration[]): Promise<void>;
}

const WS_ROUTE = new RegExp(`^/apps/(${APP_ID})/ws$`);

/** The store the options ask for: PostgreSQL, files, or memory; exactly one. */
function serverStore(opts: SyncServerOptions, logger: Logger): ServerStore {
  if (opts.postgres !== undefined) {
    if (opts.dataDir !== undefined || opts.inMemory) throw new Error('postgres excludes dataDir and inMemory (--postgres, --data, --in-memory): keep the data in one place');
    return new PgServerStore(opts.postgres, logger);
  }
  if (!opts.inMemory && !opts.dataDir) throw new Error('give a data folder (--data), --in-memory or --postgres');
  return new LocalServerStore(opts.inMemory ? undefined : opts.dataDir);
}

export async function startSyncServer(opts: SyncServerOptions = {}): Promise<SyncServer> {
  const events = serverLog(opts.logger ?? (opts.log ? lineLogger(opts.log) : createLogger()));
  const serverId = randomUUID();
  const store = serverStore(opts, events.logger);
  const ctx: ServerContext = {
    serverId,
    dev: opts.dev ?? false,
    apps: new Apps({
      store,
      ...(opts.permissions ? { permissions: opts.permissions } : {}),
      serverId,
      logger: events.logger,
      edge: opts.upstream !== undefined,
      collectFiles: (app, ids) => void collectFiles(ctx, app, ids),
    }),
    events,
    metrics: new ServerMetrics({ stats: () => stats(), storeBytes: () => store.size() }),
    authenticate: createAuthenticator({ ...(opts.auth ?? {}), dev: opts.dev ?? false }),
    maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxSubscriptions: opts.maxSubscriptions ?? 1000,
    maxHeldRows: opts.maxHeldRows ?? 1_000_000,
    maxMessagesPerSecond: opts.maxMessagesPerSecond ?? 1000,
    engineReplaced: (app, except) => {
      for (const c of app.conns) if (c !== except) c.ws.close(1012, 'the app changed: reconnect');
      if (app.engine) ctx.edge?.link(app);
    },
  };
  if (opts.upstream !== undefined) {
    const secret = opts.auth?.backendSecret;
    if (secret === undefined) throw new Error('an edge (upstream) signs in upstream with the backend secret: give the one the upstream has (--backend-secret)');
    ctx.edge = new Edge(
      { url: opts.upstream, secret },
      {
        applyRemote: (app, engine, items) => applyRemote(ctx, app, engine, items, []),
        reject: (conn, batchId, code, reason) => reject(ctx, conn, batchId, code, reason),
        decided: (appId, batchId) => store.relayDone(appId, batchId),
      },
    );
  }
  const { apps } = ctx;
  // Open connections: a socket whose client said goodbye is not counted while its TCP connection
  // winds down (a page frozen in the back/forward cache may never finish that part).
  const stats = () => ({ apps: apps.size, connections: [...apps.values()].reduce((n, a) => n + [...a.conns].filter((c) => c.ws.readyState === c.ws.OPEN).length, 0) });
  const permissionsChanged = (app: AppState) => {
    for (const c of app.conns) if (c.session) c.setPolicy();
  };

  let draining = false;
  const backup = (to: string): BackupReport => {
    if (opts.postgres !== undefined) throw new BackupError('the data is in PostgreSQL: back it up with pg_dump (docs/operations.md)');
    if (opts.inMemory || opts.dataDir === undefined) throw new BackupError('this server keeps its data in memory: there is nothing to back up');
    return backupDataDir(opts.dataDir, to);
  };
  const server = http.createServer(
    requestHandler(ctx, {
      adminSecret: opts.adminSecret,
      stats,
      draining: () => draining,
      backup,
      permissionsChanged,
      engineReplaced: (app) => ctx.engineReplaced(app),
      ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    }),
  );
  const wss = new WebSocketServer({ noServer: true, maxPayload: ctx.maxFrameBytes, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = WS_ROUTE.exec(url.pathname);
    const origin = req.headers.origin;
    if (!m) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    if (draining) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n');
      return;
    }
    if (opts.allowedOrigins && origin !== undefined && !opts.allowedOrigins.includes(origin)) {
      events.logger.debug({ event: 'upgrade-refused', app: m[1], status: 403, origin }, 'WebSocket refused: origin not allowed');
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    // Outside development mode only apps with a published schema exist: no state for made-up ids.
    const app = apps.get(m[1]!);
    if (!ctx.dev && !app.engine) {
      apps.forget(app);
      events.logger.debug({ event: 'upgrade-refused', app: app.id, status: 4404 }, 'WebSocket refused: the app has no published schema');
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
    const conn = new Conn(ws, app, ctx.maxMessagesPerSecond);
    conn.remote = remote;
    app.conns.add(conn);
    const helloTimer = setTimeout(() => {
      if (!conn.ready) conn.fail(CloseCode.protocolError, 'PROTOCOL', 'no hello within 10 s');
    }, 10_000);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // Not handled, not answered: the client pushes it again wherever it reconnects (drain.ts).
      if (draining) return;
      // A peer (an edge relaying its clients' messages) is trusted with the backend secret: not limited.
      if (conn.session?.role !== 'peer' && !conn.takeToken()) return conn.fail(CloseCode.rateLimited, 'RATE_LIMITED', `more than ${ctx.maxMessagesPerSecond} messages a second`);
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
          events.messageFailed({ ...conn.who, type: msg.t }, e);
          conn.fail(CloseCode.serverError, 'SERVER', 'the server failed to handle a message');
        });
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => {
      const cause = conn.closedWith?.cause ?? (code === 1009 ? `FRAME_TOO_LARGE (over ${ctx.maxFrameBytes} bytes)` : undefined);
      events.connectionClosed({ ...conn.who, code: conn.closedWith?.code ?? code, ...(cause ? { cause } : {}), seconds: Math.round((Date.now() - conn.since) / 100) / 10 });
      clearTimeout(helloTimer);
      if (conn.expiry) clearTimeout(conn.expiry);
      stopAll(conn);
      releaseAll(conn);
      unwatchAll(conn);
      conn.app.conns.delete(conn);
      apps.forget(conn.app);
    });
  };

  const handle = async (conn: Conn, msg: ClientMessage): Promise<void> => {
    if (!conn.ready) {
      if (msg.t !== 'hello') return conn.fail(CloseCode.protocolError, 'PROTOCOL', 'the first message must be hello');
      return handleHello(ctx, conn, msg);
    }
    switch (msg.t) {
      case 'hello':
        return conn.fail(CloseCode.protocolError, 'PROTOCOL', 'hello was already said');
      case 'ping':
        return conn.send({ t: 'pong' });
      case 'sub':
        try {
          return handleSub(ctx, conn, msg);
        } catch (e) {
          // A query the server fails to run is that subscription's failure, not the connection's.
          events.messageFailed({ ...conn.who, type: msg.t }, e);
          handleUnsub(conn, msg.id);
          return conn.send({ t: 'error', code: 'INTERNAL', message: `subscription ${msg.id}: the server failed to run this query (${e instanceof Error ? e.message : String(e)})`, sub: msg.id });
        }
      case 'unsub':
        return handleUnsub(conn, msg.id);
      case 'push':
        return handlePush(ctx, conn, msg);
      case 'txn':
        return handleTxn(ctx, conn, msg);
      case 'watch':
        return handleWatch(conn, msg.file);
      case 'unwatch':
        return handleUnwatch(conn, msg.file);
      case 'chunk':
        return handleChunk(conn, msg);
      default:
        return unreachable(msg);
    }
  };

  await apps.open();
  if (store instanceof PgServerStore) await followOtherNodes(ctx, store, permissionsChanged);
  // Batches acknowledged at `edge` before a stop or crash go upstream without waiting for a client.
  if (ctx.edge) {
    for (const id of apps.store.appIds()) {
      const app = apps.get(id);
      if (!app.engine) continue;
      await store.requeue(id, app.engine);
      ctx.edge.link(app);
    }
  }
  // Uploads no row ever referenced (server/files.ts): at start, then periodically.
  const graceMs = opts.fileGraceMs ?? 24 * 3600_000;
  const sweep = () => {
    for (const app of apps.values()) void sweepFiles(ctx, app, graceMs);
  };
  const sweeper = ctx.edge ? undefined : setInterval(sweep, Math.min(Math.max(graceMs / 2, 100), 3600_000));
  sweeper?.unref();
  if (!ctx.edge) sweep();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 4000, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (e) {
    clearInterval(sweeper);
    ctx.edge?.close();
    await apps.closeAll();
    throw e;
  }
  const port = (server.address() as { port: number }).port;

  let closing: Promise<void> | undefined;
  const drain = (o?: { readonly timeoutMs?: number }): Promise<void> =>
    (closing ??= (async () => {
      draining = true;
      clearInterval(sweeper);
      const conns = [...apps.values()].flatMap((a) => [...a.conns]);
      events.logger.info({ event: 'server-draining', connections: conns.length }, `draining ${conns.length} connections`);
      const report = await drainConnections(conns, o?.timeoutMs);
      events.logger.info({ event: 'server-drained', ...report }, `drained ${report.connections} connections in ${report.ms} ms (${report.cut} cut)`);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      wss.close();
      ctx.edge?.close();
      await apps.closeAll();
      events.close();
    })());
  return {
    port,
    url: `ws://${opts.host ?? '127.0.0.1'}:${port}`,
    stats,
    storedApps: () =>
      apps.store.appIds().map((id) => {
        const stored = apps.store.app(id)!;
        return { id, hash: schemaHash(stored.schema), readable: true, publishedPermissions: stored.permissions !== undefined };
      }),
    // An app the store keeps is opened here if no client opened it yet (files open apps lazily).
    engineOf: (appId) => apps.peek(appId)?.engine ?? (apps.store.appIds().includes(appId) ? apps.get(appId).engine : undefined),
    publish: (appId, schema, permissions, migrations) => {
      const app = apps.get(appId);
      try {
        if (apps.publishSchema(app, schema, migrations)) ctx.engineReplaced(app);
      } finally {
        apps.forget(app);
      }
      if (permissions) {
        apps.setPermissions(app, permissions);
        permissionsChanged(app);
      }
      return apps.saved(app);
    },
    get draining() {
      return draining;
    },
    drain,
    backup,
    close: () => drain(),
  };
}
