/**
 * Converts row versions between the engine's form (column numbers, a mask over slots, internal
 * names) and the wire's (the names of one schema version: the client's own). Incoming versions are
 * checked against that version like a local write: a value of the wrong type or an unknown table
 * or column is refused.
 */
import { MAIN, type Engine } from '../engine/engine.ts';
import { DELETED_SLOT, makeMask, maskHas, type RowVersion } from '../rows/version.ts';
import { checkValue } from '../schema/schema.ts';
import { isUuid } from '../rows/ids.ts';
import { JazzError } from '../util/errors.ts';
import type { SchemaView } from '../schema/view.ts';
import type { WireVersion } from './protocol.ts';

export const DELETED_FIELD = '$deleted';

/**
 * A version as `view`'s schema version reads it (the engine's current one by default): its table
 * and column names, only the columns it has. Undefined when the version has no such table.
 */
export function toWire(engine: Engine, table: string, v: RowVersion, view: SchemaView = engine.view()): WireVersion {
  const vt = view.ofInternal(table);
  if (!vt) throw new JazzError('UNKNOWN_TABLE', `schema version ${view.hash} has no table for "${table}"`, { table });
  const changed: string[] = [];
  if (maskHas(v.mask, DELETED_SLOT)) changed.push(DELETED_FIELD);
  for (const c of vt.columns) if (maskHas(v.mask, c.col.no)) changed.push(c.name);
  const values: Record<string, unknown> = {};
  for (const c of vt.columns) {
    const x = v.values[c.col.name];
    if (x !== null && x !== undefined) values[c.name] = x;
  }
  return {
    table: vt.name,
    rowId: v.rowId,
    versionId: v.versionId,
    parents: v.parents,
    ts: v.ts,
    author: v.author,
    ...(v.via ? { via: v.via } : {}),
    batchId: v.batchId,
    ...(v.branch !== MAIN ? { branch: v.branch } : {}),
    deleted: v.deleted,
    changed,
    values,
  };
}

/**
 * A version written in `view`'s schema version (the engine's current one by default), checked
 * against it like a local write, in the engine's names; the columns that version does not have get
 * the values its writes give them (not marked as changed).
 */
export function fromWire(engine: Engine, w: WireVersion, view: SchemaView = engine.view()): { table: string; version: RowVersion } {
  const vt = view.tables.get(w.table);
  if (!vt) throw new JazzError('UNKNOWN_TABLE', `a version names unknown table "${w.table}"`, { table: w.table });
  const t = engine.table(vt.table.name);
  if (!isUuid(w.rowId)) throw new JazzError('TYPE_MISMATCH', `a version of ${w.table} has a bad row id`, { table: w.table });
  if (!Number.isFinite(w.ts) || w.ts < 0) throw new JazzError('TYPE_MISMATCH', `a version of ${w.table} has a bad timestamp`, { table: w.table });
  const slots: number[] = [];
  for (const name of w.changed) {
    if (name === DELETED_FIELD) slots.push(DELETED_SLOT);
    else {
      const c = vt.byName.get(name);
      if (!c) throw new JazzError('UNKNOWN_COLUMN', `a version of ${w.table} changes unknown column "${name}"`, { table: w.table, column: name });
      slots.push(c.col.no);
    }
  }
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(w.values)) {
    if (!vt.byName.has(key)) throw new JazzError('UNKNOWN_COLUMN', `a version of ${w.table} carries unknown column "${key}"`, { table: w.table, column: key });
  }
  for (const c of vt.columns) {
    const x = w.values[c.name];
    if (x === null || x === undefined) {
      values[c.col.name] = null;
      continue;
    }
    const problem = checkValue(c.schema, x);
    if (problem) throw new JazzError('TYPE_MISMATCH', `${w.table}.${c.name} ${problem}`, { table: w.table, column: c.name });
    values[c.col.name] = x;
  }
  for (const f of vt.fills) values[f.col.name] = f.value;
  return {
    table: vt.table.name,
    version: {
      rowId: w.rowId,
      versionId: w.versionId,
      parents: w.parents,
      branch: w.branch ?? MAIN,
      ts: w.ts,
      author: w.author,
      ...(w.via ? { via: w.via } : {}),
      batchId: w.batchId,
      mask: makeMask(t.cat.slots, slots),
      deleted: w.deleted,
      values,
    },
  };
}
