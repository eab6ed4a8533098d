/**
 * The catalogue gives every table and column a small stable number, used in store keys and in the
 * binary row format instead of names. Numbers are assigned once and persisted (meta 'catalogue'):
 * a column added later gets a new number and old rows simply lack it; a column that goes away keeps
 * its number retired, so stored rows stay readable. Changing a column's type needs a migration.
 */
import type { AppSchema, ColumnSchema } from './schema.ts';
import { JazzError } from '../util/errors.ts';

export interface CatalogueColumn {
  readonly name: string;
  readonly no: number;
  readonly schema: ColumnSchema;
}

export interface CatalogueTable {
  readonly name: string;
  readonly no: number;
  /** Live columns in schema order. */
  readonly columns: readonly CatalogueColumn[];
  /** The same columns in column-number order (the row format's order). */
  readonly columnsByNo: readonly CatalogueColumn[];
  readonly byName: ReadonlyMap<string, CatalogueColumn>;
  /** One more than the highest column number ever assigned: the row format's slot count. */
  readonly slots: number;
}

export interface CatalogueJSON {
  readonly tables: Record<string, { no: number; columns: Record<string, { no: number; type: string }>; slots: number }>;
  readonly nextTable: number;
}

export class Catalogue {
  readonly tables: ReadonlyMap<string, CatalogueTable>;
  readonly json: CatalogueJSON;

  private constructor(tables: Map<string, CatalogueTable>, json: CatalogueJSON) {
    this.tables = tables;
    this.json = json;
  }

  /** Assigns numbers to `schema`, keeping those of `previous` (a persisted catalogue). */
  static build(schema: AppSchema, previous?: CatalogueJSON): Catalogue {
    const json: CatalogueJSON = previous ? structuredCloneJSON(previous) : { tables: {}, nextTable: 1 };
    const tables = new Map<string, CatalogueTable>();
    for (const [tname, t] of Object.entries(schema.tables)) {
      let tj = json.tables[tname];
      if (!tj) {
        tj = { no: (json as { nextTable: number }).nextTable++, columns: {}, slots: 1 };
        json.tables[tname] = tj;
      }
      const columns: CatalogueColumn[] = [];
      for (const [cname, c] of Object.entries(t.columns)) {
        let cj = tj.columns[cname];
        if (cj && cj.type !== typeKey(c)) {
          throw new JazzError('SCHEMA_INVALID', `${tname}.${cname} was ${cj.type} and is now ${typeKey(c)}; changing a column's type needs a migration`, { table: tname, column: cname });
        }
        if (!cj) {
          cj = { no: tj.slots++, type: typeKey(c) };
          tj.columns[cname] = cj;
        }
        columns.push({ name: cname, no: cj.no, schema: c });
      }
      const columnsByNo = [...columns].sort((a, b) => a.no - b.no);
      tables.set(tname, { name: tname, no: tj.no, columns, columnsByNo, byName: new Map(columns.map((c) => [c.name, c])), slots: tj.slots });
    }
    return new Catalogue(tables, json);
  }

  table(name: string): CatalogueTable {
    const t = this.tables.get(name);
    if (!t) throw new JazzError('UNKNOWN_TABLE', `unknown table "${name}"`, { table: name });
    return t;
  }
}

function typeKey(c: ColumnSchema): string {
  return c.type === 'array' ? `array<${typeKey(c.items!)}>` : c.type;
}

function structuredCloneJSON<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
