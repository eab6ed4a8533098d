/**
 * Picks how a query reads its table, never a full scan where an index serves:
 * - `ids`: the query names its rows (`id = x`, `id in (...)`): point reads;
 * - `lookup`: one ANDed condition an index answers (`=`, `in`, ranges, `is null`, array
 *   `contains`, or an `or` of such) selects few rows: read those index ranges, sort in memory;
 * - `scan`: walk the index of the first sort column (the manifest for id order) in order and
 *   stop as soon as the window is full; or, with an index on several columns (engine/composite.ts)
 *   whose leading columns the query fixes by equality, walk the part of it that holds those values,
 *   in the order of its last column.
 * The choice weighs the lookup's row count (counted in the index, capped) against how far a scan
 * would have to walk to fill the window at that selectivity.
 */
import type { Expr, QueryAst } from './ast.ts';
import type { KeyRange } from '../store/types.ts';
import { compareBytes } from '../store/types.ts';
import type { CatalogueColumn } from '../schema/catalogue.ts';
import type { ColumnSchema } from '../schema/schema.ts';
import type { Engine, TableRuntime } from '../engine/engine.ts';
import { KeyWriter, prefixEnd } from '../store/keys.ts';
import { writeIndexValue } from '../engine/keyspace.ts';
import { compilePredicate, type Predicate } from './predicate.ts';

export type Plan =
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'lookup'; readonly ranges: readonly KeyRange[]; readonly predicate: Predicate; readonly estimate: number; readonly conjunct: Expr }
  | {
      readonly kind: 'scan';
      readonly column: CatalogueColumn | null;
      readonly reverse: boolean;
      readonly grouped: boolean;
      /** The part of an index to walk (a composite index with its leading values); default: `column`'s whole index. */
      readonly prefix?: Uint8Array;
      /** The most bytes of `column`'s values the walked index holds (a composite's share); default `INDEX_VALUE_BYTES`. */
      readonly max?: number;
      /**
       * The part of `column`'s own index the query's conditions on it leave (`due >= x order by
       * due`): from `lo` (inclusive) to `hi` (exclusive); default the whole index. Bounds fall
       * between values, never inside a value's entries (see `scanBounds`).
       */
      readonly lo?: Uint8Array;
      readonly hi?: Uint8Array;
      /**
       * Walk `column`'s index once per value of the first sort column (a boolean), `values` in
       * the query's order, keeping each walk's rows of that value (`order by done, due desc`):
       * see `groupWalk`. `column` is then the second sort column (null: id order).
       */
      readonly groups?: { readonly column: CatalogueColumn; readonly values: readonly (boolean | null)[] };
    };

/** Index reads counted when weighing a lookup; a lookup larger than this is never cached. */
export const LOOKUP_CAP = 20_000;

export function conjunctsOf(e: Expr): readonly Expr[] {
  if (e.op === 'and') return e.args.flatMap(conjunctsOf);
  if (e.op === 'true') return [];
  return [e];
}

