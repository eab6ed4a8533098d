/**
 * The engine: row versions in, visible rows and indexes kept, changes out to live queries.
 *
 * Every write, local or received, is a row version. Applying one appends it to the row's history,
 * merges it into the visible row (per-field last-writer-wins, see rows/version.ts), updates the
 * index entries of the columns whose visible value changed, and pushes the change (old row, new
 * row) to the live-query sources of its table. A batch is applied inside one store transaction,
 * so it is durable all at once; its changes reach subscribers together, after the write returns.
 *
 * The engine is synchronous: the store beneath it is, and so reads see every write at once.
 * Durability is the promise a write returns (tier `local`).
 */
import { tierRank, type Tier } from './tiers.ts';
import type { AppSchema } from '../schema/schema.ts';
import { Catalogue, type CatalogueColumn, type CatalogueTable } from '../schema/catalogue.ts';
import { SchemaView } from '../schema/view.ts';
import type { Migration } from '../lens/migration.ts';
import { normaliseInsert, normalisePatch } from '../schema/values.ts';
import type { KvStore, KvTransaction } from '../store/types.ts';
import { KeyWriter } from '../store/keys.ts';
import { ByteWriter, ByteReader } from '../util/binary.ts';
import { JazzError } from '../util/errors.ts';
import { assert } from '../util/assert.ts';
import { fromHex } from '../util/bytes.ts';
import { utf8Decode, utf8Encode } from '../util/utf8.ts';
import { HybridClock } from '../clock/hlc.ts';
import { IdGenerator, cryptoRandom, idText, newClientId, uuidToBytes, isUuid, type RandomSource } from '../rows/ids.ts';
import type { RowObject } from '../rows/row-codec.ts';
import {
  DELETED_SLOT,
  decodeSingle,
  decodeVersion,
  decodeVisible,
  decodeVisibleRow,
  digestHex,
  encodeSingle,
  encodeVersion,
  encodeVisible,
  isLegacyVisible,
  isSingle,
  singleVersionId,
  sysValues,
  makeMask,
  mergeVersion,
  valuesEqual,
  type RowVersion,
  type VisibleState,
} from '../rows/version.ts';
import { SYS_FIELDS, type SysValues } from '../rows/system-fields.ts';
import {
  INDEX_FORMAT,
  K_HISTORY,
  K_VISIBLE,
  MAIN_BRANCH,
  MANIFEST_COLUMN,
  MAX_ENGINE_KEY_BYTES,
  ROW_ID_KEY_BYTES,
  SYS_COLUMN_BASE,
  indexMayCut,
  historyKey,
  historyPrefix,
  indexPrefix,
  indexValues,
  metaKey,
  visibleKey,
  writeIndexValue,
} from './keyspace.ts';
import { decodeKey, prefixEnd } from '../store/keys.ts';
import { COMPOSITE_BASE, MAX_COMPOSITES, compositeChanged, compositeKey, compositeValueBytes, readIndexDefinitions, type CompositeIndex, type IndexDefinitions } from './composite.ts';

export interface EngineOptions {
  /** The current schema version: the engine's names are its names. */
  readonly schema: AppSchema;
  /**
   * Migrations connecting the versions the store was written with (and others to serve) to the
   * current one; the store keeps every version and migration it was given (catalogue.ts).
   */
  readonly migrations?: readonly Migration[];
  readonly store: KvStore;
  /** Wall clock in ms (tests pass a fake one). */
  readonly wall?: () => number;
  readonly random?: RandomSource;
  /**
   * Who writes: the user id recorded on every version written here (default `anon:<client id>`).
   * Clients take it from their credentials; `setAuthor` changes it for later writes.
   */
  readonly author?: string;
  /**
   * Indexes on several columns, per table (`{ todos: [['projectId', 'title']] }`; composite.ts).
   * Local to this database; an index added since the last open is built in the background, one
   * left out is deleted.
   */
  readonly indexes?: IndexDefinitions;
}

export type WriteOp =
  | {
      readonly kind: 'insert';
      readonly table: string;
      /** A given id; absent: a new one. */
      readonly id?: string;
      /** True when `id` came from `newRowId()` and so names no existing row (skips a lookup). */
      readonly fresh?: boolean;
      readonly values: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'update'; readonly table: string; readonly id: string; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'upsert'; readonly table: string; readonly id: string; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'delete'; readonly table: string; readonly id: string }
  /** Undeletes the row; `values`, when given, are set in the same version (as an update's). */
  | { readonly kind: 'restore'; readonly table: string; readonly id: string; readonly values?: Readonly<Record<string, unknown>> };

export interface WriteResult {
  readonly batchId: string;
  /** The row id each op wrote, in op order. */
  readonly ids: readonly string[];
  /** Resolves when the batch is durable in the local store (tier `local`). */
  readonly durable: Promise<void>;
  /** How many versions it wrote (0: nothing changed, so there is no batch to sync). */
  readonly written: number;
}

/**
 * A change to a table's live rows: added (no old), removed (no row) or edited (both). The rows hold
 * the columns; their system fields (`$createdBy`, ...) are beside them, for the queries that read them.
 */
export interface RowChange {
  readonly old: RowObject | undefined;
  readonly row: RowObject | undefined;
  readonly oldSys: SysValues | undefined;
  readonly rowSys: SysValues | undefined;
}

/** Receives the changes of one table, in the order they are applied. */
export interface ChangeListener {
  push(change: RowChange): void;
  /** Called (and the listener removed) if `push` throws. */
  fail?(error: unknown): void;
}

export type BatchState = 'pending' | 'accepted' | 'rejected';
export type { Tier } from './tiers.ts';

/** The branch every replica keeps visible and indexed; other branches are read from history. */
export const MAIN = 'main';

interface BatchRecord {
  s: BatchState;
  tier: Tier;
  /** [table number, row id hex, version id] of each version. */
  v: [number, string, string][];
  reason?: string;
}

/** Per-table runtime state: catalogue entry, key prefixes, live row count, listeners. */
export class TableRuntime {
  readonly cat: CatalogueTable;
  readonly name: string;
  readonly no: number;
  readonly manifestPrefix: Uint8Array;
  readonly indexPrefixes: ReadonlyMap<string, Uint8Array>;
  liveCount = 0;
  readonly listeners = new Set<ChangeListener>();
  /**
   * Columns whose index is still being built (added by a schema version to a table that had rows):
   * queries do not read those indexes until they are complete (plan.ts), writes keep them current.
   */
  readonly pendingIndexes = new Set<string>();
  /** The system fields as indexed columns (SYS_FIELDS order; numbers from SYS_COLUMN_BASE). */
  readonly sysColumns: readonly CatalogueColumn[] = SYS_COLUMNS;
  /** Its indexes on several columns (composite.ts); their names are in `pendingIndexes` while built. */
  composites: readonly CompositeIndex[] = [];

  constructor(cat: CatalogueTable) {
    this.cat = cat;
    this.name = cat.name;
    this.no = cat.no;
    this.manifestPrefix = indexPrefix(cat.no, MANIFEST_COLUMN);
    this.indexPrefixes = new Map([...cat.columns, ...SYS_COLUMNS].map((c) => [c.name, indexPrefix(cat.no, c.no)]));
  }

  /** A column or system field by its (internal) name. */
  column(name: string): CatalogueColumn | undefined {
    return this.cat.byName.get(name) ?? SYS_BY_NAME.get(name);
  }

