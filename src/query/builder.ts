/**
 * Immutable query builders, shaped like jazz-tools: `app.todos.where({ done: false }).orderBy('title').limit(20)`.
 * Every method returns a new builder; the AST is checked against the schema as it is built, so a
 * wrong column or value throws at the call that introduced it.
 */
import type { AppSchema } from '../schema/schema.ts';
import { relationsOf } from '../schema/schema.ts';
import { JazzError } from '../util/errors.ts';
import type { Direction, Expr, IncludeAst, QueryAst } from './ast.ts';
import { TRUE } from './ast.ts';
import { parseWhere } from './where-parser.ts';
import { whereFromObject } from './where-object.ts';
import { checkExpr, checkQuery, columnOf, isOrdered } from './validate.ts';
import type { SysField } from '../rows/system-fields.ts';

/**
 * What `where` accepts: the object form, the string grammar, or an AST expression. In the object
 * form the keys are the table's columns (checked by TypeScript for a typed app: a misspelt column
 * does not compile), the system fields, and `$or` / `$and` / `$not`.
 */
export type WhereInput<Row = Record<string, unknown>> = WhereObject<Row> | string | Expr;

/** The object form of a condition on rows of type `Row`: each key a column (a value, or an operator object). */
export type WhereObject<Row = Record<string, unknown>> = { readonly [K in keyof Row & string]?: unknown } & { readonly [K in SysField]?: unknown } & {
  readonly $or?: readonly WhereObject<Row>[];
  readonly $and?: readonly WhereObject<Row>[];
  readonly $not?: WhereObject<Row>;
};

/** `true` for a plain include, or a builder for the related table to filter, order or nest. */
export type IncludeInput = true | QueryBuilder<any, any>;

export class QueryBuilder<Row = Record<string, unknown>, Insert = Record<string, unknown>> {
  declare readonly _row: Row;
  declare readonly _insert: Insert;
  readonly schema: AppSchema;
  readonly ast: QueryAst;

  /**
   * A builder around a query already in AST form (from the wire, from another builder's `toAst`).
   * It does not check the AST: check it first (`checkQuery`), as the worker does with a page's.
   * Apps start from their tables instead (`app.todos`, or `QueryBuilder.forTable`).
   */
  constructor(schema: AppSchema, ast: QueryAst) {
    this.schema = schema;
    this.ast = ast;
  }

  static forTable(schema: AppSchema, table: string): QueryBuilder<any, any> {
    columnOf(schema, table, 'id');
    return new QueryBuilder(schema, { table, where: TRUE, orderBy: [] });
  }

  /** The query as plain serialisable data. */
  toAst(): QueryAst {
    return this.ast;
  }

  get table(): string {
    return this.ast.table;
  }

