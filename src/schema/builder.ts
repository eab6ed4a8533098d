/**
 * The TypeScript schema builder, shaped like jazz-tools:
 *
 *   const app = s.defineApp({ todos: s.table({ title: s.string(), done: s.boolean().default(false) }) });
 *
 * Builders are immutable. Types flow from them: `RowOf<typeof app.todos>` is the row type and
 * `InsertOf<...>` what `db.insert` accepts (optional and defaulted columns may be left out).
 */
import type { AppSchema, ColumnSchema, TableSchema } from './schema.ts';
import { schemaFromJSON, canonicalSchemaJSON, schemaHash } from './schema.ts';
import { QueryBuilder } from '../query/builder.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** A column under construction. `O`: optional; `D`: has a default. */
export class ColumnBuilder<T, O extends boolean = false, D extends boolean = false> {
  /** Phantom fields that carry the types; never set at run time. */
  declare readonly _type: T;
  declare readonly _optional: O;
  declare readonly _default: D;
  readonly spec: ColumnSchema;

  constructor(spec: ColumnSchema) {
    this.spec = spec;
  }

  optional(): ColumnBuilder<T, true, D> {
    return new ColumnBuilder({ ...this.spec, optional: true });
  }

  default(value: T): ColumnBuilder<T, O, true> {
    return new ColumnBuilder({ ...this.spec, default: value instanceof Date ? value.getTime() : value });
  }
}

type AnyColumn = ColumnBuilder<any, boolean, boolean>;
export type ColumnsDef = Record<string, AnyColumn>;

/** A table under construction. */
export class TableBuilder<C extends ColumnsDef> {
  declare readonly _columns: C;
  readonly columns: C;
  constructor(columns: C) {
    this.columns = columns;
  }
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<C extends ColumnsDef> = { [K in keyof C]: C[K] extends ColumnBuilder<any, false, any> ? K : never }[keyof C];
type OptionalKeys<C extends ColumnsDef> = Exclude<keyof C, RequiredKeys<C>>;
type InsertRequiredKeys<C extends ColumnsDef> = { [K in keyof C]: C[K] extends ColumnBuilder<any, false, false> ? K : never }[keyof C];
type ColumnValue<B> = B extends ColumnBuilder<infer T, any, any> ? T : never;

/** A row as queries return it: `id` plus every column (optional ones may be null). */
export type RowFromColumns<C extends ColumnsDef> = Simplify<{ readonly id: string } & { [K in RequiredKeys<C>]: ColumnValue<C[K]> } & { [K in OptionalKeys<C>]: ColumnValue<C[K]> | null }>;

/** What `insert` accepts: required columns without a default must be given. */
export type InsertFromColumns<C extends ColumnsDef> = Simplify<
  { [K in InsertRequiredKeys<C>]: InputValue<ColumnValue<C[K]>> } & {
    [K in Exclude<keyof C, InsertRequiredKeys<C>>]?: InputValue<ColumnValue<C[K]>> | (C[K] extends ColumnBuilder<any, true, any> ? null : never);
  }
>;

/** Timestamps may be given as Date objects. */
type InputValue<T> = T extends number ? number | Date : T;

/** What `update` accepts: any subset of the columns. */
export type UpdateFromColumns<C extends ColumnsDef> = Partial<InsertFromColumns<C>>;

export type AppTables = Record<string, TableBuilder<any>>;

/** A defined app: one query builder per table, plus the normalised schema and its hash. */
export type App<T extends AppTables> = {
  readonly [K in keyof T & string]: QueryBuilder<RowFromColumns<T[K]['columns']>, InsertFromColumns<T[K]['columns']>>;
} & {
  readonly $schema: AppSchema;
  readonly $hash: string;
};

/** An app whose schema came from JSON: rows are plain records. */
export type DynamicApp = {
  readonly [table: string]: QueryBuilder<Record<string, unknown> & { readonly id: string }, Record<string, unknown>>;
} & { readonly $schema: AppSchema; readonly $hash: string };

export type RowOf<Q> = Q extends QueryBuilder<infer R, any> ? R : never;
export type InsertOf<Q> = Q extends QueryBuilder<any, infer I> ? I : never;

function col<T>(spec: ColumnSchema): ColumnBuilder<T> {
  return new ColumnBuilder<T>(spec);
}

/** Builds the app object from a normalised schema. */
export function appFromSchema(schema: AppSchema): DynamicApp {
  const app: Record<string, unknown> = {};
  for (const table of Object.keys(schema.tables)) app[table] = QueryBuilder.forTable(schema, table);
  Object.defineProperty(app, '$schema', { value: schema, enumerable: false });
  Object.defineProperty(app, '$hash', { value: schemaHash(schema), enumerable: false });
  return Object.freeze(app) as DynamicApp;
}

export const s = {
  string: () => col<string>({ type: 'string' }),
  boolean: () => col<boolean>({ type: 'boolean' }),
  /** A 32-bit integer. */
  int: () => col<number>({ type: 'int' }),
  float: () => col<number>({ type: 'float' }),
  /** Epoch milliseconds in rows; a Date is accepted on write. */
  timestamp: () => col<number>({ type: 'timestamp' }),
  bytes: () => col<Uint8Array>({ type: 'bytes' }),
  /**
   * Any JSON value. It takes no schema (jazz-tools' `s.json(schema)`): one given is passed on, so
   * `s.defineApp` refuses it (SCHEMA_INVALID, unknown column property "schema"), never ignores it.
   */
  json: <T = JsonValue>(...schema: never[]) => col<T>({ type: 'json', ...(schema[0] ? { schema: schema[0] as unknown } : {}) }),
  enum: <const V extends string>(...values: V[]) => col<V>({ type: 'enum', values }),
  array: <T>(items: ColumnBuilder<T, false, boolean>) => col<T[]>({ type: 'array', items: items.spec }),
  /** A reference to a row of `table`, held as its id. */
  ref: (table: string) => col<string>({ type: 'ref', ref: table }),
  /**
   * A file (db.createFileFromBlob / createFileFromStream / createStream), held as its id: a ref to
   * the system table `$files`. Reading the row does not read the file's bytes (db.loadFileAsBlob).
   */
  file: () => col<string>({ type: 'ref', ref: '$files' }),
  table: <C extends ColumnsDef>(columns: C) => new TableBuilder(columns),

  /** Defines the app from table builders; throws `SCHEMA_INVALID` on a bad schema. */
  defineApp<T extends AppTables>(tables: T): App<T> {
    const json: Record<string, Record<string, ColumnSchema>> = {};
    for (const [name, t] of Object.entries(tables)) {
      if (!(t instanceof TableBuilder)) throw new TypeError(`s.defineApp: "${name}" is not an s.table(...); for a JSON schema use s.fromJSON`);
      const cols: Record<string, ColumnSchema> = {};
      for (const [cname, c] of Object.entries(t.columns as ColumnsDef)) cols[cname] = c.spec;
      json[name] = cols;
    }
    return appFromSchema(schemaFromJSON({ tables: json })) as unknown as App<T>;
  },

  /** Defines the app from the plain-JSON schema form (for pages with no build step). */
  fromJSON(json: unknown): DynamicApp {
    return appFromSchema(schemaFromJSON(typeof json === 'string' ? JSON.parse(json) : json));
  },
};

export { canonicalSchemaJSON };
export type { TableSchema };
