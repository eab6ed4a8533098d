/**
 * The apps a sync server serves, each with its engine, schema, permissions and connections.
 *
 * - An app exists once it has a schema: published through the admin route or `publish()`, found in
 *   the data folder (`<appId>.schema.json`, written at publication), or adopted from a client in
 *   development mode. Its rows live in `<appId>.db` (or in memory with `inMemory`).
 * - Permissions come from the server's options when written for the app's schema hash, else from
 *   `<appId>.permissions.json` (written at publication). Once the server has permissions of its
 *   own, an app without matching ones denies everything to users (deny by default).
 * - An id that never got a schema is not kept once its last connection is gone (`forget`), so
 *   made-up ids cost nothing.
 * - Schema versions: an app has a current version (the last published, `<appId>.schema.json`) and
 *   every older one its migrations connect (kept in the app's store with the migrations, see
 *   src/schema/catalogue.ts). Publishing another version, or migrations, opens a new engine on the
 *   same store (the old one is released, not closed), so the data stays where it is; the caller
 *   then closes the app's connections, which reconnect to the new engine. Clients of any known
 *   version are served in their own version's shape (their connection's view).
 */
import { installServerFileHooks } from './files.ts';
import type { FileHooks } from '../src/files/files.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { KvStore } from '../src/store/types.ts';
import { canonicalSchemaJSON, schemaFromJSON, schemaHash, type AppSchema } from '../src/schema/schema.ts';
import { VersionGraph } from '../src/schema/versions.ts';
import type { Migration } from '../src/lens/migration.ts';
import { checkPermissions, type Permissions } from '../src/policy/define.ts';
import { JazzError } from '../src/util/errors.ts';
import { openFileStore } from './fs-store.ts';
import type { Logger } from './log.ts';
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

  constructor(id: string) {
    this.id = id;
  }
}

export interface AppsOptions {
  readonly dataDir?: string;
  readonly inMemory?: boolean;
  /** The server's own permissions (applied to apps whose schema they were written for). */
  readonly permissions?: Permissions;
  readonly serverId: string;
  readonly logger: Logger;
}

export class Apps {
  readonly #opts: AppsOptions;
  readonly #apps = new Map<string, AppState>();

  constructor(opts: AppsOptions) {
    if (!opts.inMemory && !opts.dataDir) throw new Error('give a data folder (--data) or --in-memory');
    this.#opts = opts;
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

  /** The app with this id, loading its schema from the data folder the first time. */
  get(appId: string): AppState {
    let app = this.#apps.get(appId);
    if (!app) {
      // The id names files in the data folder: nothing but the characters of APP_ID.
      if (!WHOLE_APP_ID.test(appId)) throw new JazzError('SCHEMA_INVALID', `an app id is 1 to 64 letters, digits, "_" or "-", got "${appId}"`);
      app = new AppState(appId);
      this.#apps.set(appId, app);
      if (!this.#opts.inMemory) {
        try {
          const text = fs.readFileSync(path.join(this.#opts.dataDir!, `${appId}.schema.json`), 'utf8');
          this.#ensureEngine(app, schemaFromJSON(JSON.parse(text)));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
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
    if (!this.#opts.inMemory) {
      fs.mkdirSync(this.#opts.dataDir!, { recursive: true });
      fs.writeFileSync(path.join(this.#opts.dataDir!, `${app.id}.schema.json`), canonicalSchemaJSON(schema));
    }
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

  /** Replaces the app's permissions (checked against its schema) and keeps them in the data folder. */
  setPermissions(app: AppState, p: Permissions): void {
    if (!app.schema) throw new JazzError('SCHEMA_INVALID', 'publish the schema before its permissions');
    checkPermissions(app.schema, p);
    if (p.schemaHash !== app.hash) throw new JazzError('SCHEMA_INVALID', `these permissions are for schema ${p.schemaHash}, the app has ${app.hash}`);
    app.permissions = p;
    app.hadPermissions = true;
    if (!this.#opts.inMemory) fs.writeFileSync(path.join(this.#opts.dataDir!, `${app.id}.permissions.json`), JSON.stringify(p));
  }

  async closeAll(): Promise<void> {
    for (const app of this.#apps.values()) await app.engine?.close();
  }

  #openStore(appId: string): KvStore {
    return this.#opts.inMemory ? createMemoryStore() : openFileStore(path.join(this.#opts.dataDir!, `${appId}.db`));
  }

  /** A new engine on the app's store, for another current version or more migrations. */
  #reopen(app: AppState, schema: AppSchema, migrations: readonly Migration[]): void {
    const old = app.engine!;
    const engine = Engine.open({ schema, migrations, store: old.store, author: `server:${this.#opts.serverId}` });
    old.release();
    app.fileHooks?.stop();
    app.engine = engine;
    app.fileHooks = installServerFileHooks(app, engine);
    const changed = schemaHash(schema) !== app.hash;
    app.schema = schema;
    app.hash = schemaHash(schema);
    if (changed) this.#loadPermissions(app);
  }

  #ensureEngine(app: AppState, schema: AppSchema, migrations: readonly Migration[] = []): void {
    if (app.engine) return;
    app.schema = schema;
    app.hash = schemaHash(schema);
    app.engine = Engine.open({ schema, migrations, store: this.#openStore(app.id), author: `server:${this.#opts.serverId}` });
    app.fileHooks = installServerFileHooks(app, app.engine);
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
    let published = false;
    if (!opts.inMemory) {
      try {
        const text = fs.readFileSync(path.join(opts.dataDir!, `${app.id}.permissions.json`), 'utf8');
        const p = JSON.parse(text) as Permissions;
        published = true;
        // Published for an earlier version: not in force for this one (publish them again).
        if (p.schemaHash === app.hash) {
          checkPermissions(schema, p);
          app.permissions = p;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    // An app that had rules never runs without them: until rules for this version are published,
    // users may do nothing.
    if ((opts.permissions || published || app.hadPermissions) && !app.permissions) app.permissions = { schemaHash: app.hash!, tables: {} };
    if (app.permissions) app.hadPermissions = true;
  }
}
