/**
 * `jazz-elements/react`: live queries as React hooks. React is a peer dependency; this module
 * imports nothing of the engine, only types, so it adds a few hundred bytes to an app.
 *
 *   const db = createDb({ app, driver: { type: 'opfs', dbName: 'todos' } });
 *   root.render(<JazzProvider db={db}><Todos /></JazzProvider>);
 *
 *   function Todos() {
 *     const todos = useAll(app.todos.where({ done: false }).orderBy('title'));
 *     if (!todos) return <p>Loading…</p>;
 *     return <ul>{todos.map((t) => <li key={t.id}>{t.title}</li>)}</ul>;
 *   }
 *
 * Contract:
 * - `useAll(query)` is `undefined` until the first result, then every result in order, kept
 *   current (the engine's `subscribeAll`). The subscription follows the query's value: a query
 *   built anew on every render with the same table, conditions, order and limit is the same
 *   subscription (compared by its AST), so hooks need no `useMemo`. `null` or `undefined` as the
 *   query means "nothing to read yet" and gives `undefined`.
 * - `useOne(query)`: the first row or `null` (`undefined` while loading).
 * - `useSuspenseAll(query)` / `useSuspenseOne(query)`: the same, suspending until the first
 *   result (put a `<Suspense>` above). A failed query throws its error to the nearest error
 *   boundary, as the non-suspending hooks do when they render after it.
 * - `useStatus()`: the database's status (`db.status`), re-rendered when it changes; works with
 *   the page's database (`jazz-elements/browser`), which reports status.
 * - Hooks read the database from `<JazzProvider db>`; `useDb()` returns it (for writes:
 *   `useDb().insert(app.todos, …)`). Without a provider they throw a message saying so.
 */
