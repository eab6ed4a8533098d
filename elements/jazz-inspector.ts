/**
 * `<jazz-inspector>`: a look inside the page's database, for development. Its own script
 * (`jazz-inspector.js`, built beside jazz.js by vite.config.ts's `inspector` mode), so pages that do
 * not use it pay nothing:
 *
 *   <script type="module" src="/jazz-inspector.js"></script>
 *   <jazz-inspector></jazz-inspector>            (inside or outside a <jazz-db>; `for="id"` names one)
 *
 * It shows, live:
 * - the database: storage driver (and why, after a fallback), whether it persists, the tab's role,
 *   the storage used (navigator.storage.estimate), writes pending, sync state and its last error;
 * - its tables with their row counts; a table's rows (the first 100) filtered by a query box in
 *   the `where` grammar; a row's history (author, time, fields set) on a click;
 * - the page's live queries (every `<jazz-query>`): table, conditions, state (with the error
 *   shown in its error slot), rows, and when they last changed;
 * - batches the server refused, and the `jazz-error`s the page's elements reported since it
 *   loaded.
 *
 * Read-only by default. With the `editable` attribute each row gets Delete and Restore buttons;
 * nothing else writes. It uses only the database's public API (`DbContract` and `status`), in a
 * shadow root of its own, so it never changes the page around it.
 */
import type { BrowserDb, DynamicApp } from '../worker/page/index.ts';

const STYLE = `
:host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #222; background: #fafafa; border: 1px solid #ccc; border-radius: 6px; padding: 8px; max-height: 70vh; overflow: auto }
h2 { font-size: 14px; margin: 10px 0 4px } table { border-collapse: collapse; width: 100% } td, th { border-bottom: 1px solid #e4e4e4; padding: 2px 6px; text-align: left; vertical-align: top; max-width: 24rem; overflow-wrap: anywhere }
button.table { margin: 0 4px 4px 0 } button[aria-pressed=true] { font-weight: bold } .error { color: #a00 } input[type=search] { width: 100%; box-sizing: border-box }
tr.row { cursor: pointer } tr.row:hover { background: #eef }`;

type Db = BrowserDb<DynamicApp>;

interface QueryInfo {
  rows: number;
  at: number;
}

/** HTMLElement, or a stand-in where there is no DOM (Node imports every element module: node-imports.test.ts). */
const Base = (typeof HTMLElement === 'undefined' ? class {} : HTMLElement) as typeof HTMLElement;

/**
 * A development view of the page's database (see the module comment above).
 * @tagname jazz-inspector
 * @attr for - The id of the `<jazz-db>` to inspect (default: the one around it, else the page's first).
 * @attr editable - Adds Delete and Restore buttons; without it the inspector never writes.
 * @csspart status - The database's status table.
 * @csspart rows - The selected table's rows.
 * @csspart history - The selected row's versions.
 * @csspart queries - The page's live queries.
 * @csspart refused - Batches the server refused.
 * @csspart errors - The elements' errors since it loaded.
 */
