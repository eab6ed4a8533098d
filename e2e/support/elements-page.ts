/**
 * Pages made of elements, for the elements specs: `e2e/elements.html` loads the drop-in entry from
 * source (`elements/jazz.ts`), `load` writes the scenario's markup into it, and the elements'
 * events are collected in the page as they bubble to `document` (`window.seen[type]`, each with
 * the `target` that fired it: its id, else its tag).
 *
 * Loading the page (about 150 modules from source, then the database's worker) is most of what a
 * short test costs, so a spec may reuse one page for many tests (`test` from here gives a
 * worker-scoped `shared` page): `load` then empties the body (the old `<jazz-db>` closes its
 * database), forgets the warnings and events seen, resets the URL's hash and search, and writes
 * the new markup, with a `db-name` of its own on every `<jazz-db>` that has none, so each test
 * starts with an empty database as on a new page.
 */
import { test as base, type Page } from '@playwright/test';
import { pageReady, SCHEMA as CLIENT_SCHEMA } from './client-page.ts';
import type { EnginePage } from './engines.ts';

/** The client specs' schema, with one more text column for the field tests, as the JSON text a schema script holds. */
export const SCHEMA = JSON.stringify({
  tables: { ...CLIENT_SCHEMA.tables, todos: { ...CLIENT_SCHEMA.tables.todos, note: { type: 'string', optional: true } } },
});

/** A todo list: a row per todo with a checkbox and a text field, a scroller, delete; slots; an undo button. */
export const TODO_LIST = `
  <jazz-query id="todos" table="todos" order-by="done, title">
    <template><li data-id="{{id}}" class="todo"><input type="checkbox" jazz-field="done"><span class="title">{{title}}</span>
      <input class="note" jazz-field="note"><div class="scroller" style="height:20px;overflow:auto"><div style="height:200px">x</div></div>
      <button jazz-action="delete">delete</button></li></template>
    <p slot="loading">Loading…</p>
    <p slot="empty">Nothing to do.</p>
    <button id="undo" jazz-action="restore">undo</button>
  </jazz-query>`;

/** The warnings array `load` returned last, per page: the page's one console listener fills it. */
const current = new WeakMap<Page, string[]>();
let mounts = 0;

/**
 * Loads the page (or reuses it, see above), starts collecting the elements' events and sets the
 * body to `html`. Returns the page's console warnings from jazz-elements, collected from then on
 * (the dev server's Lit warns that it is in dev mode; that one is left out).
 */
export async function load(page: Page, html: string): Promise<string[]> {
  const warnings: string[] = [];
  const fresh = !current.has(page);
  current.set(page, warnings);
  if (fresh) {
    page.on('console', (m) => {
      if (m.type() === 'warning' && m.text().startsWith('jazz-elements:')) current.get(page)?.push(m.text());
    });
    await page.goto('/e2e/elements.html');
    await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes');
  }
  const named = html.replace(/<jazz-db(?![^>]*\bdb-name=)/g, () => `<jazz-db db-name="mount-${++mounts}"`);
  await page.evaluate(startPage, [named, fresh] as const);
  return warnings;
}

/**
 * In the page: empties the body (an old `<jazz-db>` closes its database), forgets the warnings and
 * events seen, resets the URL's hash and search, starts collecting the elements' events in
 * `window.seen[type]` (on a `fresh` page: the listeners stay for the page's life) and sets the body
 * to `html`. Self-contained, so any engine's page can evaluate it (e2e/engines/ do, through
 * support/engines.ts).
 */
