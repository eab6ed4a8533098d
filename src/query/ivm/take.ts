/**
 * Take keeps a window of the upstream order: rows [offset, offset + limit). It holds the first
 * rows of upstream, sorted (`#rows`: at least offset + limit of them while upstream has that many,
 * and up to `#ahead` more). A row that enters before the last held row is inserted (pushing the
 * last one out past the cap); one that sorts after it is not held (a later refill meets it in its
 * place); a row that leaves shortens what is held, and only when the window itself runs short is
 * upstream walked again, after the last held row. It emits the difference between the window
 * before and after each change, so downstream sees only rows that entered, left or changed inside
 * the window.
 *
 * Why rows past the window: a live list's rows leave it all the time (a title edited so that it
 * sorts further down, a todo marked done under `done = false`), and each walk of upstream is a seek
 * into an index and a row read per candidate. A window holds none at first (first results cost no
 * more), one more row after its first walk, then twice as many after each walk up to `AHEAD`: a
 * list whose rows keep leaving walks less and less often, and the first change costs no more than
 * it did (a first walk of 16 rows for each of 20 lists on a cold page cache made the first
 * transaction after they started ~20 ms slower in Chromium). A live query's window reads all
 * `AHEAD` in a quiet moment after it starts (`prefetch`, called through `Engine.whenIdle`), so
 * that its first changes need no walk at all.
 */
import type { RowComparator } from '../compare.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';

/** Rows a window holds beyond its end at most. */
export const AHEAD = 16;

export class Take implements Input, Output {
  readonly #input: Input;
  readonly #cmp: RowComparator;
  readonly #offset: number;
  readonly #limit: number;
  readonly #n: number;
  /** Rows held past the window at most now: 0, then 1, 2, 4, … `AHEAD` after each walk. */
  #ahead = 0;
  /** The first rows of upstream, in order: a prefix of it, and all of it unless `#full`. */
  #rows: Row[] = [];
  /** True when upstream may have rows after the last held one. */
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

  /** The most rows held now. */
  get #cap(): number {
    return this.#n + this.#ahead;
  }

  /** Holds up to `#cap` rows again, walking upstream after the last held row (or from the start). */
  #refill(): void {
    const cap = this.#cap;
    this.#ahead = Math.min(AHEAD, Math.max(1, 2 * this.#ahead));
    this.#walk(cap);
  }

  /**
   * For a quiet moment after the first results (`Subscription`, src/db.ts): holds `AHEAD` rows past
   * the window now, so that the first rows to leave it are replaced without a walk. The window does
   * not change, so nothing is emitted.
   */
  prefetch(): void {
    if (!this.#hydrated || this.#n === 0 || this.#ahead === AHEAD) return;
    this.#ahead = AHEAD;
    if (this.#rows.length < this.#cap) this.#walk(this.#cap);
  }

  /** Walks upstream after the last held row (or from the start) until `cap` rows are held. */
  #walk(cap: number): void {
    if (!this.#full) return;
    const rows = this.#rows;
    const last = rows[rows.length - 1];
    for (const r of this.#input.fetch(last ? { row: last, exclusive: true } : undefined)) {
      // A row whose own change is still on its way may already be held (see operator.ts).
      if (this.#indexOf(r.id) >= 0) continue;
      rows.push(r);
      if (rows.length >= cap) return;
    }
    this.#full = false; // upstream is exhausted: we hold everything
  }

  /** Holds a row we do not hold, if it falls among the held ones (or we hold all of upstream). */
  #place(row: Row): void {
    const rows = this.#rows;
    const last = rows[rows.length - 1];
    if (this.#full && (!last || this.#cmp(row, last) >= 0)) return; // past what we hold: not held
    this.#insert(row);
    if (rows.length > this.#cap) {
      rows.pop();
      this.#full = true;
    }
  }

  push(change: Change): void {
    if (!this.#hydrated || this.#n === 0) return;
    const rows = this.#rows;
    const at = this.#indexOf(change.row.id);
    // Most changes miss the window entirely: leave before copying anything.
    if (at < 0) {
      if (change.type === 'remove') return;
      const last = rows[rows.length - 1];
      if (this.#full && last && this.#cmp(change.row, last) >= 0) return;
      if (!this.#full && rows.length >= this.#cap && this.#cmp(change.row, last!) >= 0) {
        this.#full = true; // all of upstream was held; this row goes past the cap
        return;
      }
    }
    const before = this.#window();
    if (at >= 0) rows.splice(at, 1);
    if (change.type !== 'remove') this.#place(change.row);
    if (rows.length < this.#n) this.#refill();
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
