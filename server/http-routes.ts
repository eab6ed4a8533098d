/**
 * The sync server's HTTP routes (the WebSocket upgrade is in sync-server.ts):
 *
 *   GET  /health                          { ok: true, apps, connections }; 503 { ok: false, apps,
 *                                         connections, error, reason } when the store does not answer;
 *                                         an edge adds upstream: { url, reachable, reason? } (its
 *                                         upstream being away is not a 503: it keeps serving);
 *                                         503 { ok: false, draining: true, ... } while the server drains
 *   GET  /metrics                         Prometheus text (metrics.ts)
 *   GET  /apps/:appId/admin/schema        { hash, schema, versions, migrations } or 404 NO_SCHEMA
 *   POST /apps/:appId/admin/schema        publishes the schema (JSON form), or { schema, migrations }:
 *                                         { hash, versions }; a version connected by migrations
 *                                         becomes the current one, its clients reconnect
 *   GET  /apps/:appId/admin/permissions   the permissions, or 404 NO_PERMISSIONS
 *   POST /apps/:appId/admin/permissions   publishes permissions (for the app's schema hash)
 *   POST /admin/backup                    { to: folder }: a live copy of the file store (backup.ts):
 *                                         { to, files, bytes, ms }; 400 BACKUP_UNSUPPORTED on
 *                                         PostgreSQL or in memory, or when the folder is not empty
 *
 * Admin routes need `Authorization: Bearer <admin secret>` (401 otherwise, and a log record);
 * a bad body is 400 with `{ error: code, message }`; a publication is answered once the server
 * store keeps it, 503 `STORAGE_IO` when it cannot. Anything else goes to the embedder's
 * `onRequest`, then 404.
 */
import type * as http from 'node:http';
import { canonicalSchemaJSON, schemaFromJSON } from '../src/schema/schema.ts';
import { migrationFromJSON } from '../src/lens/migration.ts';
import type { Permissions } from '../src/policy/define.ts';
import { JazzError } from '../src/util/errors.ts';
import { APP_ID, type AppState } from './apps.ts';
import type { ServerContext } from './context.ts';
import { DRAINING_HEALTH } from './drain.ts';
import type { BackupReport } from './backup.ts';

const ADMIN_ROUTE = new RegExp(`^/apps/(${APP_ID})/admin/(schema|permissions)$`);
/** Admin request bodies: schemas and permissions are small. */
const MAX_BODY = 1_000_000;

export interface RouteHooks {
  readonly adminSecret: string | undefined;
  readonly stats: () => Record<string, number>;
  /** True while the server drains (drain.ts): /health answers 503. */
  readonly draining: () => boolean;
  /** New permissions are in force: rebuild the app's connections' evaluators. */
  readonly permissionsChanged: (app: AppState) => void;
  /** The app's engine was replaced (a new schema version): its connections reconnect. */
  readonly engineReplaced: (app: AppState) => void;
  readonly onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** A live backup of the store into a new folder (backup.ts); throws when the store has none. */
  readonly backup: (to: string) => BackupReport;
}

