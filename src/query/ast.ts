/**
 * The query AST: plain, serialisable data. The TypeScript builder, the `where`
 * object form and the `where` string grammar all produce it; it travels in subscriptions and
 * carries permissions. Column names are checked against the schema when a query is built.
 */

/** A literal value in a query. Timestamps are epoch milliseconds, bytes are Uint8Array. */
export type Value = string | number | boolean | null | Uint8Array | readonly Value[] | { readonly [k: string]: Value };

export type CompareOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

export type Expr =
  | { readonly op: 'true' }
  | { readonly op: 'and'; readonly args: readonly Expr[] }
  | { readonly op: 'or'; readonly args: readonly Expr[] }
  | { readonly op: 'not'; readonly arg: Expr }
  | { readonly op: 'cmp'; readonly column: string; readonly cmp: CompareOp; readonly value: Value }
  | { readonly op: 'in'; readonly column: string; readonly values: readonly Value[] }
  /** Array column: has the element. String column: has the substring. */
  | { readonly op: 'contains'; readonly column: string; readonly value: Value }
  /** `isNull: true` matches rows whose column is null or absent; `false` the others. */
  | { readonly op: 'isNull'; readonly column: string; readonly isNull: boolean };

export type Direction = 'asc' | 'desc';

export interface OrderTerm {
  readonly column: string;
  readonly direction: Direction;
}

/**
 * An included relation, nested as an array subquery:
 * - `forward`: the row a ref column of this table points to (`project` for `projectId`), or null;
 * - `reverse`: the rows of `query.table` whose ref `column` points to this row (`todosViaProject`).
 */
export interface IncludeAst {
  readonly kind: 'forward' | 'reverse';
  /** forward: the ref column of the parent; reverse: the ref column of the child table. */
  readonly column: string;
  readonly query: QueryAst;
}

export interface QueryAst {
  readonly table: string;
  readonly where: Expr;
  readonly orderBy: readonly OrderTerm[];
  readonly limit?: number;
  readonly offset?: number;
  /** Columns to return besides `id`; absent means all. */
  readonly select?: readonly string[];
  readonly include?: Readonly<Record<string, IncludeAst>>;
}

export const TRUE: Expr = Object.freeze({ op: 'true' });

/** The query for one row by id (what a write handle's `wait` reads). */
export function rowById(table: string, id: string): QueryAst {
  return { table, where: { op: 'cmp', column: 'id', cmp: 'eq', value: id }, orderBy: [], limit: 1 };
}
