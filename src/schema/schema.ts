/**
 * The normalised schema: what both the TypeScript builder (`s.table(...)`) and the plain-JSON form
 * (`{ "tables": { "todos": { "title": "string" } } }`) turn into. Its canonical JSON is hashed, so
 * the two forms of one schema have the same hash.
 *
 * JSON form, per column: a type name (`"string"`), or an object
 * `{ "type": "boolean", "default": false, "optional": true }`, `{ "ref": "projects" }`,
 * `{ "type": "enum", "values": ["a", "b"] }`, `{ "type": "array", "items": "string" }`, and `"file"` (or
 * `{ "type": "file", "optional": true }`): a ref to the system table `$files` (src/files), which is
 * how it is normalised (`{ "type": "ref", "ref": "$files" }`), so both forms hash the same.
 */
import { JazzError } from '../util/errors.ts';

export type ColumnType = 'string' | 'boolean' | 'int' | 'float' | 'timestamp' | 'bytes' | 'json' | 'enum' | 'array' | 'ref';

export const COLUMN_TYPES: readonly ColumnType[] = ['string', 'boolean', 'int', 'float', 'timestamp', 'bytes', 'json', 'enum', 'array', 'ref'];

export interface ColumnSchema {
  readonly type: ColumnType;
  readonly optional?: boolean;
  readonly default?: unknown;
  /** enum: the allowed values. */
  readonly values?: readonly string[];
  /** array: the element type (never optional). */
  readonly items?: ColumnSchema;
  /** ref: the table it points to. */
  readonly ref?: string;
}

export interface TableSchema {
  readonly columns: Readonly<Record<string, ColumnSchema>>;
}

export interface AppSchema {
  readonly tables: Readonly<Record<string, TableSchema>>;
}

/** The system table of files (src/files/system-tables.ts); a `file` column is a ref to it. */
const FILES_TABLE = '$files';

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const RESERVED = new Set(['id']);

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new JazzError('SCHEMA_INVALID', message, details);
}

/** Reads a column given in the JSON form (a type name or an object). */
export function columnFromJSON(spec: unknown, where: string): ColumnSchema {
  if (typeof spec === 'string') return columnFromJSON({ type: spec }, where);
  if ((spec as { type?: unknown } | null)?.type === 'file') {
    if ((spec as { ref?: unknown }).ref !== undefined) fail(`${where}: a file column takes no "ref"`);
    return columnFromJSON({ ...(spec as object), type: 'ref', ref: FILES_TABLE }, where);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    fail(`${where}: a column is a type name or an object, got ${JSON.stringify(spec)}`);
  }
  const o = spec as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['type', 'optional', 'default', 'values', 'items', 'ref'].includes(k)) fail(`${where}: unknown column property "${k}"`);
  }
  const type = (o.type ?? (o.ref !== undefined ? 'ref' : undefined)) as ColumnType | undefined;
  if (!type || !COLUMN_TYPES.includes(type)) {
    fail(`${where}: unknown column type ${JSON.stringify(o.type)}; use one of ${COLUMN_TYPES.join(', ')}, file`);
  }
  const col: { -readonly [K in keyof ColumnSchema]: ColumnSchema[K] } = { type };
  if (o.optional !== undefined) {
    if (typeof o.optional !== 'boolean') fail(`${where}: "optional" must be true or false`);
    if (o.optional) col.optional = true;
  }
  if (type === 'enum') {
    const values = o.values;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      fail(`${where}: an enum needs "values", a non-empty list of strings`);
    }
    if (new Set(values).size !== values.length) fail(`${where}: enum values must be distinct`);
    col.values = [...values];
  } else if (o.values !== undefined) fail(`${where}: "values" is only for enum columns`);
  if (type === 'array') {
    if (o.items === undefined) fail(`${where}: an array needs "items", the element type`);
    const items = columnFromJSON(o.items, `${where}[]`);
    if (items.optional) fail(`${where}: array elements cannot be optional`);
    if (items.type === 'array') fail(`${where}: arrays of arrays are not supported; use json`);
    col.items = items;
  } else if (o.items !== undefined) fail(`${where}: "items" is only for array columns`);
  if (type === 'ref') {
    if (typeof o.ref !== 'string') fail(`${where}: a ref needs "ref", the name of the table it points to`);
    col.ref = o.ref;
  } else if (o.ref !== undefined) fail(`${where}: "ref" is only for ref columns`);
  if (o.default !== undefined) col.default = o.default;
  return col;
}

