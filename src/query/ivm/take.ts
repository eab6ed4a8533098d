/**
 * Take keeps a window of the upstream order: rows [offset, offset + limit). It holds the first
 * offset + limit rows (`#rows`, sorted). A row that enters below the bound pushes the last one out;
 * a row that leaves is replaced by fetching the next upstream row after the bound. It emits the
 * difference between the window before and after each change, so downstream sees only rows that
 * entered, left or changed inside the window.
 */
import type { RowComparator } from '../compare.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';

export class Take implements Input, Output {
  readonly #input: Input;
  readonly #cmp: RowComparator;
  readonly #offset: number;
  readonly #limit: number;
  readonly #n: number;
  #rows: Row[] = [];
  /** True when `#rows` may be missing upstream rows beyond the bound. */
  #full = false;
  #hydrated = false;
  #output: Output | undefined;

  constructor(input: Input, cmp: RowComparator, limit: number, offset: number) {
    this.#input = input;
    this.#cmp = cmp;
    this.#limit = limit;
    this.#offset = offset;
    this.#n = offset + limit;
    input.setOutput(this);
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#input.destroy();
  }

  #hydrate(): void {
    this.#rows = [];
    this.#full = false;
    if (this.#n === 0) {
      this.#full = true;
      this.#hydrated = true;
      return;
    }
    for (const r of this.#input.fetch()) {
      this.#rows.push(r);
      if (this.#rows.length === this.#n) {
        this.#full = true;
        break;
      }
    }
    this.#hydrated = true;
  }

  /** The window, in order. (Take is the last ordered operator: starts are not supported.) */
  *fetch(_start?: Start): Iterable<Row> {
    if (!this.#hydrated) this.#hydrate();
    yield* this.#window();
  }

  #window(): Row[] {
    return this.#rows.slice(this.#offset, this.#offset + this.#limit);
  }

  #indexOf(id: string): number {
    const rows = this.#rows;
    for (let i = 0; i < rows.length; i++) if (rows[i]!.id === id) return i;
    return -1;
  }

  #insert(row: Row): void {
    const rows = this.#rows;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cmp(rows[mid]!, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    rows.splice(lo, 0, row);
  }

  /** Refills one row after the last held row (or from the start), if upstream may have more. */
  #refill(): void {
    if (!this.#full) return;
    const last = this.#rows[this.#rows.length - 1];
    for (const r of this.#input.fetch(last ? { row: last, exclusive: true } : undefined)) {
      if (this.#indexOf(r.id) >= 0) continue;
      this.#rows.push(r);
      return;
    }
    this.#full = false; // upstream is exhausted: we hold everything
  }

  /** Places a row we do not hold. */
  #place(row: Row): void {
    if (this.#n === 0) return;
    const rows = this.#rows;
    if (!this.#full) {
      this.#insert(row);
      if (rows.length > this.#n) rows.pop();
      if (rows.length >= this.#n) this.#full = true;
      return;
    }
    if (rows.length > 0 && this.#cmp(row, rows[rows.length - 1]!) < 0) {
      this.#insert(row);
      if (rows.length > this.#n) rows.pop();
    } else if (rows.length < this.#n) {
      // A slot is free (a row just left): the next upstream row fills it, maybe this one.
      this.#refill();
    }
  }

  push(change: Change): void {
    if (!this.#hydrated) return;
    const rows = this.#rows;
    const at = this.#indexOf(change.row.id);
    // Most changes miss the window entirely: leave before copying anything.
    if (at < 0) {
      if (change.type === 'remove') return;
      const last = rows[rows.length - 1];
      if (this.#full && rows.length >= this.#n && (this.#n === 0 || (last && this.#cmp(change.row, last) >= 0))) return;
    }
    const before = this.#window();
    if (at >= 0) rows.splice(at, 1);
    if (change.type === 'remove') {
      if (at < 0) return;
      this.#refill();
    } else {
      this.#place(change.row);
    }
    this.#emit(before, this.#window());
  }

  /** Pushes the difference between two windows (a few rows at most differ). */
  #emit(before: readonly Row[], after: readonly Row[]): void {
    const out = this.#output;
    if (!out) return;
    // Windows are short and mostly equal: match by id with a shared cursor before any map.
    if (before.length === after.length) {
      let same = true;
      for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) same = false;
      if (same) return;
    }
    const was = new Map<string, Row>();
    for (const r of before) was.set(r.id, r);
    const is = new Set<string>();
    for (const r of after) is.add(r.id);
    for (const r of before) if (!is.has(r.id)) out.push({ type: 'remove', row: r });
    for (const r of after) {
      const o = was.get(r.id);
      if (!o) out.push({ type: 'add', row: r });
      else if (o !== r) out.push({ type: 'edit', old: o, row: r });
    }
  }
}
