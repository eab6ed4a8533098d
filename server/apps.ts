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
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { KvStore } from '../src/store/types.ts';
import { canonicalSchemaJSON, schemaFromJSON, schemaHash, type AppSchema } from '../src/schema/schema.ts';
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
  readonly conns = new Set<Conn>();
  /** Which connections hold which rows (see holdings.ts). */
  readonly holders = new Map<string, Set<Conn>>();

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

  /** Gives the app its schema: the same again is a no-op, a different one throws `SCHEMA_INVALID`. */
  publishSchema(app: AppState, schema: AppSchema): void {
    if (app.engine) {
      if (schemaHash(schema) !== app.hash) throw new JazzError('SCHEMA_INVALID', 'this app already has a different schema; changing it needs a migration');
      return;
    }
    this.#ensureEngine(app, schema);
    if (!this.#opts.inMemory) {
      fs.mkdirSync(this.#opts.dataDir!, { recursive: true });
      fs.writeFileSync(path.join(this.#opts.dataDir!, `${app.id}.schema.json`), canonicalSchemaJSON(schema));
    }
  }

  /** Replaces the app's permissions (checked against its schema) and keeps them in the data folder. */
  setPermissions(app: AppState, p: Permissions): void {
    if (!app.schema) throw new JazzError('SCHEMA_INVALID', 'publish the schema before its permissions');
    checkPermissions(app.schema, p);
    if (p.schemaHash !== app.hash) throw new JazzError('SCHEMA_INVALID', `these permissions are for schema ${p.schemaHash}, the app has ${app.hash}`);
    app.permissions = p;
    if (!this.#opts.inMemory) fs.writeFileSync(path.join(this.#opts.dataDir!, `${app.id}.permissions.json`), JSON.stringify(p));
  }

  async closeAll(): Promise<void> {
    for (const app of this.#apps.values()) await app.engine?.close();
  }

  #openStore(appId: string): KvStore {
    return this.#opts.inMemory ? createMemoryStore() : openFileStore(path.join(this.#opts.dataDir!, `${appId}.db`));
  }

  #ensureEngine(app: AppState, schema: AppSchema): void {
    if (app.engine) return;
    const opts = this.#opts;
    app.schema = schema;
    app.hash = schemaHash(schema);
    app.engine = Engine.open({ schema, store: this.#openStore(app.id), author: `server:${opts.serverId}` });
    if (opts.permissions) {
      if (opts.permissions.schemaHash === app.hash) app.permissions = opts.permissions;
      else {
        opts.logger.warn(
          { event: 'permissions-not-applied', app: app.id, schemaHash: app.hash, permissionsFor: opts.permissions.schemaHash },
          `the permissions were written for schema ${opts.permissions.schemaHash}, app "${app.id}" has ${app.hash}; not applied (everything is denied to users until matching permissions are published)`,
        );
      }
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
    if (opts.permissions && !app.permissions) app.permissions = { schemaHash: app.hash, tables: {} }; // deny by default
  }
}
