/**
 * The server store on PostgreSQL (`--postgres <url>`): PostgreSQL is the authority's durable log
 * and catalogue, and each server node a materialization of it in memory.
 *
 * Why: the engine reads synchronously (src/store/types.ts), and a database across the network
 * cannot answer page by page inside a synchronous call. So the engine of every app runs on a
 * memory store, and PostgreSQL keeps what makes that state: the registry of apps and every
 * accepted batch, in order (pg-log.ts has the tables).
 *
 * - Opening (`open`): connects, creates the tables it lacks, reads every app's registry row.
 *   `openEngine` builds the app's engine on a memory store seeded with its stored catalogue (so
 *   the table and column numbers the batches were encoded with mean the same), and `replay` reads
 *   its batches in `seq` order, a page at a time, and applies them through the engine's
 *   remote-apply path (`applyVersions`, several thousand versions per call), remembering the last
 *   `seq` applied.
 *   Every app is materialized when the server starts (apps.ts), so a node holds every app in
 *   memory.
 * - Accepting a batch (batches.ts): it is checked exactly as with files (schema, authors, write
 *   rules, transactions, against the node's engine), then `persistBatch` INSERTs it into
 *   `jazz_batches` in one transaction; only after COMMIT does the engine apply it, fan it out and
 *   acknowledge it. A failed commit keeps nothing and throws `STORAGE_IO`: the connection is closed
 *   with STORAGE and the client retries later. An app's batches are handled one at a time
 *   (apps.ts `exclusive`), so each is checked against a state that includes the ones before it.
 * - Publications (schema, permissions) change the app at once and are written to `jazz_apps` in
 *   the order they were made, before any later batch of the app (the batch's transaction carries a
 *   publication still unwritten); `saved` resolves when written, or rejects with the failure (the
 *   next write tries it again). A row another node wrote since this node last saw it is not
 *   overwritten (`RegistryConflict`): this node's publication is withdrawn and the app takes the
 *   stored row, so two nodes publishing at once cannot leave two catalogues.
 * - Versions in the log: per version, the catalogue number of its table (u32, big-endian), its
 *   length (u32) and the engine's own binary form of it (src/rows/version.ts): compact, decoded
 *   without checks at replay. Concatenated, so a batch id logged twice is one longer record.
 * - The parts of a deleted file leave the log (`dropFromLog`, file-log.ts): their versions are cut
 *   out of the batches that brought them, and a batch left empty is deleted.
 * - Several nodes on one database are one authority. A node logs a batch only if no other node
 *   logged one of the app since the state it judged it against (pg-log.ts `append`, under the
 *   app's advisory lock); otherwise it catches up and judges it again (`NodeBehind`). A node hears
 *   of other nodes' batches (LISTEN/NOTIFY, `follow`), reads those after its last `seq`
 *   (`catchUp`) and applies them as a peer's, with no permission check (they were checked where
 *   they were accepted), then fans them out to its own connections (batches.ts `applyRemote`).
 *   An app published or changed on another node is taken from its row (`reload`).
 */
import { Engine, type TableRuntime } from '../src/engine/engine.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { metaKey } from '../src/engine/keyspace.ts';
import type { KvStore } from '../src/store/types.ts';
import { utf8Encode } from '../src/util/utf8.ts';
import { canonicalSchemaJSON, schemaFromJSON, schemaHash, type AppSchema } from '../src/schema/schema.ts';
import type { Migration } from '../src/lens/migration.ts';
import type { Permissions } from '../src/policy/define.ts';
import type { RowVersion } from '../src/rows/version.ts';
import { putBranches, type BranchInfo } from '../src/history/branches.ts';
import { JazzError } from '../src/util/errors.ts';
import type { Logger } from './log.ts';
import { PgLog, RegistryConflict, describePostgresUrl, type AppRow, type LoggedBatch } from './pg-log.ts';
import type { AcceptedBatch, ServerStore, StoredApp } from './server-store.ts';

type Items = { table: string; version: RowVersion }[];