  #with(patch: Partial<QueryAst>): QueryBuilder<Row, Insert> {
    return new QueryBuilder<Row, Insert>(this.schema, { ...this.ast, ...patch });
  }

  /** Narrows the query; several `where` calls are ANDed. */
  where(input: WhereInput<Row>): QueryBuilder<Row, Insert> {
    const expr = toExpr(input);
    checkExpr(this.schema, this.ast.table, expr);
    const where = this.ast.where.op === 'true' ? expr : expr.op === 'true' ? this.ast.where : { op: 'and' as const, args: [this.ast.where, expr] };
    return this.#with({ where });
  }

  /**
   * Adds a sort key; call again for ties. Rows that tie on every key are ordered by id. The system
   * fields (`$createdAt`, `$updatedAt`, `$createdBy`, `$updatedBy`) order like columns.
   */
  orderBy(column: (keyof Row & string) | SysField, direction: Direction = 'asc'): QueryBuilder<Row, Insert> {
    if (direction !== 'asc' && direction !== 'desc') throw new JazzError('QUERY_INVALID', `orderBy direction must be 'asc' or 'desc', got ${String(direction)}`);
    const col = columnOf(this.schema, this.ast.table, column);
    if (!isOrdered(col)) throw new JazzError('QUERY_INVALID', `cannot order by ${this.ast.table}.${column}, a ${col.type} column`);
    return this.#with({ orderBy: [...this.ast.orderBy, { column, direction }] });
  }

  limit(n: number): QueryBuilder<Row, Insert> {
    if (!Number.isInteger(n) || n < 0) throw new JazzError('QUERY_INVALID', `limit must be a whole number ≥ 0, got ${n}`);
    return this.#with({ limit: n });
  }

  offset(n: number): QueryBuilder<Row, Insert> {
    if (!Number.isInteger(n) || n < 0) throw new JazzError('QUERY_INVALID', `offset must be a whole number ≥ 0, got ${n}`);
    return this.#with({ offset: n });
  }

  /**
   * Returns only these columns (and `id`). System fields are returned only when named here:
   * `select('*', '$createdBy')` is every column and the row's creator.
   */
  select(...columns: ((keyof Row & string) | SysField | '*')[]): QueryBuilder<Row, Insert> {
    for (const c of columns) if (c !== '*') columnOf(this.schema, this.ast.table, c);
    return this.#with({ select: columns });
  }

  /**
   * Nests related rows into each result: a forward ref (`{ project: true }` for `projectId`) gives
   * the row or null; a reverse relation (`{ todosViaProject: app.todos.where(...) }`) gives an array.
   */
  include(spec: Record<string, IncludeInput>): QueryBuilder<Row, Insert> {
    const include: Record<string, IncludeAst> = { ...(this.ast.include ?? {}) };
    const relations = relationsOf(this.schema, this.ast.table);
    for (const [name, value] of Object.entries(spec)) {
      const rel = relations.find((r) => r.name === name);
      if (!rel) {
        throw new JazzError('QUERY_INVALID', `table "${this.ast.table}" has no relation "${name}"${relations.length ? `; it has ${relations.map((r) => r.name).join(', ')}` : ''}`, {
          table: this.ast.table,
          relation: name,
        });
      }
      let query: QueryAst;
      if (value === true) query = { table: rel.table, where: TRUE, orderBy: [] };
      else if (value instanceof QueryBuilder) query = value.ast;
      else throw new JazzError('QUERY_INVALID', `include "${name}": give true or a query on "${rel.table}"`);
      include[name] = { kind: rel.kind, column: rel.column, query };
    }
    const ast: QueryAst = { ...this.ast, include };
    checkQuery(this.schema, ast);
    return new QueryBuilder<Row, Insert>(this.schema, ast);
  }
}

function toExpr(input: WhereInput): Expr {
  if (typeof input === 'string') return parseWhere(input);
  if (typeof input !== 'object' || input === null) throw new JazzError('QUERY_INVALID', 'where takes an object, a string or an expression');
  if (isExpr(input)) return input;
  return whereFromObject(datesToMillis(input) as Record<string, unknown>);
}

/** Exact AST node shapes; anything else is the object form (a column may well be called `op`). */
const EXPR_KEYS: Record<string, string> = {
  true: 'op',
  and: 'args,op',
  or: 'args,op',
  not: 'arg,op',
  cmp: 'cmp,column,op,value',
  in: 'column,op,values',
  contains: 'column,op,value',
  isNull: 'column,isNull,op',
};

function isExpr(v: object): v is Expr {
  const op = (v as { op?: unknown }).op;
  return typeof op === 'string' && Object.hasOwn(EXPR_KEYS, op) && Object.keys(v).sort().join(',') === EXPR_KEYS[op];
}

/** Dates become epoch milliseconds; the object form itself checks depth and shapes after this. */
function datesToMillis(v: unknown, depth = 0): unknown {
  if (depth > 64) return v;
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map((x) => datesToMillis(x, depth + 1));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, datesToMillis(x, depth + 1)]));
  }
  return v;
}
