/**
 * The authority's durable log and catalogue in PostgreSQL, through `pg` (node-postgres). Only SQL
 * lives here; pg-store.ts turns it into engines.
 *
 * Tables, created when missing (under one advisory lock, so several nodes may start at once):
 *
 *   jazz_meta     (key, value)                 'format' = the layout's version (1); a database of a
 *                                              newer layout is refused
 *   jazz_apps     (app_id, version, hash, schema, catalogue, migrations, permissions, updated_at)
 *                 one row per app: its current schema, its engine catalogue (every schema
 *                 version, every migration, the stable table and column numbers the versions
 *                 below are encoded with), its migrations (also in the catalogue, kept apart to be
 *                 read by people), its published permissions
 *   jazz_batches  (seq, app_id, batch_id, versions, version_count, branches, created_at)
 *                 every accepted batch, in the order it was accepted (`seq`); `versions` is the
 *                 engine's binary form of each version (see pg-store.ts), `branches` the branch
 *                 records the batch brought. One row per batch id and app.
 *   jazz_pending  (app_id, batch_id)
 *                 on an edge (edge.ts): the batches it logged that its upstream has not
 *                 acknowledged `global` yet, entered before the batch is logged and deleted once
 *                 the upstream has it (an entry whose batch was never logged is ignored)
 *
 * - `append` writes one batch in one transaction (with the app's registry row when given, so a
 *   publication and the batches after it are kept in that order); it resolves once committed.
 *   The transaction holds the app's advisory lock and logs the batch only if the app's last `seq`
 *   is still the one the node judged the batch against (`after`), in one statement (the function
 *   `jazz_append`, created with the tables); otherwise it writes nothing and says `stale`: the node catches up and judges the batch again. So an app's batches are logged
 *   one at a time across every node, in `seq` order, each judged against all the ones before it:
 *   PostgreSQL's locking decides between nodes (transactions are linearizable across nodes).
 *   A batch id already logged for the app gets the new versions added and a new `seq` (it is then
 *   read again by `readSince`, which applies versions idempotently).
 * - An app's row has a version: a node writes it only if it is still at the version the node last
 *   read or wrote, else `RegistryConflict` (two nodes published at once: the first to commit wins).
 * - Triggers notify every change: `jazz_batches` with "<app id> <seq>", `jazz_apps` with the app
 *   id (delivered at commit). `listen` follows them on a connection of its own, and reconnects
 *   (saying so, since notifications may have been missed meanwhile).
 * - `rewriteBatches` takes versions out of logged batches (the parts of deleted files,
 *   file-log.ts), under the same lock; a batch left empty is deleted.
 * - `readSince(app, seq)` pages through the batches after `seq`, in order: what a node replays at
 *   start, and what a second node would read on notification.
 * - Every failure of the database is a `STORAGE_IO` JazzError naming the server (host:port) and
 *   what it said; `connect` fails with a plain message when the server cannot be reached.
 */
import pg from 'pg';
import { JazzError } from '../src/util/errors.ts';

export const LOG_FORMAT = 1;

export interface AppRow {
  readonly appId: string;
  readonly hash: string;
  readonly schema: unknown;
  readonly catalogue: unknown;
  readonly migrations: unknown;
  readonly permissions: unknown | null;
}

/** A registry row as read: with its version (1 when created, one more at every write). */
export interface StoredAppRow extends AppRow {
  readonly version: number;
}

/**
 * The app's row was written by another node since the version this one expected: nothing was
 * written. Two nodes published at the same moment; the first to commit won.
 */
export class RegistryConflict extends JazzError {
  constructor(appId: string, where: string) {
    super('STORAGE_IO', `app "${appId}" was changed on another node meanwhile (PostgreSQL at ${where}); this publication was not stored and is withdrawn here: publish again`, { where });
  }
}

