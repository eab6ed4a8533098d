/**
 * Compiles a `where` expression into a function of a row. Semantics, shared with the index plans:
 * - `eq`/`in` match equal values (JSON and arrays by content); `eq null` is `isNull`.
 * - `ne` matches every row whose value is not equal, null included.
 * - `gt`/`gte`/`lt`/`lte` never match null.
 * - `contains`: an array column holds the element; a string column holds the substring.
 */
import type { Expr, Value } from './ast.ts';
import { compareValues } from './compare.ts';
import { valuesEqual } from '../rows/version.ts';
import { unreachable } from '../util/assert.ts';

export type Predicate = (row: Readonly<Record<string, unknown>>) => boolean;

export function compilePredicate(e: Expr): Predicate {
  switch (e.op) {
    case 'true':
      return () => true;
    case 'and': {
      const ps = e.args.map(compilePredicate);
      if (ps.length === 1) return ps[0]!;
      if (ps.length === 2) {
        const [a, b] = ps as [Predicate, Predicate];
        return (r) => a(r) && b(r);
      }
      return (r) => ps.every((p) => p(r));
    }
    case 'or': {
      const ps = e.args.map(compilePredicate);
      return (r) => ps.some((p) => p(r));
    }
    case 'not': {
      const p = compilePredicate(e.arg);
      return (r) => !p(r);
    }
    case 'isNull': {
      const { column, isNull } = e;
      return (r) => (r[column] === null || r[column] === undefined) === isNull;
    }
    case 'in': {
      const { column } = e;
      const values = e.values;
      const simple = values.every((v) => v === null || typeof v !== 'object');
      if (simple) {
        const set = new Set<unknown>(values.map((v) => (v === null ? undefined : v)));
        return (r) => set.has(r[column] ?? undefined);
      }
      return (r) => values.some((v) => equalValue(r[column], v));
    }
    case 'contains': {
      const { column, value } = e;
      return (r) => {
        const x = r[column];
        if (typeof x === 'string') return typeof value === 'string' && x.includes(value);
        if (Array.isArray(x)) return x.some((el) => equalValue(el, value));
        return false;
      };
    }
    case 'cmp': {
      const { column, value } = e;
      switch (e.cmp) {
        case 'eq':
          if (value === null || typeof value !== 'object') return (r) => r[column] === value;
          return (r) => equalValue(r[column], value);
        case 'ne':
          if (value === null || typeof value !== 'object') return (r) => r[column] !== value;
          return (r) => !equalValue(r[column], value);
        case 'gt':
          return (r) => r[column] != null && compareValues(r[column], value) > 0;
        case 'gte':
          return (r) => r[column] != null && compareValues(r[column], value) >= 0;
        case 'lt':
          return (r) => r[column] != null && compareValues(r[column], value) < 0;
        case 'lte':
          return (r) => r[column] != null && compareValues(r[column], value) <= 0;
        default:
          return unreachable(e.cmp);
      }
    }
    default:
      return unreachable(e);
  }
}

function equalValue(a: unknown, v: Value): boolean {
  if (v === null) return a === null || a === undefined;
  return valuesEqual(a, v);
}
