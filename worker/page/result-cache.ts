/**
 * One live query's result on the page, patched by the worker's deltas so the page never waits for
 * storage to show it.
 *
 * Order: the page re-derives positions with the query's own comparator (`rowComparator`, the order
 * the engine uses: orderBy terms, then id), so a delta carries only the rows that changed, never
 * positions. A delta costs O(result + changed · log changed): one pass to drop the rows that left
 * or changed, then the rows that arrived or changed sorted in (#merge). The one case the comparator
 * cannot serve is a `select` that leaves out an orderBy column (the page never sees the sort key):
 * the worker then sends the result's id order with each delta and the cache follows it.
 */
import { rowComparator, type RowComparator } from '../../src/query/compare.ts';
import type { QueryAst } from '../../src/query/ast.ts';
import type { WireRow } from '../protocol.ts';

export interface CacheDelta {
  readonly added: readonly WireRow[];
  readonly removed: readonly WireRow[];
  readonly changed: readonly WireRow[];
}

export class ResultCache {
  #rows: readonly WireRow[] = Object.freeze([]);
  readonly #compare: RowComparator;

  constructor(ast: QueryAst) {
    this.#compare = rowComparator(ast.orderBy);
  }

  /** The current result, in order (a new frozen array after every change). */
  get rows(): readonly WireRow[] {
    return this.#rows;
  }

  /** Replaces the whole result (first result, or after a resync) and says what differs. */
  reset(rows: readonly WireRow[]): CacheDelta {
    const before = new Map(this.#rows.map((r) => [r.id, r]));
    const added: WireRow[] = [];
    const changed: WireRow[] = [];
    const next = rows.map(freezeRow);
    for (const r of next) {
      const old = before.get(r.id);
      if (!old) added.push(r);
      else {
        before.delete(r.id);
        if (!sameRow(old, r)) changed.push(r);
      }
    }
    this.#rows = Object.freeze(next);
    return { added, removed: [...before.values()], changed };
  }

  /** Applies a delta from the worker; `order`, when given, is the result's id order. */
  apply(added: readonly WireRow[], removedIds: readonly string[], changed: readonly WireRow[], order?: readonly string[]): CacheDelta {
    const changedIds = new Set(changed.map((r) => r.id));
    const drop = new Set(removedIds);
    const removed: WireRow[] = [];
    const kept: WireRow[] = [];
    for (const r of this.#rows) {
      if (changedIds.has(r.id)) continue;
      if (drop.has(r.id)) removed.push(r);
      else kept.push(r);
    }
    const inserted = [...changed, ...added].map(freezeRow);
    if (order) {
      const byId = new Map(kept.map((r) => [r.id, r]));
      for (const r of inserted) byId.set(r.id, r);
      this.#rows = Object.freeze(order.map((id) => byId.get(id)).filter((r): r is WireRow => r !== undefined));
    } else this.#rows = Object.freeze(this.#merge(kept, inserted));
    return { added: inserted.slice(changed.length), removed, changed: inserted.slice(0, changed.length) };
  }

  /**
   * `kept` (sorted) with `inserted` in their places: appended and sorted, which the engine's sort
   * (TimSort) does by finding the sorted run and merging the new rows in, O(result + new · log new):
   * 10,000 rows arriving at once are not 10,000 splices, and one row costs one pass.
   */
  #merge(kept: WireRow[], inserted: readonly WireRow[]): WireRow[] {
    return inserted.length ? kept.concat(inserted).sort(this.#compare as unknown as (a: WireRow, b: WireRow) => number) : kept;
  }
}

function freezeRow(r: WireRow): WireRow {
  return Object.isFrozen(r) ? r : Object.freeze(r);
}

/** Shallow equality by column; nested values (includes, arrays, json, bytes) by their JSON text. */
function sameRow(a: WireRow, b: WireRow): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (JSON.stringify(x, bytesAsArray) !== JSON.stringify(y, bytesAsArray)) return false;
  }
  return true;
}

function bytesAsArray(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}
