/**
 * How result rows look: `shaper` projects a stored row to what a query returns (used by the
 * graph's view, by Join for included rows, and by as-of reads).
 */
import type { QueryAst } from '../ast.ts';
import { isSysField, SYS_FIELDS } from '../../rows/system-fields.ts';
import type { Row } from './operator.ts';
import type { OutRow } from './view.ts';

/**
 * Projects a row to what the query returns: `id`, the selected columns (all by default), includes;
 * with `columns` (a schema version's view), only its columns, under its names. System fields are
 * returned only when selected (`sys`: the rows carry them, so leave out those not selected).
 */
export function shaper(q: Pick<QueryAst, 'select' | 'include'>, columns?: readonly (readonly [string, string])[], sys = false): (row: Row) => OutRow {
  const includes = Object.keys(q.include ?? {});
  const star = q.select?.includes('*') ?? false;
  if ((!q.select || star) && !columns) {
    const keep = q.select?.filter(isSysField) ?? [];
    if (!sys || keep.length === SYS_FIELDS.length) return (row) => Object.freeze(row) as OutRow;
    return (row) => {
      const out: Record<string, unknown> = {};
      for (const k in row) if (!isSysField(k) || keep.includes(k)) out[k] = row[k];
      return Object.freeze(out) as OutRow;
    };
  }
  const sysPairs = (q.select ?? []).filter(isSysField).map((c) => [c, c] as const);
  const pairs = columns ? (q.select && !star ? [...columns.filter(([, internal]) => q.select!.includes(internal)), ...sysPairs] : [...columns, ...sysPairs]) : q.select!.map((c) => [c, c] as const);
  return (row) => {
    const out: Record<string, unknown> = { id: row.id };
    for (const [name, internal] of pairs) out[name] = row[internal];
    for (const i of includes) out[i] = row[i];
    return Object.freeze(out) as OutRow;
  };
}
