/**
 * Indexes on several columns (`createDb({ indexes: { todos: [['projectId', 'title']] } })`).
 *
 * Every column has its own index already; a query such as `projectId = p and done = false order by
 * title limit 30` can then read the ~1,000 rows of project p and sort them, or walk the title index
 * and skip the other projects' rows. An index on (projectId, title) holds the rows of each project
 * in title order, so that query reads about 30 index entries and the rows they name.
 *
 * Layout (keyspace.ts): `[t, 3, branch 0, no, v1, v2, ..., rowId]`, with `no` from
 * `COMPOSITE_BASE` on. Each value is written as in a single-column index, cut to an equal share of
 * `INDEX_VALUE_BYTES` (so the key stays within `MAX_ENGINE_KEY_BYTES`); whatever a cut leaves open
 * the query settles against the rows, as for single columns.
 *
 * Which queries use one (src/query/plan.ts): equality on a leading run of its columns (`a = x`, or
 * `a = x and b = y`) makes it a lookup candidate like any index range; equality on all of its
 * columns but the last, with the last as the query's first sort column, makes it an ordered walk
 * that stops when the window is full.
 *
 * Indexes are local: each database chooses its own, they are not part of the schema and never
 * synced. The definitions in use are recorded in the store (meta `composite`, table, the columns'
 * catalogue numbers → its number), so a column a schema version renames keeps its indexes; opening
 * with a new definition builds that index in the background (queries read around it until it is
 * complete, as for a column a schema version added), and opening without one that exists deletes
 * its entries (in the opening transaction).
 */
import type { CatalogueColumn, CatalogueTable } from '../schema/catalogue.ts';
import type { KeyWriter } from '../store/keys.ts';
import { JazzError } from '../util/errors.ts';
import { INDEX_VALUE_BYTES, writeIndexValue } from './keyspace.ts';
import { valuesEqual } from '../rows/version.ts';

/** Composite index numbers: below the system fields' (`SYS_COLUMN_BASE`), far above any column's. */
export const COMPOSITE_BASE = 0xfffe00;
/** The most composite indexes a table may have (their numbers stay below `SYS_COLUMN_BASE`). */
export const MAX_COMPOSITES = 256;

/** The `indexes` option: table name → the column lists of its composite indexes. */
export type IndexDefinitions = Readonly<Record<string, readonly (readonly string[])[]>>;

export interface CompositeIndex {
  /** The columns' names joined with commas (in `pendingIndexes` while it is built). */
  readonly name: string;
  readonly columns: readonly CatalogueColumn[];
  readonly no: number;
  readonly prefix: Uint8Array;
  /** The most bytes of each value a key holds (`INDEX_VALUE_BYTES` shared between the columns). */
  readonly max: number;
}

/** The most bytes of each column's value in a composite key of `n` columns. */
export function compositeValueBytes(n: number): number {
  return Math.floor(INDEX_VALUE_BYTES / n);
}

/**
 * Checks the `indexes` option against the current schema; returns, per table, the column lists as
 * catalogue columns, keyed by name. Throws `OPTION_INVALID` saying what is wrong.
 */
export function readIndexDefinitions(defs: unknown, tables: ReadonlyMap<string, CatalogueTable>): Map<CatalogueTable, Map<string, readonly CatalogueColumn[]>> {
  const out = new Map<CatalogueTable, Map<string, readonly CatalogueColumn[]>>();
  if (defs === undefined) return out;
  const bad = (message: string): never => {
    throw new JazzError('OPTION_INVALID', `indexes: ${message}`);
  };
  if (typeof defs !== 'object' || defs === null || Array.isArray(defs)) bad('give an object of table name → lists of column names, e.g. { todos: [["projectId", "title"]] }');
  for (const [tableName, lists] of Object.entries(defs as Record<string, unknown>)) {
    const t = tables.get(tableName);
    if (!t?.live || tableName.startsWith('$')) bad(`there is no table "${tableName}" in the schema`);
    if (!Array.isArray(lists)) bad(`"${tableName}" takes a list of indexes, each a list of column names`);
    const mine = new Map<string, readonly CatalogueColumn[]>();
    for (const list of lists as unknown[]) {
      if (!Array.isArray(list) || list.length < 2 || !list.every((c) => typeof c === 'string')) {
        bad(`an index of "${tableName}" is a list of two or more column names (every column has its own index already), got ${JSON.stringify(list)}`);
      }
      const names = list as string[];
      if (new Set(names).size !== names.length) bad(`an index of "${tableName}" names a column twice: ${JSON.stringify(names)}`);
      const columns = names.map((n) => {
        const col = t!.byName.get(n);
        if (!col?.live) bad(`"${tableName}" has no column "${n}"${n === 'id' || n.startsWith('$') ? ' of its own (id and the system fields cannot be in an index of several columns)' : ''}`);
        if (col!.schema.type === 'array') bad(`"${tableName}.${n}" is an array: an index of several columns takes single values`);
        return col!;
      });
      const name = names.join(',');
      if (mine.has(name)) bad(`"${tableName}" lists the index ${JSON.stringify(names)} twice`);
      mine.set(name, columns);
    }
    if (mine.size > MAX_COMPOSITES) bad(`"${tableName}" has ${mine.size} indexes; the most is ${MAX_COMPOSITES}`);
    if (mine.size > 0) out.set(t!, mine);
  }
  return out;
}

/** Writes the key of `row` in the composite index (its prefix, each value, the row id). */
export function compositeKey(w: KeyWriter, ci: CompositeIndex, row: Readonly<Record<string, unknown>>, idBytes: Uint8Array): KeyWriter {
  w.reset(ci.prefix);
  for (const c of ci.columns) writeIndexValue(w, c.schema, row[c.name], ci.max);
  return w.id(idBytes);
}

/** Whether the composite's values differ between the two rows. */
export function compositeChanged(ci: CompositeIndex, a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  for (const c of ci.columns) if (!valuesEqual(a[c.name], b[c.name])) return true;
  return false;
}
