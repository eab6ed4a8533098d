/**
 * The apps a sync server serves, each with its engine, schema, permissions and connections.
 *
 * - Where an app's data, schema and permissions are kept is the server store's business
 *   (server-store.ts: files under the data folder, memory, or PostgreSQL). An app exists once it
 *   has a schema: published through the admin route or `publish()`, found in the store (kept at
 *   publication), or adopted from a client in development mode.
 * - Permissions come from the server's options when written for the app's schema hash, else from
 *   the published ones the store keeps. Once the server has permissions of its own, an app without
 *   matching ones denies everything to users (deny by default).
 * - An id that never got a schema is not kept once its last connection is gone (`forget`), so
 *   made-up ids cost nothing.
 * - Schema versions: an app has a current version (the last published) and every older one its
 *   migrations connect (kept in the engine's catalogue with the migrations, see
 *   src/schema/catalogue.ts). Publishing another version, or migrations, opens a new engine on the
 *   same engine store (the old one is released, not closed), so the data stays where it is; the
 *   caller then closes the app's connections, which reconnect to the new engine. Clients of any
 *   known version are served in their own version's shape (their connection's view).
 * - Publications change the app at once and are handed to the store; a caller that answers for
 *   them (the admin routes) waits for `saved(app)`, which fails if the store could not keep them.
 * - `exclusive(app, fn)`: with a store that logs batches (PostgreSQL), the handling of an app's
 *   batches runs one at a time: checked, made durable, then applied, so the next one is checked
 *   against a state that includes it (batches.ts).
 */
import { installFileHooks, type FileHooks } from '../src/files/files.ts';
import { Engine } from '../src/engine/engine.ts';
import { schemaHash, type AppSchema } from '../src/schema/schema.ts';
import { VersionGraph } from '../src/schema/versions.ts';
import type { Migration } from '../src/lens/migration.ts';
import { checkPermissions, type Permissions } from '../src/policy/define.ts';
import { JazzError } from '../src/util/errors.ts';
import type { Logger } from './log.ts';
import type { ServerStore } from './server-store.ts';
import type { Conn } from './connection.ts';

/** What an app id may be (it names files in the data folder and appears in URLs). */
export const APP_ID = '[A-Za-z0-9_-]{1,64}';
const WHOLE_APP_ID = new RegExp(`^${APP_ID}$`);

export class AppState {
  readonly id: string;
  engine: Engine | undefined;
  schema: AppSchema | undefined;
  hash: string | undefined;
  permissions: Permissions | undefined;
  /** Rules were in force once: the app never goes back to none (in-memory servers keep no file of them). */
  hadPermissions = false;
  readonly conns = new Set<Conn>();
  /** Which connections hold which rows (see holdings.ts). */
  readonly holders = new Map<string, Set<Conn>>();
  /** Collects unreferenced files and purges deleted files' parts on the current engine (files.ts). */
  fileHooks: FileHooks | undefined;
  /** The end of the chain of this app's exclusive work (`Apps.exclusive`). */
  exclusiveTail: Promise<void> = Promise.resolve();

  constructor(id: string) {
    this.id = id;
  }
}

export interface AppsOptions {
  /** Where the apps are kept (server-store.ts). */
  readonly store: ServerStore;
  /** The server's own permissions (applied to apps whose schema they were written for). */
  readonly permissions?: Permissions;
  readonly serverId: string;
  readonly logger: Logger;
  /** An edge server (edge.ts): the authority collects unreferenced files, not the edge. */
  readonly edge?: boolean;
  /** Collects files no live row references any more, as the server's own write (files.ts `collectFiles`). */
  readonly collectFiles?: (app: AppState, fileIds: string[]) => void;
}

export class Apps {
  readonly #opts: AppsOptions;
  readonly #apps = new Map<string, AppState>();

  constructor(opts: AppsOptions) {
    this.#opts = opts;
  }

  get store(): ServerStore {
    return this.#opts.store;
  }

  /** Opens the store; with one that materializes its apps (PostgreSQL), every stored app's engine too, its log replayed. */
  async open(): Promise<void> {
    const store = this.#opts.store;
    await store.open();
    if (!store.logsBatches) return;
    for (const id of store.appIds()) {
      const app = this.get(id);
      // Exclusive: a collection its replay proposes waits for the whole log (files.ts).
      if (app.engine) await this.exclusive(app, () => store.replay(id, app.engine!));
    }
  }