/** Checks and normalises a whole schema given in the JSON form. */
export function schemaFromJSON(json: unknown): AppSchema {
  if (typeof json !== 'object' || json === null || typeof (json as { tables?: unknown }).tables !== 'object') {
    fail('a schema is an object with "tables": { "todos": { "title": "string" } }');
  }
  const tablesIn = (json as { tables: Record<string, unknown> }).tables;
  const tables: Record<string, TableSchema> = {};
  for (const [name, cols] of Object.entries(tablesIn)) {
    if (!NAME_RE.test(name)) fail(`table name "${name}" must start with a letter and hold only letters, digits and _`);
    if (typeof cols !== 'object' || cols === null || Array.isArray(cols)) fail(`table "${name}": expected an object of columns`);
    const columns: Record<string, ColumnSchema> = {};
    for (const [col, spec] of Object.entries(cols as Record<string, unknown>)) {
      if (!NAME_RE.test(col)) fail(`column "${name}.${col}" must start with a letter and hold only letters, digits and _`);
      if (RESERVED.has(col)) fail(`column "${name}.${col}": "id" is reserved for the row id`);
      columns[col] = columnFromJSON(spec, `${name}.${col}`);
    }
    tables[name] = { columns };
  }
  const schema: AppSchema = { tables };
  checkSchema(schema);
  return schema;
}

/** Cross-table checks: refs point at tables, defaults have the column's type, relation names are unique. */
function checkSchema(schema: AppSchema): void {
  for (const [tname, t] of Object.entries(schema.tables)) {
    for (const [cname, c] of Object.entries(t.columns)) {
      const ref = c.type === 'ref' ? c.ref : c.items?.type === 'ref' ? c.items.ref : undefined;
      // A user's table name starts with a letter, so of the `$` system tables only `$files` passes.
      if (ref !== undefined && ref !== FILES_TABLE && !schema.tables[ref]) fail(`${tname}.${cname} refers to unknown table "${ref}"`);
      if (c.default !== undefined) {
        const problem = checkValue(c, c.default);
        if (problem) fail(`${tname}.${cname}: the default ${problem}`);
      }
    }
  }
  // Relation names must not collide with columns.
  for (const [tname, t] of Object.entries(schema.tables)) {
    for (const rel of relationsOf(schema, tname)) {
      if (rel.name in t.columns) fail(`${tname}: relation "${rel.name}" has the name of a column; rename one of them`);
    }
  }
}

/** Returns a description of why `v` does not fit `col`, or undefined when it fits (null excluded). */
export function checkValue(col: ColumnSchema, v: unknown): string | undefined {
  switch (col.type) {
    case 'string':
      return typeof v === 'string' ? undefined : `must be a string, got ${describe(v)}`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `must be true or false, got ${describe(v)}`;
    case 'int':
      return Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff ? undefined : `must be a 32-bit integer, got ${describe(v)}`;
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a finite number, got ${describe(v)}`;
    case 'timestamp':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a time (epoch milliseconds or a Date), got ${describe(v)}`;
    case 'bytes':
      return v instanceof Uint8Array ? undefined : `must be a Uint8Array, got ${describe(v)}`;
    case 'json':
      return isJsonValue(v, 0) ? undefined : `must be a JSON value (objects, arrays, strings, finite numbers, booleans, null)`;
    case 'enum':
      return typeof v === 'string' && col.values!.includes(v) ? undefined : `must be one of ${col.values!.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`;
    case 'array': {
      if (!Array.isArray(v)) return `must be an array, got ${describe(v)}`;
      for (let i = 0; i < v.length; i++) {
        if (v[i] === null || v[i] === undefined) return `element ${i} is missing (array elements cannot be null)`;
        const p = checkValue(col.items!, v[i]);
        if (p) return `element ${i} ${p}`;
      }
      return undefined;
    }
    case 'ref':
      return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v) ? undefined : `must be a row id of "${col.ref}" (a UUID string), got ${describe(v)}`;
  }
}

