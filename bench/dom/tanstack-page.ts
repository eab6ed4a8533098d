/**
 * Page D of the DOM bench (bench/dom.ts): the same 20 lists as page A on TanStack DB, in memory on
 * the page (local-only collections: nothing is persisted, so it is not durable and its rows are
 * loaded again on every open). Each list is a live query collection (differential dataflow) joined
 * to its rows' project, with the same filter, order and limit as the other pages, rendered by hand
 * with the keyed rendering of render.ts (the same as the Dexie page) from `subscribeChanges` (each
 * change renders the list from its `toArray`). The checkbox updates the todos collection
 * (`todos.update(id, d => { d.done = … })`) on `change`.
 */
import { and, BTreeIndex, createCollection, createLiveQueryCollection, eq, gte, localOnlyCollectionOptions, queryOnce } from '@tanstack/db';
import type { TodoRow } from '../rows.ts';
import { keyedList, listSections, type ShownTodo } from './render.ts';
import { harness, LISTS, makeRows, waitRendered, type ListSpec } from './shared.ts';

type Todo = TodoRow & { id: string };
type Project = { id: string; name: string };

/** Indexes made for what the queries filter, sort and join on (as the other systems have theirs). */
const indexed = { autoIndex: 'eager', defaultIndexType: BTreeIndex } as const;

const shown = (r: any): ShownTodo => ({ id: r.id, title: r.title, done: r.done, project: { name: r.projectName } });

let h: ReturnType<typeof harness> | undefined;
const subs: { unsubscribe(): void }[] = [];
const lives: { cleanup(): Promise<void> }[] = [];

const bench = {
  /**
   * Loads the same rows as page A (its ids and projects) into memory, 1,000 per insert, each
   * awaited (timed: `loadMs`), then makes the 20 live query collections and renders them; `ms` is
   * from then until all 20 show rows.
   */
  async mount(projects: string[], ids: string[]) {
    const rows: Todo[] = makeRows(ids.length, projects).map((r, i) => ({ id: ids[i]!, ...r }));
    const tl = performance.now();
    const todos = createCollection(localOnlyCollectionOptions<Todo, string>({ id: 'todos', getKey: (r) => r.id, ...indexed }));
    const projectsCol = createCollection(
      localOnlyCollectionOptions<Project, string>({ id: 'projects', getKey: (r) => r.id, initialData: projects.map((id, i) => ({ id, name: `project ${i}` })), ...indexed }),
    );
    for (let i = 0; i < rows.length; i += 1000) await todos.insert(rows.slice(i, i + 1000)).isPersisted.promise;
    const loadMs = performance.now() - tl;

    const t0 = performance.now();
    const query = (s: ListSpec) => (q: any) => {
      const base = q.from({ todo: todos }).innerJoin({ project: projectsCol }, ({ todo, project }: any) => eq(todo.projectId, project.id));
      const select = ({ todo, project }: any) => ({ id: todo.id, title: todo.title, done: todo.done, projectName: project.name });
      if (s.kind === 'project')
        return base
          .where(({ todo }: any) => and(eq(todo.projectId, projects[s.project]), eq(todo.done, s.done)))
          .orderBy(({ todo }: any) => todo.title)
          .limit(s.limit)
          .select(select);
      if (s.kind === 'priorityAtLeast')
        return base
          .where(({ todo }: any) => gte(todo.priority, s.min))
          .orderBy(({ todo }: any) => todo.due, 'desc')
          .limit(s.limit)
          .select(select);
      return base
        .where(({ todo }: any) => and(eq(todo.priority, s.priority), eq(todo.done, s.done)))
        .orderBy(({ todo }: any) => todo.title)
        .limit(s.limit)
        .select(select);
    };
    const sections = listSections(document.getElementById('lists')!);
    const onToggle = (id: string, done: boolean) => {
      try {
        todos.update(id, (d) => {
          d.done = done;
        });
      } catch (e) {
        console.error(e);
      }
    };
    const live = LISTS.map((s) => createLiveQueryCollection({ startSync: true, gcTime: 0, query: query(s) }));
    lives.push(...live);
    await Promise.all(live.map((l) => l.toArrayWhenReady()));
    const readyMs = performance.now() - t0;
    sections.forEach((sec, i) => {
      const l = live[i]!;
      const render = keyedList(sec.querySelector('ul')!, onToggle);
      // With the initial state (which renders the list now): a subscription without it is sent
      // no update or delete of a row it was not sent first, so a row leaving a list was missed.
      subs.push(l.subscribeChanges(() => render((l.toArray as any[]).map(shown)), { includeInitialState: true }));
    });
    const rendered = await waitRendered(sections);
    h = harness(sections, async (i) => ((await queryOnce(query(LISTS[i]!) as any)) as any[]).map(shown));
    for (const sec of sections) h.containers.add(sec.querySelector('ul')!);
    h.start();
    return { loadMs, ms: performance.now() - t0, readyMs, renderedMs: rendered, sinceNavigation: performance.now() };
  },

  pick: (k: number) => h!.pick(k),
  settle: (quiet: number) => h!.settle(quiet),
  check: () => h!.check(),
  diff: (i: number) => h!.diff(i),
  async close() {
    for (const s of subs.splice(0)) s.unsubscribe();
    await Promise.all(lives.splice(0).map((l) => l.cleanup()));
  },
};

(window as any).bench = bench;
document.documentElement.dataset['ready'] = 'yes';
