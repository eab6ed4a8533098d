/**
 * TanStack DB for the browser bench, on the page and in memory (local-only collections, no
 * persistence): the ceiling for incremental view maintenance. The same todos and projects, and the
 * 20 queries of queries.ts as live query collections (differential dataflow), each joined to its
 * rows' projects.
 */
import { and, BTreeIndex, createCollection, createLiveQueryCollection, createTransaction, eq, gte, localOnlyCollectionOptions } from '@tanstack/db';
import type { TodoRow } from '../rows.ts';
import { LIMIT, QUERIES, type QuerySpec, type ShownRow } from './queries.ts';

type Todo = TodoRow & { id: string };
type Project = { id: string; name: string };

/** The collections and the 20 live queries over them, ready (first results computed). */
export interface TanstackDb {
  readonly todos: ReturnType<typeof todosCollection>;
  readonly live: readonly { toArray: ShownRow[]; subscribeChanges: (cb: () => void, opts?: { includeInitialState?: boolean }) => { unsubscribe(): void } }[];
  /** One transaction updating every row of `updates`. */
  transaction(updates: readonly { id: string; set: Partial<TodoRow> }[]): void;
}

/** Indexes made for what the queries filter, sort and join on (as the other systems have theirs). */
const indexed = { autoIndex: 'eager', defaultIndexType: BTreeIndex } as const;

const todosCollection = (rows: Todo[]) => createCollection(localOnlyCollectionOptions<Todo, string>({ id: 'todos', getKey: (r) => r.id, initialData: rows, ...indexed }));

export async function openTanstack(rows: Todo[], projectRows: Project[]): Promise<TanstackDb> {
  const todos = todosCollection(rows);
  const projects = createCollection(localOnlyCollectionOptions<Project, string>({ id: 'projects', getKey: (r) => r.id, initialData: projectRows, ...indexed }));
  const ids = projectRows.map((p) => p.id);
  const build = (spec: QuerySpec) =>
    createLiveQueryCollection({
      startSync: true,
      gcTime: 0,
      query: (q) => {
        const base = q.from({ todo: todos }).innerJoin({ project: projects }, ({ todo, project }) => eq(todo.projectId, project.id));
        const select = ({ todo, project }: any) => ({ id: todo.id, title: todo.title, done: todo.done, priority: todo.priority, due: todo.due, projectId: todo.projectId, projectName: project.name });
        switch (spec.kind) {
          case 'project':
            return base
              .where(({ todo }) => and(eq(todo.projectId, ids[spec.project]), eq(todo.done, false)))
              .orderBy(({ todo }) => todo.title)
              .limit(LIMIT)
              .select(select);
          case 'priorityAtLeast':
            return base
              .where(({ todo }) => gte(todo.priority, spec.min))
              .orderBy(({ todo }) => todo.due, 'desc')
              .limit(LIMIT)
              .select(select);
          case 'priorityDone':
            return base
              .where(({ todo }) => and(eq(todo.priority, spec.priority), eq(todo.done, spec.done)))
              .orderBy(({ todo }) => todo.title)
              .limit(LIMIT)
              .select(select);
        }
      },
    });
  const live = QUERIES.map(build);
  await Promise.all(live.map((l) => l.toArrayWhenReady()));
  return {
    todos,
    live: live as unknown as TanstackDb['live'],
    transaction(updates) {
      const tx = createTransaction({ mutationFn: async ({ transaction }) => todos.utils.acceptMutations(transaction as any) });
      tx.mutate(() => {
        for (const u of updates) todos.update(u.id, (d) => Object.assign(d, u.set));
      });
    },
  };
}
