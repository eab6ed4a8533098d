/**
 * The end of a query graph: the ordered result as the application sees it. It keeps each row's
 * output object (projected, with its includes, frozen) and the set of rows touched since the last
 * delivery, so a delivery says exactly which rows were added, removed or changed, whatever number
 * of changes happened in between.
 */
import type { RowComparator } from '../compare.ts';
import type { Change, Input, Output, Row } from './operator.ts';

export type OutRow = Readonly<Record<string, unknown>> & { readonly id: string };

export interface Delta {
  readonly added: readonly OutRow[];
  readonly removed: readonly OutRow[];
  readonly changed: readonly OutRow[];
}

/** A query's first rows, handed over before the rest is read (`ResultView.hydrate`). */
export interface FirstRows {
  readonly count: number;
  /** `total`: the whole result's length, where the graph knows it without reading (`size`). */
  readonly emit: (rows: readonly OutRow[], total: number | undefined) => void;
}

export class ResultView implements Output {
  readonly #input: Input;
  readonly #cmp: RowComparator;
  readonly #shape: (row: Row) => OutRow;
  readonly #onChange: () => void;
  #rows: Row[] = [];
  #out: OutRow[] = [];
  /** Ids of `#rows`: a row that is not there is known at once (a big result grows by adds). */
  #ids = new Set<string>();
  /** Output rows as they were at the last delivery, for rows touched since (null: absent). */
  #touched = new Map<string, OutRow | null>();
  #allCache: readonly OutRow[] | undefined;

  constructor(input: Input, cmp: RowComparator, shape: (row: Row) => OutRow, onChange: () => void) {
    this.#input = input;
    this.#cmp = cmp;
    this.#shape = shape;
    this.#onChange = onChange;
    input.setOutput(this);
  }

  /**
   * Reads the whole result. `first`: a result longer than `first.count` rows hands its first rows
   * to `first.emit` as soon as they are read (rows come in the result's order), before the rest,
   * with the result's length when `size` knows it.
   */
  hydrate(first?: FirstRows, size?: () => number): void {
    this.#rows = [];
    this.#out = [];
    this.#ids = new Set();
    const early = first?.count ?? Infinity;
    for (const r of this.#input.fetch()) {
      if (this.#out.length === early) first!.emit(Object.freeze(this.#out.slice()), size?.());
      this.#ids.add(r.id);
      this.#rows.push(r);
      this.#out.push(this.#shape(r));
    }
    this.#allCache = undefined;
  }

  destroy(): void {
    this.#input.destroy();
  }

  /** The current result, in order (a new array after every change). */
  get all(): readonly OutRow[] {
    return (this.#allCache ??= Object.freeze(this.#out.slice()));
  }

  get size(): number {
    return this.#out.length;
  }

  #position(row: Row): number {
    const rows = this.#rows;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cmp(rows[mid]!, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #indexOf(row: Row): number {
    if (!this.#ids.has(row.id)) return -1;
    const i = this.#position(row);
    if (this.#rows[i]?.id === row.id) return i;
    return this.#rows.findIndex((r) => r.id === row.id);
  }

  #touch(id: string, before: OutRow | null): void {
    if (!this.#touched.has(id)) this.#touched.set(id, before);
  }

  push(change: Change): void {
    const id = change.row.id;
    const oldRow = change.type === 'edit' ? change.old : change.row;
    const at = this.#indexOf(oldRow);
    if (change.type === 'remove') {
      if (at < 0) return;
      this.#touch(id, this.#out[at]!);
      this.#ids.delete(id);
      this.#rows.splice(at, 1);
      this.#out.splice(at, 1);
    } else {
      this.#touch(id, at >= 0 ? this.#out[at]! : null);
      if (at >= 0) {
        this.#rows.splice(at, 1);
        this.#out.splice(at, 1);
      }
      const i = this.#position(change.row);
      this.#ids.add(id);
      this.#rows.splice(i, 0, change.row);
      this.#out.splice(i, 0, this.#shape(change.row));
    }
    this.#allCache = undefined;
    this.#onChange();
  }

  /** What changed since the last call, and resets the record. */
  takeDelta(): Delta {
    const added: OutRow[] = [];
    const removed: OutRow[] = [];
    const changed: OutRow[] = [];
    if (this.#touched.size > 0) {
      const now = new Map<string, OutRow>();
      for (const [id] of this.#touched) now.set(id, undefined as unknown as OutRow);
      for (const r of this.#out) if (now.has(r.id)) now.set(r.id, r);
      for (const [id, before] of this.#touched) {
        const after = now.get(id);
        if (before && after) {
          if (before !== after) changed.push(after);
        } else if (after) added.push(after);
        else if (before) removed.push(before);
      }
      this.#touched = new Map();
    }
    return { added, removed, changed };
  }

  /** Forgets the touched rows (after the first delivery, which reports everything as added). */
  clearDelta(): void {
    this.#touched = new Map();
  }
}