function isJsonValue(v: unknown, depth: number): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v as object).every((x) => isJsonValue(x, depth + 1));
  }
  return false;
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** A relation a table can include: forward through one of its refs, or reverse from another table. */
export interface Relation {
  readonly name: string;
  readonly kind: 'forward' | 'reverse';
  /** forward: this table's ref column; reverse: the other table's ref column. */
  readonly column: string;
  /** The table whose rows the relation yields. */
  readonly table: string;
}

/** `projectId` → `project`; a ref column not ending in Id/_id gives `<column>Row`. */
export function forwardName(column: string): string {
  const m = /^(.+?)(Id|_id)$/.exec(column);
  return m ? m[1]! : `${column}Row`;
}

/** Every relation of a table: its refs forward, and every ref to it from any table in reverse. */
export function relationsOf(schema: AppSchema, table: string): Relation[] {
  const out: Relation[] = [];
  const t = schema.tables[table];
  if (!t) return out;
  for (const [cname, c] of Object.entries(t.columns)) {
    if (c.type === 'ref') out.push({ name: forwardName(cname), kind: 'forward', column: cname, table: c.ref! });
  }
  for (const [oname, o] of Object.entries(schema.tables)) {
    for (const [cname, c] of Object.entries(o.columns)) {
      if (c.type === 'ref' && c.ref === table) {
        const f = forwardName(cname);
        out.push({ name: `${oname}Via${f[0]!.toUpperCase()}${f.slice(1)}`, kind: 'reverse', column: cname, table: oname });
      }
    }
  }
  return out;
}

/** The canonical JSON text of a schema: fixed key order inside columns, table and column order kept. */
export function canonicalSchemaJSON(schema: AppSchema): string {
  const tables: Record<string, unknown> = {};
  for (const [tname, t] of Object.entries(schema.tables)) {
    const cols: Record<string, unknown> = {};
    for (const [cname, c] of Object.entries(t.columns)) cols[cname] = canonicalColumn(c);
    tables[tname] = cols;
  }
  return JSON.stringify({ tables });
}

function canonicalColumn(c: ColumnSchema): unknown {
  const o: Record<string, unknown> = { type: c.type };
  if (c.optional) o.optional = true;
  if (c.default !== undefined) o.default = c.default;
  if (c.values) o.values = c.values;
  if (c.items) o.items = canonicalColumn(c.items);
  if (c.ref !== undefined) o.ref = c.ref;
  return o;
}

/** FNV-1a 64-bit over the canonical JSON, as 16 hex characters. */
export function schemaHash(schema: AppSchema): string {
  return fnv1a64(canonicalSchemaJSON(schema));
}

export function fnv1a64(text: string): string {
  // Two 32-bit halves: BigInt would be simpler but is slower and this runs once per schema.
  let h1 = 0x84222325;
  let h0 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    for (let k = 0; k < 2; k++, c >>= 8) {
      h1 ^= c & 0xff;
      // multiply (h0:h1) by the FNV prime 0x100000001b3
      const lo = h1 * 0x1b3;
      const hi = h0 * 0x1b3 + h1 * 0x100 + Math.floor(lo / 0x100000000);
      h1 = lo >>> 0;
      h0 = hi >>> 0;
    }
  }
  return h0.toString(16).padStart(8, '0') + h1.toString(16).padStart(8, '0');
}