export function planQuery(engine: Engine, t: TableRuntime, q: QueryAst): Plan {
  const conjuncts = conjunctsOf(q.where);
  for (const c of conjuncts) {
    if (c.op === 'cmp' && c.column === 'id' && c.cmp === 'eq') return { kind: 'ids', ids: [c.value as string] };
    if (c.op === 'in' && c.column === 'id') return { kind: 'ids', ids: c.values.filter((v): v is string => typeof v === 'string') };
  }
  const window = q.limit === undefined ? Infinity : (q.offset ?? 0) + q.limit;
  const size = Math.max(t.liveCount, 1);
  // The largest lookup that could win (see useLookup below): counting past it decides nothing, and
  // a wide condition (`priority >= 0`) would otherwise walk LOOKUP_CAP index entries per query.
  const worth = window === Infinity ? Math.ceil(size / 2) : Math.floor(Math.sqrt(window * size));
  const cap = Math.min(LOOKUP_CAP, worth + 1);
  let best: { ranges: KeyRange[]; count: number; conjunct: Expr } | undefined;
  const composites = compositeCandidates(t, q, conjuncts);
  /** The entries under the composite walk's prefix, and how far the other candidates are counted. */
  let walkSize = size;
  let bound = cap;
  if (composites.walk) {
    // Counted first: a lookup beats the walk only if its count c has c² ≤ window × (rows under
    // the prefix), so counting the others past that bound decides nothing (a project's list read
    // each of its 1,000 index entries twice more to plan it). The prefix is a lookup candidate too.
    const { ranges, conjunct } = composites.walk;
    walkSize = countRanges(engine, ranges, cap);
    bound = Math.min(cap, Math.floor(Math.sqrt(window * walkSize)) + 1);
    best = { ranges, count: walkSize, conjunct };
  }
  const candidates: { c: Expr; ranges: KeyRange[] | undefined }[] = [
    ...composites.lookups.map((l) => ({ c: l.conjunct, ranges: l.ranges as KeyRange[] | undefined })),
    ...withMergedRanges(conjuncts).map((c) => ({ c, ranges: undefined })),
  ];
  for (const cand of candidates) {
    const ranges = cand.ranges ?? rangesFor(t, cand.c);
    if (!ranges) continue;
    const count = countRanges(engine, ranges, best ? Math.min(best.count, bound) : bound);
    if (!best || count < best.count) best = { ranges, count, conjunct: cand.c };
  }
  if (composites.scan) {
    // The walk reads the window's rows and those of them the other conditions drop, at most the
    // rows under its prefix: a lookup wins as it does against a whole-index walk (below), with the
    // prefix's rows for the table's.
    if (best && best.count * best.count <= window * walkSize) {
      return { kind: 'lookup', ranges: best.ranges, predicate: compilePredicate(best.conjunct), estimate: best.count, conjunct: best.conjunct };
    }
    return composites.scan;
  }
  const scan = scanPlan(t, q, conjuncts);
  if (best && best.count < cap) {
    // A walk the conditions on its column bound covers only their part of the index.
    let walked = size;
    if (scan.kind === 'scan' && scan.lo !== undefined && scan.hi !== undefined) {
      const n = countRanges(engine, [{ gte: scan.lo, lt: scan.hi }], cap);
      if (n < cap) walked = Math.max(n, 1);
    }
    const useLookup = window === Infinity ? best.count < walked / 2 : best.count * best.count <= window * walked;
    if (useLookup) return { kind: 'lookup', ranges: best.ranges, predicate: compilePredicate(best.conjunct), estimate: best.count, conjunct: best.conjunct };
  }
  return groupWalk(engine, t, q, conjuncts, window, size) ?? scan;
}

/**
 * A query sorted first by a boolean (`order by done, due desc limit 20`: open todos first) is
 * walked in the first column's index, a group of equal values at a time, each group read whole and
 * sorted by the rest of the order: its first 20 rows read every open todo (50,017 rows, 281 ms in
 * Node at 100k rows). Instead, the second sort column's index can be walked once per value of the
 * first, in the order of both, keeping the rows of that value: ~window × rows / group rows read.
 * Chosen when that is fewer than the first group's rows (window × rows < group²), and not where
 * the walked column's runs of equal values would have to be sorted whole (see below); the values
 * are those the query's conditions on the first column allow (null first when it is optional).
 */
function groupWalk(engine: Engine, t: TableRuntime, q: QueryAst, conjuncts: readonly Expr[], window: number, size: number): Plan | undefined {
  const [first, second] = q.orderBy;
  if (window === Infinity || !first || !second || first.column === 'id') return undefined;
  const gcol = t.column(first.column);
  if (gcol?.schema.type !== 'boolean' || t.pendingIndexes.has(gcol.name)) return undefined;
  const next = second.column === 'id' ? null : t.column(second.column);
  if (next === undefined || (next && (next.schema.type === 'array' || t.pendingIndexes.has(next.name)))) return undefined;
  const on = conjuncts.filter((c) => 'column' in c && c.column === gcol.name);
  const allows = compilePredicate(on.length === 0 ? { op: 'true' } : on.length === 1 ? on[0]! : { op: 'and', args: on });
  const values = [...(gcol.schema.optional ? [null] : []), false, true].filter((v) => allows({ id: '', [gcol.name]: v }));
  if (first.direction === 'desc') values.reverse();
  if (values.length === 0) return undefined;
  const p = t.indexPrefixes.get(gcol.name)!;
  const at = writeIndexValue(new KeyWriter().reset(p), gcol.schema, values[0]).finish();
  // Counted only as far as it decides: past √(window × rows) the walk wins.
  const group = countRanges(engine, [{ gte: at, lt: prefixEnd(at) }], Math.floor(Math.sqrt(window * size)) + 1);
  if (window * size >= group * group) return undefined;
  // Rows equal on the walked column are sorted in memory when more terms follow, or when their id
  // order (which follows the first term's direction: compare.ts) is not the walk's.
  const rest = { ...q, orderBy: q.orderBy.slice(1) };
  const grouped = next !== null && (groupedOrder(rest) || (rest.orderBy.length === 1 && first.direction !== second.direction));
  // Sorting those reads each run of equal values whole: a column of few values (a priority) would
  // have the walk read thousands of rows for a handful. Only where values are mostly distinct.
  if (grouped && ['boolean', 'enum', 'int', 'ref'].includes(next.schema.type)) return undefined;
  return { kind: 'scan', column: next, reverse: second.direction === 'desc', grouped, groups: { column: gcol, values } };
}

