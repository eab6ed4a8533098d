/**
 * How the engine lays tables out in the ordered store. Tables and columns appear by
 * their catalogue numbers; branch `main` is number 0.
 *
 *   [t, 1, rowId, versionId]            history: one row version
 *   [t, 2, branch, rowId]               visible row (deleted ones too)
 *   [t, 3, branch, 0, rowId]            the manifest: live rows in id order
 *   [t, 3, branch, c, value, rowId]     index on column c (array columns: one entry per element;
 *                                       the system fields from SYS_COLUMN_BASE)
 *   [0, 'name', ...]                    meta: catalogue, client id, clock, counts, batches
 *
 * Index entries hold a bounded prefix of long values. A string, enum, json or bytes value whose
 * key part would take more than `INDEX_VALUE_BYTES` is cut there and marked (`KeyWriter.string(v,
 * max)`): the entry still sorts in its place among the others, and entries cut at the same prefix
 * sort by row id among themselves. Whatever the prefix cannot decide is settled against the row by
 * the query that reads the index (`src/query/plan.ts`, `src/query/ivm/source.ts`): equality and
 * ranges re-check the rows of a cut group, and an ordered walk sorts each cut group by the full
 * values. Values themselves have no bound here: a version or a visible row of any size is one store
 * value, which the durable store keeps out of its leaves (overflow pages).
 */
import type { ColumnSchema } from '../schema/schema.ts';
import { CUT_MARK, KeyWriter } from '../store/keys.ts';
import { uuidToBytes } from '../rows/ids.ts';
import { unreachable } from '../util/assert.ts';

export const K_HISTORY = 1;
export const K_VISIBLE = 2;
export const K_INDEX = 3;
export const MANIFEST_COLUMN = 0;
export const META_TABLE = 0;
export const MAIN_BRANCH = 0;

/**
 * The index column numbers of the system fields (`$createdBy`, `$createdAt`, `$updatedBy`,
 * `$updatedAt`, in SYS_FIELDS order): far above any catalogue column number, so they never meet.
 */
export const SYS_COLUMN_BASE = 0xffff00;

const idScratch = new Uint8Array(16);

/**
 * The bytes a row id takes at the end of a visible, manifest or index key (a tag and 16 bytes).
 * What comes before it names the run the key belongs to (`KvTransaction.put`'s `stream`): one index
 * value's entries, in time-ordered row id order, usually land next to each other.
 */
export const ROW_ID_KEY_BYTES = 17;

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

/**
 * The layout of index entries, recorded in the store (`metaKey('indexFormat')`). 1: whole values
 * (before long values were cut); 2: values cut to `INDEX_VALUE_BYTES`. Opening a store of an
 * older format rewrites the entries that differ (Engine.open).
 */
export const INDEX_FORMAT = 2;

/** The most bytes of a value an index key holds (see the top of the file). */
export const INDEX_VALUE_BYTES = 256;
/**
 * The longest key the engine writes: an index key with a cut value (table, kind, branch and column
 * numbers, the value part, the row id), with room to spare for large table and column numbers. A
 * store must take keys this long (a durable store with pages of 1 KiB or more does).
 */
export const MAX_ENGINE_KEY_BYTES = INDEX_VALUE_BYTES + 64;

/** Whether index entries of this column (or of its array items) may hold a cut value. */
export function indexMayCut(col: ColumnSchema): boolean {
  const t = col.type === 'array' ? col.items!.type : col.type;
  return t === 'string' || t === 'enum' || t === 'json' || t === 'bytes';
}

/**
 * Whether an index entry `[..., value, rowId]` of a column for which `indexMayCut` holds has a cut
 * value: its value part ends with the cut mark instead of 0x00 0x01 (the id part is 17 bytes).
 */
export function isCutEntry(key: Uint8Array): boolean {
  const end = key.length - 17;
  return key[end - 2] === 0 && key[end - 1] === CUT_MARK;
}

/**
 * Writes a column value as an index key part, cut to `INDEX_VALUE_BYTES` (then `w.cut` is set;
 * `max` is for reading the uncut keys of format 1). Call only with non-array columns (or array items).
 */
export function writeIndexValue(w: KeyWriter, col: ColumnSchema, v: unknown, max = INDEX_VALUE_BYTES): KeyWriter {
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
      return w.string(v as string, max);
    case 'json':
      return w.string(JSON.stringify(v), max);
    case 'bytes':
      return w.bytes(v as Uint8Array, max);
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
