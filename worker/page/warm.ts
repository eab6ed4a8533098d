/**
 * Warm start (`createDb({ warmStart: true })`): each live query's last result is kept in the page's
 * `localStorage`, and the next visit shows it at once, marked `stale` and `partial`, while the
 * worker starts and opens the database (100–300 ms after a browser restart); the worker's first
 * result then replaces it, with the difference as its delta.
 *
 * Decisions:
 * - `localStorage`, because it is read synchronously by the page's first script: IndexedDB would
 *   cost an open, OPFS a worker. One item per database and branch (`jazz-warm:<dbName>:<branch>`):
 *   its layout's number, the schema's hash and the results by query (the query's JSON). Another
 *   schema hash or layout finds nothing.
 * - Bounded: a result's first 100 rows (the rest follows from the worker), the 40 queries used last,
 *   about 1 MB of text in all; queries whose rows hold anything but JSON's values (bytes) are not
 *   kept. Kept by the query and its options (`tier`, `asOf`, `conflicts`, `firstRows`), so a
 *   result at a tier or at a moment is shown as such.
 * - jazz.js carries only a stub (the page bundle's budget): this file is `jazz-warm.js`, loaded as
 *   the database is created, long before the worker has opened it.
 * - The page's live queries are watched, not told: every second, and when the page is hidden or
 *   left, each one's current result is read (`result`), and those that changed since the last
 *   write (a new frozen array) are written, merged into what other tabs wrote; so the page's own
 *   path for a change costs nothing more. A stopped query's last result is kept too (the 40 watched
 *   last). A write that does not fit (quota) keeps half the queries, then gives up.
 * - A stale result may show rows that changed while no page followed the query (another page of
 *   the app, sync): they are right again when the worker answers. Never used for writes or reads.
 */

const MAX_ROWS = 100;
const MAX_QUERIES = 40;
const MAX_CHARS = 1_000_000;

interface Entry {
  /** Last used (epoch ms). */
  t: number;
  rows: readonly unknown[];
}
/** The item's layout; a page with another (an older or newer jazz.js) reads nothing of it. */
const FORMAT = 1;

interface Item {
  v: typeof FORMAT;
  schema: string;
  q: Record<string, Entry>;
}

/** Rejects what JSON would not bring back as it was (bytes, dates, class instances). */
const plain = (_: string, v: unknown): unknown => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw 0;
  }
  return v;
};

const open = new Map<string, WarmResults>();

/**
 * The database's kept results (per name and branch), one per name and schema for the page's
 * life (a database opened again shares it), or undefined where the page may not use localStorage.
 */
export default function warmResults(opts: {
  readonly app: { readonly $schema: unknown };
  readonly driver?: { readonly type: string; readonly dbName?: string } | undefined;
  readonly branch?: string | undefined;
}): WarmResults | undefined {
  const { app, driver, branch } = opts;
  if (driver?.type === 'memory') return undefined; // nothing to warm from a database that keeps nothing
  const name = `${driver?.dbName ?? 'default'}:${branch ?? 'main'}`;
  const schema = (app as { $hash?: string }).$hash ?? JSON.stringify(app.$schema);
  const key = `${name}\n${schema}`;
  try {
    let w = open.get(key);
    if (!w) open.set(key, (w = new WarmResults(name, schema)));
    return w;
  } catch (e) {
    console.warn('jazz-elements: warmStart is off: this page cannot use localStorage', e);
    return undefined;
  }
}

export class WarmResults {
  readonly #key: string;
  readonly #schema: string;
  #item: Item;
  /** Another tab wrote the item since this one read it (the `storage` event): read it again before writing. */
  #theirs = false;
  /** The watched queries' current results, in watch order (the 40 last), and what was written of each. */
  readonly #watched = new Map<string, () => readonly unknown[] | undefined>();
  readonly #written = new Map<string, readonly unknown[]>();
  readonly #onHide = (e: Event): void => {
    if (e.type === 'pagehide' || document.visibilityState === 'hidden') this.flush();
  };

  /** Throws if the page may not use localStorage (a sandboxed frame, storage blocked). */
  constructor(dbName: string, schema: string) {
    this.#key = `jazz-warm:${dbName}`;
    this.#schema = schema;
    localStorage.getItem(this.#key);
    this.#item = this.#read();
    addEventListener('pagehide', this.#onHide);
    addEventListener('visibilitychange', this.#onHide);
    addEventListener('storage', (e) => {
      if ((e as StorageEvent).key === this.#key) this.#theirs = true;
    });
    setInterval(() => this.flush(), 1000);
  }

  #read(): Item {
    try {
      const item = JSON.parse(localStorage.getItem(this.#key) ?? 'null') as Item | null;
      if (item?.v === FORMAT && item.schema === this.#schema && item.q) return item;
    } catch {}
    return { v: FORMAT, schema: this.#schema, q: {} };
  }

  /**
   * A live query (`query`: its JSON) starts: `show` gets the rows kept for it, if any; `result`
   * (when given) gives its current whole result from now on, undefined until it has one.
   */
  watch(query: string, show: (rows: readonly unknown[]) => void, result?: () => readonly unknown[] | undefined): void {
    const rows = this.#item.q[query]?.rows;
    // Not once the database's whole result is in (the worker answered before this file loaded).
    if (rows && !result?.()) show(rows);
    if (!result) return;
    this.#watched.delete(query);
    this.#watched.set(query, result);
    if (this.#watched.size > MAX_QUERIES) {
      const oldest = this.#watched.keys().next().value!;
      this.#watched.delete(oldest);
      this.#written.delete(oldest);
    }
  }

  /** Writes the watched results that changed, merged into what is stored now (other tabs write too). */
  flush(): void {
    const changed: [string, readonly unknown[]][] = [];
    for (const [query, result] of this.#watched) {
      const all = result();
      if (all && all !== this.#written.get(query)) changed.push([query, all]);
    }
    if (changed.length === 0) return;
    const item = this.#theirs ? this.#read() : this.#item;
    this.#theirs = false;
    const t = Date.now();
    for (const [query, all] of changed) {
      this.#written.set(query, all);
      const rows = all.slice(0, MAX_ROWS);
      try {
        JSON.stringify(rows, plain);
        item.q[query] = { t, rows };
      } catch {
        delete item.q[query];
      }
    }
    let keep = Object.entries(item.q)
      .sort((a, b) => b[1].t - a[1].t)
      .slice(0, MAX_QUERIES);
    for (let tries = 0; tries < 3 && keep.length > 0; tries++) {
      const kept: Item = { v: FORMAT, schema: item.schema, q: Object.fromEntries(keep) };
      const text = JSON.stringify(kept);
      if (text.length > MAX_CHARS) {
        keep = keep.slice(0, keep.length >> 1);
        continue;
      }
      try {
        localStorage.setItem(this.#key, text);
        this.#item = kept;
        return;
      } catch {
        keep = keep.slice(0, keep.length >> 1); // over the origin's quota: keep the newest half
      }
    }
  }
}