/**
 * What the table's indexes on several columns offer this query: a lookup range for each that the
 * query's equalities fix a leading run of (the rows with those values), and an ordered walk for
 * the first whose columns but the last are all fixed and whose last is the first sort column
 * (`scan`, with `walk` its prefix as a lookup, not among `lookups`).
 */
function compositeCandidates(
  t: TableRuntime,
  q: QueryAst,
  conjuncts: readonly Expr[],
): { lookups: { ranges: KeyRange[]; conjunct: Expr }[]; scan: Plan | undefined; walk: { ranges: KeyRange[]; conjunct: Expr } | undefined } {
  const lookups: { ranges: KeyRange[]; conjunct: Expr }[] = [];
  let scan: Plan | undefined;
  let walk: { ranges: KeyRange[]; conjunct: Expr } | undefined;
  if (t.composites.length === 0) return { lookups, scan, walk };
  const eq = new Map<string, Extract<Expr, { op: 'cmp' }>>();
  for (const c of conjuncts) if (c.op === 'cmp' && c.cmp === 'eq' && c.column !== 'id' && !eq.has(c.column)) eq.set(c.column, c);
  const first = q.orderBy[0];
  for (const ci of t.composites) {
    if (t.pendingIndexes.has(ci.name)) continue;
    const w = new KeyWriter().reset(ci.prefix);
    const fixed: Expr[] = [];
    for (const col of ci.columns) {
      const c = eq.get(col.name);
      if (!c) break;
      writeIndexValue(w, col.schema, c.value, ci.max);
      fixed.push(c);
    }
    if (fixed.length === 0) continue;
    const at = w.finish();
    const lookup = { ranges: [{ gte: at, lt: prefixEnd(at) }], conjunct: fixed.length === 1 ? fixed[0]! : ({ op: 'and', args: fixed } as Expr) };
    const last = ci.columns[ci.columns.length - 1]!;
    if (!scan && first && fixed.length === ci.columns.length - 1 && first.column === last.name) {
      scan = { kind: 'scan', column: last, reverse: first.direction === 'desc', grouped: groupedOrder(q), prefix: at, max: ci.max, ...scanBounds(at, last, conjuncts, ci.max) };
      walk = lookup;
    } else lookups.push(lookup);
  }
  return { lookups, scan, walk };
}

function scanPlan(t: TableRuntime, q: QueryAst, conjuncts: readonly Expr[]): Plan {
  const first = q.orderBy[0];
  if (!first || first.column === 'id') return { kind: 'scan', column: null, reverse: first?.direction === 'desc', grouped: false };
  if (t.pendingIndexes.has(first.column)) {
    // Its index is still being built (a column a new schema version added): read every row, sort.
    return { kind: 'lookup', ranges: [{ gte: t.manifestPrefix, lt: prefixEnd(t.manifestPrefix) }], predicate: () => true, estimate: t.liveCount, conjunct: { op: 'true' } };
  }
  const col = t.column(first.column)!;
  return { kind: 'scan', column: col, reverse: first.direction === 'desc', grouped: groupedOrder(q), ...scanBounds(t.indexPrefixes.get(col.name)!, col, conjuncts) };
}

/**
 * The part of a walk (under `p`: the sort column's index, or a composite's part with its leading
 * values) that the query's conditions on the walked column leave (`due >= x`, `title > 'm' and
 * title < 'n'`, `priority in (3, 4)`, `due is not null`), so that it starts and stops there
 * instead of reading every row before it: `due >= x order by due limit 20` read half of a
 * 100k-row table for its 20 rows, `title >= 'm' and title < 'n' order by title limit 20` 61,212
 * rows (300 ms in Node). The ranges are the lookups' (`cmpRange`; an `in` spans from its least
 * value to its greatest): they fall between values (a value cut in the index keeps its whole
 * group; nulls sort before every value and no comparison matches them), so a group of equal values
 * is never split, and the filter still checks each row.
 */