export interface LoggedBatch {
  readonly seq: number;
  readonly batchId: string;
  readonly versions: Uint8Array;
  readonly branches: readonly unknown[];
}

/** Where a PostgreSQL URL points, without its password: host:port/database. */
export function describePostgresUrl(url: string): { host: string; port: number; database: string; text: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a PostgreSQL URL: ${JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'))}; write postgres://user:password@host:5432/database`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`a PostgreSQL URL starts with postgres:// or postgresql://, got ${u.protocol}//`);
  const host = u.hostname || 'localhost';
  const port = u.port ? Number(u.port) : 5432;
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  return { host, port, database, text: `${host}:${port}/${database}` };
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS jazz_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS jazz_apps (
  app_id text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 1,
  hash text NOT NULL,
  schema json NOT NULL,
  catalogue json NOT NULL,
  migrations json NOT NULL,
  permissions json,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS jazz_batches (
  seq bigserial PRIMARY KEY,
  app_id text NOT NULL,
  batch_id text NOT NULL,
  versions bytea NOT NULL,
  version_count integer NOT NULL,
  branches jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, batch_id)
);
CREATE INDEX IF NOT EXISTS jazz_batches_app_seq ON jazz_batches (app_id, seq);
CREATE TABLE IF NOT EXISTS jazz_pending (app_id text NOT NULL, batch_id text NOT NULL, PRIMARY KEY (app_id, batch_id));
CREATE OR REPLACE FUNCTION jazz_batches_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jazz_batches', NEW.app_id || ' ' || NEW.seq);
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER jazz_batches_notify AFTER INSERT OR UPDATE ON jazz_batches FOR EACH ROW EXECUTE FUNCTION jazz_batches_notify();
-- Logs a batch if the app's last seq is still p_after (else NULL, nothing written), under the app's
-- advisory lock. VOLATILE: each statement inside reads what committed before it, so the check
-- after the lock sees every batch logged before this one.
CREATE OR REPLACE FUNCTION jazz_append(p_app text, p_batch text, p_versions bytea, p_count integer, p_branches jsonb, p_after bigint)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  top bigint;
  logged bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('jazz_batches ' || p_app));
  SELECT coalesce(max(seq), 0) INTO top FROM jazz_batches WHERE app_id = p_app;
  IF top > p_after THEN
    RETURN NULL;
  END IF;
  INSERT INTO jazz_batches (app_id, batch_id, versions, version_count, branches)
    VALUES (p_app, p_batch, p_versions, p_count, p_branches)
    ON CONFLICT (app_id, batch_id) DO UPDATE SET versions = jazz_batches.versions || EXCLUDED.versions,
      version_count = jazz_batches.version_count + EXCLUDED.version_count,
      branches = jazz_batches.branches || EXCLUDED.branches, seq = EXCLUDED.seq
    RETURNING seq INTO logged;
  RETURN logged;
END $$;
CREATE OR REPLACE FUNCTION jazz_apps_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jazz_apps', NEW.app_id);
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER jazz_apps_notify AFTER INSERT OR UPDATE ON jazz_apps FOR EACH ROW EXECUTE FUNCTION jazz_apps_notify();
`;

/** Thrown inside `append`'s transaction to roll it back when the node is behind. */
const STALE = Symbol('stale');

/** Any number will do, as long as it is always the same: the lock that serializes the creation of the tables. */
const DDL_LOCK = 0x6a617a7a;

export class PgLog {
  readonly #pool: pg.Pool;
  readonly where: string;

  private constructor(pool: pg.Pool, where: string) {
    this.#pool = pool;
    this.where = where;
  }

  /**
   * Connects to the database at `url` and creates the tables it lacks. `onIdleError` hears of
   * connections the server dropped while idle (a restart): the pool replaces them.
   */
  static async connect(url: string, onIdleError: (e: Error) => void): Promise<PgLog> {
    const where = describePostgresUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000, query_timeout: 15_000, idleTimeoutMillis: 30_000 });
    pool.on('error', onIdleError);
    const log = new PgLog(pool, where.text);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`cannot reach PostgreSQL at ${where.host}:${where.port} (database "${where.database}"): ${describe(e)}`);
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK]);
      await client.query(SCHEMA_SQL);
      const format = await client.query<{ value: string }>(`SELECT value FROM jazz_meta WHERE key = 'format'`);
      const found = format.rows[0] ? Number(format.rows[0].value) : undefined;
      if (found === undefined) await client.query(`INSERT INTO jazz_meta (key, value) VALUES ('format', $1)`, [String(LOG_FORMAT)]);
      else if (!(found <= LOG_FORMAT)) throw new Error(`the jazz tables in PostgreSQL at ${where.text} have layout ${format.rows[0]!.value}, this server reads ${LOG_FORMAT}; update jazz-elements`);
      await client.query('COMMIT');
      client.release();
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(true);
      await pool.end().catch(() => {});
      throw e instanceof Error && e.message.includes('update jazz-elements') ? e : new Error(`PostgreSQL at ${where.text}: cannot create the jazz tables: ${describe(e)}`);
    }
    return log;
  }

  async loadApps(): Promise<StoredAppRow[]> {
    const r = await this.#query<AppRecord>(`SELECT ${APP_COLUMNS} FROM jazz_apps ORDER BY app_id`);
    return r.rows.map(fromRecord);
  }

  /**
   * Keeps an app's registry row, if it is still at version `expected` (0: not created yet): its
   * new version, or `RegistryConflict`.
   */
  async saveApp(row: AppRow, expected: number): Promise<number> {
    return this.#transaction(async (c) => upsertApp(c, row, expected, this.where));
  }

  /**
   * Logs one accepted batch (and the app's registry row first, when given) in one transaction, if
   * the app's last `seq` is still `after`: its `seq`, or `stale` (nothing written). Without a
   * registry row it is one statement (`jazz_append`), one round trip.
   */
  async append(
    appId: string,
    batchId: string,
    versions: Uint8Array,
    versionCount: number,
    branches: readonly unknown[],
    after: number,
    registry?: { row: AppRow; expected: number },
  ): Promise<{ seq: number; version?: number } | 'stale'> {
    const params = [appId, batchId, Buffer.from(versions.buffer, versions.byteOffset, versions.byteLength), versionCount, JSON.stringify(branches), after];
    const call = async (c: pg.Pool | pg.ClientBase) => {
      const r = await c.query<{ seq: string | null }>('SELECT jazz_append($1, $2, $3, $4, $5, $6) AS seq', params);
      const seq = r.rows[0]!.seq;
      return seq === null ? ('stale' as const) : Number(seq);
    };
    if (!registry) {
      try {
        const seq = await call(this.#pool);
        return seq === 'stale' ? seq : { seq };
      } catch (e) {
        throw this.#storageError(e);
      }
    }
    try {
      return await this.#transaction(async (c) => {
        const version = await upsertApp(c, registry.row, registry.expected, this.where);
        const seq = await call(c);
        if (seq === 'stale') throw STALE; // rolls the registry row back too: written with the next batch
        return { seq, version };
      });
    } catch (e) {
      if (e === STALE) return 'stale';
      throw e;
    }
  }

  /**
   * Rewrites some logged batches of the app, under the app's advisory lock (so no batch is logged
   * or added to meanwhile): `rewrite` gets a batch's versions and returns them without what goes,
   * or undefined to keep it as it is. A batch left with no versions and no branch records is
   * deleted; `seq` never changes, so the other nodes' last `seq` and the order stay right.
   */
  async rewriteBatches(appId: string, batchIds: readonly string[], rewrite: (versions: Uint8Array) => { versions: Uint8Array; count: number } | undefined): Promise<void> {
    await this.#transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('jazz_batches ' || $1::text))`, [appId]);
      const r = await c.query<{ seq: string; versions: Buffer; branches: unknown[] }>('SELECT seq, versions, branches FROM jazz_batches WHERE app_id = $1 AND batch_id = ANY($2)', [appId, batchIds]);
      for (const row of r.rows) {
        const next = rewrite(new Uint8Array(row.versions.buffer, row.versions.byteOffset, row.versions.byteLength));
        if (!next) continue;
        if (next.count === 0 && row.branches.length === 0) await c.query('DELETE FROM jazz_batches WHERE seq = $1', [row.seq]);
        else
          await c.query('UPDATE jazz_batches SET versions = $2, version_count = $3 WHERE seq = $1', [
            row.seq,
            Buffer.from(next.versions.buffer, next.versions.byteOffset, next.versions.byteLength),
            next.count,
          ]);
      }
    });
  }

  /** One app's registry row, or undefined. */
  async loadApp(appId: string): Promise<StoredAppRow | undefined> {
    const r = await this.#query<AppRecord>(`SELECT ${APP_COLUMNS} FROM jazz_apps WHERE app_id = $1`, [appId]);
    return r.rows[0] && fromRecord(r.rows[0]);
  }

  /**
   * Follows the notifications on a connection of its own: `batches(app, seq)` when a batch was
   * logged, `app(id)` when an app's row changed, `reconnected()` after the connection was lost and
   * made again (what was notified meanwhile is unknown). Returns a function that stops following.
   */
  async listen(url: string, on: { batches(appId: string, seq: number): void; app(appId: string): void; reconnected(): void; lost(e: Error): void }): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      c.on('notification', (n) => {
        if (n.channel === 'jazz_batches' && n.payload) {
          const at = n.payload.lastIndexOf(' ');
          on.batches(n.payload.slice(0, at), Number(n.payload.slice(at + 1)));
        } else if (n.channel === 'jazz_apps' && n.payload) on.app(n.payload);
      });
      c.on('error', (e) => {
        if (stopped) return;
        on.lost(e);
        void c.end().catch(() => {});
      });
      // However it ended (an error, or the server closing it), a connection in use is made again.
      c.on('end', () => {
        if (stopped || client !== c) return;
        client = undefined;
        retry();
      });
      try {
        await c.connect();
        await c.query('LISTEN jazz_batches; LISTEN jazz_apps');
      } catch (e) {
        await c.end().catch(() => {});
        throw e;
      }
      client = c;
    };
    let delay = 100;
    let retrying = false;
    const retry = () => {
      if (retrying) return; // one attempt at a time
      retrying = true;
      setTimeout(() => {
        retrying = false;
        if (stopped || client) return;
        connect().then(
          () => {
            delay = 100;
            // Stopped while connecting: this connection is the last one, and nobody listens.
            if (stopped) return void client?.end().catch(() => {});
            on.reconnected();
          },
          (e: Error) => {
            if (stopped) return;
            on.lost(e);
            delay = Math.min(delay * 2, 5000);
            retry();
          },
        );
      }, delay).unref();
    };
    await connect();
    return async () => {
      stopped = true;
      await client?.end().catch(() => {});
    };
  }

  /** Up to `limit` batches of the app logged after `seq`, in order. */
  async readSince(appId: string, seq: number, limit = 5000): Promise<LoggedBatch[]> {
    return this.#batches('SELECT seq, batch_id, versions, branches FROM jazz_batches WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [appId, seq, limit]);
  }

  /** An edge: the batch waits for its upstream (until `settlePending`); entered before it is logged. */
  async markPending(appId: string, batchId: string): Promise<void> {
    await this.#query('INSERT INTO jazz_pending (app_id, batch_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [appId, batchId]);
  }

  /** An edge: the upstream has the batch. */
  async settlePending(appId: string, batchId: string): Promise<void> {
    await this.#query('DELETE FROM jazz_pending WHERE app_id = $1 AND batch_id = $2', [appId, batchId]);
  }

  /** An edge: the logged batches of the app still waiting for its upstream, in log order. */
  async pendingBatches(appId: string): Promise<LoggedBatch[]> {
    return this.#batches(
      'SELECT b.seq, b.batch_id, b.versions, b.branches FROM jazz_pending p JOIN jazz_batches b ON b.app_id = p.app_id AND b.batch_id = p.batch_id WHERE p.app_id = $1 ORDER BY b.seq',
      [appId],
    );
  }

  async #batches(sql: string, params: unknown[]): Promise<LoggedBatch[]> {
    const r = await this.#query<{ seq: string; batch_id: string; versions: Buffer; branches: unknown[] }>(sql, params);
    return r.rows.map((x) => ({ seq: Number(x.seq), batchId: x.batch_id, versions: new Uint8Array(x.versions.buffer, x.versions.byteOffset, x.versions.byteLength), branches: x.branches }));
  }

  /** Answers when the database does: for /health. */
  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  /** The bytes of the jazz tables, with their indexes and TOAST. */
  async size(): Promise<number> {
    const r = await this.#query<{ bytes: string }>(`SELECT (pg_total_relation_size('jazz_apps') + pg_total_relation_size('jazz_batches') + pg_total_relation_size('jazz_meta'))::text AS bytes`);
    return Number(r.rows[0]!.bytes);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (e) {
      throw this.#storageError(e);
    }
  }

  async #transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (e) {
      throw this.#storageError(e);
    }
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      c.release();
      return out;
    } catch (e) {
      // The connection may be broken: roll back if it still answers, never reuse it.
      await c.query('ROLLBACK').catch(() => {});
      c.release(e !== STALE);
      throw e === STALE ? e : this.#storageError(e);
    }
  }

  #storageError(e: unknown): JazzError {
    if (e instanceof JazzError) return e;
    return new JazzError('STORAGE_IO', `PostgreSQL at ${this.where}: ${describe(e)}`, { where: this.where });
  }
}