export function requestHandler(ctx: ServerContext, hooks: RouteHooks): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const logger = ctx.events.logger;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    /** Admin routes need the admin secret: false (answered 401, logged) without it. */
    const admitted = (app: string, route: string): boolean => {
      if (hooks.adminSecret && req.headers.authorization === `Bearer ${hooks.adminSecret}`) return true;
      ctx.events.adminRefused({ app, route: `${req.method} ${route}`, remote: req.socket.remoteAddress ?? '' });
      json(401, { error: 'UNAUTHORIZED', message: 'admin routes need Authorization: Bearer <admin secret>' });
      return false;
    };
    const fail = (e: unknown) => json(400, { error: e instanceof JazzError ? e.code : 'BAD_REQUEST', message: e instanceof Error ? e.message : String(e) });
    // A publication is answered once the store keeps it: 503 when it cannot (it is in force on
    // this server, and written with the app's next write; publishing it again is safe).
    const whenSaved = (app: AppState, ok: () => void) =>
      ctx.apps.saved(app).then(ok, (e: unknown) => {
        logger.error({ event: 'publication-not-stored', app: app.id, error: e instanceof Error ? e.message : String(e) }, `app "${app.id}": a publication could not be stored`);
        json(503, { error: e instanceof JazzError ? e.code : 'STORAGE_IO', message: `in force on this server but not stored yet: ${e instanceof Error ? e.message : String(e)}` });
      });
    if (req.method === 'GET' && url.pathname === '/health') {
      if (hooks.draining()) return json(503, { ...DRAINING_HEALTH, ...hooks.stats() });
      // An edge keeps serving while its upstream is away: that is said in the body, not the status.
      void Promise.all([
        ctx.apps.store.check().then(
          () => undefined,
          (e: unknown) => e,
        ),
        ctx.edge?.health(),
      ]).then(([failed, upstream]) => {
        const edge = upstream ? { upstream } : {};
        if (failed === undefined) return json(200, { ok: true, ...hooks.stats(), ...edge });
        json(503, { ok: false, ...hooks.stats(), ...edge, error: failed instanceof JazzError ? failed.code : 'STORAGE_IO', reason: failed instanceof Error ? failed.message : String(failed) });
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      void ctx.metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': ctx.metrics.contentType });
          res.end(text);
        },
        (e: unknown) => json(500, { error: 'INTERNAL', message: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    if (url.pathname === '/admin/backup') {
      if (!admitted('', 'backup')) return;
      if (req.method !== 'POST') return json(405, { error: 'METHOD_NOT_ALLOWED', message: 'POST /admin/backup with { "to": "<new folder>" }' });
      return readBody(req, (body) => {
        try {
          const { to } = JSON.parse(body) as { to?: unknown };
          if (typeof to !== 'string' || !to) throw new Error('the body must be { "to": "<new folder on the server>" }');
          const report = hooks.backup(to);
          logger.info({ event: 'backup', ...report }, `backup of ${report.files} files (${report.bytes} bytes) into ${report.to} in ${report.ms} ms`);
          json(200, report);
        } catch (e) {
          json(400, { error: (e as { code?: string }).code ?? 'BAD_REQUEST', message: e instanceof Error ? e.message : String(e) });
        }
      });
    }
    const admin = ADMIN_ROUTE.exec(url.pathname);
    if (admin) {
      if (!admitted(admin[1]!, admin[2]!)) return;
      const app = ctx.apps.get(admin[1]!);
      if (admin[2] === 'permissions') {
        if (req.method === 'GET') return app.permissions ? json(200, app.permissions) : json(404, { error: 'NO_PERMISSIONS' });
        if (req.method === 'POST') {
          return readBody(req, (body) => {
            try {
              ctx.apps.setPermissions(app, JSON.parse(body) as Permissions);
              hooks.permissionsChanged(app);
            } catch (e) {
              return fail(e);
            }
            whenSaved(app, () => {
              logger.info({ event: 'permissions-published', app: app.id, schemaHash: app.hash }, `permissions published for app "${app.id}"`);
              json(200, { ok: true });
            });
          });
        }
      } else {
        if (req.method === 'GET') {
          if (!app.schema) return json(404, { error: 'NO_SCHEMA' });
          const cat = app.engine!.catalogue.json;
          return json(200, { hash: app.hash, schema: JSON.parse(canonicalSchemaJSON(app.schema)), versions: Object.keys(cat.versions), migrations: cat.migrations });
        }
        if (req.method === 'POST') {
          return readBody(req, (body) => {
            try {
              // The schema (JSON form), or { schema, migrations: [...] }.
              const parsed = JSON.parse(body) as { schema?: unknown; migrations?: unknown };
              const wrapped = parsed && typeof parsed === 'object' && 'schema' in parsed && !('tables' in parsed);
              const migrations = wrapped && Array.isArray(parsed.migrations) ? parsed.migrations.map((m) => migrationFromJSON(m)) : [];
              if (ctx.apps.publishSchema(app, schemaFromJSON(wrapped ? parsed.schema : parsed), migrations)) hooks.engineReplaced(app);
            } catch (e) {
              return fail(e);
            } finally {
              ctx.apps.forget(app);
            }
            whenSaved(app, () => {
              logger.info({ event: 'schema-published', app: app.id, schemaHash: app.hash }, `schema published for app "${app.id}"`);
              json(200, { hash: app.hash, versions: Object.keys(app.engine!.catalogue.json.versions) });
            });
          });
        }
      }
    }
    if (hooks.onRequest?.(req, res)) return;
    json(404, { error: 'NOT_FOUND', message: 'routes: GET /health, GET /metrics, GET /apps/:appId/ws (WebSocket), /apps/:appId/admin/schema, /apps/:appId/admin/permissions, POST /admin/backup' });
  };
}

function readBody(req: http.IncomingMessage, done: (body: string) => void): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    body += c;
    if (body.length > MAX_BODY) req.destroy();
  });
  req.on('end', () => done(body));
}