/**
 * Another node logged batches of the app since this node judged a batch: nothing was written; the
 * node catches up (`catchUp`) and judges the batch again (batches.ts).
 */
export class NodeBehind extends Error {
  constructor(appId: string) {
    super(`app "${appId}": another node logged batches first; catching up and judging the batch again`);
    this.name = 'NodeBehind';
  }
}

/** Versions per `applyVersions` call at replay: large enough to amortize a call, small enough to stay in cache. */
const REPLAY_CHUNK = 4000;
/** Batches per read of the log at replay. */
const REPLAY_PAGE = 5000;

interface PgApp {
  row: AppRow;
  /** The row's version this node last read or wrote (0: not in the database yet). */
  version: number;
  /** The registry row changed and is not written yet. */
  dirty: boolean;
  /** Publications made here, counted; the last one written; the last one withdrawn (with why). */
  gen: number;
  writtenGen: number;
  withdrawn?: { gen: number; error: Error };
  /** The last `seq` applied to this node's engine. */
  lastSeq: number;
  /** The end of the app's chain of writes. */
  tail: Promise<unknown>;
}

export class PgServerStore implements ServerStore {
  readonly logsBatches = true;
  readonly description: string;
  readonly #url: string;
  readonly #logger: Logger;
  #log: PgLog | undefined;
  readonly #apps = new Map<string, PgApp>();
  #unlisten: (() => Promise<void>) | undefined;
  /** pg-follow.ts: an app's row changed (elsewhere); set by `follow`. */
  #appChanged: ((appId: string) => void) | undefined;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
    this.description = `PostgreSQL at ${describePostgresUrl(url).text}`;
  }

  get log(): PgLog {
    if (!this.#log) throw new JazzError('CLOSED', 'the PostgreSQL store is not open');
    return this.#log;
  }

  async open(): Promise<void> {
    this.#log = await PgLog.connect(this.#url, (e) =>
      this.#logger.warn({ event: 'postgres-connection-lost', where: this.log.where, error: e.message }, `PostgreSQL dropped an idle connection: ${e.message}`),
    );
    try {
      for (const row of await this.log.loadApps()) this.#apps.set(row.appId, { row, version: row.version, dirty: false, gen: 0, writtenGen: 0, lastSeq: 0, tail: Promise.resolve() });
    } catch (e) {
      await this.#log.close().catch(() => {});
      this.#log = undefined;
      throw e;
    }
  }

  /**
   * The app's log into its new engine, a page at a time, the next page read while this one is
   * applied (memory holds one page of the log, not all of it).
   */
  relayDone(appId: string, batchId: string): void {
    this.log.settlePending(appId, batchId).catch((e: unknown) => {
      // Kept as waiting: after a restart it is sent upstream again, which is harmless.
      this.#logger.warn({ event: 'relay-not-settled', app: appId, batchId, error: e instanceof Error ? e.message : String(e) }, 'could not record that the upstream has a batch');
    });
  }

  async requeue(appId: string, engine: Engine): Promise<void> {
    for (const b of await this.log.pendingBatches(appId)) engine.applyRelayed(b.batchId, decodeItems(engine, b.versions));
  }

  async replay(appId: string, engine: Engine): Promise<void> {
    const a = this.#apps.get(appId);
    if (!a) return;
    let next = this.log.readSince(appId, a.lastSeq, REPLAY_PAGE);
    for (;;) {
      const page = await next;
      if (page.length === 0) return;
      next = this.log.readSince(appId, page[page.length - 1]!.seq, REPLAY_PAGE);
      next.catch(() => {}); // awaited above on the next turn; not unhandled if this page fails to apply
      a.lastSeq = applyLogged(engine, page, a.lastSeq);
    }
  }

  appIds(): string[] {
    return [...this.#apps.keys()].sort();
  }

  app(appId: string): StoredApp | undefined {
    const a = this.#apps.get(appId);
    if (!a) return undefined;
    return { schema: schemaFromJSON(a.row.schema), ...(a.row.permissions !== null ? { permissions: a.row.permissions as Permissions } : {}) };
  }

  openEngine(appId: string, schema: AppSchema, migrations: readonly Migration[], author: string): Engine {
    const store = createMemoryStore();
    const a = this.#apps.get(appId);
    if (a) {
      // The stored catalogue: the numbers the logged versions were encoded with.
      const tx = store.transaction();
      tx.put(metaKey('catalogue'), utf8Encode(JSON.stringify(a.row.catalogue)));
      void tx.commit();
    }
    // Its batches are applied by `replay` (at start) or `catchUp` (an app another node made).
    return Engine.open({ schema, migrations, store, author });
  }

  saveSchema(appId: string, schema: AppSchema, engine: Engine): void {
    const cat = engine.catalogue.json;
    this.#change(appId, { hash: schemaHash(schema), schema: JSON.parse(canonicalSchemaJSON(schema)), catalogue: cat, migrations: cat.migrations });
  }

  savePermissions(appId: string, permissions: Permissions): void {
    this.#change(appId, { permissions });
  }

  saved(appId: string): Promise<void> {
    const gen = this.#apps.get(appId)?.gen ?? 0;
    return this.#enqueue(appId, async (a) => {
      if (a.dirty) await this.#writeRegistry(a);
      // Withdrawn before it was written (another node wrote the row first): say so.
      if (a.withdrawn && a.withdrawn.gen >= gen && a.writtenGen < gen) throw a.withdrawn.error;
    });
  }

  persistBatch(appId: string, engine: Engine, batch: AcceptedBatch): Promise<void> {
    const a = this.#apps.get(appId);
    if (!a) return Promise.reject(new JazzError('STORAGE_IO', `app "${appId}" has no registry row: publish its schema first`));
    const versions = encodeItems(engine, batch.items);
    return this.#enqueue(appId, async () => {
      const row = a.row;
      const gen = a.gen;
      // Waiting for the upstream before it is logged: a crash in between leaves an entry with no batch, ignored.
      if (batch.relayed) await this.log.markPending(appId, batch.batchId);
      const logged = await this.#conflicts(a, () => this.log.append(appId, batch.batchId, versions, batch.items.length, batch.branches, a.lastSeq, a.dirty ? { row, expected: a.version } : undefined));
      if (logged === 'stale') throw new NodeBehind(appId);
      if (logged.version !== undefined) {
        a.version = logged.version;
        a.writtenGen = gen;
        if (a.row === row) a.dirty = false;
      }
      a.lastSeq = logged.seq;
    });
  }

  async dropFromLog(appId: string, engine: Engine, batchIds: readonly string[], drop: (table: string, version: RowVersion) => boolean): Promise<void> {
    if (batchIds.length === 0) return;
    const byNo = tablesByNo(engine);
    await this.log.rewriteBatches(appId, batchIds, (versions) => {
      const items = decodeItems(engine, versions, byNo);
      const keep = items.filter((i) => !drop(i.table, i.version));
      return keep.length === items.length ? undefined : { versions: encodeItems(engine, keep), count: keep.length };
    });
  }

  /** `beforePage` runs after a page of batches is read and before it is applied (pg-follow.ts reads the app's row there). */
  async catchUp(appId: string, engine: () => Engine, apply: (engine: Engine, items: Items, branches: readonly BranchInfo[]) => void, beforePage?: () => Promise<void>): Promise<void> {
    const a = this.#apps.get(appId);
    if (!a) return;
    for (;;) {
      const page = await this.log.readSince(appId, a.lastSeq, 1000);
      if (page.length === 0) return;
      await beforePage?.();
      for (const b of page) {
        if (b.seq <= a.lastSeq) continue;
        const e = engine();
        apply(e, decodeItems(e, b.versions), b.branches as BranchInfo[]);
        a.lastSeq = b.seq;
      }
    }
  }

  /**
   * Follows the other nodes (LISTEN/NOTIFY, pg-log.ts): `batches(app, seq)` when one logged a
   * batch this node has not applied, `app(id)` when an app's row changed (its own changes too:
   * `reload` tells them apart), `all()` after notifications may have been missed.
   */
  async follow(on: { batches(appId: string): void; app(appId: string): void; all(): void }): Promise<void> {
    this.#appChanged = on.app;
    this.#unlisten = await this.log.listen(this.#url, {
      batches: (appId, seq) => {
        const a = this.#apps.get(appId);
        if (!a || seq > a.lastSeq) on.batches(appId);
      },
      app: (appId) => on.app(appId),
      // Either may come after the store closed (a reconnection under way then): nothing to do.
      reconnected: () => {
        if (!this.#log) return;
        this.#logger.info({ event: 'postgres-following-again', where: this.#log.where }, "following PostgreSQL's notifications again; catching up");
        on.all();
      },
      lost: (e) => {
        if (this.#log) this.#logger.warn({ event: 'postgres-following-lost', where: this.#log.where, error: e.message }, `lost PostgreSQL's notifications (${e.message}); reconnecting`);
      },
    });
  }

  /**
   * Reads an app's row again (another node may have changed it): what changed here, if anything.
   * A row with a publication of this node not yet written is left as it is (if another node wrote
   * first, that write fails and withdraws it: `#conflicts`).
   */
  async reload(appId: string): Promise<'new' | 'schema' | 'permissions' | undefined> {
    const row = await this.log.loadApp(appId);
    if (!row) return undefined;
    const a = this.#apps.get(appId);
    if (!a) {
      this.#apps.set(appId, { row, version: row.version, dirty: false, gen: 0, writtenGen: 0, lastSeq: 0, tail: Promise.resolve() });
      return 'new';
    }
    if (a.dirty) return undefined;
    const before = a.row;
    a.row = row;
    a.version = row.version;
    if (before.hash !== row.hash || JSON.stringify(before.catalogue) !== JSON.stringify(row.catalogue)) return 'schema';
    if (JSON.stringify(before.permissions) !== JSON.stringify(row.permissions)) return 'permissions';
    return undefined;
  }

  /** A new engine for the app on `kv` (its current engine's store), with the stored schema and catalogue. */
  reopenEngine(appId: string, kv: KvStore, author: string): Engine {
    const a = this.#apps.get(appId)!;
    const tx = kv.transaction();
    tx.put(metaKey('catalogue'), utf8Encode(JSON.stringify(a.row.catalogue)));
    void tx.commit();
    return Engine.open({ schema: schemaFromJSON(a.row.schema), store: kv, author });
  }

  /** PostgreSQL answers within 2 s. */
  async check(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new JazzError('STORAGE_IO', `PostgreSQL at ${this.log.where} did not answer within 2 s`)), 2000);
    });
    try {
      await Promise.race([this.log.ping(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  size(): Promise<number | undefined> {
    return this.log.size();
  }

  async close(): Promise<void> {
    await this.#unlisten?.();
    await Promise.all([...this.#apps.values()].map((a) => a.tail.catch(() => {})));
    await this.#log?.close();
    this.#log = undefined;
  }

  /** A publication: the row changes now, and is written in order with the app's other writes. */
  #change(appId: string, patch: Partial<AppRow>): void {
    let a = this.#apps.get(appId);
    if (!a) {
      if (patch.schema === undefined) throw new JazzError('SCHEMA_INVALID', 'publish the schema before its permissions');
      a = { row: { appId, hash: '', schema: null, catalogue: null, migrations: [], permissions: null, ...patch }, version: 0, dirty: true, gen: 1, writtenGen: 0, lastSeq: 0, tail: Promise.resolve() };
      this.#apps.set(appId, a);
    } else {
      a.row = { ...a.row, ...patch };
      a.dirty = true;
      a.gen++;
    }
    this.saved(appId).catch((e) => {
      this.#logger.error(
        { event: 'postgres-write-failed', app: appId, error: e instanceof Error ? e.message : String(e) },
        `app "${appId}": a publication could not be written to PostgreSQL yet (${e instanceof Error ? e.message : String(e)}); the app's next write tries again`,
      );
    });
  }

  async #writeRegistry(a: PgApp): Promise<void> {
    const row = a.row;
    const gen = a.gen;
    a.version = await this.#conflicts(a, () => this.log.saveApp(row, a.version));
    a.writtenGen = gen;
    if (a.row === row) a.dirty = false;
  }

  /**
   * Runs a write of the app's row; when another node wrote it first, this node's publication is
   * withdrawn: the row is read again and the app takes it (pg-follow.ts, as for any change made
   * elsewhere), and the conflict is thrown on.
   */
  async #conflicts<T>(a: PgApp, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (e instanceof RegistryConflict) {
        // Every publication of this node not written yet is withdrawn.
        a.dirty = false;
        a.withdrawn = { gen: a.gen, error: e };
        this.#logger.warn({ event: 'publication-conflict', app: a.row.appId }, e.message);
        this.#appChanged?.(a.row.appId);
      }
      throw e;
    }
  }

  /** Runs `fn` after the app's earlier writes; a failure fails this write only. */
  #enqueue(appId: string, fn: (a: PgApp) => Promise<void>): Promise<void> {
    const a = this.#apps.get(appId);
    if (!a) return Promise.resolve();
    const run = a.tail.then(() => fn(a));
    a.tail = run.catch(() => {});
    return run;
  }
}

