/**
 * Page B of the DOM bench (bench/dom.ts): the same 20 lists as page A, built the way a page with
 * Dexie and no framework would: one `liveQuery` per list, rendered by hand into a `<ul>`.
 *
 * Rendering is keyed by row id and patches only what changed, as a framework's keyed list would
 * (React's `key`, Lit's `repeat`): a row's `<li>` is kept while the row is in the result, its
 * checkbox, `data-done`, title and project name are written only when they changed, new rows get
 * a new `<li>`, gone rows' `<li>` are removed, and rows are moved with React's rule (a row moves
 * when its old position is before the last row kept in place). The checkbox writes
 * `todos.update(id, { done })` on `change`, like `jazz-field="done"`.
 */
import Dexie, { liveQuery } from 'dexie';
import { harness, LISTS, listTitle, makeRows, type ListSpec } from './shared.ts';
import { waitRendered } from './shared.ts';

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

interface RowView {
  li: HTMLLIElement;
  box: HTMLInputElement;
  title: Text;
  project: Text;
  row: any;
}

/** One list: a keyed patch of `ul` to `rows`. */
function keyedList(ul: HTMLUListElement, onToggle: (id: string, done: boolean) => void) {
  let views: RowView[] = [];
  let byId = new Map<string, RowView>();
  const create = (row: any): RowView => {
    const li = document.createElement('li');
    li.setAttribute('data-id', row.id);
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.addEventListener('change', () => onToggle(row.id, box.checked));
    const titleEl = document.createElement('span');
    titleEl.className = 'title';
    const title = document.createTextNode('');
    titleEl.append(title);
    const small = document.createElement('small');
    small.className = 'project';
    const project = document.createTextNode('');
    small.append(project);
    li.append(box, ' ', titleEl, ' ', small);
    const v = { li, box, title, project, row: undefined as any };
    patch(v, row);
    return v;
  };
  const patch = (v: RowView, row: any) => {
    const old = v.row;
    if (!old || old.done !== row.done) {
      v.li.setAttribute('data-done', String(row.done));
      v.box.checked = row.done;
    }
    if (!old || old.title !== row.title) v.title.data = row.title;
    const name = row.project?.name ?? '';
    if (!old || (old.project?.name ?? '') !== name) v.project.data = name;
    v.row = row;
  };
  return (rows: any[]) => {
    const next: RowView[] = [];
    const nextById = new Map<string, RowView>();
    for (const row of rows) {
      let v = byId.get(row.id);
      if (v) patch(v, row);
      else v = create(row);
      next.push(v);
      nextById.set(row.id, v);
    }
    for (const v of views) if (nextById.get(v.row.id) !== v) v.li.remove();
    const oldIndex = new Map(views.map((v, i) => [v, i]));
    let lastPlaced = -1;
    let prev: Node | null = null;
    for (const v of next) {
      const o = oldIndex.get(v);
      if (o === undefined || o < lastPlaced) ul.insertBefore(v.li, prev ? prev.nextSibling : ul.firstChild);
      else lastPlaced = o;
      prev = v.li;
    }
    views = next;
    byId = nextById;
  };
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
    listsEl.innerHTML = LISTS.map((s, i) => `<section data-list="${i}"><h3>${listTitle(s)}</h3><ul></ul></section>`).join('');
    const sections = [...listsEl.querySelectorAll<HTMLElement>('section[data-list]')];
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
