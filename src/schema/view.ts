/**
 * A schema version's view of the engine: how a client, a tab or a server connection that speaks
 * that version reads and writes the engine, whose tables and columns are the union of every version
 * (catalogue.ts) under internal names (the current version's).
 *
 * - `query(ast)` turns a query written in the version's names into internal names (tables, columns
 *   of where, orderBy, select and includes); include names (the keys) stay as written.
 * - `columns(table)` says how the result rows of an internal table look in the version: pairs of
 *   (the version's name, the internal name), or undefined when they look the same (the current
 *   version, on a table with no retired column).
 * - `tableName(internal)` is the version's name of an internal table (undefined where it has none).
 *
 * Writes go through the version's tables (`ViewTable`, in values.ts): the version's columns and
 * types are checked, names turned internal, and the columns the version does not have get the value
 * its writes give them (weakly: they do not count as changed).
 */
import type { Expr, IncludeAst, QueryAst } from '../query/ast.ts';
import { JazzError } from '../util/errors.ts';
import type { AppSchema } from './schema.ts';
import type { Catalogue, ViewTable } from './catalogue.ts';
import { withSystemTables } from '../files/system-tables.ts';

export class SchemaView {
  readonly hash: string;
  readonly schema: AppSchema;
  readonly tables: ReadonlyMap<string, ViewTable>;
  /** Every table reads as it is stored: no translation anywhere. */
  readonly identity: boolean;
  readonly #byInternal: ReadonlyMap<string, ViewTable>;
  readonly #columns = new Map<string, readonly (readonly [string, string])[] | undefined>();

  constructor(catalogue: Catalogue, hash: string) {
    this.hash = hash;
    this.tables = catalogue.view(hash); // MIGRATION_INVALID for a version the catalogue does not know
    // With the system tables (files), so queries that name them check like any other.
    this.schema = withSystemTables(catalogue.graph.schemas.get(hash)!);
    this.#byInternal = new Map([...this.tables.values()].map((t) => [t.table.name, t]));
    this.identity = [...this.tables.values()].every((t) => t.identity);
  }

  /** The version's table of this name; `UNKNOWN_TABLE` when it has none. */
  table(name: string): ViewTable {
    const t = this.tables.get(name);
    if (!t) throw new JazzError('UNKNOWN_TABLE', `unknown table "${name}"; the schema has ${[...this.tables.keys()].join(', ')}`, { table: name });
    return t;
  }

  /** The version's table that is this internal table, if it has one. */
  ofInternal(internal: string): ViewTable | undefined {
    return this.#byInternal.get(internal);
  }

  tableName(internal: string): string | undefined {
    return this.#byInternal.get(internal)?.name;
  }

  /** A query in the version's names, in internal names (checked against the version first: `checkQuery`). */
  query(ast: QueryAst): QueryAst {
    if (this.identity) return ast;
    const t = this.table(ast.table);
    const col = (c: string) => (c === 'id' ? 'id' : (t.byName.get(c)?.col.name ?? c));
    const out: { -readonly [K in keyof QueryAst]: QueryAst[K] } = {
      table: t.table.name,
      where: this.#expr(ast.where, col),
      orderBy: ast.orderBy.map((o) => ({ column: col(o.column), direction: o.direction })),
    };
    if (ast.limit !== undefined) out.limit = ast.limit;
    if (ast.offset !== undefined) out.offset = ast.offset;
    if (ast.select) out.select = ast.select.map(col);
    if (ast.include) {
      const include: Record<string, IncludeAst> = {};
      for (const [name, inc] of Object.entries(ast.include)) {
        const child = this.table(inc.query.table);
        // forward: the ref is the parent's column; reverse: the child's.
        const column = inc.kind === 'forward' ? col(inc.column) : (child.byName.get(inc.column)?.col.name ?? inc.column);
        Object.defineProperty(include, name, { value: { kind: inc.kind, column, query: this.query(inc.query) }, enumerable: true });
      }
      out.include = include;
    }
    return out;
  }

  #expr(e: Expr, col: (c: string) => string): Expr {
    switch (e.op) {
      case 'true':
        return e;
      case 'and':
      case 'or':
        return { op: e.op, args: e.args.map((a) => this.#expr(a, col)) };
      case 'not':
        return { op: 'not', arg: this.#expr(e.arg, col) };
      case 'cmp':
      case 'in':
      case 'contains':
      case 'isNull':
        return { ...e, column: col(e.column) };
    }
  }

  /** How rows of an internal table read in this version (see the top), or undefined for as stored. */
  columns(internal: string): readonly (readonly [string, string])[] | undefined {
    if (!this.#columns.has(internal)) {
      const t = this.#byInternal.get(internal);
      this.#columns.set(internal, !t || t.identity ? undefined : t.columns.map((c) => [c.name, c.col.name] as const));
    }
    return this.#columns.get(internal);
  }
}