import { createContext, createElement, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { QueryBuilder } from '../src/query/builder.ts';
import type { QueryAst } from '../src/query/ast.ts';

/**
 * What the hooks need of a database: the part of `DbContract` (src/handles.ts) they use, which the
 * page's database (`jazz-elements/browser`) and the engine's both implement; it also takes a
 * query's AST, as both do.
 */
export interface LiveDb {
  subscribeAll(query: any, callback: (update: { readonly all: readonly any[] }) => void, opts?: { onError?: (error: unknown) => void }): () => void;
}

/** What `useStatus` needs in addition: the page's database has it. */
export interface StatusDb<S = unknown> extends LiveDb {
  readonly status: S;
  onStatus(listener: (status: S) => void): () => void;
}

type Query = QueryBuilder<any, any> | QueryAst;
type RowOfQuery<Q> = Q extends QueryBuilder<infer R, any> ? R & Record<string, unknown> : Readonly<Record<string, unknown>> & { readonly id: string };

const DbContext = createContext<LiveDb | null>(null);

/** Gives the hooks below it their database. */
export function JazzProvider(props: { readonly db: LiveDb; readonly children?: ReactNode }): ReactNode {
  return createElement(DbContext.Provider, { value: props.db }, props.children);
}

/** The database of the nearest `<JazzProvider>`. */
export function useDb<D extends LiveDb = LiveDb>(): D {
  const db = useContext(DbContext);
  if (!db) throw new Error('jazz-elements/react: no database here; put <JazzProvider db={db}> above this component');
  return db as D;
}

/** Every row of the query, kept current; `undefined` until the first result. */
export function useAll<Q extends Query>(query: Q | null | undefined): readonly RowOfQuery<Q>[] | undefined {
  const live = useLive(useDb(), query);
  const state = useSyncExternalStore(live.subscribe, live.get, live.get);
  if (state.error !== undefined) throw state.error;
  return state.rows as readonly RowOfQuery<Q>[] | undefined;
}

/** The query's first row, or `null`; `undefined` until the first result. */
export function useOne<Q extends Query>(query: Q | null | undefined): RowOfQuery<Q> | null | undefined {
  const rows = useAll(query === null || query === undefined ? query : limitOne(query));
  return rows === undefined ? undefined : (rows[0] ?? null);
}

/** `useAll` that suspends until the first result. */
export function useSuspenseAll<Q extends Query>(query: Q): readonly RowOfQuery<Q>[] {
  const db = useDb();
  const live = useLive(db, query);
  const state = useSyncExternalStore(live.subscribe, live.get, live.get);
  if (state.error !== undefined) throw state.error;
  if (state.rows === undefined) throw live.first;
  return state.rows as readonly RowOfQuery<Q>[];
}

/** `useOne` that suspends until the first result. */
export function useSuspenseOne<Q extends Query>(query: Q): RowOfQuery<Q> | null {
  return useSuspenseAll(limitOne(query))[0] ?? null;
}

/** The database's status, re-rendered on every change. */
export function useStatus<S>(): S {
  const db = useDb<StatusDb<S>>();
  if (typeof db.onStatus !== 'function') throw new Error('jazz-elements/react: useStatus needs a database that reports status (createDb from jazz-elements/browser)');
  const [status, setStatus] = useState(() => db.status);
  useEffect(() => {
    setStatus(db.status);
    return db.onStatus(setStatus);
  }, [db]);
  return status;
}

// ─── one live query, shared by the components that show it ──────────────────

interface LiveState {
  readonly rows: readonly unknown[] | undefined;
  readonly error: unknown;
}

interface Live {
  readonly subscribe: (onChange: () => void) => () => void;
  readonly get: () => LiveState;
  /** Settles with the first result or error (what a suspending hook throws). */
  readonly first: Promise<void>;
}

const LOADING: LiveState = { rows: undefined, error: undefined };
/** Per database, the live queries by their AST's JSON; kept while a component uses them, and shortly after (for Suspense, which renders again after the promise settles). */
const lives = new WeakMap<LiveDb, Map<string, Live>>();

function useLive(db: LiveDb, query: Query | null | undefined): Live {
  const key = query === null || query === undefined ? '' : JSON.stringify(astOf(query));
  let byKey = lives.get(db);
  if (!byKey) lives.set(db, (byKey = new Map()));
  let live = byKey.get(key);
  if (!live) {
    live = key === '' ? idle() : follow(db, query!, () => byKey.delete(key));
    byKey.set(key, live);
  }
  return live;
}

function idle(): Live {
  return { subscribe: () => () => {}, get: () => LOADING, first: Promise.resolve() };
}

/**
 * One subscription of the database, started when asked and stopped when the last component
 * listening lets go (after a short grace, so a re-render that subscribes again reuses it).
 */
function follow(db: LiveDb, query: Query, forget: () => void): Live {
  let state: LiveState = LOADING;
  const listeners = new Set<() => void>();
  let stop: (() => void) | undefined;
  let settle: () => void = () => {};
  const first = new Promise<void>((resolve) => (settle = resolve));
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const set = (next: LiveState): void => {
    state = next;
    settle();
    for (const l of listeners) l();
  };
  const start = (): void => {
    if (stop) return;
    stop = db.subscribeAll(query, ({ all }) => set({ rows: all, error: undefined }), { onError: (error) => set({ rows: state.rows, error }) });
  };
  const release = (): void => {
    if (listeners.size > 0) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (listeners.size > 0) return;
      stop?.();
      stop = undefined;
      forget();
    }, 1000);
  };
  // A suspending hook throws `first` before any component subscribed: start now, and let go
  // if nobody comes to listen.
  start();
  release();
  return {
    subscribe(onChange) {
      clearTimeout(idleTimer);
      listeners.add(onChange);
      start();
      return () => {
        listeners.delete(onChange);
        release();
      };
    },
    get: () => state,
    first,
  };
}

function astOf(query: Query): QueryAst {
  return 'toAst' in query && typeof query.toAst === 'function' ? query.toAst() : (query as QueryAst);
}

function limitOne<Q extends Query>(query: Q): Q {
  return ('limit' in query && typeof query.limit === 'function' ? query.limit(1) : { ...(query as QueryAst), limit: 1 }) as Q;
}
