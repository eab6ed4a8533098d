/**
 * The catalogue: one stable number for every table and column any known schema version has (the
 * union of the versions), used in store keys and in the binary row format instead of names, and
 * each version's view of it (which of its tables and columns is which number).
 *
 * - Numbers are assigned once and persisted (meta 'catalogue'), with every known version's schema
 *   and every migration between them, so the database can be read in any of its versions without
 *   the app handing the migrations in again.
 * - A renamed table or column keeps its number, so rows written under any version read under any
 *   other without being rewritten. An added column gets a new number; its `fill` (the default of
 *   the lens operation that added it) is what rows stored before it existed read. A dropped column
 *   keeps its number and its data (older versions still read and write it): it is "retired" in the
 *   current version, and carries an internal name of its own.
 * - Names inside the engine ("internal names") are the current version's; retired tables and
 *   columns keep the name the nearest version gives them (with `~<number>` appended if the current
 *   version uses that name for something else).
 * - Opening with a schema the catalogue does not know needs a path of migrations from a known
 *   version. A schema that only adds tables and optional (or defaulted) columns to the last one
 *   gets an implicit migration, as before migrations existed; anything else without a migration is
 *   `MIGRATION_INVALID`, naming the versions.
 * - A catalogue of the first format (numbers by name, one unnamed version) is read as the version
 *   of the known schemas that matches it, else as the current schema's by name.
 */
import type { AppSchema, ColumnSchema, TableSchema } from './schema.ts';
import { schemaFromJSON, schemaHash } from './schema.ts';
import { JazzError } from '../util/errors.ts';
import { VersionGraph } from './versions.ts';
import type { Migration } from '../lens/migration.ts';
import type { LensOp } from '../lens/ops.ts';
import { assert } from '../util/assert.ts';
import { SYSTEM_TABLES, SYSTEM_VIEW_TABLES } from '../files/system-tables.ts';

export interface CatalogueColumn {
  /** The internal name (the current version's, or a retired column's own). */
  readonly name: string;
  readonly no: number;
  /** The column's type and options: the current version's, or (retired) the nearest version's. */
  readonly schema: ColumnSchema;
  /** What rows stored before the column existed read. */
  readonly fill: unknown;
  /** Whether the current version has the column. */
  readonly live: boolean;
}

export interface CatalogueTable {
  readonly name: string;
  readonly no: number;
  /** Every column of every version: the current version's in its order, then the retired ones. */
  readonly columns: readonly CatalogueColumn[];
  /** The same columns in column-number order (the row format's order). */
  readonly columnsByNo: readonly CatalogueColumn[];
  readonly byName: ReadonlyMap<string, CatalogueColumn>;
  /** One more than the highest column number ever assigned: the row format's slot count. */
  readonly slots: number;
  readonly live: boolean;
}

/** One version's tables: name → number, columns name → number. */
type VersionMap = Record<string, { no: number; columns: Record<string, number> }>;

export interface CatalogueJSON {
  readonly v: 2;
  nextTable: number;
  tables: Record<string, { slots: number; columns: Record<string, { type: string; fill?: unknown }> }>;
  versions: Record<string, VersionMap>;
  schemas: Record<string, unknown>;
  migrations: Migration[];
  current: string;
}

/** The first format: numbers by name, one version. */
interface CatalogueJSONv1 {
  readonly tables: Record<string, { no: number; columns: Record<string, { no: number; type: string }>; slots: number }>;
  readonly nextTable: number;
}

/** A table of one version, as the engine sees it through that version. */
export interface ViewColumn {
  /** The column's name in the version. */
  readonly name: string;
  /** The version's type and options (default, optional) for the column. */
  readonly schema: ColumnSchema;
  readonly col: CatalogueColumn;
}

export interface ViewTable {
  readonly name: string;
  readonly table: CatalogueTable;
  readonly columns: readonly ViewColumn[];
  readonly byName: ReadonlyMap<string, ViewColumn>;
  /** The catalogue's columns this version does not have, with the value its writes give them. */
  readonly fills: readonly { readonly col: CatalogueColumn; readonly value: unknown }[];
  /** The version's names are the internal ones and it has every column: rows need no translation. */
  readonly identity: boolean;
}