function scanBounds(p: Uint8Array, col: CatalogueColumn, conjuncts: readonly Expr[], max?: number): { lo: Uint8Array; hi: Uint8Array } | undefined {
  if (col.schema.type === 'array') return undefined;
  let lo: Uint8Array | undefined;
  let hi: Uint8Array | undefined;
  const narrow = (r: KeyRange): void => {
    if (!lo || compareBytes(r.gte!, lo) > 0) lo = r.gte!;
    if (!hi || compareBytes(r.lt!, hi) < 0) hi = r.lt!;
  };
  for (const c of conjuncts) {
    if (!('column' in c) || c.column !== col.name) continue;
    if (c.op === 'cmp' && c.cmp !== 'ne') narrow(cmpRange(p, col.schema, c, max));
    else if (c.op === 'in' && c.values.length > 0) {
      // From the least value's entries to the greatest's (`priority in (3, 4) order by priority`).
      let from: Uint8Array | undefined;
      let to: Uint8Array | undefined;
      for (const value of c.values) {
        const r = cmpRange(p, col.schema, { op: 'cmp', column: c.column, cmp: 'eq', value }, max);
        if (!from || compareBytes(r.gte!, from) < 0) from = r.gte!;
        if (!to || compareBytes(r.lt!, to) > 0) to = r.lt!;
      }
      narrow({ gte: from!, lt: to! });
    } else if (c.op === 'isNull') narrow(nullRange(p, c.isNull));
  }
  if (!lo || !hi) return undefined;
  // Conditions that contradict each other leave nothing to walk.
  return compareBytes(lo, hi) < 0 ? { lo, hi } : { lo, hi: lo };
}

/** Several sort terms (other than a last `id` in the same direction): rows equal on the first are sorted in memory, group by group. */
function groupedOrder(q: QueryAst): boolean {
  const first = q.orderBy[0]!;
  return q.orderBy.length > 1 && !(q.orderBy.length === 2 && q.orderBy[1]!.column === 'id' && q.orderBy[1]!.direction === first.direction);
}

/**
 * The index ranges that hold every row matching `c` (exactly those, except where a long value was
 * cut in the index: then also the other rows of its cut group, which the condition re-checks), or
 * undefined if no index answers it.
 */
export function rangesFor(t: TableRuntime, c: Expr): KeyRange[] | undefined {
  // An index still being built (Engine: pendingIndexes) answers nothing yet.
  if ('column' in c && t.pendingIndexes.has(c.column)) return undefined;
  switch (c.op) {
    case 'cmp': {
      if (c.cmp === 'ne' || c.column === 'id') return undefined;
      const col = t.column(c.column);
      if (!col || col.schema.type === 'array') return undefined;
      return [cmpRange(t.indexPrefixes.get(c.column)!, col.schema, c)];
    }
    case 'in': {
      if (c.column === 'id') return undefined;
      const col = t.column(c.column);
      if (!col || col.schema.type === 'array') return undefined;
      const p = t.indexPrefixes.get(c.column)!;
      return c.values.map((v) => {
        const at = writeIndexValue(new KeyWriter().reset(p), col.schema, v).finish();
        return { gte: at, lt: prefixEnd(at) };
      });
    }
    case 'isNull': {
      if (!c.isNull || c.column === 'id') return undefined;
      const p = t.indexPrefixes.get(c.column);
      if (!p) return undefined;
      return [nullRange(p, true)];
    }
    case 'contains': {
      const col = t.column(c.column);
      if (col?.schema.type !== 'array') return undefined;
      const p = t.indexPrefixes.get(c.column)!;
      const at = writeIndexValue(new KeyWriter().reset(p), col.schema.items!, c.value).finish();
      return [{ gte: at, lt: prefixEnd(at) }];
    }
    case 'and': {
      // Only range conditions on one column (see withMergedRanges): intersect their key ranges.
      const first = c.args[0];
      if (first?.op !== 'cmp') return undefined;
      if (!c.args.every((a) => a.op === 'cmp' && a.column === first.column && a.cmp !== 'ne')) return undefined;
      let lower: Uint8Array | undefined;
      let upper: Uint8Array | undefined;
      for (const a of c.args) {
        const r = rangesFor(t, a);
        if (r?.length !== 1) return undefined;
        const { gte, lt } = r[0]!;
        if (!gte || !lt) return undefined;
        if (!lower || compareBytes(gte, lower) > 0) lower = gte;
        if (!upper || compareBytes(lt, upper) < 0) upper = lt;
      }
      if (!lower || !upper) return undefined;
      return compareBytes(lower, upper) < 0 ? [{ gte: lower, lt: upper }] : [];
    }
    case 'or': {
      const all: KeyRange[] = [];
      for (const a of c.args) {
        const r = rangesFor(t, a);
        if (!r) return undefined;
        all.push(...r);
      }
      return all;
    }
    default:
      return undefined;
  }
}

