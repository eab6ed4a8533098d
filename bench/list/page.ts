/**
 * The page of the list bench (bench/list.ts). `?mode=` picks what renders ROWS items sorted by `n`:
 * - `virtual`: `<jazz-query virtual>` (only the rows on screen are in the DOM);
 * - `plain`: `<jazz-query>` without `virtual` (every row in the DOM);
 * - `raw-virtual`: the same rows from an array in memory, laid out by `@lit-labs/virtualizer`'s
 *   `<lit-virtualizer>` (the ceiling for a virtual list: no database, no worker);
 * - `raw-plain`: the same rows from memory, every `<div>` appended in one go (what Chromium alone
 *   spends on the DOM).
 * The engine's pages use the built `jazz.js` (`?jazz=`), a `<jazz-db driver="opfs">` per mode.
 */
export {};
const params = new URLSearchParams(location.search);
const mode = params.get('mode') ?? 'virtual';
const jazzUrl = params.get('jazz') ?? '/jazz-dist/jazz.js';
const host = document.getElementById('host')!;
const raw = mode.startsWith('raw-');

const SCHEMA = { tables: { items: { title: 'string', n: 'int', note: 'string' } } };
const title = (i: number) => `item ${String(i).padStart(5, '0')}`;
const item = (i: number) => ({ title: title(i), n: i, note: i % 7 === 0 ? 'ünïcødé ✓ — a longer note that wraps on a phone' : 'note' });

declare global {
  interface Window {
    __longTasks: { start: number; duration: number }[];
    bench: unknown;
  }
}

let db: any;
/** When the page got where (ms since navigation start), for the reload figure's breakdown. */
const marks: Record<string, number> = { 'page script': performance.now() };
// When the first rows showed, watched from the page's start: a long list shows its first rows
// before `db.ready` resolves and `bench.reloaded` starts watching.
const firstRows = new MutationObserver(() => {
  if (!host.getElementsByClassName('row').length) return;
  marks['first rows'] = performance.now();
  firstRows.disconnect();
});
firstRows.observe(host, { childList: true, subtree: true });
let rawItems: ReturnType<typeof item>[] = [];
let rawList: any;

if (!raw) {
  const W = window.Worker;
  // The worker's start, seen from the page (MARKS=1 in bench/list.ts prints it).
  window.Worker = class extends W {
    constructor(u: string | URL, o?: WorkerOptions) {
      marks['worker created'] = performance.now();
      super(u, o);
      this.addEventListener('message', () => (marks['worker first message'] ??= performance.now()));
    }
  };
  marks['jazz.js import'] = performance.now();
  // By its full URL, so that Vite leaves it alone: see bench/dom/jazz-page.ts.
  await import(/* @vite-ignore */ new URL(jazzUrl, location.href).href);
  marks['jazz.js evaluated'] = performance.now();
  host.innerHTML = `<jazz-db driver="opfs" db-name="bench-list-${mode}-${params.get('run') ?? 0}"${params.has('warm') ? ' warm-start' : ''}>
    <script type="application/json" slot="schema">${JSON.stringify(SCHEMA)}</script>
    <jazz-query id="q" table="items" order-by="n"${mode === 'virtual' ? ' virtual' : ''}><template><div class="row" data-id="{{id}}" data-n="{{n}}">{{title}} <small>{{note}}</small></div></template></jazz-query>
  </jazz-db>`;
  const dbEl = host.querySelector('jazz-db') as any;

  while (!dbEl.db) await new Promise((r) => setTimeout(r, 1));
  db = dbEl.db;
  await db.ready;
  marks['db ready'] = performance.now();
} else if (mode === 'raw-virtual') {
  const { html } = await import('lit');
  await import('@lit-labs/virtualizer');
  rawList = document.createElement('lit-virtualizer');
  rawList.renderItem = (r: ReturnType<typeof item>) => html`<div class="row" data-n=${r.n}>${r.title} <small>${r.note}</small></div>`;
  host.append(rawList);
}

const rows = () => host.getElementsByClassName('row') as HTMLCollectionOf<HTMLElement>;

/** Whether the list shows `n` rows: all of them (plain), or the first with `aria-setsize`/length (virtual). */
function shows(n: number): boolean {
  const r = rows();
  if (mode === 'virtual') return r.length > 0 && r[0]!.getAttribute('aria-setsize') === String(n) && r[0]!.dataset['n'] === '0';
  if (mode === 'raw-virtual') return r.length > 0 && rawList.items?.length === n && r[0]!.dataset['n'] === '0';
  return r.length === n && r[n - 1]!.dataset['n'] === String(n - 1);
}