  /** A column or system field by its number. */
  columnByNo(no: number): CatalogueColumn | undefined {
    return no >= SYS_COLUMN_BASE ? SYS_COLUMNS[no - SYS_COLUMN_BASE] : this.cat.columnsByNo.find((c) => c.no === no);
  }
}

const SYS_COLUMNS: readonly CatalogueColumn[] = Object.freeze(
  SYS_FIELDS.map((name, i) =>
    Object.freeze({ name, no: SYS_COLUMN_BASE + i, schema: Object.freeze({ type: name.endsWith('At') ? ('timestamp' as const) : ('string' as const) }), fill: null, live: true }),
  ),
);
const SYS_BY_NAME: ReadonlyMap<string, CatalogueColumn> = new Map(SYS_COLUMNS.map((c) => [c.name, c]));

const EMPTY = new Uint8Array(0);
/**
 * Quiet time before `whenIdle` work runs (after the page has rendered what it was just sent: at
 * 30 ms, 20 lists mounted after a restart rendered ~80 ms later in Chromium on two cores, the
 * worker's reads competing with the page), the time between its tasks, and how long one task runs
 * pieces (a write that comes meanwhile waits that long at most). One piece a task took ~100 ms for
 * 20 live queries' pieces in Chromium (a chain of timers is held to 4 ms apart after the fifth), so
 * a transaction 150 ms after 20 lists started still met them unread (9–12 ms against ~5).
 */
const IDLE_WORK_MS = 100;
const IDLE_STEP_MS = 0;
const IDLE_SLICE_MS = 4;

/**
 * The layout of rows in the store (`metaKey('rowFormat')`). 1: before rows had system fields;
 * 2: visible entries carry them (rows/version.ts). Opening an older store upgrades it (Engine.open).
 */
const ROW_FORMAT = 2;

