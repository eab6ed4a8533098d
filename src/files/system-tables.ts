/**
 * The system tables that hold files, added by the engine to every app (docs/engine.md, "Files"):
 *
 *   $files      name, mimeType, size, partSizes (json: the byte length of each part, in order),
 *               hash (SHA-256 of the whole content, hex), state ('writing' | 'complete' | 'aborted'),
 *               partSize (the size the writer cut parts at), live (a live stream: createStream)
 *   $fileParts  file (ref $files), index (0-based), bytes
 *
 * Contract:
 * - They are not part of any schema version: they are not in the user's schema, its canonical JSON
 *   or its hash, nor in the persisted catalogue. Their table and column numbers are fixed here, far
 *   above any number the catalogue gives (which counts up from 1), so every replica and every
 *   version of every app lays them out the same way, and a store written before files existed
 *   opens unchanged.
 * - Every schema version's view has them under the same names (`$` cannot start a user table's
 *   name, so they never collide), so queries, writes, sync and permissions treat them like tables.
 * - A part's row id is a function of its file's id and its index (`partId`): a reader asks for
 *   part i of file F by id, and no one can place a part under another id.
 * - A user column of type `file` (`s.file()`, JSON `"file"`) is a ref to `$files`.
 */
import type { AppSchema, ColumnSchema, TableSchema } from '../schema/schema.ts';
import type { CatalogueColumn, CatalogueTable, ViewTable } from '../schema/catalogue.ts';
import { sha256 } from './sha256.ts';
import { toHex } from '../util/bytes.ts';
import { utf8Encode } from '../util/utf8.ts';

export const FILES = '$files';
export const FILE_PARTS = '$fileParts';

/** Fixed table numbers of the system tables (the catalogue numbers user tables from 1 up). */
export const FILES_TABLE_NO = 0xfff001;
export const FILE_PARTS_TABLE_NO = 0xfff002;

export type FileState = 'writing' | 'complete' | 'aborted';
export const FILE_STATES: readonly FileState[] = ['writing', 'complete', 'aborted'];

/** The default size of a part, and the largest allowed. */
export const DEFAULT_PART_SIZE = 256 * 1024;
export const MAX_PART_SIZE = 1024 * 1024;
/** The longest file name, in UTF-16 code units. */
export const MAX_FILE_NAME = 1024;

const FILES_COLUMNS: readonly [string, ColumnSchema][] = [
  ['name', { type: 'string', optional: true }],
  ['mimeType', { type: 'string' }],
  ['size', { type: 'float', optional: true }],
  ['partSizes', { type: 'json', default: [] }],
  ['hash', { type: 'string', optional: true }],
  ['state', { type: 'enum', values: FILE_STATES }],
  ['partSize', { type: 'int' }],
  ['live', { type: 'boolean', default: false }],
];

const PART_COLUMNS: readonly [string, ColumnSchema][] = [
  ['file', { type: 'ref', ref: FILES }],
  ['index', { type: 'int' }],
  ['bytes', { type: 'bytes' }],
];

function tableSchema(cols: readonly [string, ColumnSchema][]): TableSchema {
  return { columns: Object.fromEntries(cols) };
}

/** The system tables as schema tables (for query checks: `withSystemTables`). */
export const SYSTEM_TABLE_SCHEMAS: Readonly<Record<string, TableSchema>> = Object.freeze({
  [FILES]: tableSchema(FILES_COLUMNS),
  [FILE_PARTS]: tableSchema(PART_COLUMNS),
});

function catalogueTable(name: string, no: number, cols: readonly [string, ColumnSchema][]): CatalogueTable {
  const columns: CatalogueColumn[] = cols.map(([cname, schema], i) => Object.freeze({ name: cname, no: i + 1, schema, fill: null, live: true }));
  return Object.freeze({ name, no, columns, columnsByNo: columns, byName: new Map(columns.map((c) => [c.name, c])), slots: columns.length + 1, live: true });
}

/** The catalogue entries of the system tables (the same in every catalogue). */
export const SYSTEM_TABLES: readonly CatalogueTable[] = [catalogueTable(FILES, FILES_TABLE_NO, FILES_COLUMNS), catalogueTable(FILE_PARTS, FILE_PARTS_TABLE_NO, PART_COLUMNS)];

/** The system tables as every schema version sees them: under their own names, untranslated. */
export const SYSTEM_VIEW_TABLES: readonly ViewTable[] = SYSTEM_TABLES.map((table) => {
  const columns = table.columns.map((col) => ({ name: col.name, schema: col.schema, col }));
  return Object.freeze({ name: table.name, table, columns, byName: new Map(columns.map((c) => [c.name, c])), fills: [], identity: true });
});

export function isSystemTable(name: string): boolean {
  return name === FILES || name === FILE_PARTS;
}

/** A schema with the system tables added (for checking queries that name them); the user's tables are unchanged. */
export function withSystemTables(schema: AppSchema): AppSchema {
  if (schema.tables[FILES]) return schema;
  return Object.freeze({ tables: Object.freeze({ ...schema.tables, ...SYSTEM_TABLE_SCHEMAS }) });
}

/** Whether a column (or an array's items) of a user table references files. */
export function isFileColumn(c: ColumnSchema): boolean {
  return (c.type === 'ref' && c.ref === FILES) || (c.type === 'array' && c.items?.type === 'ref' && c.items.ref === FILES);
}

/** The file columns of a schema: [table, column, is an array]. */
export function fileColumns(schema: AppSchema): { table: string; column: string; array: boolean }[] {
  const out: { table: string; column: string; array: boolean }[] = [];
  for (const [table, t] of Object.entries(schema.tables)) {
    if (table.startsWith('$')) continue;
    for (const [column, c] of Object.entries(t.columns)) if (isFileColumn(c)) out.push({ table, column, array: c.type === 'array' });
  }
  return out;
}

/**
 * The row id of part `index` of file `fileId`: the first 16 bytes of SHA-256("<fileId>/<index>"),
 * as a UUID (version nibble 8: custom). Deterministic, so any replica names a part the same way.
 */
export function partId(fileId: string, index: number): string {
  const h = sha256(utf8Encode(`${fileId}/${index}`));
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = toHex(h.subarray(0, 16));
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
