/**
 * Where a sync server keeps its apps: the seam between apps.ts (engines, schemas, permissions) and
 * the storage behind them. Two implementations:
 *
 *   LocalServerStore  (this file) files under `--data`, or nothing at all with `--in-memory`: each
 *                     app's engine runs on its own durable file store (`<appId>.db`), its schema
 *                     and permissions are JSON files beside it. The default.
 *   PgServerStore     (pg-store.ts) everything in PostgreSQL (`--postgres`): the registry of apps
 *                     and the log of every accepted batch; each server node keeps a materialization
 *                     of it in memory.
 *
 * Contract, for both:
 * - `open()` runs once before the server listens; it fails with a message that says what is wrong
 *   (an unreachable database names its host and port).
 * - `app(id)` is what is stored for an app: its current schema and its published permissions (for
 *   whichever schema they were written for), or undefined. `openEngine` (then `replay`, for a store
 *   that logs batches) opens the app's engine on everything stored for it: the rows of every batch
 *   it accepted.
 * - `saveSchema` / `savePermissions` keep a publication. An implementation that writes
 *   synchronously (files) does it before returning, and throws if it cannot; one that writes
 *   elsewhere (PostgreSQL) keeps an app's publications and batches in the order they were made,
 *   retries a failed publication with the app's next write, and `saved(appId)` says when (or
 *   whether) they are kept: the caller waits for it before saying a publication is done.
 * - `logsBatches`: when true, an accepted batch is made durable by `persistBatch` before the engine
 *   applies it (the engine's own store is memory), and it is acknowledged only after that; a failed
 *   `persistBatch` keeps nothing and throws a `STORAGE_*` JazzError. When false, the engine's store
 *   is the durable one and its commit is the acknowledgement's condition (batches.ts).
 * - `dropFromLog` takes versions that no longer matter out of a log (the parts of deleted files).
 * - `close()` runs after every engine is closed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { canonicalSchemaJSON, schemaFromJSON, type AppSchema } from '../src/schema/schema.ts';
import type { Migration } from '../src/lens/migration.ts';
import type { Permissions } from '../src/policy/define.ts';
import type { RowVersion } from '../src/rows/version.ts';
import type { BranchInfo } from '../src/history/branches.ts';
import { openFileStore } from './fs-store.ts';

export interface StoredApp {
  readonly schema: AppSchema;
  /** The published permissions, for whichever schema version they were written for. */
  readonly permissions?: Permissions;
}

/** A batch the server accepted: its versions in the engine's form, and the branch records it stores. */
export interface AcceptedBatch {
  readonly batchId: string;
  readonly items: readonly { table: string; version: RowVersion }[];
  readonly branches: readonly BranchInfo[];
  /** Accepted by an edge: it waits for the upstream too (`relayDone`, `requeue`). */
  readonly relayed?: boolean;
}

