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
import { writeIndexValue } from '../../engine/keyspace.ts';
import { uuidToBytes, isUuid } from '../../rows/ids.ts';
import { compareBytes } from '../../store/types.ts';

export class Source implements Input, ChangeListener {
  readonly #engine: Engine;
  readonly #t: TableRuntime;
  readonly #plan: Plan;
  readonly #cmp: RowComparator;
  #output: Output | undefined;
  /** lookup plan: the rows matching the looked-up condition, sorted; built on first fetch. */
  #cache: Row[] | undefined;
  #attached = false;
  /** Told when a change could not be processed (the engine has detached the source by then). */
  onFail: ((error: unknown) => void) | undefined;

  constructor(engine: Engine, t: TableRuntime, plan: Plan, cmp: RowComparator) {
    this.#engine = engine;
    this.#t = t;
    this.#plan = plan;
    this.#cmp = cmp;
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
    const { old, row } = change;
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
          const r = this.#engine.getRow(this.#t, uuidToBytes(id), id);
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
        yield* plan.grouped ? this.#groupedScan(plan, start) : this.#scan(plan, start);
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
    const seen = new Set<string>();
    const rows: Row[] = [];
    const ids: Uint8Array[] = [];
    for (const range of plan.ranges) {
      for (const e of this.#engine.store.scan(range)) ids.push(trailingId(e.key).slice());
    }
    for (const id of ids) {
      const r = this.#engine.getRow(this.#t, id);
      if (!r || seen.has(r.id)) continue;
      seen.add(r.id);
      rows.push(r);
    }
    rows.sort(this.#cmp);
    return rows;
  }

  *#scan(plan: Extract<Plan, { kind: 'scan' }>, start?: Start): Iterable<Row> {
    const prefix = plan.column ? this.#t.indexPrefixes.get(plan.column.name)! : this.#t.manifestPrefix;
    const end = prefixEnd(prefix);
    let range: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse?: boolean };
    if (!start) range = plan.reverse ? { gte: prefix, lt: end, reverse: true } : { gte: prefix, lt: end };
    else {
      const w = new KeyWriter().reset(prefix);
      if (plan.column) writeIndexValue(w, plan.column.schema, start.row[plan.column.name]);
      const at = w.id(uuidToBytes(start.row.id)).finish();
      if (plan.reverse) range = start.exclusive ? { gte: prefix, lt: at, reverse: true } : { gte: prefix, lte: at, reverse: true };
      else range = start.exclusive ? { gt: at, lt: end } : { gte: at, lt: end };
    }
    for (const e of this.#engine.store.scan(range)) {
      const r = this.#engine.getRow(this.#t, trailingId(e.key).slice());
      if (r) yield r;
    }
  }

  /** Several sort terms: walk the first term's index a value at a time and sort each group. */
  *#groupedScan(plan: Extract<Plan, { kind: 'scan' }>, start?: Start): Iterable<Row> {
    const col = plan.column!;
    const prefix = this.#t.indexPrefixes.get(col.name)!;
    const end = prefixEnd(prefix);
    let range;
    if (!start) range = { gte: prefix, lt: end, reverse: plan.reverse };
    else {
      const at = writeIndexValue(new KeyWriter().reset(prefix), col.schema, start.row[col.name]).finish();
      range = plan.reverse ? { gte: prefix, lt: prefixEnd(at), reverse: true } : { gte: at, lt: end };
    }
    let group: Row[] = [];
    let groupValue: Uint8Array | undefined;
    const flush = function* (this: Source): Iterable<Row> {
      group.sort(this.#cmp);
      for (const r of group) {
        if (start) {
          const d = this.#cmp(r, start.row);
          if (d < 0 || (d === 0 && start.exclusive)) continue;
        }
        yield r;
      }
      group = [];
    }.bind(this);
    for (const e of this.#engine.store.scan(range)) {
      const value = e.key.subarray(prefix.length, e.key.length - 17);
      if (groupValue && compareBytes(value, groupValue) !== 0) yield* flush();
      if (!groupValue || group.length === 0) groupValue = value.slice();
      const r = this.#engine.getRow(this.#t, trailingId(e.key).slice());
      if (r) group.push(r);
    }
    yield* flush();
  }
}
