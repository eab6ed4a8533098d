/**
 * Page B of the DOM bench (bench/dom.ts): the same 20 lists as page A, built the way a page with
 * Dexie and no framework would: one `liveQuery` per list, rendered by hand into a `<ul>` with the
 * keyed rendering of render.ts (shared with the SQLite-WASM and TanStack DB pages). The checkbox
 * writes `todos.update(id, { done })` on `change`, like `jazz-field="done"`.
 */
import Dexie, { liveQuery } from 'dexie';
import { keyedList, listSections } from './render.ts';
import { harness, LISTS, makeRows, waitRendered, type ListSpec } from './shared.ts';

function open(durability: string): any {
  const dx: any = new Dexie('bench-dom-dexie', durability === 'default' ? {} : { chromeTransactionDurability: durability as any });
  // `done` is a boolean, which IndexedDB cannot index: the by-title queries read a compound index
  // on the other field in title order and filter on `done` (what a Dexie app does).
  dx.version(1).stores({ projects: 'id', todos: 'id, due, [projectId+title], [priority+title]' });
  return dx;
}

function query(dx: any, s: ListSpec, projects: readonly string[]): () => Promise<any[]> {
  const withProject = async (rows: any[]) => {
    const ps = await dx.projects.bulkGet(rows.map((r) => r.projectId));
    return rows.map((r, i) => ({ ...r, project: ps[i] }));
  };
  if (s.kind === 'project') {
    const p = projects[s.project];
    return async () =>
      withProject(
        await dx.todos
          .where('[projectId+title]')
          .between([p, Dexie.minKey], [p, Dexie.maxKey])
          .filter((r: any) => r.done === s.done)
          .limit(s.limit)
          .toArray(),
      );
  }
  if (s.kind === 'priorityAtLeast')
    return async () =>
      withProject(
        await dx.todos
          .orderBy('due')
          .reverse()
          .filter((r: any) => r.priority >= s.min)
          .limit(s.limit)
          .toArray(),
      );
  return async () =>
    withProject(
      await dx.todos
        .where('[priority+title]')
        .between([s.priority, Dexie.minKey], [s.priority, Dexie.maxKey])
        .filter((r: any) => r.done === s.done)
        .limit(s.limit)
        .toArray(),
    );
}

let dx: any;
let h: ReturnType<typeof harness> | undefined;
const subs: { unsubscribe(): void }[] = [];

const bench = {
  /** Loads the same rows as page A (its ids) in transactions of 1,000. */
  async load(projects: string[], ids: string[], durability: string) {
    await Dexie.delete('bench-dom-dexie');
    dx = open(durability);
    await dx.open();
    await dx.projects.bulkAdd(projects.map((id, i) => ({ id, name: `project ${i}` })));
    const rows = makeRows(ids.length, projects).map((r, i) => ({ id: ids[i], ...r }));
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await dx.transaction('rw', dx.todos, () => dx.todos.bulkAdd(chunk));
    }
    const ms = performance.now() - t0;
    dx.close();
    return { ms };
  },

  /** Opens the database and subscribes the 20 lists; resolves when all 20 show rows. */
  async mount(projects: string[], durability: string) {
    const t0 = performance.now();
    dx = open(durability);
    const listsEl = document.getElementById('lists')!;
    const sections = listSections(listsEl);
    const onToggle = (id: string, done: boolean) => {
      dx.todos.update(id, { done }).catch((e: unknown) => console.error(e));
    };
    const queries = LISTS.map((s) => query(dx, s, projects));
    sections.forEach((sec, i) => {
      const render = keyedList(sec.querySelector('ul')!, onToggle);
      subs.push(liveQuery(queries[i]!).subscribe({ next: render, error: (e: unknown) => console.error(e) }));
    });
    const rendered = await waitRendered(sections);
    h = harness(sections, (i) => queries[i]!());
    for (const ul of listsEl.querySelectorAll('ul')) h.containers.add(ul);
    h.start();
    return { ms: performance.now() - t0, renderedMs: rendered, sinceNavigation: performance.now() };
  },

  pick: (k: number) => h!.pick(k),
  settle: (quiet: number) => h!.settle(quiet),
  check: () => h!.check(),
  diff: (i: number) => h!.diff(i),
  async close() {
    for (const s of subs.splice(0)) s.unsubscribe();
    dx?.close();
  },
};

(window as any).bench = bench;
document.documentElement.dataset['ready'] = 'yes';
