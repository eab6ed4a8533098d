/**
 * A list of views keyed by row id, kept in the DOM just before an end marker. `set(rows)` patches
 * the DOM to the new rows: a view whose row is the same object is left alone, a changed row updates
 * its view in place, a new row gets a new view, a gone row's view is removed, and the fewest views
 * are moved (those outside the longest run that kept its order), because moving a node takes
 * focus, selection and scroll position away from what is inside it.
 */
import type { JazzRow } from './events.ts';

/** What the list needs of a view: its row, and its nodes as a run of siblings `first..last`. */
export interface View {
  row: JazzRow;
  readonly first: Node;
  readonly last: Node;
  update(row: JazzRow): void;
  dispose(): void;
}

export class KeyedList<V extends View> {
  readonly #end: Node;
  readonly #create: (row: JazzRow) => V;
  #views: V[] = [];
  #byId = new Map<string, V>();

  /** `end` is a marker node the views are kept before; it must stay where the list should be. */
  constructor(end: Node, create: (row: JazzRow) => V) {
    this.#end = end;
    this.#create = create;
  }

  get views(): readonly V[] {
    return this.#views;
  }

  /** Makes the DOM show `rows`, in order, with as few DOM changes as it can. */
  set(rows: readonly JazzRow[]): void {
    // The rows shown still come first, in order (one row changed in a long list, or the next slice
    // of a long result): update those views and append the rest, no diff.
    const views = this.#views;
    if (views.every((v, i) => v.row.id === rows[i]?.id)) {
      views.forEach((v, i) => v.row !== rows[i] && v.update(rows[i]!));
      for (const r of rows.slice(views.length)) {
        if (this.#byId.has(r.id)) continue; // as below
        const v = this.#create(r);
        views.push(v);
        this.#byId.set(r.id, v);
        for (const node of nodesOf(v)) this.#end.parentNode?.insertBefore(node, this.#end);
      }
      return;
    }
    const byId = new Map<string, V>();
    const next: V[] = [];
    for (const row of rows) {
      if (byId.has(row.id)) continue; // a result never repeats an id; guard the DOM anyway
      let v = this.#byId.get(row.id);
      if (v) {
        if (v.row !== row) v.update(row);
      } else v = this.#create(row);
      byId.set(row.id, v);
      next.push(v);
    }
    for (const v of this.#views) {
      if (byId.get(v.row.id) !== v) {
        for (const n of nodesOf(v)) n.parentNode?.removeChild(n);
        v.dispose();
      }
    }
    const oldIndex = new Map<V, number>(this.#views.map((v, i) => [v, i]));
    const stay = longestIncreasing(next.map((v) => oldIndex.get(v) ?? -1));
    const parent = this.#end.parentNode;
    if (parent) {
      let ref: Node = this.#end;
      for (let i = next.length - 1; i >= 0; i--) {
        const v = next[i]!;
        if (!stay.has(i)) for (const n of nodesOf(v)) parent.insertBefore(n, ref);
        ref = v.first;
      }
    }
    this.#views = next;
    this.#byId = byId;
  }

  /** Removes every view. */
  clear(): void {
    this.set([]);
  }
}

/** The nodes of a view, first to last. */
export function nodesOf(v: View): Node[] {
  const out: Node[] = [];
  for (let n: Node | null = v.first; n; n = n.nextSibling) {
    out.push(n);
    if (n === v.last) break;
  }
  return out;
}

/** Indices of a longest strictly increasing subsequence of `seq`, ignoring entries < 0. */
export function longestIncreasing(seq: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k]: index in seq of the smallest tail of a run of length k+1
  const prev = new Array<number>(seq.length).fill(-1);
  for (let i = 0; i < seq.length; i++) {
    const x = seq[i]!;
    if (x < 0) continue;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seq[tails[mid]!]! < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const out = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) out.add(i);
  return out;
}