export class Catalogue {
  readonly tables: ReadonlyMap<string, CatalogueTable>;
  readonly json: CatalogueJSON;
  readonly current: string;
  readonly graph: VersionGraph;
  /** Columns numbered by this open in tables that existed before: their index needs building. */
  readonly added: readonly { readonly table: CatalogueTable; readonly col: CatalogueColumn }[];
  readonly #views = new Map<string, Map<string, ViewTable>>();

  private constructor(json: CatalogueJSON, graph: VersionGraph, added: { tableNo: number; colNo: number }[]) {
    this.json = json;
    this.graph = graph;
    this.current = json.current;
    // The system tables (files) are in every catalogue with fixed numbers, outside its JSON.
    this.tables = new Map([...buildTables(json, graph), ...SYSTEM_TABLES.map((t) => [t.name, t] as const)]);
    const byNo = new Map([...this.tables.values()].map((t) => [t.no, t]));
    this.added = added.map(({ tableNo, colNo }) => {
      const table = byNo.get(tableNo)!;
      return { table, col: table.columnsByNo.find((c) => c.no === colNo)! };
    });
  }

  /**
   * Opens the catalogue for `schema` (the current version) from its persisted form (undefined for a
   * new database), with `migrations` the app gives; throws `MIGRATION_INVALID` or `SCHEMA_INVALID`.
   */
  static open(schema: AppSchema, previous?: unknown, migrations: readonly Migration[] = []): Catalogue {
    const graph = new VersionGraph();
    const prev = previous as Partial<CatalogueJSON> | CatalogueJSONv1 | undefined;
    const v2 = prev && (prev as Partial<CatalogueJSON>).v === 2 ? (prev as CatalogueJSON) : undefined;
    if (v2) {
      for (const s of Object.values(v2.schemas)) graph.addSchema(schemaFromJSON(s));
      for (const m of v2.migrations) graph.addMigration(m);
    }
    for (const m of migrations) graph.addMigration(m);
    const current = graph.addSchema(schema);
    const json: CatalogueJSON = v2 ? clone(v2) : { v: 2, nextTable: 1, tables: {}, versions: {}, schemas: {}, migrations: [], current };
    const added: { tableNo: number; colNo: number }[] = [];
    if (!v2 && prev) adoptFirstFormat(json, prev as CatalogueJSONv1, graph, current);
    // Tables that may hold rows already: a column numbered now needs its index built for them.
    const existing = new Set(Object.keys(json.tables).map(Number));
    if (Object.keys(json.versions).length === 0) json.versions[current] = numberFresh(json, schema);
    extend(json, graph, added);
    if (!json.versions[current]) {
      // No path from what the database knows: an additive change gets its implicit migration.
      const implicit = implicitMigration(graph, json.current, schema);
      graph.addMigration(implicit);
      extend(json, graph, added);
      assert(json.versions[current] !== undefined, 'the implicit migration reaches the current schema');
    }
    json.current = current;
    json.schemas = graph.schemasJSON();
    json.migrations = [...graph.migrations];
    return new Catalogue(
      json,
      graph,
      added.filter((a) => existing.has(a.tableNo)),
    );
  }

  table(name: string): CatalogueTable {
    const t = this.tables.get(name);
    if (!t) throw new JazzError('UNKNOWN_TABLE', `unknown table "${name}"`, { table: name });
    return t;
  }

  /** Whether the catalogue knows this schema version. */
  knows(hash: string): boolean {
    // Own keys only: a client's hello names the version, and `__proto__` is a key of every object.
    return Object.hasOwn(this.json.versions, hash);
  }

  /** The tables of one version (by the version's table names); throws for a version it does not know. */
  view(hash: string): ReadonlyMap<string, ViewTable> {
    let v = this.#views.get(hash);
    if (!v) {
      const map = Object.hasOwn(this.json.versions, hash) ? this.json.versions[hash] : undefined;
      const schema = this.graph.schemas.get(hash);
      if (!map || !schema) throw new JazzError('MIGRATION_INVALID', `schema version ${hash} is not known here; give the migrations that connect it`, { version: hash });
      v = buildView(this, hash, schema, map);
      for (const t of SYSTEM_VIEW_TABLES) v.set(t.name, t);
      this.#views.set(hash, v);
    }
    return v;
  }
}

