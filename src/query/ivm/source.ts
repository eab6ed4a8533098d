/**
 * The source of a query graph: one table read through the plan chosen for the query, in the query's
 * order. It receives the table's changes (from the engine, or routed by a parent include) and passes
 * them on unchanged; with a `lookup` plan it also keeps the looked-up rows sorted, so refills are
 * a binary search instead of another index read.
 */
import type { Engine, TableRuntime, RowChange, ChangeListener } from '../../engine/engine.ts';
import type { Plan } from '../plan.ts';
import type { RowComparator } from '../compare.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';
import { KeyWriter, prefixEnd, trailingId } from '../../store/keys.ts';
import { indexMayCut, isCutEntry, writeIndexValue } from '../../engine/keyspace.ts';
import { uuidToBytes, isUuid } from '../../rows/ids.ts';
import { compareBytes } from '../../store/types.ts';

export class Source implements Input, ChangeListener {
  readonly #engine: Engine;
  readonly #t: TableRuntime;
  readonly #plan: Plan;
  readonly #cmp: RowComparator;
  /** Rows carry their system fields (`$createdBy`, ...): the query or a read check reads them. */
  readonly #sys: boolean;
  #output: Output | undefined;
  /** lookup plan: the rows matching the looked-up condition, sorted; built on first fetch. */
  #cache: Row[] | undefined;
  #attached = false;
  /** Told when a change could not be processed (the engine has detached the source by then). */
  onFail: ((error: unknown) => void) | undefined;

  constructor(engine: Engine, t: TableRuntime, plan: Plan, cmp: RowComparator, sys = false) {
    this.#engine = engine;
    this.#t = t;
    this.#plan = plan;
    this.#cmp = cmp;
    this.#sys = sys;
  }

  get plan(): Plan {
    return this.#plan;
  }