export class Engine {
  readonly schema: AppSchema;
  readonly store: KvStore;
  readonly clientId: string;
  #author: string;
  readonly clock: HybridClock;
  readonly catalogue: Catalogue;
  readonly tables: ReadonlyMap<string, TableRuntime>;
  readonly #ids: IdGenerator;
  #closed = false;
  /** Resolves when what `open` wrote is durable. */
  ready: Promise<void> = Promise.resolve();
  readonly #kw = new KeyWriter(128);
  readonly #bw = new ByteWriter(512);
  readonly #rejected = new Set<string>();
  readonly #historyWatchers = new Map<string, Set<() => void>>();
  /** Versions planned for rows whose ids were just made here (no history can exist for them). */
  readonly #freshVersions = new WeakSet<RowVersion>();
  /** Callbacks run once after the current write has been applied (microtask). */
  #afterWrite: (() => void)[] = [];
  #flushScheduled = false;
  /** Work for a quiet moment (`whenIdle`) and the timer that runs it. */
  #idleWork: (() => void)[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(opts: EngineOptions, clientId: string, clockLast: number, catalogue: Catalogue, counts: Map<number, number>, rejected: string[]) {
    this.schema = opts.schema;
    this.store = opts.store;
    this.clientId = clientId;
    this.#author = opts.author ?? `anon:${clientId}`;
    const wall = opts.wall ?? Date.now;
    this.clock = new HybridClock(wall, clockLast);
    this.#ids = new IdGenerator(wall, opts.random ?? cryptoRandom);
    this.catalogue = catalogue;
    const tables = new Map<string, TableRuntime>();
    for (const cat of catalogue.tables.values()) {
      const t = new TableRuntime(cat);
      t.liveCount = counts.get(cat.no) ?? 0;
      tables.set(cat.name, t);
    }
    this.tables = tables;
    for (const b of rejected) this.#rejected.add(b);
  }

  /**
   * Opens the engine on a store: loads (or creates) the client id, clock and catalogue. Synchronous,
   * like the store; `engine.ready` resolves once the bookkeeping it wrote is durable.
   */
  static open(opts: EngineOptions): Engine {
    const { store } = opts;
    const get = (k: Uint8Array) => {
      const v = store.get(k);
      return v && utf8Decode(v);
    };
    let clientId = get(metaKey('clientId'));
    const fresh = clientId === undefined;
    if (!clientId) clientId = newClientId(opts.random ?? cryptoRandom);
    const clockText = get(metaKey('clock'));
    const catText = get(metaKey('catalogue'));
    const previous = catText ? (JSON.parse(catText) as unknown) : undefined;
    const catalogue = Catalogue.open(opts.schema, previous, opts.migrations);
    const counts = new Map<number, number>();
    for (const t of catalogue.tables.values()) {
      const c = get(metaKey('count', t.no));
      if (c) counts.set(t.no, Number(c));
    }
    const rejected: string[] = [];
    const rp = metaKey('rejected');
    for (const e of store.scan({ gte: rp, lt: prefixEnd(rp) })) rejected.push(utf8Decode(e.value));
    if (store.maxKeyBytes !== undefined && store.maxKeyBytes < MAX_ENGINE_KEY_BYTES) {
      throw new JazzError(
        'STORAGE_FORMAT',
        `this store takes keys of at most ${store.maxKeyBytes} bytes and the database needs ${MAX_ENGINE_KEY_BYTES}; use pages of 1 KiB or more (the default is 4 KiB)`,
        { maxKeyBytes: store.maxKeyBytes },
      );
    }
    const engine = new Engine(opts, clientId, clockText ? Number(clockText) : 0, catalogue, counts, rejected);
    const catJSON = JSON.stringify(catalogue.json);
    const indexFormat = fresh ? INDEX_FORMAT : Number(get(metaKey('indexFormat')) ?? 1);
    if (indexFormat > INDEX_FORMAT) {
      throw new JazzError('STORAGE_FORMAT', `this database was written by a newer version (index format ${indexFormat}, this one reads ${INDEX_FORMAT}); update jazz-elements to open it`);
    }
    const rowFormat = fresh ? ROW_FORMAT : Number(get(metaKey('rowFormat')) ?? 1);
    if (rowFormat > ROW_FORMAT) {
      throw new JazzError('STORAGE_FORMAT', `this database was written by a newer version (row format ${rowFormat}, this one reads ${ROW_FORMAT}); update jazz-elements to open it`);
    }
    if (fresh || catJSON !== catText || indexFormat !== INDEX_FORMAT || rowFormat !== ROW_FORMAT || catalogue.added.length > 0) {
      const tx = store.transaction();
      try {
        tx.put(metaKey('clientId'), utf8Encode(clientId));
        tx.put(metaKey('catalogue'), utf8Encode(catJSON));
        if (indexFormat < INDEX_FORMAT) engine.#cutLongIndexValues(tx);
        tx.put(metaKey('indexFormat'), utf8Encode(String(INDEX_FORMAT)));
        if (rowFormat < ROW_FORMAT) engine.#addSystemFields(tx);
        tx.put(metaKey('rowFormat'), utf8Encode(String(ROW_FORMAT)));
        // Columns a new version added to tables with rows: their indexes are built in the background.
        for (const { table, col } of catalogue.added) tx.put(metaKey('indexPending', table.no, col.no), EMPTY);
      } catch (e) {
        tx.rollback();
        throw e;
      }
      engine.ready = tx.commit();
    }
    engine.#openComposites(opts.indexes);
    engine.#buildPendingIndexes();
    return engine;
  }

  /**
   * Puts the `indexes` option in place (composite.ts). The store records each index by its
   * columns' catalogue numbers, so a column renamed by a schema version keeps its indexes: the
   * recorded ones keep their numbers; a new one gets the next free number and, if its table has
   * rows, a background build (meta `indexPending`, as for an added column); one no longer asked for
   * loses its entries.
   */
  #openComposites(option: IndexDefinitions | undefined): void {
    const wanted = readIndexDefinitions(option, this.catalogue.tables);
    const recorded = new Map<number, Map<string, number>>();
    const mp = metaKey('composite');
    for (const e of this.store.scan({ gte: mp, lt: prefixEnd(mp) })) {
      const parts = decodeKey(e.key);
      const tno = (parts[2] as { uint: number }).uint;
      let m = recorded.get(tno);
      if (!m) recorded.set(tno, (m = new Map()));
      m.set(parts[3] as string, Number(utf8Decode(e.value)));
    }
    const puts: [Uint8Array, Uint8Array][] = [];
    const drops: { key: Uint8Array; prefix: Uint8Array; pending: Uint8Array }[] = [];
    for (const t of this.tables.values()) {
      const want = wanted.get(t.cat) ?? new Map<string, readonly CatalogueColumn[]>();
      const have = recorded.get(t.no) ?? new Map<string, number>();
      const used = new Set(have.values());
      const kept = new Set<string>();
      const list: CompositeIndex[] = [];
      for (const [name, columns] of want) {
        const id = columns.map((c) => c.no).join(',');
        kept.add(id);
        let no = have.get(id);
        if (no === undefined) {
          let k = 0;
          while (used.has(COMPOSITE_BASE + k)) k++;
          if (k >= MAX_COMPOSITES) throw new JazzError('OPTION_INVALID', `indexes: "${t.name}" has no room for another index (the most is ${MAX_COMPOSITES})`);
          no = COMPOSITE_BASE + k;
          used.add(no);
          puts.push([metaKey('composite', t.no, id), utf8Encode(String(no))]);
          if (t.liveCount > 0) {
            puts.push([metaKey('indexPending', t.no, no), EMPTY]);
            t.pendingIndexes.add(name);
          }
        }
        list.push({ name, columns, no, prefix: indexPrefix(t.no, no), max: compositeValueBytes(columns.length) });
      }
      for (const [id, no] of have) {
        if (!kept.has(id)) drops.push({ key: metaKey('composite', t.no, id), prefix: indexPrefix(t.no, no), pending: metaKey('indexPending', t.no, no) });
      }
      t.composites = list;
    }
    if (puts.length === 0 && drops.length === 0) return;
    const tx = this.store.transaction();
    try {
      for (const [k, v] of puts) tx.put(k, v);
      for (const d of drops) {
        const keys: Uint8Array[] = [];
        for (const e of this.store.scan({ gte: d.prefix, lt: prefixEnd(d.prefix) })) keys.push(e.key.slice());
        for (const k of keys) tx.delete(k);
        tx.delete(d.key);
        tx.delete(d.pending);
      }
    } catch (e) {
      tx.rollback();
      throw e;
    }
    const done = tx.commit();
    const before = this.ready;
    this.ready = before.then(() => done);
  }

  /**
   * Builds the indexes of columns a schema version added to tables that had rows (see
   * `TableRuntime.pendingIndexes`), and of the system fields of a store from before they existed,
   * a chunk of rows per task, so opening after an upgrade never
   * waits for it: until a column's index is complete, queries read around it. Where it got to is in
   * the store (meta 'indexPending': the last row id done), so a build interrupted by a close or a
   * crash goes on at the next open. Each row's entry is its value now (its fill, unless a write set
   * the column since); writes meanwhile keep the entries of the rows they touch.
   */
  #buildPendingIndexes(): void {
    const p = metaKey('indexPending');
    const pending: { t: TableRuntime; col: CatalogueColumn | CompositeIndex; key: Uint8Array; after: Uint8Array | undefined }[] = [];
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) {
      const parts = decodeKey(e.key);
      const tno = (parts[2] as { uint: number }).uint;
      const cno = (parts[3] as { uint: number }).uint;
      const t = [...this.tables.values()].find((x) => x.no === tno);
      const col = t && (cno >= COMPOSITE_BASE && cno < SYS_COLUMN_BASE ? t.composites.find((c) => c.no === cno) : t.columnByNo(cno));
      if (!t || !col) continue;
      t.pendingIndexes.add(col.name);
      pending.push({ t, col, key: e.key.slice(), after: e.value.length === 16 ? e.value.slice() : undefined });
    }
    const CHUNK = 2000;
    const step = (): void => {
      if (this.#closed) return;
      const job = pending[0];
      if (!job) return;
      const { t, col } = job;
      const composite = 'columns' in col ? col : undefined;
      const prefix = composite ? composite.prefix : t.indexPrefixes.get(col.name)!;
      const range = job.after ? { gt: new KeyWriter(32).reset(t.manifestPrefix).id(job.after).finish(), lt: prefixEnd(t.manifestPrefix) } : { gte: t.manifestPrefix, lt: prefixEnd(t.manifestPrefix) };
      const ids: Uint8Array[] = [];
      for (const e of this.store.scan(range)) {
        ids.push(e.key.slice(e.key.length - 16));
        if (ids.length === CHUNK) break;
      }
      try {
        const tx = this.store.transaction();
        const kw = new KeyWriter(64);
        const sys = col.no >= SYS_COLUMN_BASE;
        for (const id of ids) {
          const row = this.getRow(t, id, undefined, sys);
          if (!row) continue;
          if (composite) {
            tx.put(compositeKey(kw, composite, row, id).view(), EMPTY);
            continue;
          }
          const c = col as CatalogueColumn;
          const item = c.schema.type === 'array' ? c.schema.items! : c.schema;
          for (const x of indexValues(c.schema, row[c.name])) tx.put(writeIndexValue(kw.reset(prefix), item, x).id(id).view(), EMPTY);
        }
        if (ids.length < CHUNK) {
          tx.delete(job.key);
          pending.shift();
          t.pendingIndexes.delete(col.name);
        } else {
          job.after = ids[ids.length - 1]!;
          tx.put(job.key, job.after);
        }
        tx.commit().catch(() => {}); // a store failure surfaces on the next write; the build resumes at the next open
      } catch {
        return; // the store stopped or a transaction is open (cannot be: writes commit in their call)
      }
      if (pending.length) setTimeout(step, 0);
    };
    if (pending.length) setTimeout(step, 0);
  }

  /**
   * Row format 1 → 2: rows gain their system fields (`$createdBy`, ...; rows/version.ts). Visible
   * entries of rows with several versions are rebuilt from their history (a row's only version
   * already says it all), and the system fields' indexes are built in the background, as for an
   * added column (`#buildPendingIndexes`).
   */
  #addSystemFields(tx: KvTransaction): void {
    for (const t of this.tables.values()) {
      const p = new KeyWriter().uint(t.no).uint(K_VISIBLE).uint(MAIN_BRANCH).finish();
      const legacy: string[] = [];
      let any = false;
      for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) {
        any = true;
        if (isLegacyVisible(e.value)) legacy.push(idText(e.key.subarray(e.key.length - 16)));
      }
      for (const id of legacy) {
        const versions = this.history(t, id).filter((v) => !this.#rejected.has(v.batchId));
        versions.sort((a, b) => a.ts - b.ts);
        let state: VisibleState | undefined;
        for (const v of versions) state = mergeVersion(t.cat, state, v, () => versions.some((o) => o.parents.includes(v.versionId))).state;
        if (state) tx.put(visibleKey(this.#kw, t.no, uuidToBytes(id)), encodeVisible(this.#bw, t.cat, state));
      }
      if (any) for (const c of t.sysColumns) tx.put(metaKey('indexPending', t.no, c.no), EMPTY);
    }
  }

  /**
   * Index format 1 → 2: entries of long values held the whole value; they now hold a cut prefix
   * (keyspace.ts). Rewrites exactly the entries whose key differs, from the live rows.
   */
  #cutLongIndexValues(tx: KvTransaction): void {
    const whole = new KeyWriter(256);
    const cut = new KeyWriter(256);
    for (const t of this.tables.values()) {
      const columns = t.cat.columns.filter((c) => indexMayCut(c.schema));
      if (columns.length === 0) continue;
      const p = new KeyWriter().uint(t.no).uint(K_VISIBLE).uint(MAIN_BRANCH).finish();
      const rows: RowObject[] = [];
      for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) {
        const row = decodeVisibleRow(e.value, t.cat, idText(e.key.subarray(e.key.length - 16)));
        if (row) rows.push(row);
      }
      for (const row of rows) {
        const idBytes = uuidToBytes(row.id);
        for (const c of columns) {
          const prefix = t.indexPrefixes.get(c.name)!;
          const item = c.schema.type === 'array' ? c.schema.items! : c.schema;
          for (const x of indexValues(c.schema, row[c.name])) {
            writeIndexValue(cut.reset(prefix), item, x);
            if (!cut.cut) continue;
            tx.delete(writeIndexValue(whole.reset(prefix), item, x, Infinity).id(idBytes).view());
            tx.put(cut.id(idBytes).view(), EMPTY);
          }
        }
      }
    }
  }

  readonly #views = new Map<string, SchemaView>();

  /** The engine as a schema version sees it (default: the current one); `MIGRATION_INVALID` for one it does not know. */
  view(hash: string = this.catalogue.current): SchemaView {
    let v = this.#views.get(hash);
    if (!v) this.#views.set(hash, (v = new SchemaView(this.catalogue, hash)));
    return v;
  }

  /** The user id recorded as the author of versions written here from now on. */
  get author(): string {
    return this.#author;
  }

  /** Changes who writes (new credentials); versions already written keep their author. */
  setAuthor(author: string): void {
    if (typeof author !== 'string' || author === '') throw new JazzError('TYPE_MISMATCH', 'an author is a non-empty user id');
    this.#author = author;
  }

  /** A new time-ordered row id. */
  newRowId(): string {
    return this.#ids.next();
  }

  table(name: string): TableRuntime {
    const t = this.tables.get(name);
    if (!t) throw new JazzError('UNKNOWN_TABLE', `unknown table "${name}"; the schema has ${[...this.tables.keys()].join(', ')}`, { table: name });
    return t;
  }

  #checkOpen(): void {
    if (this.#closed) throw new JazzError('CLOSED', 'the database is closed; open it again with createDb');
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ─── reads ────────────────────────────────────────────────────────────────

  /**
   * The live row with this id (16 bytes), or undefined if absent or deleted. `sys`: with its system
   * fields (`$createdBy`, `$createdAt`, `$updatedBy`, `$updatedAt`; epoch ms) besides the columns.
   */
  getRow(t: TableRuntime, id: Uint8Array, text?: string, sys = false): RowObject | undefined {
    const bytes = this.store.get(visibleKey(this.#kw, t.no, id));
    if (!bytes) return undefined;
    return decodeVisibleRow(bytes, t.cat, text ?? idText(id), sys);
  }

  getRowById(t: TableRuntime, id: string, sys = false): RowObject | undefined {
    if (!isUuid(id)) return undefined;
    return this.getRow(t, uuidToBytes(id), id, sys);
  }

  /** The visible state of a row, deleted or not (undefined when no version is known). */
  getVisibleState(t: TableRuntime, id: string): VisibleState | undefined {
    const bytes = this.store.get(visibleKey(this.#kw, t.no, uuidToBytes(id)));
    return bytes && decodeVisible(bytes, t.cat);
  }

  /**
   * Every version of a row, in key order (by version id). A row with a single version keeps it in
   * its visible entry instead of a history entry (see encodeSingle).
   */
  history(t: TableRuntime, id: string): RowVersion[] {
    const idBytes = uuidToBytes(id);
    const p = historyPrefix(new KeyWriter(), t.no, idBytes).finish();
    const out: RowVersion[] = [];
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) out.push(decodeVersion(e.value, t.cat));
    const inline = this.#inlineVersion(t, idBytes, id);
    if (inline && !out.some((v) => v.versionId === inline.versionId)) out.push(inline);
    return out;
  }

  /** The version a single-version row keeps in its visible entry, if it is one. */
  #inlineVersion(t: TableRuntime, idBytes: Uint8Array, id: string): RowVersion | undefined {
    const vb = this.store.get(visibleKey(this.#kw, t.no, idBytes));
    return vb && isSingle(vb) ? decodeSingle(vb, t.cat, id) : undefined;
  }

  /** Whether the row holds this version (in history or as its single version). */
  #knows(t: TableRuntime, idBytes: Uint8Array, versionId: string): boolean {
    const vb = this.store.get(visibleKey(this.#kw, t.no, idBytes));
    if (vb && isSingle(vb)) return singleVersionId(vb) === versionId;
    return this.store.get(historyKey(this.#kw, t.no, idBytes, versionId)) !== undefined;
  }

  /** Whether a batch was rejected (its versions stay in history, out of the visible state). */
  isRejected(batchId: string): boolean {
    return this.#rejected.has(batchId);
  }

  /**
   * Calls `fn` whenever the row's history changes: a version stored (also one that changes
   * nothing visible, like a concurrent edit that lost) or a batch of it rejected; `rowId` `*`:
   * any row of the table. Returns a function that stops it.
   */
  watchHistory(table: string, rowId: string, fn: () => void): () => void {
    const key = `${this.table(table).no}:${rowId}`;
    let set = this.#historyWatchers.get(key);
    if (!set) this.#historyWatchers.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#historyWatchers.get(key) === set) this.#historyWatchers.delete(key);
    };
  }

  /** Tells the watchers of a row's history, after the current writes (once per tick). */
  #historyChanged(t: TableRuntime, rowId: string): void {
    for (const key of [`${t.no}:${rowId}`, `${t.no}:*`]) {
      const set = this.#historyWatchers.get(key);
      if (set)
        this.schedule(() => {
          for (const fn of set) fn();
        });
    }
  }

  /** Whether the row holds this version (received or written here). */
  hasVersion(table: string, rowId: string, versionId: string): boolean {
    const t = this.table(table);
    return isUuid(rowId) && this.#knows(t, uuidToBytes(rowId), versionId);
  }

  /** Every version of every row of a table (history order: by row id, then version id). */
  *versions(table: string): IterableIterator<RowVersion> {
    const t = this.table(table);
    // History entries and single-version visible entries, merged by row id (a row has one or the other).
    const hp = new KeyWriter().uint(t.no).uint(K_HISTORY).finish();
    const vp = new KeyWriter().uint(t.no).uint(K_VISIBLE).uint(0).finish();
    const hs = this.store.scan({ gte: hp, lt: prefixEnd(hp) });
    const vs = this.store.scan({ gte: vp, lt: prefixEnd(vp) });
    // Both keys hold the row id right after their prefix, as an id part (tag, 16 bytes).
    const rowOf = (key: Uint8Array, at: number) => key.subarray(at + 1, at + 17);
    let h = hs.next();
    let v = vs.next();
    while (!h.done || !v.done) {
      if (!v.done && !isSingle(v.value.value)) {
        v = vs.next();
        continue;
      }
      if (v.done || (!h.done && compareIds(rowOf(h.value.key, hp.length), rowOf(v.value.key, vp.length)) <= 0)) {
        yield decodeVersion(h.value!.value, t.cat);
        h = hs.next();
      } else {
        yield decodeSingle(v.value.value, t.cat, idText(rowOf(v.value.key, vp.length)));
        v = vs.next();
      }
    }
  }

  /** Every row's visible entry (deleted ones too), in row id order; the bytes are the store's: read, do not keep. */
  *visibleEntries(table: string): IterableIterator<{ id: string; bytes: Uint8Array }> {
    const t = this.table(table);
    const p = new KeyWriter().uint(t.no).uint(K_VISIBLE).uint(0).finish();
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) yield { id: idText(e.key.subarray(e.key.length - 16)), bytes: e.value };
  }

  /** Ids of every row with a visible entry (deleted ones too). */
  *rowIds(table: string): IterableIterator<string> {
    const t = this.table(table);
    const p = new KeyWriter().uint(t.no).uint(K_VISIBLE).uint(0).finish();
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) yield idText(e.key.subarray(e.key.length - 16));
  }

  /** A digest of the set of versions of a row (see VisibleState.digest), or undefined if unknown. */
  rowDigest(table: string, id: string): string | undefined {
    const t = this.table(table);
    if (!isUuid(id)) return undefined;
    const b = this.store.get(visibleKey(this.#kw, t.no, uuidToBytes(id)));
    return b && digestHex(decodeVisible(b, t.cat).digest);
  }

  /** The raw visible entry, for convergence checks. */
  visibleBytes(t: TableRuntime, id: string): Uint8Array | undefined {
    const b = this.store.get(visibleKey(this.#kw, t.no, uuidToBytes(id)));
    return b?.slice();
  }

  // ─── local writes ─────────────────────────────────────────────────────────

  /**
   * Applies a batch of local writes atomically: every op is checked first, and if one fails
   * nothing is written. Returns at once with the ids; `durable` resolves at tier `local`.
   */
  write(ops: readonly WriteOp[], batchId?: string, onBehalfOf?: string): WriteResult {
    return this.applyPlanned(this.planWrite(ops, batchId, undefined, onBehalfOf));
  }

  /**
   * Turns writes into row versions without applying them (checks included). `write` applies them
   * at once; a transaction sends them to the authority first.
   */
  planWrite(
    ops: readonly WriteOp[],
    givenBatchId?: string,
    view: SchemaView = this.view(),
    onBehalfOf?: string,
    /** Write on another branch than main: its name, and how a row reads there (src/history/branches.ts). */
    on?: { readonly branch: string; state(t: TableRuntime, id: string): { deleted: boolean; values: Record<string, unknown>; heads: string[] } | undefined },
  ): { batchId: string; ids: string[]; versions: { table: string; version: RowVersion }[] } {
    this.#checkOpen();
    if (onBehalfOf !== undefined && (typeof onBehalfOf !== 'string' || onBehalfOf === '')) throw new JazzError('TYPE_MISMATCH', 'onBehalfOf is a non-empty user id');
    // Written on behalf of another user: that user is the author, and who really wrote it is kept.
    const who = onBehalfOf !== undefined && onBehalfOf !== this.#author ? { author: onBehalfOf, via: this.#author } : { author: this.#author };
    // A batch id made elsewhere (the page, for a worker) must be a fresh UUID; it names the batch's fate.
    if (givenBatchId !== undefined && (!isUuid(givenBatchId) || this.batchRecord(givenBatchId))) {
      throw new JazzError('TYPE_MISMATCH', `batch id "${String(givenBatchId)}" is not a new UUID`);
    }
    const batchId = givenBatchId ?? this.#ids.next();
    const branch = on?.branch ?? MAIN;
    const overlay = new Map<string, { deleted: boolean; values: Record<string, unknown>; heads: string[] } | null>();
    const planned: { t: TableRuntime; v: RowVersion }[] = [];
    const ids: string[] = [];
    const current = (t: TableRuntime, id: string) => {
      const key = `${t.no}:${id}`;
      if (overlay.has(key)) return overlay.get(key) ?? undefined;
      if (on) return on.state(t, id);
      const s = this.getVisibleState(t, id);
      return s && { deleted: s.deleted, values: s.values, heads: s.heads };
    };
    for (const op of ops) {
      // Tables and columns are named as the writer's version names them (the current one by default).
      const vt = view.table(op.table);
      const t = this.table(vt.table.name);
      let id: string;
      let values: Record<string, unknown>;
      let slots: number[];
      let deleted = false;
      let parents: string[] = [];
      if (op.kind === 'insert' || op.kind === 'upsert') {
        id = op.id ?? this.#ids.next();
        if (op.id !== undefined && !isUuid(op.id)) throw new JazzError('TYPE_MISMATCH', `"${String(op.id)}" is not a row id (a UUID string)`, { table: vt.name });
        const cur = op.kind === 'insert' && (op.id === undefined || op.fresh) ? undefined : current(t, id);
        if (cur && !cur.deleted) {
          if (op.kind === 'insert') throw new JazzError('ROW_EXISTS', `${vt.name} already has a row ${id}; use update or upsert`, { table: vt.name, id });
          const patch = normalisePatch(vt, op.values);
          values = { ...cur.values, ...patch };
          slots = Object.keys(patch).map((c) => t.cat.byName.get(c)!.no);
          parents = cur.heads;
        } else {
          values = normaliseInsert(vt, op.values);
          slots = [DELETED_SLOT, ...vt.columns.map((c) => c.col.no)];
          parents = cur?.heads ?? [];
        }
      } else {
        id = op.id;
        const cur = current(t, id);
        if (!cur) throw new JazzError('ROW_NOT_FOUND', `${vt.name} has no row ${id}`, { table: vt.name, id });
        parents = cur.heads;
        values = cur.values;
        if (op.kind === 'update') {
          if (cur.deleted) throw new JazzError('ROW_DELETED', `${vt.name} row ${id} is deleted; restore it before updating`, { table: vt.name, id });
          const patch = normalisePatch(vt, op.values);
          values = { ...cur.values, ...patch };
          slots = Object.keys(patch).map((c) => t.cat.byName.get(c)!.no);
          deleted = false;
        } else {
          deleted = op.kind === 'delete';
          slots = cur.deleted === deleted ? [] : [DELETED_SLOT];
          if (cur.deleted) deleted = op.kind === 'delete';
          if (op.kind === 'restore' && op.values) {
            const patch = normalisePatch(vt, op.values);
            values = { ...cur.values, ...patch };
            slots.push(...Object.keys(patch).map((c) => t.cat.byName.get(c)!.no));
          }
        }
      }
      ids.push(id);
      if (slots.length === 0) continue; // nothing to change: an empty update, deleting a deleted row
      // The clock is strictly increasing and persisted, so (client, timestamp) names the version.
      const ts = this.clock.tick();
      const v: RowVersion = {
        rowId: id,
        versionId: `${this.clientId}.${ts.toString(36)}`,
        parents,
        branch,
        ts,
        ...who,
        batchId,
        mask: makeMask(t.cat.slots, slots),
        deleted,
        values,
      };
      planned.push({ t, v });
      if (op.kind === 'insert' && (op.id === undefined || op.fresh) && !overlay.has(`${t.no}:${id}`)) this.#freshVersions.add(v);
      overlay.set(`${t.no}:${id}`, { deleted, values, heads: [v.versionId] });
    }
    return { batchId, ids, versions: planned.map(({ t, v }) => ({ table: t.name, version: v })) };
  }

  /** Applies what `planWrite` planned, as `write` does (for callers that check a plan first). */
  applyPlanned({ batchId, ids, versions }: { batchId: string; ids: string[]; versions: { table: string; version: RowVersion }[] }): WriteResult {
    const planned = versions.map(({ table, version }) => ({ t: this.table(table), v: version }));
    if (planned.length === 0) return { batchId, ids, durable: this.store.flush(), written: 0 };
    const record: BatchRecord = { s: 'pending', tier: 'local', v: [] };
    const tx = this.store.transaction();
    try {
      const touched = new Set<TableRuntime>();
      for (const { t, v } of planned) {
        this.#apply(tx, t, v, true, this.#freshVersions.has(v));
        touched.add(t);
        record.v.push([t.no, v.rowId, v.versionId]);
      }
      this.#putBookkeeping(tx, touched);
      tx.put(metaKey('batch', batchId), utf8Encode(JSON.stringify(record)));
      // Branch batches too: the sync client pushes them to a server that keeps branches.
      tx.put(metaKey('outbox', batchId), utf8Encode(batchId));
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return { batchId, ids, durable: tx.commit(), written: planned.length };
  }

  #putBookkeeping(tx: KvTransaction, touched: Iterable<TableRuntime>): void {
    tx.put(metaKey('clock'), utf8Encode(String(this.clock.last)));
    for (const t of touched) tx.put(metaKey('count', t.no), utf8Encode(String(t.liveCount)));
  }

  // ─── received versions ────────────────────────────────────────────────────

  /**
   * Applies versions received from elsewhere (a server, another engine). Idempotent: a version
   * already in history changes nothing. Returns how many were new.
   */
  applyVersions(items: readonly { table: string; version: RowVersion }[]): { applied: number; new: { table: string; version: RowVersion }[]; durable: Promise<void> } {
    return this.#applyReceived(items, undefined);
  }

  /**
   * Applies a batch received from a client that this replica passes on to another server (an edge
   * server relaying to its authority), as `applyVersions` does, and in the same store transaction
   * records it as this replica's own pending batch in the outbox: so its sync client pushes it on,
   * and an acknowledgement or rejection settles it like a local batch. A batch with a record
   * already (sent again) keeps it.
   */
  applyRelayed(batchId: string, items: readonly { table: string; version: RowVersion }[]): { applied: number; new: { table: string; version: RowVersion }[]; durable: Promise<void> } {
    return this.#applyReceived(items, this.batchRecord(batchId) ? undefined : batchId);
  }

  #applyReceived(items: readonly { table: string; version: RowVersion }[], relayed: string | undefined): { applied: number; new: { table: string; version: RowVersion }[]; durable: Promise<void> } {
    this.#checkOpen();
    const tx = this.store.transaction();
    const fresh: { table: string; version: RowVersion }[] = [];
    try {
      const touched = new Set<TableRuntime>();
      for (const item of items) {
        const t = this.table(item.table);
        this.clock.observe(item.version.ts);
        if (this.#apply(tx, t, item.version)) {
          fresh.push(item);
          touched.add(t);
        }
      }
      this.#putBookkeeping(tx, touched);
      if (relayed !== undefined) {
        const record: BatchRecord = { s: 'pending', tier: 'local', v: items.map(({ table, version }) => [this.table(table).no, version.rowId, version.versionId]) };
        tx.put(metaKey('batch', relayed), utf8Encode(JSON.stringify(record)));
        tx.put(metaKey('outbox', relayed), utf8Encode(relayed));
      }
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return { applied: fresh.length, new: fresh, durable: tx.commit() };
  }

  /** Encodes a version for transport or storage elsewhere. */
  encodeVersion(table: string, v: RowVersion): Uint8Array {
    return encodeVersion(this.#bw, this.table(table).cat, v);
  }

  decodeVersion(table: string, bytes: Uint8Array): RowVersion {
    return decodeVersion(bytes, this.table(table).cat);
  }

  /**
   * Applies one version inside `tx`; false when it was already known or its batch is rejected.
   * `fresh`: the row id was just made here, so the row has no history yet.
   */
  #apply(tx: KvTransaction, t: TableRuntime, v: RowVersion, local = false, fresh = false): boolean {
    const idBytes = uuidToBytes(v.rowId);
    const vkey = visibleKey(this.#kw, t.no, idBytes);
    const oldBytes = fresh ? undefined : this.store.get(vkey);
    // A version written here just now is new by construction; received ones may be repeats.
    if (!local) {
      if (oldBytes && isSingle(oldBytes)) {
        if (singleVersionId(oldBytes) === v.versionId) return false;
      } else if (this.store.get(historyKey(this.#kw, t.no, idBytes, v.versionId)) !== undefined) return false;
    }
    if (this.#rejected.has(v.batchId)) return false;
    if (v.branch !== MAIN) return this.#applyBranch(tx, t, idBytes, v);
    if (!oldBytes && (fresh || !this.#hasHistory(t, idBytes))) {
      // The row's first version: it alone is the visible entry, with no history entry.
      const { state } = mergeVersion(t.cat, undefined, v, () => false);
      tx.put(vkey, encodeSingle(this.#bw, t.cat, v, true), vkey.length - ROW_ID_KEY_BYTES);
      this.#rowChanged(tx, t, idBytes, v.rowId, undefined, state);
      if (this.#historyWatchers.size) this.#historyChanged(t, v.rowId);
      return true;
    }
    const old = oldBytes && decodeVisible(oldBytes, t.cat);
    if (oldBytes && isSingle(oldBytes)) this.#toHistory(tx, t, idBytes, oldBytes, v.rowId);
    tx.put(historyKey(this.#kw, t.no, idBytes, v.versionId), encodeVersion(this.#bw, t.cat, v, true));
    const { state, changed, sysChanged } = mergeVersion(t.cat, old, v, () => this.#hasChild(t, idBytes, v.versionId));
    tx.put(vkey, encodeVisible(this.#bw, t.cat, state, true), vkey.length - ROW_ID_KEY_BYTES);
    if (changed || sysChanged) this.#rowChanged(tx, t, idBytes, v.rowId, old, state);
    if (this.#historyWatchers.size) this.#historyChanged(t, v.rowId);
    return true;
  }

  /**
   * A version of another branch than main: kept in the row's history and in the branch's list of
   * rows, never merged into main's visible entry or indexes (src/history/branches.ts reads it).
   */
  #applyBranch(tx: KvTransaction, t: TableRuntime, idBytes: Uint8Array, v: RowVersion): boolean {
    const hkey = historyKey(this.#kw, t.no, idBytes, v.versionId);
    if (this.store.get(hkey) !== undefined) return false;
    tx.put(hkey, encodeVersion(this.#bw, t.cat, v, true));
    tx.put(metaKey('branchRow', v.branch, t.no, v.rowId), EMPTY);
    this.#historyChanged(t, v.rowId);
    return true;
  }

  /** Drops a branch: its record, its list of rows and its versions (src/history/branches.ts checks first). */
  purgeBranch(branch: string): Promise<void> {
    this.#checkOpen();
    const tx = this.store.transaction();
    try {
      for (const t of this.tables.values()) {
        for (const rowId of this.branchRows(branch, t.name)) {
          const idBytes = uuidToBytes(rowId);
          const p = historyPrefix(new KeyWriter(), t.no, idBytes).finish();
          for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) {
            if (decodeVersion(e.value, t.cat).branch === branch) tx.delete(e.key.slice());
          }
          tx.delete(metaKey('branchRow', branch, t.no, rowId));
          this.#historyChanged(t, rowId);
        }
      }
      tx.delete(metaKey('branch', branch));
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return tx.commit();
  }

  /** The rows a branch has versions of, per table. */
  branchRows(branch: string, table: string): string[] {
    const p = metaKey('branchRow', branch, this.table(table).no);
    const out: string[] = [];
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) out.push(decodeKey(e.key).at(-1) as string);
    return out;
  }

  /** Moves the version a single-version visible entry holds into history (a second one is coming). */
  #toHistory(tx: KvTransaction, t: TableRuntime, idBytes: Uint8Array, single: Uint8Array, rowId: string): void {
    const first = decodeSingle(single, t.cat, rowId);
    tx.put(historyKey(this.#kw, t.no, idBytes, first.versionId), encodeVersion(this.#bw, t.cat, first, true));
  }

  #hasHistory(t: TableRuntime, idBytes: Uint8Array): boolean {
    const p = historyPrefix(new KeyWriter(), t.no, idBytes).finish();
    for (const _ of this.store.scan({ gte: p, lt: prefixEnd(p) })) return true;
    return false;
  }

  #rowChanged(tx: KvTransaction, t: TableRuntime, idBytes: Uint8Array, id: string, old: VisibleState | undefined, next: VisibleState): void {
    const oldRow = old && !old.deleted ? ({ id, ...old.values } as RowObject) : undefined;
    const newRow = !next.deleted ? ({ id, ...next.values } as RowObject) : undefined;
    if (!oldRow && !newRow) return;
    const oldSys = oldRow ? sysValues(old!) : undefined;
    const rowSys = newRow ? sysValues(next) : undefined;
    this.#updateIndexes(tx, t, idBytes, oldRow, newRow);
    this.#updateSysIndexes(tx, t, idBytes, oldSys, rowSys);
    if (!oldRow) t.liveCount++;
    if (!newRow) t.liveCount--;
    const change: RowChange = { old: oldRow, row: newRow, oldSys, rowSys };
    for (const l of t.listeners) {
      try {
        l.push(change);
      } catch (e) {
        // A failing live query must not fail the write; it hears about its own failure.
        t.listeners.delete(l);
        if (l.fail) l.fail(e);
        else console.error('jazz-elements: a live query failed and was stopped', e);
      }
    }
  }

  #hasChild(t: TableRuntime, idBytes: Uint8Array, versionId: string): boolean {
    const p = historyPrefix(new KeyWriter(), t.no, idBytes).finish();
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) {
      const c = decodeVersion(e.value, t.cat);
      if (c.branch === MAIN && c.parents.includes(versionId)) return true;
    }
    const inline = this.#inlineVersion(t, idBytes, '');
    return inline?.parents.includes(versionId) ?? false;
  }

  #updateIndexes(tx: KvTransaction, t: TableRuntime, idBytes: Uint8Array, oldRow: RowObject | undefined, newRow: RowObject | undefined): void {
    const kw = this.#kw;
    if (!oldRow !== !newRow) {
      kw.reset(t.manifestPrefix).id(idBytes);
      // Views of the key writer: the store copies what it keeps (KvStore contract).
      if (newRow) tx.put(kw.view(), EMPTY, kw.length - ROW_ID_KEY_BYTES);
      else tx.delete(kw.view());
    }
    for (const c of t.cat.columns) {
      const ov = oldRow?.[c.name];
      const nv = newRow?.[c.name];
      if (oldRow && newRow && valuesEqual(ov, nv)) continue;
      const prefix = t.indexPrefixes.get(c.name)!;
      const item = c.schema.type === 'array' ? c.schema.items! : c.schema;
      if (oldRow) {
        for (const x of indexValues(c.schema, ov)) tx.delete(writeIndexValue(kw.reset(prefix), item, x).id(idBytes).view());
      }
      if (newRow) {
        for (const x of indexValues(c.schema, nv)) tx.put(writeIndexValue(kw.reset(prefix), item, x).id(idBytes).view(), EMPTY, kw.length - ROW_ID_KEY_BYTES);
      }
    }
    for (const ci of t.composites) {
      if (oldRow && newRow && !compositeChanged(ci, oldRow, newRow)) continue;
      if (oldRow) tx.delete(compositeKey(kw, ci, oldRow, idBytes).view());
      if (newRow) tx.put(compositeKey(kw, ci, newRow, idBytes).view(), EMPTY, kw.length - ROW_ID_KEY_BYTES);
    }
  }

  #updateSysIndexes(tx: KvTransaction, t: TableRuntime, idBytes: Uint8Array, oldSys: SysValues | undefined, newSys: SysValues | undefined): void {
    const kw = this.#kw;
    for (const c of t.sysColumns) {
      const field = c.name as keyof SysValues;
      const ov = oldSys?.[field];
      const nv = newSys?.[field];
      if (ov === nv) continue;
      const prefix = t.indexPrefixes.get(c.name)!;
      if (ov !== undefined) tx.delete(writeIndexValue(kw.reset(prefix), c.schema, ov).id(idBytes).view());
      if (nv !== undefined) tx.put(writeIndexValue(kw.reset(prefix), c.schema, nv).id(idBytes).view(), EMPTY, kw.length - ROW_ID_KEY_BYTES);
    }
  }

  /**
   * What applying these versions would do, without writing anything: for each version, the row's
   * visible state before and after (later versions of the list see the earlier ones). Used to
   * check permissions before a batch is accepted.
   */
  previewVersions(items: readonly { table: string; version: RowVersion }[]): { table: string; rowId: string; before: VisibleState | undefined; after: VisibleState; known: boolean }[] {
    const overlay = new Map<string, VisibleState | undefined>();
    const out: { table: string; rowId: string; before: VisibleState | undefined; after: VisibleState; known: boolean }[] = [];
    for (const { table, version: v } of items) {
      const t = this.table(table);
      const key = `${t.no}:${v.rowId}`;
      const before = overlay.has(key) ? overlay.get(key) : this.getVisibleState(t, v.rowId);
      const idBytes = uuidToBytes(v.rowId);
      const known = this.#knows(t, idBytes, v.versionId);
      const after = known ? before! : mergeVersion(t.cat, before, v, () => this.#hasChild(t, idBytes, v.versionId)).state;
      overlay.set(key, after);
      out.push({ table, rowId: v.rowId, before, after, known });
    }
    return out;
  }

  /**
   * Forgets rows entirely, history included, without writing versions: for rows a server says this
   * client may no longer hold. Live queries see them leave.
   */
  purgeRows(items: readonly { table: string; rowId: string }[]): Promise<void> {
    this.#checkOpen();
    const tx = this.store.transaction();
    try {
      const touched = new Set<TableRuntime>();
      for (const { table, rowId } of items) {
        const t = this.tables.get(table);
        if (!t || !isUuid(rowId)) continue;
        const idBytes = uuidToBytes(rowId);
        const vkey = visibleKey(this.#kw, t.no, idBytes);
        const bytes = this.store.get(vkey);
        if (!bytes) continue;
        const old = decodeVisible(bytes, t.cat);
        const p = historyPrefix(new KeyWriter(), t.no, idBytes).finish();
        const keys: Uint8Array[] = [];
        for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) keys.push(e.key.slice());
        for (const k of keys) tx.delete(k);
        tx.delete(visibleKey(this.#kw, t.no, idBytes));
        this.#rowChanged(tx, t, idBytes, rowId, old, { ...old, deleted: true });
        touched.add(t);
      }
      this.#putBookkeeping(tx, touched);
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return tx.commit();
  }

  /**
   * Forgets local batches that were never acknowledged: their outbox entries and records (their
   * rows are purged separately: `purgeRows`). For writes abandoned before they were sent (a file
   * upload aborted or out of space: src/files).
   */
  dropLocalBatches(batchIds: readonly string[]): Promise<void> {
    this.#checkOpen();
    const tx = this.store.transaction();
    try {
      for (const b of batchIds) {
        tx.delete(metaKey('outbox', b));
        tx.delete(metaKey('batch', b));
      }
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return tx.commit();
  }

  // ─── batch fates ──────────────────────────────────────────────────────────

  batchRecord(batchId: string): BatchRecord | undefined {
    const b = this.store.get(metaKey('batch', batchId));
    return b && (JSON.parse(utf8Decode(b)) as BatchRecord);
  }

  /** Records that a batch reached a tier (from the server's acknowledgement). */
  confirmBatch(batchId: string, tier: Tier): Promise<void> {
    const rec = this.batchRecord(batchId);
    if (!rec || rec.s === 'rejected') return Promise.resolve();
    rec.s = 'accepted';
    rec.tier = tierMax(rec.tier, tier);
    const tx = this.store.transaction();
    tx.put(metaKey('batch', batchId), utf8Encode(JSON.stringify(rec)));
    tx.delete(metaKey('outbox', batchId));
    return tx.commit();
  }

  /** Local batches not yet acknowledged by a server, oldest first (batch ids are time-ordered). */
  outbox(): string[] {
    const p = metaKey('outbox');
    const out: string[] = [];
    for (const e of this.store.scan({ gte: p, lt: prefixEnd(p) })) out.push(utf8Decode(e.value));
    return out;
  }

  /** The versions a local batch wrote. */
  batchVersions(batchId: string): { table: string; version: RowVersion }[] {
    const rec = this.batchRecord(batchId);
    if (!rec) return [];
    const out: { table: string; version: RowVersion }[] = [];
    for (const [tno, rowId, vid] of rec.v) {
      const t = [...this.tables.values()].find((x) => x.no === tno);
      if (!t) continue;
      const idBytes = uuidToBytes(rowId);
      const bytes = this.store.get(historyKey(this.#kw, t.no, idBytes, vid));
      if (bytes) out.push({ table: t.name, version: decodeVersion(bytes, t.cat) });
      else {
        const inline = this.#inlineVersion(t, idBytes, rowId);
        if (inline && inline.versionId === vid) out.push({ table: t.name, version: inline });
      }
    }
    return out;
  }

  /** All versions of one row on main, for sending it to a peer (a branch's versions travel with its line: server/branch-sync.ts). */
  rowVersions(table: string, rowId: string): RowVersion[] {
    return this.history(this.table(table), rowId).filter((v) => v.branch === MAIN);
  }

  /**
   * Rejects a batch whole: its versions leave the visible state (they stay in history, marked by
   * the batch's fate) and every row it touched is recomputed from the versions that remain.
   */
  rejectBatch(batchId: string, reason: string): Promise<void> {
    this.#checkOpen();
    if (this.#rejected.has(batchId)) return this.store.flush();
    this.#rejected.add(batchId);
    const rec = this.batchRecord(batchId);
    const tx = this.store.transaction();
    try {
      tx.put(metaKey('rejected', batchId), utf8Encode(batchId));
      tx.delete(metaKey('outbox', batchId));
      if (rec) {
        rec.s = 'rejected';
        rec.reason = reason;
        tx.put(metaKey('batch', batchId), utf8Encode(JSON.stringify(rec)));
        const touched = new Set<TableRuntime>();
        const seen = new Set<string>();
        for (const [tno, rowId] of rec.v) {
          const t = [...this.tables.values()].find((x) => x.no === tno);
          if (!t || seen.has(`${tno}:${rowId}`)) continue;
          seen.add(`${tno}:${rowId}`);
          this.#recompute(tx, t, rowId);
          this.#historyChanged(t, rowId);
          touched.add(t);
        }
        this.#putBookkeeping(tx, touched);
      }
    } catch (e) {
      tx.rollback();
      throw e;
    }
    return tx.commit();
  }

  /** Rebuilds a row's visible state from its history, leaving out versions of rejected batches. */
  #recompute(tx: KvTransaction, t: TableRuntime, rowId: string): void {
    const idBytes = uuidToBytes(rowId);
    // A single-version entry is rewritten below; its version moves to history first.
    const current = this.store.get(visibleKey(this.#kw, t.no, idBytes));
    if (current && isSingle(current)) this.#toHistory(tx, t, idBytes, current, rowId);
    const versions = this.history(t, rowId).filter((v) => v.branch === MAIN && !this.#rejected.has(v.batchId));
    versions.sort((a, b) => a.ts - b.ts);
    let state: VisibleState | undefined;
    for (const v of versions) state = mergeVersion(t.cat, state, v, () => versions.some((o) => o.parents.includes(v.versionId))).state;
    const vkey = visibleKey(this.#kw, t.no, idBytes);
    const oldBytes = this.store.get(vkey);
    const old = oldBytes && decodeVisible(oldBytes, t.cat);
    if (state) tx.put(vkey, encodeVisible(this.#bw, t.cat, state));
    else tx.delete(vkey);
    const next = state ?? { ...(old as VisibleState), deleted: true };
    this.#rowChanged(tx, t, idBytes, rowId, old, next);
  }

  // ─── after-write scheduling ───────────────────────────────────────────────

  /** Runs `fn` once the current synchronous work is done (one microtask for all writes of a tick). */
  schedule(fn: () => void): void {
    this.#afterWrite.push(fn);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const fns = this.#afterWrite;
      this.#afterWrite = [];
      for (const f of fns) f();
    });
  }

  /**
   * Runs `fn` in a quiet moment: `IDLE_WORK_MS` after the last call to this (the live queries a page
   * starts together are all answered first), after the current task, with other such work for up
   * to `IDLE_SLICE_MS` a task. Dropped once the engine is closed. For work that makes later changes cheaper (live windows' rows past their end).
   */
  whenIdle(fn: () => void): void {
    if (this.#closed) return;
    this.#idleWork.push(fn);
    this.#armIdleWork(IDLE_WORK_MS);
  }

  /** Runs idle work after `ms`, pieces for up to `IDLE_SLICE_MS` a task, tasks `IDLE_STEP_MS` apart. */
  #armIdleWork(ms: number): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    const timer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed) return;
      const start = performance.now();
      try {
        do this.#idleWork.shift()?.();
        while (this.#idleWork.length > 0 && !this.#closed && performance.now() - start < IDLE_SLICE_MS);
      } finally {
        if (this.#idleWork.length > 0) this.#armIdleWork(IDLE_STEP_MS);
      }
    }, ms);
    // In Node, idle work does not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#idleTimer = timer;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleWork = [];
    await this.store.close();
  }

  /**
   * Lets go of the store without closing it, for a new engine opened on the same store (a server
   * app whose schema changed): this one refuses every call from now on (`CLOSED`).
   */
  release(): void {
    this.#closed = true;
  }
}

function tierMax(a: Tier, b: Tier): Tier {
  return tierRank(a) >= tierRank(b) ? a : b;
}

function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export { assert, ByteReader, fromHex };
