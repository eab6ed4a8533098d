/**
 * The `where` object form of the TypeScript API, turned into an `Expr`:
 *
 * ```ts
 * { done: false, priority: { gte: 2, lt: 5 }, title: { contains: 'x' }, projectId: { in: [a, b] },
 *   due: { isNull: true }, $or: [{ ... }, { ... }], $and: [{ ... }], $not: { ... } }
 * ```
 *
 * Contract:
 * - Every key is ANDed; the result is one flat `and` (nested `and`s from operator objects and
 *   `$and` are merged into it), a single condition is returned as itself, `{}` is `true`.
 * - A plain value means equality: string, number, boolean, Uint8Array or array → `cmp eq`
 *   (an array is compared as a whole value; use `{ in: [...] }` for membership); `null` →
 *   `isNull: true`.
 * - An object whose keys are all operators (`eq ne in contains gt gte lt lte isNull`) is an operator
 *   object; several operators are ANDed. `eq: null` → isNull true, `ne: null` → isNull false.
 *   Any other plain object (including `{}`) is rejected: JSON equality is written `{ eq: {...} }`.
 * - `$or` takes a non-empty array, `$and` an array (empty means `true`), `$not` one object. Other
 *   keys starting with `$` are reserved and rejected.
 * - `undefined` is rejected, never skipped, so `{ ownerId: user.id }` with a missing id cannot
 *   silently match every row. Omit the key instead.
 * - Values must be representable on the wire: finite numbers, strings, booleans, null, Uint8Array,
 *   arrays and plain objects of those. Values are copied, so later mutation of the input does not
 *   change the AST. Nesting is limited to `MAX_WHERE_OBJECT_DEPTH` (this also stops cycles).
 *
 * Problems throw `JazzError('QUERY_INVALID')` naming the field (`details.field`). Column names are
 * not checked against the schema here; the query builder does that.
 */
import type { Expr, Value } from './ast.ts';
import { JazzError } from '../util/errors.ts';
import { isSysField, type SysField, type SysValues } from '../rows/system-fields.ts';

/** The untyped object form of `where`; see the module comment for its contract. */
export type WhereObject = { readonly [key: string]: unknown };

/** The deepest nesting of `$or`/`$and`/`$not` and of values that `whereFromObject` accepts. */
export const MAX_WHERE_OBJECT_DEPTH = 64;

const OPERATORS = new Set(['eq', 'ne', 'in', 'contains', 'gt', 'gte', 'lt', 'lte', 'isNull']);
const RANGE = { gt: 'gt', gte: 'gte', lt: 'lt', lte: 'lte' } as const;

// ---------------------------------------------------------------------------------------------
// Types

type ElementOf<V> = V extends readonly (infer E)[] ? E : V extends string ? string : never;

/** The operators allowed on a column whose values have type `V`. */
export interface WhereOperators<V> {
  readonly eq?: V | null;
  readonly ne?: V | null;
  readonly in?: readonly (V | null)[];
  /** Array column: has the element. String column: has the substring. */
  readonly contains?: ElementOf<NonNullable<V>>;
  readonly gt?: NonNullable<V>;
  readonly gte?: NonNullable<V>;
  readonly lt?: NonNullable<V>;
  readonly lte?: NonNullable<V>;
  readonly isNull?: boolean;
}

/** What a column of type `V` accepts: a plain value (equality) or an operator object. */
export type WhereCondition<V> =
  // JSON object columns compare only through `{ eq: ... }`: a bare object would be ambiguous.
  (NonNullable<V> extends Uint8Array | readonly unknown[] | string | number | boolean ? V | null : null) | WhereOperators<V>;

/** The object form of `where` typed against a row type: its columns and the combinators. */
export type WhereFor<Row> = {
  readonly [K in keyof Row & string]?: WhereCondition<Row[K]>;
} & {
  readonly $or?: readonly WhereFor<Row>[];
  readonly $and?: readonly WhereFor<Row>[];
  readonly $not?: WhereFor<Row>;
} & {
  readonly [K in SysField]?: WhereCondition<SysValues[K]>;
};

// ---------------------------------------------------------------------------------------------
// Conversion

function invalid(message: string, field: string, extra: Record<string, unknown> = {}): never {
  throw new JazzError('QUERY_INVALID', message, { field, ...extra });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Converts the object form of `where` into an `Expr`. Throws `JazzError('QUERY_INVALID')` with
 * `details.field` for anything malformed; see the module comment for the full contract.
 */
export function whereFromObject(obj: WhereObject): Expr {
  return fromObject(obj, 'where', 0);
}

function fromObject(obj: unknown, path: string, depth: number): Expr {
  if (depth > MAX_WHERE_OBJECT_DEPTH) invalid(`${path}: nested deeper than ${MAX_WHERE_OBJECT_DEPTH} levels`, path);
  if (!isPlainObject(obj)) {
    invalid(`${path} must be a plain object like { done: false }, got ${kindOf(obj)}`, path);
  }
  const parts: Expr[] = [];
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(v)) invalid(`${key} must be an array of where objects, got ${kindOf(v)}`, key);
      if (key === '$or' && v.length === 0) {
        invalid('$or must not be empty (it would match nothing); leave it out', key);
      }
      const args = v.map((item, i) => fromObject(item, `${key}[${i}]`, depth + 1));
      parts.push(key === '$or' ? or(args) : and(args));
    } else if (key === '$not') {
      parts.push({ op: 'not', arg: fromObject(v, '$not', depth + 1) });
    } else if (key.startsWith('$') && !isSysField(key)) {
      invalid(`unknown combinator or system field '${key}'; use $or, $and, $not or a system field`, key);
    } else {
      parts.push(fromField(key, v, depth));
    }
  }
  return and(parts);
}