export class JazzInspectorElement extends Base {
  #db: Db | undefined;
  #table: string | undefined;
  #where = '';
  #row: string | undefined;
  #stops: (() => void)[] = [];
  #stopRows: (() => void) | undefined;
  #rows: readonly Record<string, unknown>[] = [];
  #rowsError = '';
  #counts = new Map<string, number>();
  #history: string[][] = [];
  readonly #queries = new Map<Element, QueryInfo>();
  readonly #refused: string[][] = [];
  readonly #errors: string[][] = [];
  #storage = '';
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
  }

  connectedCallback(): void {
    const onResults = (e: Event): void => {
      const target = e.composedPath()[0];
      if (!(target instanceof Element) || target.localName !== 'jazz-query') return;
      this.#queries.set(target, { rows: (e as CustomEvent<{ rows: unknown[] }>).detail.rows.length, at: Date.now() });
      this.#render();
    };
    const onError = (e: Event): void => {
      const d = (e as CustomEvent<{ code?: string; message?: string }>).detail;
      const from = e.composedPath()[0];
      this.#errors.unshift([new Date().toLocaleTimeString(), from instanceof Element ? `<${from.localName}>` : '', d?.code ?? '', d?.message ?? '']);
      this.#errors.length = Math.min(this.#errors.length, 50);
      this.#render();
    };
    document.addEventListener('jazz-results', onResults, true);
    document.addEventListener('jazz-error', onError, true);
    this.#stops.push(
      () => document.removeEventListener('jazz-results', onResults, true),
      () => document.removeEventListener('jazz-error', onError, true),
    );
    void this.#attach();
  }

  disconnectedCallback(): void {
    for (const s of this.#stops.splice(0)) s();
    this.#stopRows?.();
    clearTimeout(this.#timer);
  }

  /** The database: of the `<jazz-db>` named by `for`, else the one around it, else the page's first. */
  async #attach(): Promise<void> {
    await customElements.whenDefined('jazz-db');
    const id = this.getAttribute('for');
    const el = (id ? document.getElementById(id) : (this.closest('jazz-db') ?? document.querySelector('jazz-db'))) as (HTMLElement & { db?: Db; updateComplete?: Promise<unknown> }) | null;
    await el?.updateComplete;
    const db = el?.db;
    if (!db) {
      this.#errors.unshift(['', '<jazz-inspector>', 'NO_DATABASE', 'no <jazz-db> with a database on this page']);
      return this.#render();
    }
    this.#db = db;
    this.#stops.push(
      db.onStatus(() => this.#render()),
      db.onRejected((r, batchId) => {
        this.#refused.unshift([new Date().toLocaleTimeString(), batchId, r.code, r.message]);
        this.#render();
      }),
    );
    // Row counts per table, live.
    for (const table of Object.keys(db.app.$schema.tables)) {
      this.#stops.push(
        db.subscribeAll(db.app[table]!.select('id' as never), ({ all }) => {
          this.#counts.set(table, all.length);
          this.#render();
        }),
      );
    }
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    if (estimate?.usage !== undefined) this.#storage = `${(estimate.usage / 1024).toFixed(0)} KiB used`;
    this.#render();
  }

  #show(table: string | undefined, where: string): void {
    this.#stopRows?.();
    this.#stopRows = undefined;
    this.#table = table;
    this.#where = where;
    this.#row = undefined;
    this.#history = [];
    this.#rows = [];
    this.#rowsError = '';
    const db = this.#db;
    if (!db || !table) return this.#render();
    try {
      const q = (where.trim() ? db.app[table]!.where(where) : db.app[table]!).limit(100);
      this.#stopRows = db.subscribeAll(
        q,
        ({ all }) => {
          this.#rows = all;
          this.#render();
        },
        {
          onError: (e) => {
            this.#rowsError = String((e as Error).message ?? e);
            this.#render();
          },
        },
      );
    } catch (e) {
      this.#rowsError = (e as Error).message;
    }
    this.#render();
  }

  async #showHistory(id: string): Promise<void> {
    const db = this.#db;
    const table = this.#table;
    if (!db || !table) return;
    this.#row = id;
    const entries = await db.history(table, id);
    this.#history = entries.map((h) => [h.at.toLocaleString(), h.author + (h.via ? ` (via ${h.via})` : ''), h.deleted ? 'deleted' : JSON.stringify(h.changed), h.tier]);
    this.#render();
  }

  /** Renders at most once a frame (changes arrive in bursts). */
  #render(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#paint();
    }, 16);
  }

  #paint(): void {
    const root = this.shadowRoot!;
    const db = this.#db;
    const active = root.activeElement as HTMLInputElement | null;
    const typing = active?.type === 'search' ? { value: active.value, at: active.selectionStart } : undefined;
    root.replaceChildren();
    root.append(h('style', {}, STYLE));
    const status = db?.status;
    const sync = status?.sync;
    root.append(
      h('h2', {}, 'Database'),
      table(
        ['driver', 'persists', 'tab', 'storage', 'pending writes', 'sync', 'last sync error'],
        [
          [
            status?.driver ? status.driver.used + (status.driver.fallbackReason ? ` (asked ${status.driver.requested}: ${status.driver.fallbackReason})` : '') : '…',
            status ? String(status.persistent) : '',
            status?.role ?? '',
            this.#storage,
            String(status?.pendingWrites ?? ''),
            sync ? `${sync.state}${sync.pendingBatches ? `, ${sync.pendingBatches} batches to send` : ''}` : 'no server',
            sync?.lastError ? `${sync.lastError.code}: ${sync.lastError.message}` : '',
          ],
        ],
        'status',
      ),
      h('h2', {}, 'Tables'),
    );
    const tables = h('div', { class: 'tables' });
    for (const name of db ? Object.keys(db.app.$schema.tables) : []) {
      const b = h('button', { class: 'table', 'aria-pressed': String(name === this.#table) }, `${name} (${this.#counts.get(name) ?? '…'})`);
      b.addEventListener('click', () => this.#show(name === this.#table ? undefined : name, ''));
      tables.append(b);
    }
    root.append(tables);
    if (this.#table && db) {
      const box = h('input', { type: 'search', 'aria-label': `where, in ${this.#table}`, placeholder: 'where, like done = false and title contains "milk"' }) as HTMLInputElement;
      box.value = typing?.value ?? this.#where;
      box.addEventListener('change', () => this.#show(this.#table, box.value));
      box.addEventListener('keydown', (e) => e.key === 'Enter' && this.#show(this.#table, box.value));
      root.append(box);
      if (this.#rowsError) root.append(h('p', { class: 'error' }, this.#rowsError));
      const columns = ['id', ...Object.keys(db.app.$schema.tables[this.#table]!.columns)];
      const body = table([...columns, ...(this.hasAttribute('editable') ? [''] : [])], [], 'rows');
      const tbody = body.querySelector('tbody')!;
      for (const row of this.#rows) {
        const tr = h('tr', { class: 'row', 'data-id': String(row.id), tabindex: '0' });
        for (const c of columns) tr.append(h('td', {}, show(row[c])));
        if (this.hasAttribute('editable')) {
          const del = h('button', {}, 'Delete');
          del.addEventListener('click', (e) => {
            e.stopPropagation();
            db.delete(db.app[this.#table!]!, String(row.id));
          });
          const cell = h('td', {});
          cell.append(del);
          tr.append(cell);
        }
        tr.addEventListener('click', () => void this.#showHistory(String(row.id)));
        tr.addEventListener('keydown', (e) => e.key === 'Enter' && void this.#showHistory(String(row.id)));
        tbody.append(tr);
      }
      root.append(body);
      if (this.#row) {
        root.append(h('h2', {}, `History of ${this.#row}`), table(['at', 'author', 'set', 'tier'], this.#history, 'history'));
        if (this.hasAttribute('editable')) {
          const restore = h('button', {}, 'Restore');
          restore.addEventListener('click', () => db.restore(db.app[this.#table!]!, this.#row!));
          root.append(restore);
        }
      }
    }
    // Every <jazz-query> of the page, also those whose results or errors came before this loaded
    // (their state attribute and error slot say so).
    const queries = [...document.querySelectorAll('jazz-query')].map((q) => {
      const info = this.#queries.get(q);
      const state = q.getAttribute('state') ?? '';
      const error = state === 'error' ? (q.querySelector(':scope > [slot=error]')?.textContent?.trim() ?? '') : '';
      return [
        q.getAttribute('table') ?? '(.query)',
        q.getAttribute('where') ?? '',
        state + (error ? `: ${error}` : ''),
        info ? String(info.rows) : '…',
        info ? new Date(info.at).toLocaleTimeString() : '',
      ];
    });
    root.append(h('h2', {}, 'Live queries'), table(['table', 'where', 'state', 'rows', 'last change'], queries, 'queries'));
    root.append(h('h2', {}, 'Refused batches'), table(['at', 'batch', 'code', 'reason'], this.#refused, 'refused'));
    root.append(h('h2', {}, 'Errors'), table(['at', 'from', 'code', 'message'], this.#errors, 'errors'));
    if (typing) {
      const box = root.querySelector<HTMLInputElement>('input[type=search]');
      box?.focus();
      if (box && typing.at !== null) box.setSelectionRange(typing.at, typing.at);
    }
  }
}

function h(tag: string, attrs: Record<string, string>, text?: string): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function table(head: string[], rows: string[][], part: string): HTMLTableElement {
  const t = h('table', { part }) as HTMLTableElement;
  const tr = h('tr', {});
  for (const c of head) tr.append(h('th', {}, c));
  t.append(h('thead', {}), h('tbody', {}));
  t.tHead!.append(tr);
  for (const r of rows) {
    const row = h('tr', {});
    for (const c of r) row.append(h('td', {}, c));
    t.tBodies[0]!.append(row);
  }
  return t;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

declare global {
  interface HTMLElementTagNameMap {
    'jazz-inspector': JazzInspectorElement;
  }
}

if (typeof customElements !== 'undefined' && !customElements.get('jazz-inspector')) customElements.define('jazz-inspector', JazzInspectorElement);
