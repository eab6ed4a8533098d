/**
 * A connection's first message, `hello`: the protocol version, the app's schema, the credentials.
 *
 * - Another protocol version closes with 4426 (`PROTOCOL_MISMATCH`), a schema other than the app's
 *   with 4409 (`SCHEMA_MISMATCH`), bad credentials with 4401; each after an `error` frame that says
 *   what to do. In development mode an app without a schema adopts the client's.
 * - Accepted: the session is set, its permission evaluator built, and `welcome` tells the client
 *   its role and the largest frame the server takes. A session with an expiring token is closed
 *   with 4401 (`TOKEN_EXPIRED`) when it expires.
 */
import { CloseCode, PROTOCOL_VERSION, type ClientMessage } from '../src/sync/protocol.ts';
import { schemaFromJSON, schemaHash, type AppSchema } from '../src/schema/schema.ts';
import { AuthError, type Session } from './auth.ts';
import type { Conn } from './connection.ts';
import type { ServerContext } from './context.ts';

type Hello = Extract<ClientMessage, { t: 'hello' }>;

export async function handleHello(ctx: ServerContext, conn: Conn, msg: Hello): Promise<void> {
  const app = conn.app;
  if (msg.protocol !== PROTOCOL_VERSION) {
    return conn.fail(CloseCode.versionMismatch, 'PROTOCOL_MISMATCH', `this server speaks sync protocol ${PROTOCOL_VERSION}, the client ${msg.protocol}; update the client`);
  }
  if (!app.engine) {
    if (!ctx.dev) return conn.fail(CloseCode.schemaMismatch, 'NO_SCHEMA', `app "${app.id}" has no schema on this server; publish one through the admin route or run the server with --dev`);
    let schema: AppSchema;
    try {
      schema = schemaFromJSON(JSON.parse(msg.schema));
    } catch (e) {
      return conn.fail(CloseCode.protocolError, 'SCHEMA_INVALID', e instanceof Error ? e.message : 'bad schema');
    }
    if (schemaHash(schema) !== msg.schemaHash) return conn.fail(CloseCode.protocolError, 'SCHEMA_INVALID', 'the schema does not match its hash');
    ctx.apps.publishSchema(app, schema);
    ctx.events.logger.info({ event: 'schema-adopted', app: app.id, client: msg.clientId, schemaHash: app.hash }, `app "${app.id}" adopted the schema of a client (dev mode)`);
  }
  if (msg.schemaHash !== app.hash) {
    return conn.fail(CloseCode.schemaMismatch, 'SCHEMA_MISMATCH', `the client's schema (${msg.schemaHash}) differs from the app's (${app.hash}); this app needs an update (or the server a migration)`);
  }
  let session: Session;
  try {
    session = await ctx.authenticate(msg.auth, msg.clientId);
  } catch (e) {
    if (e instanceof AuthError) {
      ctx.events.signInFailed({ app: app.id, client: msg.clientId, code: e.code, reason: e.message, ...(conn.remote ? { remote: conn.remote } : {}) });
      return conn.fail(CloseCode.unauthorized, e.code, e.message);
    }
    throw e;
  }
  conn.clientId = msg.clientId;
  conn.session = session;
  conn.setPolicy();
  conn.ready = true;
  if (session.expiresAt !== undefined) {
    const ms = Math.max(0, session.expiresAt - Date.now());
    conn.expiry = setTimeout(() => conn.fail(CloseCode.unauthorized, 'TOKEN_EXPIRED', 'the token expired; refresh it (db.setAuth) to keep syncing'), Math.min(ms, 2 ** 31 - 1));
    conn.expiry.unref();
  }
  conn.send({ t: 'welcome', protocol: PROTOCOL_VERSION, serverId: ctx.serverId, role: session.role, maxFrameBytes: ctx.maxFrameBytes });
  ctx.events.connectionOpened({ ...conn.who, role: session.role, ...(conn.remote ? { remote: conn.remote } : {}) });
}
