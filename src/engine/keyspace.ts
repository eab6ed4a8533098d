/**
 * How the engine lays tables out in the ordered store (DESIGN.md §5). Tables and columns appear by
 * their catalogue numbers; branch `main` is number 0.
 *
 *   [t, 1, rowId, versionId]            history: one row version
 *   [t, 2, branch, rowId]               visible row (deleted ones too)
 *   [t, 3, branch, 0, rowId]            the manifest: live rows in id order
 *   [t, 3, branch, c, value, rowId]     index on column c (array columns: one entry per element)
 *   [0, 'name', ...]                    meta: catalogue, client id, clock, counts, batches
 */
import type { ColumnSchema } from '../schema/schema.ts';
import { KeyWriter } from '../store/keys.ts';
import { uuidToBytes } from '../rows/ids.ts';
import { unreachable } from '../util/assert.ts';

export const K_HISTORY = 1;
export const K_VISIBLE = 2;
export const K_INDEX = 3;
export const MANIFEST_COLUMN = 0;
export const META_TABLE = 0;
export const MAIN_BRANCH = 0;

const idScratch = new Uint8Array(16);

export function historyPrefix(w: KeyWriter, tableNo: number, rowId: Uint8Array): KeyWriter {
  return w.reset().uint(tableNo).uint(K_HISTORY).id(rowId);
}

export function historyKey(w: KeyWriter, tableNo: number, rowId: Uint8Array, versionId: string): Uint8Array {
  return historyPrefix(w, tableNo, rowId).string(versionId).finish();
}

export function visibleKey(w: KeyWriter, tableNo: number, rowId: Uint8Array, branch = MAIN_BRANCH): Uint8Array {
  return w.reset().uint(tableNo).uint(K_VISIBLE).uint(branch).id(rowId).finish();
}

/** The prefix of one column's index (column 0: the manifest). */
export function indexPrefix(tableNo: number, columnNo: number, branch = MAIN_BRANCH): Uint8Array {
  return new KeyWriter(16).uint(tableNo).uint(K_INDEX).uint(branch).uint(columnNo).finish();
}

export function metaKey(...parts: (string | number)[]): Uint8Array {
  const w = new KeyWriter(32).uint(META_TABLE);
  for (const p of parts) {
    if (typeof p === 'string') w.string(p);
    else w.uint(p);
  }
  return w.finish();
}

/** Writes a column value as an index key part. Call only with non-array columns (or array items). */
export function writeIndexValue(w: KeyWriter, col: ColumnSchema, v: unknown): KeyWriter {
  if (v === null || v === undefined) return w.null();
  switch (col.type) {
    case 'boolean':
      return w.bool(v as boolean);
    case 'int':
    case 'float':
    case 'timestamp':
      return w.number(v as number);
    case 'string':
    case 'enum':
      return w.string(v as string);
    case 'json':
      return w.string(JSON.stringify(v));
    case 'bytes':
      return w.bytes(v as Uint8Array);
    case 'ref':
      return w.id(uuidToBytes(v as string, idScratch));
    case 'array':
      throw new Error('array columns are indexed per element');
    default:
      return unreachable(col.type);
  }
}

/** The index values a column value contributes: its elements for arrays (distinct), else itself. */
export function indexValues(col: ColumnSchema, v: unknown): readonly unknown[] {
  if (col.type !== 'array') return [v ?? null];
  if (v === null || v === undefined) return [null];
  const a = v as unknown[];
  if (a.length === 0) return [];
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const x of a) {
    const k = x instanceof Uint8Array ? Array.from(x).join(',') : typeof x + ':' + String(x);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
}