/** The log's form of a batch's versions (see the top). */
export function encodeItems(engine: Engine, items: readonly { table: string; version: RowVersion }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const { table, version } of items) {
    const bytes = engine.encodeVersion(table, version);
    parts.push(bytes);
    size += 8 + bytes.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  items.forEach(({ table }, i) => {
    const bytes = parts[i]!;
    view.setUint32(at, engine.table(table).no);
    view.setUint32(at + 4, bytes.length);
    out.set(bytes, at + 8);
    at += 8 + bytes.length;
  });
  return out;
}

/** A batch's versions from the log's form, in `engine`'s names. */
export function decodeItems(engine: Engine, bytes: Uint8Array, byNo: ReadonlyMap<number, TableRuntime> = tablesByNo(engine)): Items {
  const items: Items = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    const no = view.getUint32(at);
    const len = view.getUint32(at + 4);
    const t = byNo.get(no);
    if (!t) throw new JazzError('STORAGE_CORRUPT', `a logged version names table number ${no}, which the app's catalogue does not have`);
    items.push({ table: t.name, version: engine.decodeVersion(t.name, bytes.subarray(at + 8, at + 8 + len)) });
    at += 8 + len;
  }
  return items;
}

export function tablesByNo(engine: Engine): Map<number, TableRuntime> {
  return new Map([...engine.tables.values()].map((t) => [t.no, t]));
}

/**
 * Applies logged batches to an engine in order, as a peer's (no checks: they were checked when
 * accepted), several thousand versions per call; the last `seq` applied.
 */
export function applyLogged(engine: Engine, batches: readonly LoggedBatch[], lastSeq: number): number {
  const byNo = tablesByNo(engine);
  let chunk: Items = [];
  const flush = () => {
    if (chunk.length) engine.applyVersions(chunk);
    chunk = [];
  };
  for (const b of batches) {
    if (b.seq <= lastSeq) continue;
    // A batch's branch records before its versions (a branch's first batch brings them).
    if (b.branches.length) {
      flush();
      putBranches(engine, b.branches as BranchInfo[]);
    }
    for (const item of decodeItems(engine, b.versions, byNo)) chunk.push(item);
    if (chunk.length >= REPLAY_CHUNK) flush();
    lastSeq = b.seq;
  }
  flush();
  return lastSeq;
}

/** Versions decoded by one engine, in another's names (the app's engine was replaced meanwhile: same catalogue numbers). */
export function carryOver(from: Engine, to: Engine, items: Items): Items {
  if (from === to) return items;
  return decodeItems(to, encodeItems(from, items));
}