/** Resolves with performance.now() at the first DOM mutation after which `done()` holds, and the next frame. */
function until(done: () => boolean, timeout = 60_000): Promise<{ at: number; frame: number; first: number }> {
  return new Promise((resolve, reject) => {
    let first = 0;
    const finish = () => {
      const at = performance.now();
      obs.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() => resolve({ at, frame: performance.now(), first: first || at }));
    };
    const obs = new MutationObserver(() => {
      if (!first && rows().length) first = performance.now();
      if (done()) finish();
    });
    obs.observe(host, { childList: true, subtree: true, characterData: true, attributes: true });
    const timer = setTimeout(() => (obs.disconnect(), reject(new Error(`not rendered after ${timeout} ms (${rows().length} rows shown)`))), timeout);
    if (done()) finish();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Long tasks that started in [from, to]: their count, the longest, and their sum. */
async function tasks(from: number, to: number) {
  await sleep(60); // the observer's entries arrive after the task
  const t = window.__longTasks.filter((x) => x.start >= from - 1 && x.start <= to);
  return { count: t.length, max: Math.max(0, ...t.map((x) => x.duration)), total: t.reduce((a, x) => a + x.duration, 0) };
}

window.bench = {
  mode,
  crossOriginIsolated,

  /** Writes (or, raw, builds) `n` items in one batch; → rendered, and the long tasks meanwhile. */
  async insert(n: number) {
    const t0 = performance.now();
    if (mode === 'raw-plain') {
      const frag = document.createDocumentFragment();
      for (let i = 0; i < n; i++) {
        const d = document.createElement('div');
        d.className = 'row';
        d.dataset['n'] = String(i);
        const r = item(i);
        d.append(`${r.title} `, Object.assign(document.createElement('small'), { textContent: r.note }));
        frag.append(d);
      }
      host.append(frag);
    } else if (mode === 'raw-virtual') {
      rawItems = Array.from({ length: n }, (_, i) => item(i));
      rawList.items = rawItems;
    } else {
      // Not awaited: the list shows the rows once the worker applied them, before they are flushed.
      const stored = db
        .batch((b: any) => {
          for (let i = 0; i < n; i++) b.insert('items', item(i));
        })
        .wait({ tier: 'local' })
        .then(() => performance.now() - t0);
      const { at, frame, first } = await until(() => shows(n));
      return { ms: at - t0, frame: frame - t0, first: first - t0, stored: await stored, tasks: await tasks(t0, at) };
    }
    const { at, frame, first } = await until(() => shows(n));
    return { ms: at - t0, frame: frame - t0, first: first - t0, tasks: await tasks(t0, at) };
  },

  /**
   * After a reload: navigation start → the list shows `n` rows (rendered: a virtual list shows its
   * first rows and knows its whole length, which may come before the rest of the rows), and →
   * every row is there (`loaded`: the query no longer `aria-busy`); long tasks since navigation.
   */
  async reloaded(n: number) {
    const { at, frame, first } = await until(() => shows(n));
    const q = document.getElementById('q');
    const loaded = q ? (await until(() => shows(n) && !q.hasAttribute('aria-busy'))).at : at;
    for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
      const name = e.name.split('?')[0]!.split('/').pop()!;
      if (name.startsWith('jazz')) marks[`${name} fetched`] = e.responseEnd;
    }
    return { ms: at, frame, first: Math.min(first, marks['first rows'] ?? first), loaded, script: marks['page script']!, tasks: await tasks(0, loaded), marks };
  },

  /** Changes the title of the `k`th row on screen; → the DOM shows it. */
  async change(k: number, round: number) {
    const el = rows()[k]!;
    const n = Number(el.dataset['n']);
    const text = `changed ${round} ✓`;
    const t0 = performance.now();
    if (raw) {
      if (mode === 'raw-plain') el.firstChild!.textContent = `${text} `;
      else {
        rawItems = rawItems.slice();
        rawItems[n] = { ...rawItems[n]!, title: text };
        rawList.items = rawItems;
      }
    } else {
      db.update('items', el.dataset['id']!, { title: text });
    }
    const { at, frame } = await until(() => (rows()[k]?.textContent ?? '').startsWith(text), 10_000);
    return { ms: at - t0, frame: frame - t0 };
  },

  /** Scrolls `frames` animation frames by `step` px each; → each frame's interval, and long tasks. */
  async scroll(frames: number, step: number) {
    window.scrollTo(0, 0);
    await sleep(100);
    const t0 = performance.now();
    const deltas: number[] = [];
    let last = 0;
    await new Promise<void>((resolve) => {
      let k = 0;
      const tick = (t: number) => {
        if (last) deltas.push(t - last);
        last = t;
        if (k++ >= frames) return resolve();
        window.scrollBy(0, step);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    return { deltas, scrolled: window.scrollY, tasks: await tasks(t0, performance.now()) };
  },

  count: () => rows().length,
};
document.documentElement.dataset['ready'] = 'yes';
