/**
 * Value order and row order for queries. The order here must be the order of the index keys
 * (`store/keys.ts`): null first, then booleans (false < true), numbers, strings by code point,
 * bytes byte-wise; refs are UUID strings, whose text order is their byte order.
 *
 * Rows are ordered by the query's orderBy terms, then by id in the direction of the first term
 * (ascending when there is none), so every query has one total order.
 */
import { compareStrings } from '../util/bytes.ts';
import { compareBytes } from '../store/types.ts';
import type { OrderTerm } from './ast.ts';
import type { RowObject } from '../rows/row-codec.ts';

export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  switch (typeof a) {
    case 'number':
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'string':
      return compareStrings(a, b as string);
    case 'boolean':
      return a === b ? 0 : a ? 1 : -1;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  // json and arrays have no order of their own; their JSON text gives a stable one.
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

export type RowComparator = (a: RowObject, b: RowObject) => number;

export function rowComparator(orderBy: readonly OrderTerm[]): RowComparator {
  const idSign = orderBy.length > 0 && orderBy[0]!.direction === 'desc' ? -1 : 1;
  if (orderBy.length === 0) return (a, b) => compareStrings(a.id, b.id);
  if (orderBy.length === 1) {
    const { column } = orderBy[0]!;
    const sign = idSign;
    return (a, b) => {
      const d = compareValues(a[column], b[column]);
      return d !== 0 ? sign * d : sign * compareStrings(a.id, b.id);
    };
  }
  const terms = orderBy.map((t) => ({ column: t.column, sign: t.direction === 'desc' ? -1 : 1 }));
  return (a, b) => {
    for (const t of terms) {
      const d = compareValues(a[t.column], b[t.column]);
      if (d !== 0) return t.sign * d;
    }
    return idSign * compareStrings(a.id, b.id);
  };
}
