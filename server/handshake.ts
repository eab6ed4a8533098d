/**
 * A connection's first message, `hello`: the protocol version, the app's schema, the credentials.
 *
 * - Another protocol version closes with 4426 (`PROTOCOL_MISMATCH`), a schema version the app does
 *   not know with 4409 (`SCHEMA_MISMATCH`, saying whether the server needs the version published or
 *   the app an update), bad credentials with 4401; each after an `error` frame that says what to
 *   do. In development mode an app without a schema adopts the client's, and a version it does not
 *   know is adopted when the client's migrations connect it (apps.ts).
 * - Any version the app knows is served: the connection's view (its schema version) translates
 *   everything the client sends and receives.
 * - Accepted: the session is set, its permission evaluator built, and `welcome` tells the client
 *   its role and the largest frame the server takes. A session with an expiring token is closed
 *   with 4401 (`TOKEN_EXPIRED`) when it expires.
 */
import { CloseCode, PROTOCOL_VERSION, type ClientMessage } from '../src/sync/protocol.ts';
import { schemaFromJSON, schemaHash, type AppSchema } from '../src/schema/schema.ts';
import { VersionGraph } from '../src/schema/versions.ts';
import { migrationFromJSON, type Migration } from '../src/lens/migration.ts';
import { JazzError } from '../src/util/errors.ts';
import { AuthError, type Session } from './auth.ts';
import type { Conn } from './connection.ts';
import type { ServerContext } from './context.ts';

type Hello = Extract<ClientMessage, { t: 'hello' }>;

export async function handleHello(ctx: ServerContext, conn: Conn, msg: Hello): Promise<void> {
  const app = conn.app;
  if (msg.protocol !== PROTOCOL_VERSION) {
    return conn.fail(CloseCode.versionMismatch, 'PROTOCOL_MISMATCH', `this server speaks sync protocol ${PROTOCOL_VERSION}, the client ${msg.protocol}; update the client`);
  }
  if (!app.engine?.catalogue.knows(msg.schemaHash)) {
    if (!ctx.dev) {
      if (!app.engine) return conn.fail(CloseCode.schemaMismatch, 'NO_SCHEMA', `app "${app.id}" has no schema on this server; publish one through the admin route or run the server with --dev`);
      const newer = clientIsNewer(app.engine.catalogue.json.migrations, msg);
      return conn.fail(
        CloseCode.schemaMismatch,
        'SCHEMA_MISMATCH',
        newer
          ? `this server does not have schema version ${msg.schemaHash} of app "${app.id}" yet (it has ${app.hash}); publish it with its migrations (npx jazz-elements publish)`
          : `schema version ${msg.schemaHash} is not one of app "${app.id}"'s (its current is ${app.hash}); this app needs an update`,
      );
    }
    // Development mode: the first client's schema makes the app; a later client's version is
    // adopted when its migrations connect it (the app moves on to it when it is newer).
    let schema: AppSchema;
    let migrations: Migration[];
    try {
      schema = schemaFromJSON(JSON.parse(msg.schema));
      if (schemaHash(schema) !== msg.schemaHash) throw new Error('the schema does not match its hash');
      migrations = parseMigrations(msg.migrations);
    } catch (e) {
      return conn.fail(CloseCode.protocolError, 'SCHEMA_INVALID', e instanceof Error ? e.message : 'bad schema');
    }
    try {
      const changed = app.engine ? ctx.apps.adopt(app, schema, migrations) : ctx.apps.publishSchema(app, schema, migrations);
      if (changed && app.conns.size > 1) ctx.engineReplaced(app, conn);
    } catch (e) {
      if (!(e instanceof JazzError)) throw e;
      return conn.fail(CloseCode.schemaMismatch, 'SCHEMA_MISMATCH', `app "${app.id}" cannot take schema version ${msg.schemaHash}: ${e.message}`);
    }
    ctx.events.logger.info(
      { event: 'schema-adopted', app: app.id, client: msg.clientId, schemaHash: msg.schemaHash, current: app.hash },
      `app "${app.id}" adopted schema version ${msg.schemaHash} of a client (dev mode)`,
    );
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
  conn.view = app.engine!.view(msg.schemaHash);
  conn.setPolicy();
  conn.ready = true;
  if (session.expiresAt !== undefined) {
    const ms = Math.max(0, session.expiresAt - Date.now());
    conn.expiry = setTimeout(() => conn.fail(CloseCode.unauthorized, 'TOKEN_EXPIRED', 'the token expired; refresh it (db.setAuth) to keep syncing'), Math.min(ms, 2 ** 31 - 1));
    conn.expiry.unref();
  }
  conn.send({ t: 'welcome', protocol: PROTOCOL_VERSION, serverId: ctx.serverId, role: session.role, maxFrameBytes: ctx.maxFrameBytes, branches: true, streams: true });
  ctx.events.connectionOpened({ ...conn.who, role: session.role, ...(conn.remote ? { remote: conn.remote } : {}) });
}

/** The migrations a client sent (JSON, an array), checked; a draft or a bad one throws. */
function parseMigrations(text: string | undefined): Migration[] {
  if (!text) return [];
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error('migrations must be a JSON array');
  return list.map((m) => migrationFromJSON(m));
}

/** Whether the client's own migrations show its version after the server's (it needs publishing, not the app an update). */
function clientIsNewer(known: readonly Migration[], msg: Hello): boolean {
  try {
    const graph = new VersionGraph();
    for (const m of [...known, ...parseMigrations(msg.migrations)]) graph.addMigration(m);
    return [...graph.schemas.keys()].some((h) => h !== msg.schemaHash && graph.newer(h, msg.schemaHash));
  } catch {
    return false;
  }
}