/** The entries under `p` whose value is null (`isNull`), or those whose value is not. */
function nullRange(p: Uint8Array, isNull: boolean): KeyRange {
  if (!isNull) return { gte: new KeyWriter().reset(p).bool(false).finish(), lt: prefixEnd(p) }; // from the first non-null value
  const at = new KeyWriter().reset(p).null().finish();
  return { gte: at, lt: prefixEnd(at) };
}

/**
 * The entries under `p` (an index's prefix, or a composite's with its leading values) whose value
 * the comparison `c` allows; `max`: the most bytes of a value the index holds.
 */
function cmpRange(p: Uint8Array, schema: ColumnSchema, c: Extract<Expr, { op: 'cmp' }>, max?: number): KeyRange {
  const w = writeIndexValue(new KeyWriter().reset(p), schema, c.value, max);
  const at = w.finish();
  const nonNull = nullRange(p, false).gte!;
  // A value cut in the index (keyspace.ts) names a group of entries that hold values above and
  // below it: the range keeps the whole group and the rows settle it (the lookup re-checks).
  switch (c.cmp) {
    case 'eq':
      return { gte: at, lt: prefixEnd(at) };
    case 'gt':
      return { gte: w.cut ? at : prefixEnd(at), lt: prefixEnd(p) };
    case 'gte':
      return { gte: at, lt: prefixEnd(p) };
    case 'lt':
      return { gte: nonNull, lt: w.cut ? prefixEnd(at) : at };
    case 'lte':
      return { gte: nonNull, lt: prefixEnd(at) };
    case 'ne':
      throw new Error('no range for ne');
  }
}

/**
 * Range conditions on one column (`due >= a and due < b`) are one index range: each alone may
 * match most of the table, together only a slice.
 */
function withMergedRanges(conjuncts: readonly Expr[]): Expr[] {
  const byColumn = new Map<string, Expr[]>();
  for (const c of conjuncts) {
    if (c.op === 'cmp' && c.cmp !== 'eq' && c.cmp !== 'ne' && c.column !== 'id') {
      let list = byColumn.get(c.column);
      if (!list) byColumn.set(c.column, (list = []));
      list.push(c);
    }
  }
  // Likely-selective candidates first: each count is capped by the best so far. A range condition
  // whose column was merged is left out: its range holds the merged one, so it cannot be smaller,
  // and counting it would walk the merged range's entries once more.
  const merged: Expr[] = [];
  for (const list of byColumn.values()) if (list.length > 1) merged.push({ op: 'and', args: list });
  const isRange = (c: Expr) => c.op === 'cmp' && c.cmp !== 'eq';
  const mergedAway = (c: Expr) => isRange(c) && c.op === 'cmp' && (byColumn.get(c.column)?.length ?? 0) > 1;
  return [...merged, ...conjuncts.filter((c) => !isRange(c)), ...conjuncts.filter((c) => isRange(c) && !mergedAway(c))];
}

/** Counts index entries in the ranges, stopping at `cap`. */
export function countRanges(engine: Engine, ranges: readonly KeyRange[], cap: number): number {
  let n = 0;
  const store = engine.store;
  // The durable store estimates from its tree's shape, reading two leaves instead of every one
  // (exact for a range of a page or two, which is where the weighing is close).
  if (store.estimate) {
    for (const r of ranges) if ((n += store.estimate(r)) >= cap) return cap;
    return n;
  }
  for (const r of ranges) {
    for (const _ of engine.store.scan(r)) {
      if (++n >= cap) return n;
    }
  }
  return n;
}