export function startPage([html, fresh]: readonly [string, boolean]): void {
  const events = ['jazz-results', 'jazz-change', 'jazz-settled', 'jazz-error', 'jazz-status', 'jazz-conflict', 'jazz-merge', 'jazz-progress'];
  document.body.replaceChildren();
  window.forgetWarnings();
  history.replaceState(null, '', location.pathname);
  delete window.__pwned;
  for (const type of events) window.seen[type] = [];
  if (fresh) {
    for (const type of events) {
      document.addEventListener(type, (e) => {
        const d = (e as CustomEvent).detail as Record<string, unknown>;
        window.seen[type].push({
          target: (e.composedPath()[0] as Element).id || (e.composedPath()[0] as Element).localName,
          ...d,
          error: undefined,
          rows: undefined,
          n: Array.isArray(d['rows']) ? d['rows'].length : undefined,
        });
      });
    }
  }
  document.body.innerHTML = html;
}

/** Loads the page with `body` inside a `<jazz-db>` (with these attributes) holding `schema`; returns the console warnings. */
export async function mount(page: Page, body: string, db = 'driver="memory"', schema = SCHEMA): Promise<string[]> {
  return load(page, `<jazz-db ${db}><script type="application/json" slot="schema">${schema}</script>${body}</jazz-db>`);
}

/**
 * In the page, for the keyed-patching tests: each `#todos` row's expando `mark` and checkbox, and
 * the focused field's row, value, selection, and the first row's scroller position.
 */
export function rowState(): { marks: unknown[]; checked: boolean[]; focusedRow: unknown; value: string; selection: unknown[]; scroll: number } {
  const rows = [...document.querySelectorAll<HTMLElement & { mark?: string }>('#todos li')];
  const focused = document.activeElement as HTMLInputElement;
  return {
    marks: rows.map((r) => r.mark),
    checked: rows.map((r) => r.querySelector<HTMLInputElement>('input[type=checkbox]')!.checked),
    focusedRow: focused.closest('li')?.querySelector('.title')?.textContent,
    value: focused.value,
    selection: [focused.selectionStart, focused.selectionEnd],
    scroll: rows[0]!.querySelector<HTMLElement>('.scroller')!.scrollTop,
  };
}

/** In the page: toggles the checkboxes of rows `indexes` of `#todos` as a click would, without moving the focus. */
export function toggleRows(indexes: number[]): void {
  for (const i of indexes) {
    const box = document.querySelectorAll<HTMLInputElement>('#todos li input[type=checkbox]')[i]!;
    box.checked = !box.checked;
    box.dispatchEvent(new Event('change', { bubbles: true }));
  }
}

/** In the page: inserts `rows` into `table` through the `<jazz-db>`'s database, each waited for; their ids. */
export async function insertRows([table, rows]: readonly [string, readonly Record<string, unknown>[]]): Promise<string[]> {
  const db = document.querySelector('jazz-db')!.db!;
  await db.ready;
  const handles = rows.map((r) => db.insert(table, r));
  await Promise.all(handles.map((h) => h.wait()));
  return handles.map((h) => h.id);
}

/** `mount` on a new Firefox or WebKit page (support/engines.ts), where warnings are not collected. */
export async function mountOn(page: EnginePage, body: string, db = 'driver="memory"', schema = SCHEMA): Promise<void> {
  await page.goto('/e2e/elements.html');
  await page.evaluate(pageReady);
  await page.evaluate(startPage, [`<jazz-db ${db}><script type="application/json" slot="schema">${schema}</script>${body}</jazz-db>`, true] as const);
}

/** The `jazz-error` events seen so far, as `target code` lines. */
export async function errorsSeen(page: Page): Promise<string[]> {
  return page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string }) => `${e.target} ${e.code}`));
}

/** Playwright's `test` with `shared`: one page per test worker, reused by `load` across tests. */
export const test = base.extend<object, { shared: Page }>({
  shared: [
    async ({ browser }, use, workerInfo) => {
      // en-US and UTC: dates and numbers read the same on every machine.
      const page = await browser.newPage({ baseURL: workerInfo.project.use.baseURL, locale: 'en-US', timezoneId: 'UTC' });
      await use(page);
      await page.close();
    },
    { scope: 'worker' },
  ],
});