  /**
   * Runs `fn` after every earlier exclusive work of the app has ended, and before any later one
   * starts: one batch at a time per app, when batches are made durable away from the engine.
   */
  exclusive(app: AppState, fn: () => void | Promise<void>): Promise<void> {
    const run = app.exclusiveTail.then(fn);
    app.exclusiveTail = run.catch(() => {});
    return run;
  }

  /** Resolves when the app's publications are kept by the store (rejects if one could not be). */
  saved(app: AppState): Promise<void> {
    return this.#opts.store.saved(app.id);
  }

  get size(): number {
    return this.#apps.size;
  }

  values(): IterableIterator<AppState> {
    return this.#apps.values();
  }

  /** The app with this id, if the server knows it (it may have no schema yet). */
  peek(appId: string): AppState | undefined {
    return this.#apps.get(appId);
  }

  /** The app with this id, opening its engine on what the store keeps the first time. */
  get(appId: string): AppState {
    let app = this.#apps.get(appId);
    if (!app) {
      // The id names files in the data folder: nothing but the characters of APP_ID.
      if (!WHOLE_APP_ID.test(appId)) throw new JazzError('SCHEMA_INVALID', `an app id is 1 to 64 letters, digits, "_" or "-", got "${appId}"`);
      app = new AppState(appId);
      this.#apps.set(appId, app);
      const stored = this.#opts.store.app(appId);
      if (stored) this.#ensureEngine(app, stored.schema);
    }
    return app;
  }

  /** An app that never got a schema and has no connections is not kept. */
  forget(app: AppState): void {
    if (!app.engine && app.conns.size === 0) this.#apps.delete(app.id);
  }

  /**
   * Makes `schema` the app's current version, with `migrations` connecting it to the versions the
   * app has (or adds migrations to the current one). Returns whether the app's engine changed (its
   * connections must then reconnect); nothing changes when the schema and migrations are known
   * already. A version with no path from the app's is `MIGRATION_INVALID`, and changes nothing.
   */
  publishSchema(app: AppState, schema: AppSchema, migrations: readonly Migration[] = []): boolean {
    const hash = schemaHash(schema);
    if (app.engine) {
      const known = app.engine.catalogue.json.migrations;
      const fresh = migrations.filter((m) => !known.some((k) => k.from === m.from && k.to === m.to));
      if (hash === app.hash && fresh.length === 0) return false;
      this.#reopen(app, schema, fresh);
    } else this.#ensureEngine(app, schema, migrations);
    this.#opts.store.saveSchema(app.id, schema, app.engine!);
    return true;
  }

  /**
   * A client brought a version the app does not know, with migrations (development mode): the app
   * takes it as its current version when it follows the current one along the migrations, else it
   * only learns it. Returns whether the engine changed; `MIGRATION_INVALID` when no path connects it.
   */
  adopt(app: AppState, schema: AppSchema, migrations: readonly Migration[]): boolean {
    const graph = new VersionGraph();
    for (const m of [...app.engine!.catalogue.json.migrations, ...migrations]) graph.addMigration(m);
    const hash = graph.addSchema(schema);
    graph.addSchema(app.schema!);
    if (!graph.path(app.hash!, hash)) {
      throw new JazzError('MIGRATION_INVALID', `schema version ${hash} has no migrations connecting it to app "${app.id}"'s ${app.hash}`, { version: hash });
    }
    return this.publishSchema(app, graph.newer(app.hash!, hash) ? schema : app.schema!, migrations);
  }

  /** Replaces the app's permissions (checked against its schema) and hands them to the store. */
  setPermissions(app: AppState, p: Permissions): void {
    if (!app.schema) throw new JazzError('SCHEMA_INVALID', 'publish the schema before its permissions');
    checkPermissions(app.schema, p);
    if (p.schemaHash !== app.hash) throw new JazzError('SCHEMA_INVALID', `these permissions are for schema ${p.schemaHash}, the app has ${app.hash}`);
    app.permissions = p;
    app.hadPermissions = true;
    this.#opts.store.savePermissions(app.id, p);
  }

