/**
 * Lens operations: the reversible steps that turn one schema version into the next (the migration
 * between two versions is a list of them). Each has an inverse, so a chain of migrations can be
 * followed in either direction:
 *
 *   addColumn(t, c, default)          ⇄  dropColumn(t, c, backwardsDefault = default)
 *   renameColumn(t, from, to)         ⇄  renameColumn(t, to, from)
 *   addTable(t)                       ⇄  dropTable(t)
 *   renameTable(from, to)             ⇄  renameTable(to, from)
 *
 * `default` of an added column is the value rows written without it read (rows of older versions,
 * and writes of clients that do not know it); `backwardsDefault` of a dropped column is the value
 * readers of older versions see on rows written without it. Column operations name their table as
 * it is called after the migration's table renames.
 *
 * The order within a migration is fixed: table renames, then column operations, then tables added
 * and dropped. `applyOps` runs them over a schema, which is how a migration is checked: applying it
 * to its `from` schema must give exactly its `to` schema (apart from defaults and optionality, which
 * may change freely).
 */
import type { AppSchema, ColumnSchema, TableSchema } from '../schema/schema.ts';
import { JazzError } from '../util/errors.ts';

export type LensOp =
  | { readonly op: 'renameTable'; readonly from: string; readonly to: string }
  | { readonly op: 'renameColumn'; readonly table: string; readonly from: string; readonly to: string }
  | { readonly op: 'addColumn'; readonly table: string; readonly column: string; readonly schema: ColumnSchema; readonly default: unknown }
  | { readonly op: 'dropColumn'; readonly table: string; readonly column: string; readonly schema: ColumnSchema; readonly backwardsDefault: unknown }
  | { readonly op: 'addTable'; readonly table: string; readonly schema: TableSchema }
  | { readonly op: 'dropTable'; readonly table: string; readonly schema: TableSchema };

const ORDER: Record<LensOp['op'], number> = { renameTable: 0, renameColumn: 1, addColumn: 1, dropColumn: 1, addTable: 2, dropTable: 2 };

/** The inverse of one operation. */
export function invertOp(op: LensOp): LensOp {
  switch (op.op) {
    case 'renameTable':
      return { op: 'renameTable', from: op.to, to: op.from };
    case 'renameColumn':
      return { op: 'renameColumn', table: op.table, from: op.to, to: op.from };
    case 'addColumn':
      return { op: 'dropColumn', table: op.table, column: op.column, schema: op.schema, backwardsDefault: op.default };
    case 'dropColumn':
      return { op: 'addColumn', table: op.table, column: op.column, schema: op.schema, default: op.backwardsDefault };
    case 'addTable':
      return { op: 'dropTable', table: op.table, schema: op.schema };
    case 'dropTable':
      return { op: 'addTable', table: op.table, schema: op.schema };
  }
}

/**
 * The operations of a migration run backwards (from its `to` schema to its `from`): inverted, and
 * in the fixed order again. Column operations name tables after the table renames, so going back
 * they are renamed to the names the `to` schema has before the inverted table renames run.
 */
export function invertOps(ops: readonly LensOp[]): LensOp[] {
  // The inverse of a sequence is the inverses in reverse order, group by group: tables added and
  // dropped first (undone), then the column operations (still in `to`'s table names), then the
  // table renames.
  const group = (k: number) =>
    ops
      .filter((o) => ORDER[o.op] === k)
      .reverse()
      .map(invertOp);
  return [...group(2), ...group(1), ...group(0)];
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new JazzError('MIGRATION_INVALID', message, details);
}

/** Applies operations, in the order given, to a schema; throws `MIGRATION_INVALID` when one does not fit it. */
export function applyOps(schema: AppSchema, ops: readonly LensOp[]): AppSchema {
  const tables = new Map<string, Map<string, ColumnSchema>>();
  for (const [t, ts] of Object.entries(schema.tables)) tables.set(t, new Map(Object.entries(ts.columns)));
  const table = (name: string, what: string) => tables.get(name) ?? fail(`${what}: there is no table "${name}"`, { table: name });
  for (const op of ops) {
    switch (op.op) {
      case 'renameTable': {
        const t = table(op.from, `renaming table "${op.from}" to "${op.to}"`);
        if (tables.has(op.to)) fail(`renaming table "${op.from}" to "${op.to}": "${op.to}" exists already`, { table: op.to });
        tables.delete(op.from);
        tables.set(op.to, t);
        break;
      }
      case 'renameColumn': {
        const t = table(op.table, `renaming ${op.table}.${op.from}`);
        const c = t.get(op.from) ?? fail(`renaming ${op.table}.${op.from} to "${op.to}": there is no column "${op.from}"`, { table: op.table, column: op.from });
        if (t.has(op.to)) fail(`renaming ${op.table}.${op.from} to "${op.to}": "${op.to}" exists already`, { table: op.table, column: op.to });
        // Keep the column's place: rebuild the map in order.
        const entries = [...t].map(([k, v]) => (k === op.from ? ([op.to, c] as const) : ([k, v] as const)));
        t.clear();
        for (const [k, v] of entries) t.set(k, v);
        break;
      }
      case 'addColumn': {
        const t = table(op.table, `adding ${op.table}.${op.column}`);
        if (t.has(op.column)) fail(`adding ${op.table}.${op.column}: the column exists already`, { table: op.table, column: op.column });
        t.set(op.column, op.schema);
        break;
      }
      case 'dropColumn': {
        const t = table(op.table, `dropping ${op.table}.${op.column}`);
        if (!t.has(op.column)) fail(`dropping ${op.table}.${op.column}: there is no such column`, { table: op.table, column: op.column });
        t.delete(op.column);
        break;
      }
      case 'addTable':
        if (tables.has(op.table)) fail(`adding table "${op.table}": it exists already`, { table: op.table });
        tables.set(op.table, new Map(Object.entries(op.schema.columns)));
        break;
      case 'dropTable':
        table(op.table, `dropping table "${op.table}"`);
        tables.delete(op.table);
        break;
    }
  }
  const out: Record<string, TableSchema> = {};
  for (const [t, cols] of tables) out[t] = { columns: Object.fromEntries(cols) };
  return { tables: out };
}

/** Sorts operations into the fixed order (table renames, column operations, tables added and dropped). */
export function orderOps(ops: readonly LensOp[]): LensOp[] {
  return [...ops].sort((a, b) => ORDER[a.op] - ORDER[b.op]);
}