type AppRecord = { app_id: string; version: string; hash: string; schema: unknown; catalogue: unknown; migrations: unknown; permissions: unknown };
const APP_COLUMNS = 'app_id, version, hash, schema, catalogue, migrations, permissions';
const fromRecord = (x: AppRecord): StoredAppRow => ({
  appId: x.app_id,
  version: Number(x.version),
  hash: x.hash,
  schema: x.schema,
  catalogue: x.catalogue,
  migrations: x.migrations,
  permissions: x.permissions ?? null,
});

/** Writes the row if it is at version `expected` (0: absent): the new version; else `RegistryConflict`. */
async function upsertApp(c: pg.ClientBase, row: AppRow, expected: number, where: string): Promise<number> {
  const r = await c.query<{ version: string }>(
    `INSERT INTO jazz_apps (app_id, version, hash, schema, catalogue, migrations, permissions, updated_at) VALUES ($1, 1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (app_id) DO UPDATE SET version = jazz_apps.version + 1, hash = EXCLUDED.hash, schema = EXCLUDED.schema,
       catalogue = EXCLUDED.catalogue, migrations = EXCLUDED.migrations, permissions = EXCLUDED.permissions, updated_at = now()
     WHERE jazz_apps.version = $7
     RETURNING version`,
    [row.appId, row.hash, JSON.stringify(row.schema), JSON.stringify(row.catalogue), JSON.stringify(row.migrations), row.permissions === null ? null : JSON.stringify(row.permissions), expected],
  );
  if (r.rows.length === 0) throw new RegistryConflict(row.appId, where);
  return Number(r.rows[0]!.version);
}

/** What the driver said, in one line (an AggregateError of every address tried says each). */
function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length) return e.errors.map((x) => describe(x)).join('; ');
  if (e instanceof Error) return e.message || (e as NodeJS.ErrnoException).code || e.name;
  return String(e);
}
