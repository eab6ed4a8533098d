/**
 * Converts row versions between the engine's form (column numbers, a mask over slots) and the
 * wire's (column names). Incoming versions are checked against the local schema like a local
 * write: a value of the wrong type or an unknown table or column is refused.
 */
import type { Engine } from '../engine/engine.ts';
import { DELETED_SLOT, makeMask, maskHas, type RowVersion } from '../rows/version.ts';
import { checkValue } from '../schema/schema.ts';
import { isUuid } from '../rows/ids.ts';
import { JazzError } from '../util/errors.ts';
import type { WireVersion } from './protocol.ts';

export const DELETED_FIELD = '$deleted';

export function toWire(engine: Engine, table: string, v: RowVersion): WireVersion {
  const t = engine.table(table);
  const changed: string[] = [];
  if (maskHas(v.mask, DELETED_SLOT)) changed.push(DELETED_FIELD);
  for (const c of t.cat.columns) if (maskHas(v.mask, c.no)) changed.push(c.name);
  const values: Record<string, unknown> = {};
  for (const c of t.cat.columns) {
    const x = v.values[c.name];
    if (x !== null && x !== undefined) values[c.name] = x;
  }
  return { table, rowId: v.rowId, versionId: v.versionId, parents: v.parents, ts: v.ts, author: v.author, batchId: v.batchId, deleted: v.deleted, changed, values };
}

export function fromWire(engine: Engine, w: WireVersion): { table: string; version: RowVersion } {
  const t = engine.tables.get(w.table);
  if (!t) throw new JazzError('UNKNOWN_TABLE', `a version names unknown table "${w.table}"`, { table: w.table });
  if (!isUuid(w.rowId)) throw new JazzError('TYPE_MISMATCH', `a version of ${w.table} has a bad row id`, { table: w.table });
  if (!Number.isFinite(w.ts) || w.ts < 0) throw new JazzError('TYPE_MISMATCH', `a version of ${w.table} has a bad timestamp`, { table: w.table });
  const slots: number[] = [];
  for (const name of w.changed) {
    if (name === DELETED_FIELD) slots.push(DELETED_SLOT);
    else {
      const c = t.cat.byName.get(name);
      if (!c) throw new JazzError('UNKNOWN_COLUMN', `a version of ${w.table} changes unknown column "${name}"`, { table: w.table, column: name });
      slots.push(c.no);
    }
  }
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(w.values)) {
    if (!t.cat.byName.has(key)) throw new JazzError('UNKNOWN_COLUMN', `a version of ${w.table} carries unknown column "${key}"`, { table: w.table, column: key });
  }
  for (const c of t.cat.columns) {
    const x = w.values[c.name];
    if (x === null || x === undefined) {
      values[c.name] = null;
      continue;
    }
    const problem = checkValue(c.schema, x);
    if (problem) throw new JazzError('TYPE_MISMATCH', `${w.table}.${c.name} ${problem}`, { table: w.table, column: c.name });
    values[c.name] = x;
  }
  return {
    table: w.table,
    version: {
      rowId: w.rowId,
      versionId: w.versionId,
      parents: w.parents,
      branch: 'main',
      ts: w.ts,
      author: w.author,
      batchId: w.batchId,
      mask: makeMask(t.cat.slots, slots),
      deleted: w.deleted,
      values,
    },
  };
}