function fromField(column: string, v: unknown, depth: number): Expr {
  if (v === undefined) {
    invalid(`'${column}' is undefined; omit the field to not filter on it, or use null to match null`, column);
  }
  if (v === null) return { op: 'isNull', column, isNull: true };
  if (!isPlainObject(v)) return { op: 'cmp', column, cmp: 'eq', value: toValue(v, column, depth) };

  const keys = Object.keys(v);
  if (keys.length === 0) {
    invalid(`'${column}' has an empty object; use { eq: {} } to compare with an empty JSON object`, column);
  }
  const unknown = keys.filter((k) => !OPERATORS.has(k));
  if (unknown.length === keys.length) {
    invalid(`'${column}' has a plain object, which is not an operator object; use { eq: {...} } to compare with a JSON value`, column);
  }
  if (unknown.length > 0) {
    invalid(`unknown operator '${unknown[0]}' for '${column}'; use eq, ne, in, contains, gt, gte, lt, lte or isNull`, column, { operator: unknown[0] });
  }
  return and(keys.map((op) => fromOperator(column, op, v[op], depth)));
}

function fromOperator(column: string, op: string, v: unknown, depth: number): Expr {
  if (v === undefined) {
    invalid(`'${column}': ${op} is undefined; omit the operator or pass a value`, column, { operator: op });
  }
  switch (op) {
    case 'eq':
    case 'ne':
      if (v === null) return { op: 'isNull', column, isNull: op === 'eq' };
      return { op: 'cmp', column, cmp: op, value: toValue(v, column, depth) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (v === null) {
        invalid(`'${column}': ${op} cannot compare with null; use { isNull: true } or { isNull: false }`, column, {
          operator: op,
        });
      }
      return { op: 'cmp', column, cmp: RANGE[op], value: toValue(v, column, depth) };
    case 'in':
      if (!Array.isArray(v)) invalid(`'${column}': in takes an array of values, got ${kindOf(v)}`, column, { operator: op });
      return { op: 'in', column, values: v.map((x) => toValue(x, column, depth + 1)) };
    case 'contains':
      return { op: 'contains', column, value: toValue(v, column, depth) };
    case 'isNull':
      if (typeof v !== 'boolean') invalid(`'${column}': isNull takes true or false, got ${kindOf(v)}`, column, { operator: op });
      return { op: 'isNull', column, isNull: v };
    default:
      return invalid(`unknown operator '${op}' for '${column}'`, column, { operator: op });
  }
}

/** Checks that `v` is a wire-safe Value and returns a copy of it. */
function toValue(v: unknown, column: string, depth: number): Value {
  if (depth > MAX_WHERE_OBJECT_DEPTH) invalid(`'${column}': value nested deeper than ${MAX_WHERE_OBJECT_DEPTH} levels`, column);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) invalid(`'${column}': ${v} is not a valid value; numbers must be finite`, column);
      return v;
    case 'object':
      if (v === null) return null;
      if (v instanceof Uint8Array) return v.slice();
      if (Array.isArray(v)) return v.map((x: unknown) => toValue(x, column, depth + 1));
      if (v instanceof Date) invalid(`'${column}': a Date is not a value; timestamps are numbers, use date.getTime()`, column);
      if (isPlainObject(v)) {
        // fromEntries defines own properties, so a "__proto__" key stays data.
        return Object.fromEntries(Object.keys(v).map((k) => [k, toValue(v[k], column, depth + 1)]));
      }
      return invalid(`'${column}': ${kindOf(v)} is not a valid value`, column);
    default:
      return invalid(`'${column}': ${kindOf(v)} is not a valid value`, column);
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof v;
}

/** One flat `and`: nested `and`s are merged, `true`s dropped; one part is returned as itself. */
function and(parts: readonly Expr[]): Expr {
  const args: Expr[] = [];
  for (const p of parts) {
    if (p.op === 'and') args.push(...p.args);
    else if (p.op !== 'true') args.push(p);
  }
  if (args.length === 0) return { op: 'true' };
  return args.length === 1 ? args[0] : { op: 'and', args };
}

/** One flat `or`: nested `or`s are merged; one part is returned as itself. */
function or(parts: readonly Expr[]): Expr {
  const args: Expr[] = [];
  for (const p of parts) {
    if (p.op === 'or') args.push(...p.args);
    else args.push(p);
  }
  return args.length === 1 ? args[0] : { op: 'or', args };
}
