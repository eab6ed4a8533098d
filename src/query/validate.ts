/**
 * Checks a query against the schema when it is built, so mistakes surface where they are made:
 * unknown tables and columns, values of the wrong type, operators a column type cannot take.
 */
import type { AppSchema, ColumnSchema } from '../schema/schema.ts';
import { isSysField, SYS_COLUMNS } from '../rows/system-fields.ts';
import { checkValue, describe, relationsOf } from '../schema/schema.ts';
import { JazzError } from '../util/errors.ts';
import { unreachable } from '../util/assert.ts';
import type { Expr, QueryAst, Value } from './ast.ts';

/** The pseudo-column every table has. */
export const ID_COLUMN: ColumnSchema = Object.freeze({ type: 'ref' as const, ref: '' });

/** The system fields every row has (rows/version.ts SYS_FIELDS): user ids and timestamps. */
export function columnOf(schema: AppSchema, table: string, column: string): ColumnSchema {
  const t = Object.hasOwn(schema.tables, table) ? schema.tables[table] : undefined;
  if (!t) throw new JazzError('UNKNOWN_TABLE', `unknown table "${table}"; the schema has ${Object.keys(schema.tables).join(', ')}`, { table });
  if (column === 'id') return { ...ID_COLUMN, ref: table };
  const c = Object.hasOwn(t.columns, column) ? t.columns[column] : isSysField(column) ? SYS_COLUMNS[column] : undefined;
  if (!c) {
    const sys = column.startsWith('$') ? ` (system fields: ${Object.keys(SYS_COLUMNS).join(', ')})` : '';
    throw new JazzError('UNKNOWN_COLUMN', `table "${table}" has no column "${column}"; it has id, ${Object.keys(t.columns).join(', ')}${sys}`, { table, column });
  }
  return c;
}

/** Whether a query reads system fields anywhere (where, order, select, includes aside). */
export function readsSystemFields(q: Pick<QueryAst, 'where' | 'orderBy' | 'select'>, extra?: Expr): boolean {
  const inExpr = (e: Expr): boolean => {
    switch (e.op) {
      case 'true':
        return false;
      case 'and':
      case 'or':
        return e.args.some(inExpr);
      case 'not':
        return inExpr(e.arg);
      default:
        return isSysField(e.column);
    }
  };
  return inExpr(q.where) || (extra !== undefined && inExpr(extra)) || q.orderBy.some((o) => isSysField(o.column)) || (q.select?.some(isSysField) ?? false);
}

function mismatch(table: string, column: string, problem: string): never {
  throw new JazzError('TYPE_MISMATCH', `${table}.${column}: the value ${problem}`, { table, column });
}

/** Placeholders for session claims and outer-row columns in permission rules start with this. */
export const PLACEHOLDER_PREFIX = '\u0000$';

function checkLiteral(table: string, column: string, col: ColumnSchema, v: Value, placeholders: boolean): void {
  if (typeof v === 'string' && v.startsWith(PLACEHOLDER_PREFIX)) {
    if (placeholders) return; // a permission rule's session/row value, filled in when it is evaluated
    throw new JazzError('QUERY_INVALID', `${table}.${column}: session and row placeholders belong in permission rules, not in queries`, { table, column });
  }
  const p = checkValue(col, v);
  if (p) mismatch(table, column, p);
}

/** `placeholders`: allow `session.*`/`row.*` values (permission rules); queries that run may not have them. */
export function checkExpr(schema: AppSchema, table: string, e: Expr, placeholders = true): void {
  switch (e.op) {
    case 'true':
      return;
    case 'and':
    case 'or':
      for (const a of e.args) checkExpr(schema, table, a, placeholders);
      return;
    case 'not':
      checkExpr(schema, table, e.arg, placeholders);
      return;
    case 'isNull':
      columnOf(schema, table, e.column);
      return;
    case 'cmp': {
      const col = columnOf(schema, table, e.column);
      if (e.cmp !== 'eq' && e.cmp !== 'ne' && !isOrdered(col)) {
        throw new JazzError('QUERY_INVALID', `${table}.${e.column} is a ${col.type} column and cannot be compared with ${e.cmp}; use eq, ne or in`, { table, column: e.column });
      }
      if (e.value === null) throw new JazzError('QUERY_INVALID', `${table}.${e.column}: compare with null through isNull`, { table, column: e.column });
      checkLiteral(table, e.column, col, e.value, placeholders);
      return;
    }
    case 'in': {
      const col = columnOf(schema, table, e.column);
      for (const v of e.values) if (v !== null) checkLiteral(table, e.column, col, v, placeholders);
      return;
    }
    case 'contains': {
      const col = columnOf(schema, table, e.column);
      if (col.type === 'array') checkLiteral(table, e.column, col.items!, e.value, placeholders);
      else if (col.type === 'string') {
        if (typeof e.value !== 'string') mismatch(table, e.column, `to look for must be a string, got ${describe(e.value)}`);
      } else {
        throw new JazzError('QUERY_INVALID', `${table}.${e.column} is a ${col.type} column; contains works on string and array columns`, { table, column: e.column });
      }
      return;
    }
    default:
      unreachable(e);
  }
}

/** Types whose values have an order (and an index order that matches it). */
export function isOrdered(col: ColumnSchema): boolean {
  return col.type !== 'json' && col.type !== 'array';
}

export function checkQuery(schema: AppSchema, q: QueryAst): void {
  columnOf(schema, q.table, 'id'); // the table exists, even when no column is named
  checkExpr(schema, q.table, q.where, false); // a query to run: no placeholders
  for (const o of q.orderBy) {
    const col = columnOf(schema, q.table, o.column);
    if (!isOrdered(col)) throw new JazzError('QUERY_INVALID', `cannot order by ${q.table}.${o.column}, a ${col.type} column`, { table: q.table, column: o.column });
  }
  for (const c of q.select ?? []) if (c !== '*') columnOf(schema, q.table, c);
  for (const [name, inc] of Object.entries(q.include ?? {})) {
    const rel = relationsOf(schema, q.table).find((r) => r.name === name);
    if (!rel) {
      const names = relationsOf(schema, q.table).map((r) => r.name);
      throw new JazzError('QUERY_INVALID', `table "${q.table}" has no relation "${name}"${names.length ? `; it has ${names.join(', ')}` : ''}`, { table: q.table, relation: name });
    }
    if (inc.query.table !== rel.table) throw new JazzError('QUERY_INVALID', `include "${name}" yields rows of "${rel.table}", not "${inc.query.table}"`, { relation: name });
    checkQuery(schema, inc.query);
  }
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 0)) throw new JazzError('QUERY_INVALID', `limit must be a whole number ≥ 0, got ${q.limit}`);
  if (q.offset !== undefined && (!Number.isInteger(q.offset) || q.offset < 0)) throw new JazzError('QUERY_INVALID', `offset must be a whole number ≥ 0, got ${q.offset}`);
}
