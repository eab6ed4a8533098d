/**
 * Checks and normalises values on their way into the engine, through the writer's schema version
 * (`ViewTable`): unknown columns, missing required values and wrong types are typed errors; Dates
 * become epoch milliseconds; defaults fill in; names become internal ones (catalogue.ts).
 * Nothing is written unless every value of every write in the batch passes.
 */
import type { ViewTable } from './catalogue.ts';
import { checkValue, describe } from './schema.ts';
import { JazzError } from '../util/errors.ts';

function normalise(v: unknown, type: string): unknown {
  if (v instanceof Date && type === 'timestamp') return v.getTime();
  return v;
}

function checkKnown(table: ViewTable, input: Readonly<Record<string, unknown>>): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new JazzError('TYPE_MISMATCH', `a row of "${table.name}" must be an object of columns, got ${describe(input)}`, { table: table.name });
  }
  for (const k of Object.keys(input)) {
    if (k === 'id') continue;
    if (!table.byName.has(k)) {
      throw new JazzError('UNKNOWN_COLUMN', `table "${table.name}" has no column "${k}"; it has ${table.columns.map((c) => c.name).join(', ')}`, { table: table.name, column: k });
    }
  }
}

function checkOne(table: ViewTable, name: string, v: unknown): unknown {
  const c = table.byName.get(name)!;
  v = normalise(v, c.schema.type);
  if (v === null || v === undefined) {
    if (!c.schema.optional) {
      throw new JazzError('MISSING_VALUE', `${table.name}.${name} is required and cannot be null`, { table: table.name, column: name });
    }
    return null;
  }
  const problem = checkValue(c.schema, v);
  if (problem) throw new JazzError('TYPE_MISMATCH', `${table.name}.${name} ${problem}`, { table: table.name, column: name });
  return v;
}

/**
 * A full row for an insert, in internal names: every column of the version (defaults applied,
 * absent optionals null), and the columns it does not have with the values its writes give them.
 */
export function normaliseInsert(table: ViewTable, input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  checkKnown(table, input);
  const out: Record<string, unknown> = {};
  for (const c of table.columns) {
    let v = input[c.name];
    if (v === undefined && c.schema.default !== undefined) v = structuredCopy(c.schema.default);
    if (v === undefined && !c.schema.optional) {
      throw new JazzError('MISSING_VALUE', `${table.name}.${c.name} is required; give it a value or declare a default`, { table: table.name, column: c.name });
    }
    out[c.col.name] = checkOne(table, c.name, v);
  }
  for (const f of table.fills) out[f.col.name] = structuredCopy(f.value);
  return out;
}

/** The columns an update sets, in internal names (undefined entries are ignored; null clears an optional column). */
export function normalisePatch(table: ViewTable, input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  checkKnown(table, input);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k === 'id' || v === undefined) continue;
    out[table.byName.get(k)!.col.name] = checkOne(table, k, v);
  }
  return out;
}

function structuredCopy(v: unknown): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
  if (v instanceof Uint8Array) return v.slice();
  return JSON.parse(JSON.stringify(v));
}