  /** Starts receiving the table's changes straight from the engine. */
  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#t.listeners.add(this);
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#t.listeners.delete(this);
    this.#attached = false;
    this.#cache = undefined;
  }

  fail(error: unknown): void {
    this.#attached = false;
    if (this.onFail) this.onFail(error);
    else console.error('jazz-elements: a live query failed and was stopped', error);
  }

  push(change: RowChange): void {
    let { old, row } = change;
    if (this.#sys) {
      if (old) old = { ...old, ...change.oldSys };
      if (row) row = { ...row, ...change.rowSys };
    }
    if (this.#cache) this.#updateCache(old, row);
    if (!this.#output) return;
    let c: Change;
    if (old && row) c = { type: 'edit', old, row };
    else if (row) c = { type: 'add', row };
    else if (old) c = { type: 'remove', row: old };
    else return;
    this.#output.push(c);
  }

  #updateCache(old: Row | undefined, row: Row | undefined): void {
    const cache = this.#cache!;
    const pred = (this.#plan as Extract<Plan, { kind: 'lookup' }>).predicate;
    if (old && pred(old)) {
      const i = this.#find(cache, old);
      if (i >= 0) cache.splice(i, 1);
    }
    if (row && pred(row)) {
      const i = this.#lowerBound(cache, row);
      if (cache[i]?.id === row.id) cache[i] = row;
      else cache.splice(i, 0, row);
    }
  }

  #lowerBound(rows: readonly Row[], row: Row): number {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cmp(rows[mid]!, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #find(rows: readonly Row[], row: Row): number {
    const i = this.#lowerBound(rows, row);
    if (rows[i]?.id === row.id) return i;
    // The cached copy may sort differently from `old` if changes raced a refill; fall back.
    return rows.findIndex((r) => r.id === row.id);
  }

  *fetch(start?: Start): Iterable<Row> {
    const plan = this.#plan;
    switch (plan.kind) {
      case 'ids': {
        const rows: Row[] = [];
        for (const id of new Set(plan.ids)) {
          if (!isUuid(id)) continue;
          const r = this.#engine.getRow(this.#t, uuidToBytes(id), id, this.#sys);
          if (r) rows.push(r);
        }
        rows.sort(this.#cmp);
        yield* this.#from(rows, start);
        return;
      }
      case 'lookup': {
        if (!this.#cache) this.#cache = this.#lookup(plan);
        yield* this.#from(this.#cache, start);
        return;
      }
      case 'scan':
        yield* plan.groups ? this.#groupWalk(plan, start) : this.#scan(plan, start);
        return;
    }
  }

  *#from(rows: readonly Row[], start?: Start): Iterable<Row> {
    let i = 0;
    if (start) {
      i = this.#lowerBound(rows, start.row);
      if (start.exclusive && rows[i]?.id === start.row.id) i++;
      else if (start.exclusive) while (i < rows.length && this.#cmp(rows[i]!, start.row) <= 0) i++;
    }
    // Copy-free iteration that tolerates the cache changing between steps (re-seek by row).
    let last: Row | undefined;
    for (;;) {
      if (last && rows[i - 1] !== last) {
        i = this.#lowerBound(rows, last);
        if (rows[i]?.id === last.id) i++;
      }
      const r = rows[i++];
      if (!r) return;
      last = r;
      yield r;
    }
  }

  #lookup(plan: Extract<Plan, { kind: 'lookup' }>): Row[] {
    const rows: Row[] = [];
    const ids: Uint8Array[] = [];
    for (const range of plan.ranges) {
      for (const e of this.#engine.store.scan(range)) ids.push(trailingId(e.key).slice());
    }
    // In id order, the order rows are stored in: neighbours share pages (the result is sorted
    // below). A row several ranges or array elements name comes up as many times, next to itself.
    ids.sort(compareBytes);
    let prev: Uint8Array | undefined;
    for (const id of ids) {
      if (prev && compareBytes(prev, id) === 0) continue;
      prev = id;
      const r = this.#engine.getRow(this.#t, id, undefined, this.#sys);
      // The ranges may hold more than the condition where a long value was cut in the index.
      if (r && plan.predicate(r)) rows.push(r);
    }
    rows.sort(this.#cmp);
    return rows;
  }

  /**
   * A walk of the second sort column's index per value of the first (plan.ts `groupWalk`), keeping
   * each walk's rows of its value; from `start`, in its value's walk first.
   */
  *#groupWalk(plan: Extract<Plan, { kind: 'scan' }>, start?: Start): Iterable<Row> {
    const { column, values } = plan.groups!;
    const name = column.name;
    const of = (r: Row): boolean | null => (r[name] === undefined || r[name] === null ? null : (r[name] as boolean));
    let from = start ? values.indexOf(of(start.row)) : 0;
    if (from < 0) {
      // A start row of none of the values (the conditions allow them all): from the beginning.
      // What comes before the start row Take holds already and passes over (take.ts `#walk`).
      from = 0;
      start = undefined;
    }
    for (let g = from; g < values.length; g++) {
      const value = values[g]!;
      for (const r of this.#scan(plan, g === from ? start : undefined)) if (of(r) === value) yield r;
    }
  }

  /**
   * Walks the first sort column's index (the manifest for id order) in order. Entries with equal
   * values are sorted by the whole order in memory, a group at a time, wherever the index cannot
   * order them itself: with several sort terms (`grouped`) for every value, and always for values
   * cut in the index (keyspace.ts), whose group holds different values in row id order.
   */
  *#scan(plan: Extract<Plan, { kind: 'scan' }>, start?: Start): Iterable<Row> {
    const col = plan.column;
    // A composite index's part (plan.ts) or the sort column's whole index.
    const prefix = plan.prefix ?? (col ? this.#t.indexPrefixes.get(col.name)! : this.#t.manifestPrefix);
    // The walked part: the whole index, or the part the conditions on its column leave (plan.ts).
    const lo = plan.lo ?? prefix;
    const end = plan.hi ?? prefixEnd(prefix);
    const mayCut = col !== null && indexMayCut(col.schema);
    let range: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse?: boolean };
    /** Rows before `start` (in the query's order) may come first: skip them. */
    let skipToStart = false;
    if (!start) range = plan.reverse ? { gte: lo, lt: end, reverse: true } : { gte: lo, lt: end };
    else {
      const w = new KeyWriter().reset(prefix);
      if (col) writeIndexValue(w, col.schema, start.row[col.name], plan.max);
      if (col && (plan.grouped || w.cut)) {
        // Start at the start row's group, which the index does not order by the query's order.
        const at = w.finish();
        range = plan.reverse ? { gte: lo, lt: prefixEnd(at), reverse: true } : { gte: at, lt: end };
        skipToStart = true;
      } else {
        const at = w.id(uuidToBytes(start.row.id)).finish();
        if (plan.reverse) range = start.exclusive ? { gte: lo, lt: at, reverse: true } : { gte: lo, lte: at, reverse: true };
        else range = start.exclusive ? { gt: at, lt: end } : { gte: at, lt: end };
      }
    }
    const before = (r: Row): boolean => {
      if (!skipToStart) return false;
      const d = this.#cmp(r, start!.row);
      if (d < 0 || (d === 0 && start!.exclusive)) return true;
      skipToStart = false; // rows come in order from here on
      return false;
    };
    let group: Row[] = [];
    let groupValue: Uint8Array | undefined;
    for (const e of this.#engine.store.scan(range)) {
      const sortHere = plan.grouped || (mayCut && isCutEntry(e.key));
      if (group.length > 0 || groupValue) {
        const value = e.key.subarray(prefix.length, e.key.length - 17);
        if (!sortHere || compareBytes(value, groupValue!) !== 0) {
          group.sort(this.#cmp);
          for (const r of group) if (!before(r)) yield r;
          group = [];
          groupValue = undefined;
        }
      }
      const r = this.#engine.getRow(this.#t, trailingId(e.key).slice(), undefined, this.#sys);
      if (sortHere) {
        groupValue ??= e.key.slice(prefix.length, e.key.length - 17);
        if (r) group.push(r);
      } else if (r && !before(r)) yield r;
    }
    group.sort(this.#cmp);
    for (const r of group) if (!before(r)) yield r;
  }
}
