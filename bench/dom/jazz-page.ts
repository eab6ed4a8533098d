/**
 * Page A of the DOM bench (bench/dom.ts): one `<jazz-db>` (in jazz.html) and 20 `<jazz-query>`
 * elements, each rendering its `<template>` row (a `jazz-field="done"` checkbox, the title, the
 * project's name). The elements come from the built `jazz.js` (served raw at /jazz-dist/), or from
 * source through Vite with `?source`.
 */
import { harness, LISTS, listTitle, makeRows, waitRendered, type ListSpec } from './shared.ts';

const params = new URLSearchParams(location.search);
const source = params.has('source');
// The indexes on two columns the other pages have too (Dexie's [projectId+title] and
// [priority+title]), set before the element upgrades so it opens with them (INDEXES=0: none).
// ?warm: <jazz-db warm-start> (bench/dom.ts WARM=1).
if (params.has('warm')) (document.querySelector('jazz-db') as any).warmStart = true;
if (!params.has('noindexes')) {
  (document.querySelector('jazz-db') as any).indexes = {
    todos: [
      ['projectId', 'title'],
      ['priority', 'title'],
    ],
  };
}
const url = source ? '/elements/jazz.ts' : '/jazz-dist/jazz.js';
// By its full URL: Vite adds `?import` to a root-relative one, and jazz-more.js (which imports
// `./jazz.js`) would then get a second copy of jazz.js, whose row views this page's do not know
// (every `jazz-field` change was lost that way).
const jazz: any = await import(/* @vite-ignore */ new URL(url, location.href).href);
void jazz;

const dbEl = document.querySelector('jazz-db') as any;
const listsEl = document.getElementById('lists')!;

async function db(): Promise<any> {
  while (!dbEl.db) await new Promise((r) => setTimeout(r, 5));
  await dbEl.db.ready;
  return dbEl.db;
}

const esc = (s: string) => s.replace(/"/g, '\\"');

function attrs(s: ListSpec, projects: readonly string[]): { where: string; orderBy: string; limit: number } {
  if (s.kind === 'project') return { where: `projectId = "${esc(projects[s.project]!)}" and done = ${s.done}`, orderBy: 'title', limit: s.limit };
  if (s.kind === 'priorityAtLeast') return { where: `priority >= ${s.min}`, orderBy: 'due desc', limit: s.limit };
  return { where: `priority = ${s.priority} and done = ${s.done}`, orderBy: 'title', limit: s.limit };
}

const ROW = '<li data-id="{{id}}" data-done="{{done}}"><input type="checkbox" jazz-field="done"> <span class="title">{{title}}</span> <small class="project">{{project.name}}</small></li>';

let h: ReturnType<typeof harness> | undefined;

const bench = {
  source,

  /** Loads `n` todos (and 100 projects) in batches of 1,000, each awaited at tier `local`. */
  async load(n: number) {
    const d = await db();
    const p = d.batch((b: any) => {
      for (let i = 0; i < 100; i++) b.insert('projects', { name: `project ${i}` });
    });
    await p.wait({ tier: 'local' });
    const projects: string[] = [...p.ids];
    const rows = makeRows(n, projects);
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const hb = d.batch((b: any) => {
        for (let j = i; j < Math.min(rows.length, i + 1000); j++) b.insert('todos', rows[j]);
      });
      ids.push(...hb.ids);
      await hb.wait({ tier: 'local' });
    }
    return { ms: performance.now() - t0, projects, ids, driver: d.status?.driver };
  },

  /** Adds the 20 `<jazz-query>` elements; resolves when all 20 show rows (time from the call). */
  async mount(projects: string[]) {
    const t0 = performance.now();
    const html = LISTS.map((s, i) => {
      const a = attrs(s, projects);
      return `<section data-list="${i}"><h3>${listTitle(s)}</h3><ul><jazz-query table="todos" where="${a.where.replace(/"/g, '&quot;')}" order-by="${a.orderBy}" limit="${a.limit}" include="project"><template>${ROW}</template></jazz-query></ul></section>`;
    }).join('');
    listsEl.innerHTML = html;
    const sections = [...listsEl.querySelectorAll<HTMLElement>('section[data-list]')];
    // Watched from the start: with warm-start the lists show rows before the database is ready.
    const rendering = waitRendered(sections).then(() => performance.now() - t0);
    const d = await db();
    const readyMs = performance.now() - t0;
    const rendered = await rendering;
    h = harness(sections, (i) => {
      const a = attrs(LISTS[i]!, projects);
      const [col, dir] = a.orderBy.split(' ');
      return d.all(
        d.app.todos
          .where(a.where)
          .orderBy(col, dir ?? 'asc')
          .limit(a.limit)
          .include({ project: true }),
      );
    });
    for (const q of listsEl.querySelectorAll('jazz-query')) h.containers.add(q);
    h.start();
    return { ms: performance.now() - t0, dbReadyMs: readyMs, renderedMs: rendered, sinceNavigation: performance.now(), driver: d.status?.driver };
  },

  pick: (k: number) => h!.pick(k),
  settle: (quiet: number) => h!.settle(quiet),
  check: () => h!.check(),
  diff: (i: number) => h!.diff(i),
  async close() {
    await dbEl.db?.close();
  },
};

(window as any).bench = bench;
document.documentElement.dataset['ready'] = 'yes';