// ─── numbering ────────────────────────────────────────────────────────────────

export function typeKey(c: ColumnSchema): string {
  return c.type === 'array' ? `array<${typeKey(c.items!)}>` : c.type;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function newTable(json: CatalogueJSON): number {
  const no = json.nextTable++;
  json.tables[no] = { slots: 1, columns: {} };
  return no;
}

function newColumn(json: CatalogueJSON, tableNo: number, c: ColumnSchema, fill: unknown): number {
  const t = json.tables[tableNo]!;
  const no = t.slots++;
  t.columns[no] = { type: typeKey(c), ...(fill !== null && fill !== undefined ? { fill } : {}) };
  return no;
}

/** Numbers every table and column of a schema (a new database). */
function numberFresh(json: CatalogueJSON, schema: AppSchema): VersionMap {
  const map: VersionMap = {};
  for (const [tname, t] of Object.entries(schema.tables)) map[tname] = numberTable(json, t);
  return map;
}

function numberTable(json: CatalogueJSON, t: TableSchema): { no: number; columns: Record<string, number> } {
  const no = newTable(json);
  const columns: Record<string, number> = {};
  for (const [cname, c] of Object.entries(t.columns)) columns[cname] = newColumn(json, no, c, c.default ?? null);
  return { no, columns };
}

/** Derives every version reachable from a numbered one along the migrations (nearest first). */
function extend(json: CatalogueJSON, graph: VersionGraph, added: { tableNo: number; colNo: number }[]): void {
  for (;;) {
    let progress = false;
    for (const known of Object.keys(json.versions)) {
      for (const step of graph.walk(known)) {
        if (!step.via || json.versions[step.version]) continue;
        const from = json.versions[step.via.from];
        if (!from) continue;
        json.versions[step.version] = applyToMap(json, from, step.via.edge.ops, added);
        checkMap(json, graph.schemas.get(step.version)!, json.versions[step.version]!, step.version);
        progress = true;
      }
    }
    if (!progress) return;
  }
}

/** A version's numbering from the one before it and the operations between them. */
function applyToMap(json: CatalogueJSON, from: VersionMap, ops: readonly LensOp[], added: { tableNo: number; colNo: number }[]): VersionMap {
  const map: VersionMap = clone(from);
  for (const op of ops) {
    switch (op.op) {
      case 'renameTable':
        map[op.to] = map[op.from]!;
        delete map[op.from];
        break;
      case 'renameColumn': {
        const t = map[op.table]!;
        t.columns[op.to] = t.columns[op.from]!;
        delete t.columns[op.from];
        break;
      }
      case 'addColumn': {
        const t = map[op.table]!;
        t.columns[op.column] = newColumn(json, t.no, op.schema, op.default);
        added.push({ tableNo: t.no, colNo: t.columns[op.column]! });
        break;
      }
      case 'dropColumn':
        delete map[op.table]!.columns[op.column];
        break;
      case 'addTable':
        map[op.table] = numberTable(json, op.schema);
        break;
      case 'dropTable':
        delete map[op.table];
        break;
    }
  }
  return map;
}

/** A version's numbering must name exactly its tables and columns, each with its type. */
function checkMap(json: CatalogueJSON, schema: AppSchema, map: VersionMap, hash: string): void {
  for (const [tname, t] of Object.entries(schema.tables)) {
    const m = map[tname];
    if (!m) throw new JazzError('MIGRATION_INVALID', `version ${hash}: table "${tname}" is not reached by its migrations`, { version: hash, table: tname });
    for (const [cname, c] of Object.entries(t.columns)) {
      const no = m.columns[cname];
      const u = no === undefined ? undefined : json.tables[m.no]!.columns[no];
      if (!u || u.type !== typeKey(c)) {
        throw new JazzError('MIGRATION_INVALID', `version ${hash}: ${tname}.${cname} (${typeKey(c)}) does not follow from its migrations${u ? ` (it was ${u.type})` : ''}`, {
          version: hash,
          table: tname,
          column: cname,
        });
      }
    }
  }
}

/** The first catalogue format: one version, numbered by name. */
function adoptFirstFormat(json: CatalogueJSON, prev: CatalogueJSONv1, graph: VersionGraph, current: string): void {
  json.nextTable = prev.nextTable;
  for (const t of Object.values(prev.tables)) {
    json.tables[t.no] = { slots: t.slots, columns: Object.fromEntries(Object.values(t.columns).map((c) => [c.no, { type: c.type }])) };
  }
  // Which version wrote it: a known one whose tables and columns it has, each with its type.
  const fits = (s: AppSchema) => Object.entries(s.tables).every(([tn, t]) => prev.tables[tn] && Object.entries(t.columns).every(([cn, c]) => prev.tables[tn]!.columns[cn]?.type === typeKey(c)));
  const base = fits(graph.schemas.get(current)!) ? current : ([...graph.schemas.keys()].find((h) => fits(graph.schemas.get(h)!)) ?? current);
  const schema = graph.schemas.get(base)!;
  const map: VersionMap = {};
  for (const [tname, t] of Object.entries(schema.tables)) {
    const pt = prev.tables[tname];
    const tno = pt ? pt.no : newTable(json);
    const columns: Record<string, number> = {};
    for (const [cname, c] of Object.entries(t.columns)) {
      const pc = pt?.columns[cname];
      if (pc && pc.type !== typeKey(c)) {
        throw new JazzError('MIGRATION_INVALID', `${tname}.${cname} was ${pc.type} and is now ${typeKey(c)}; a new type is a drop of the old column and an add of a new one, in a migration`, {
          table: tname,
          column: cname,
        });
      }
      columns[cname] = pc ? pc.no : newColumn(json, tno, c, c.default ?? null);
    }
    map[tname] = { no: tno, columns };
  }
  json.versions[base] = map;
  json.current = base;
}

/**
 * From the database's last version to the app's, when the app's only adds: new tables, new columns
 * that are optional or have a default (the value older rows read). Anything else needs a migration.
 */
function implicitMigration(graph: VersionGraph, last: string, schema: AppSchema): Migration {
  const from = graph.schemas.get(last)!;
  const ops: LensOp[] = [];
  const needs = (what: string) => {
    throw new JazzError(
      'MIGRATION_INVALID',
      `this database holds schema version ${last} and the app's schema (${schemaHash(schema)}) ${what}; pass a migration from it to createDb (s.defineMigration, or npx jazz-elements migrations create)`,
      { from: last, to: schemaHash(schema) },
    );
  };
  for (const [tname, t] of Object.entries(schema.tables)) {
    const ft = from.tables[tname];
    if (!ft) {
      ops.push({ op: 'addTable', table: tname, schema: t });
      continue;
    }
    for (const [cname, c] of Object.entries(t.columns)) {
      const fc = ft.columns[cname];
      if (fc) {
        if (typeKey(fc) !== typeKey(c)) needs(`changes the type of ${tname}.${cname} (${typeKey(fc)} → ${typeKey(c)})`);
        continue;
      }
      if (!c.optional && c.default === undefined) needs(`adds the required column ${tname}.${cname} without a default`);
      ops.push({ op: 'addColumn', table: tname, column: cname, schema: c, default: c.default ?? null });
    }
    for (const cname of Object.keys(ft.columns)) if (!t.columns[cname]) needs(`drops or renames ${tname}.${cname}`);
  }
  for (const tname of Object.keys(from.tables)) if (!schema.tables[tname]) needs(`drops or renames table "${tname}"`);
  return { from: last, to: schemaHash(schema), fromSchema: JSON.parse(JSON.stringify(graph.schemasJSON()[last])), toSchema: graph.schemasJSON()[schemaHash(schema)], ops };
}

// ─── tables and views ────────────────────────────────────────────────────────

/** The union tables, named as the current version names them (retired ones as the nearest version does). */
function buildTables(json: CatalogueJSON, graph: VersionGraph): Map<string, CatalogueTable> {
  const current = json.versions[json.current]!;
  const currentSchema = graph.schemas.get(json.current)!;
  // Names: the current version's, then the nearest versions' for what it does not have.
  const tableNames = new Map<number, string>();
  const colNames = new Map<number, Map<number, { name: string; schema: ColumnSchema }>>();
  const usedTables = new Set<string>();
  const usedCols = new Map<number, Set<string>>();
  for (const step of graph.walk(json.current)) {
    const map = json.versions[step.version];
    const schema = graph.schemas.get(step.version);
    if (!map || !schema) continue;
    for (const [tname, t] of Object.entries(map)) {
      if (!tableNames.has(t.no)) {
        const name = usedTables.has(tname) ? `${tname}~${t.no}` : tname;
        tableNames.set(t.no, name);
        usedTables.add(name);
      }
      let cols = colNames.get(t.no);
      if (!cols) colNames.set(t.no, (cols = new Map()));
      let used = usedCols.get(t.no);
      if (!used) usedCols.set(t.no, (used = new Set()));
      for (const [cname, no] of Object.entries(t.columns)) {
        if (cols.has(no)) continue;
        const name = used.has(cname) ? `${cname}~${no}` : cname;
        cols.set(no, { name, schema: schema.tables[tname]!.columns[cname]! });
        used.add(name);
      }
    }
  }
  const out = new Map<string, CatalogueTable>();
  for (const [noText, tj] of Object.entries(json.tables)) {
    const no = Number(noText);
    const name = tableNames.get(no);
    if (name === undefined) continue; // a table of no known version (cannot happen once numbered)
    const liveEntry = Object.entries(current).find(([, t]) => t.no === no);
    const liveCols = liveEntry ? liveEntry[1].columns : {};
    const liveNos = new Set(Object.values(liveCols));
    const names = colNames.get(no) ?? new Map();
    const all: CatalogueColumn[] = [];
    for (const [cnoText, cj] of Object.entries(tj.columns)) {
      const cno = Number(cnoText);
      const n = names.get(cno);
      if (!n) continue;
      all.push({ name: n.name, no: cno, schema: n.schema, fill: cj.fill ?? null, live: liveNos.has(cno) });
    }
    // The current version's columns in its order, then the retired ones by number.
    const order = liveEntry ? Object.keys(currentSchema.tables[liveEntry[0]]!.columns).map((c) => liveCols[c]!) : [];
    const columns = [...order.map((cno) => all.find((c) => c.no === cno)!), ...all.filter((c) => !c.live).sort((a, b) => a.no - b.no)];
    const columnsByNo = [...all].sort((a, b) => a.no - b.no);
    out.set(name, { name, no, columns, columnsByNo, byName: new Map(all.map((c) => [c.name, c])), slots: tj.slots, live: liveEntry !== undefined });
  }
  return out;
}

/** One version's tables, with the values its writes give the columns it does not have. */
function buildView(cat: Catalogue, hash: string, schema: AppSchema, map: VersionMap): Map<string, ViewTable> {
  const byNo = new Map([...cat.tables.values()].map((t) => [t.no, t]));
  // What a write of this version gives a column it lacks: the default of the nearest operation
  // that brings the column into existence, walking from this version along the migrations.
  const fills = new Map<string, unknown>(); // `${tableNo}:${colNo}`
  for (const step of cat.graph.walk(hash)) {
    if (!step.via) continue;
    const next = cat.json.versions[step.version];
    if (!next) continue;
    for (const op of step.via.edge.ops) {
      if (op.op === 'addColumn') {
        const t = next[op.table];
        const no = t?.columns[op.column];
        if (t && no !== undefined && !fills.has(`${t.no}:${no}`)) fills.set(`${t.no}:${no}`, op.default ?? null);
      }
    }
  }
  const out = new Map<string, ViewTable>();
  for (const [tname, t] of Object.entries(map)) {
    const table = byNo.get(t.no)!;
    const columns: ViewColumn[] = Object.entries(schema.tables[tname]!.columns).map(([cname, c]) => ({ name: cname, schema: c, col: table.columnsByNo.find((x) => x.no === t.columns[cname])! }));
    const mine = new Set(columns.map((c) => c.col.no));
    const rest = table.columns.filter((c) => !mine.has(c.no)).map((col) => ({ col, value: fills.has(`${t.no}:${col.no}`) ? fills.get(`${t.no}:${col.no}`) : col.fill }));
    const identity = rest.length === 0 && tname === table.name && columns.every((c) => c.name === c.col.name);
    out.set(tname, { name: tname, table, columns, byName: new Map(columns.map((c) => [c.name, c])), fills: rest, identity });
  }
  return out;
}