export interface ServerStore {
  /** Where the data is, for the banner and the log ("files under ./data", "PostgreSQL at host:5432/db"). */
  readonly description: string;
  /** Whether accepted batches go through `persistBatch` before the engine applies them (see the top). */
  readonly logsBatches: boolean;
  open(): Promise<void>;
  /** The ids of the apps stored (their schema was published), sorted. */
  appIds(): string[];
  app(appId: string): StoredApp | undefined;
  /**
   * The app's engine on what is stored for it; `schema` is its current version. A store that logs
   * batches opens it empty of rows, and `replay` then applies the app's log to it.
   */
  openEngine(appId: string, schema: AppSchema, migrations: readonly Migration[], author: string): Engine;
  replay(appId: string, engine: Engine): Promise<void>;
  /** Keeps the app's current schema; `engine` is the engine open on it (its catalogue: every version and migration). */
  saveSchema(appId: string, schema: AppSchema, engine: Engine): void;
  savePermissions(appId: string, permissions: Permissions): void;
  /** Resolves when every publication of the app so far is stored; rejects with the failure if one could not be. */
  saved(appId: string): Promise<void>;
  /** Makes an accepted batch durable (only when `logsBatches`); `engine` encodes its versions. */
  persistBatch(appId: string, engine: Engine, batch: AcceptedBatch): Promise<void>;
  /**
   * Takes the versions `drop` picks out of the app's logged batches `batchIds` (PostgreSQL: the parts
   * of deleted files, file-log.ts): a batch left with nothing is deleted, another is kept without
   * them. Only versions whose removal leaves replay with the same state may be dropped. Nothing to
   * do where the engine's store is the durable one (it purges them itself).
   */
  dropFromLog(appId: string, engine: Engine, batchIds: readonly string[], drop: (table: string, version: RowVersion) => boolean): Promise<void>;
  /**
   * Applies, through `apply`, the batches other nodes logged for the app that this node has not
   * (PostgreSQL; nothing elsewhere). Called inside the app's exclusive work.
   */
  catchUp(appId: string, engine: () => Engine, apply: (engine: Engine, items: { table: string; version: RowVersion }[], branches: readonly BranchInfo[]) => void): Promise<void>;
  /**
   * An edge's queue for its upstream (edge.ts) where the engine's outbox is not durable
   * (`logsBatches`): `persistBatch` keeps a `relayed` batch as waiting, `relayDone` forgets it once
   * the upstream has it, and `requeue` (after `replay`) enters the waiting ones in the engine's
   * outbox again. On files the outbox is in the engine's own store: nothing to do.
   */
  relayDone(appId: string, batchId: string): void;
  requeue(appId: string, engine: Engine): Promise<void>;
  /** Resolves when the store answers now; rejects saying why not (GET /health answers 503 with it). */
  check(): Promise<void>;
  /** The bytes the store holds, or undefined where it holds none (memory). */
  size(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Files under a data folder, or memory (`dataDir` undefined): the server's storage before PostgreSQL, unchanged. */
export class LocalServerStore implements ServerStore {
  readonly #dir: string | undefined;
  readonly logsBatches = false;

  constructor(dataDir: string | undefined) {
    this.#dir = dataDir;
  }

  get description(): string {
    return this.#dir === undefined ? 'in memory (nothing survives a restart)' : `files under ${this.#dir}`;
  }

  async open(): Promise<void> {}

  appIds(): string[] {
    if (this.#dir === undefined || !fs.existsSync(this.#dir)) return [];
    return fs
      .readdirSync(this.#dir)
      .map((name) => /^([A-Za-z0-9_-]{1,64})\.schema\.json$/.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort();
  }

  app(appId: string): StoredApp | undefined {
    if (this.#dir === undefined) return undefined;
    const schemaText = readIfThere(path.join(this.#dir, `${appId}.schema.json`));
    if (schemaText === undefined) return undefined;
    const permissionsText = readIfThere(path.join(this.#dir, `${appId}.permissions.json`));
    return { schema: schemaFromJSON(JSON.parse(schemaText)), ...(permissionsText !== undefined ? { permissions: JSON.parse(permissionsText) as Permissions } : {}) };
  }

  openEngine(appId: string, schema: AppSchema, migrations: readonly Migration[], author: string): Engine {
    const store = this.#dir === undefined ? createMemoryStore() : openFileStore(path.join(this.#dir, `${appId}.db`));
    return Engine.open({ schema, migrations, store, author });
  }

  saveSchema(appId: string, schema: AppSchema): void {
    if (this.#dir === undefined) return;
    fs.mkdirSync(this.#dir, { recursive: true });
    fs.writeFileSync(path.join(this.#dir, `${appId}.schema.json`), canonicalSchemaJSON(schema));
  }

  savePermissions(appId: string, permissions: Permissions): void {
    if (this.#dir === undefined) return;
    fs.writeFileSync(path.join(this.#dir, `${appId}.permissions.json`), JSON.stringify(permissions));
  }

  async saved(): Promise<void> {}

  /** The engine's own store holds the rows: nothing to replay. */
  async replay(): Promise<void> {}

  persistBatch(): Promise<void> {
    return Promise.reject(new Error('the file store keeps batches in the engine: persistBatch is not called'));
  }

  /** The engine purges what it drops from its own store: there is no log. */
  async dropFromLog(): Promise<void> {}

  /** The engine's outbox is on its file: it survives by itself. */
  relayDone(): void {}

  async requeue(): Promise<void> {}

  /** One process has the files: there is no other node to catch up with. */
  async catchUp(): Promise<void> {}

  /** Files are written by the engines as they go: a failing disk shows there (STORAGE). */
  async check(): Promise<void> {}

  async size(): Promise<number | undefined> {
    if (this.#dir === undefined) return undefined;
    if (!fs.existsSync(this.#dir)) return 0;
    let bytes = 0;
    for (const name of fs.readdirSync(this.#dir)) {
      const st = fs.statSync(path.join(this.#dir, name), { throwIfNoEntry: false });
      if (st?.isFile()) bytes += st.size;
    }
    return bytes;
  }

  async close(): Promise<void> {}
}

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