  /**
   * Another node changed the app in the store (PostgreSQL): this node takes it as stored now. A new
   * app is opened (its batches come by catch-up); a new schema gets a new engine on the same data
   * (`reopen` makes it: the stored catalogue, so the numbers agree); new permissions are loaded.
   * Says what the caller must pass on (connections to reconnect, policies to rebuild).
   */
  refresh(appId: string, change: 'new' | 'schema' | 'permissions', reopen: (app: AppState) => Engine): { app: AppState; engineChanged: boolean; permissionsChanged: boolean } | undefined {
    const stored = this.#opts.store.app(appId);
    if (!stored) return undefined;
    const app = this.get(appId);
    if (!app.engine) {
      this.#ensureEngine(app, stored.schema);
      return { app, engineChanged: false, permissionsChanged: false };
    }
    if (change === 'new') return { app, engineChanged: false, permissionsChanged: false };
    if (change === 'schema') {
      const old = app.engine!;
      const engine = reopen(app);
      old.release();
      app.fileHooks?.stop();
      app.engine = engine;
      app.fileHooks = this.#fileHooks(app, engine);
      app.schema = stored.schema;
      app.hash = schemaHash(stored.schema);
      this.#loadPermissions(app);
      return { app, engineChanged: true, permissionsChanged: true };
    }
    this.#loadPermissions(app);
    return { app, engineChanged: false, permissionsChanged: true };
  }

  /** Closes every engine, then the store. */
  async closeAll(): Promise<void> {
    for (const app of this.#apps.values()) await app.engine?.close();
    await this.#opts.store.close();
  }

  /** A new engine on the app's store, for another current version or more migrations. */
  #reopen(app: AppState, schema: AppSchema, migrations: readonly Migration[]): void {
    const old = app.engine!;
    const engine = Engine.open({ schema, migrations, store: old.store, author: `server:${this.#opts.serverId}` });
    old.release();
    app.fileHooks?.stop();
    app.engine = engine;
    app.fileHooks = this.#fileHooks(app, engine);
    const changed = schemaHash(schema) !== app.hash;
    app.schema = schema;
    app.hash = schemaHash(schema);
    if (changed) this.#loadPermissions(app);
  }

  /**
   * On the app's engine: the parts of deleted files are purged, and (on the authority) files no
   * live row references any more are collected (server/files.ts, on every store).
   */
  #fileHooks(app: AppState, engine: Engine): FileHooks {
    const collect = this.#opts.collectFiles;
    // An edge purges the parts of files deleted upstream; the authority decides what to collect.
    if (this.#opts.edge || !collect) return installFileHooks(engine);
    return installFileHooks(engine, (ids) => {
      if (!engine.closed && app.engine === engine) collect(app, ids);
    });
  }

  #ensureEngine(app: AppState, schema: AppSchema, migrations: readonly Migration[] = []): void {
    if (app.engine) return;
    app.schema = schema;
    app.hash = schemaHash(schema);
    app.engine = this.#opts.store.openEngine(app.id, schema, migrations, `server:${this.#opts.serverId}`);
    app.fileHooks = this.#fileHooks(app, app.engine);
    this.#loadPermissions(app);
  }

  /** The permissions written for the app's current version: the server's, else the published ones, else (once the server has any) none allowed. */
  #loadPermissions(app: AppState): void {
    const opts = this.#opts;
    const schema = app.schema!;
    app.permissions = undefined;
    if (opts.permissions) {
      if (opts.permissions.schemaHash === app.hash) app.permissions = opts.permissions;
      else {
        opts.logger.warn(
          { event: 'permissions-not-applied', app: app.id, schemaHash: app.hash, permissionsFor: opts.permissions.schemaHash },
          `the permissions were written for schema ${opts.permissions.schemaHash}, app "${app.id}" has ${app.hash}; not applied (everything is denied to users until matching permissions are published)`,
        );
      }
    }
    const p = opts.store.app(app.id)?.permissions;
    const published = p !== undefined;
    // Published for an earlier version: not in force for this one (publish them again).
    if (p && p.schemaHash === app.hash) {
      checkPermissions(schema, p);
      app.permissions = p;
    }
    // An app that had rules never runs without them: until rules for this version are published,
    // users may do nothing.
    if ((opts.permissions || published || app.hadPermissions) && !app.permissions) app.permissions = { schemaHash: app.hash!, tables: {} };
    if (app.permissions) app.hadPermissions = true;
  }
}
