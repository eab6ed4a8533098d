/**
 * The messages between the browser bench page and its SQLite-WASM worker (sqlite.worker.ts): one
 * request, one answer with the same `id`. Errors come back as text (`ok: false`).
 */
import type { TodoRow } from '../rows.ts';
import type { ShownRow } from './queries.ts';

/** A todo as SQLite stores it (its id given by the engine's load, so every system has the same ids). */
export type SqliteTodo = TodoRow & { readonly id: string };

export type SqliteRequest =
  /** Opens (creating with `fresh`) the database file; answers the settings in force. */
  | { readonly op: 'open'; readonly fresh: boolean }
  | { readonly op: 'projects'; readonly projects: readonly { id: string; name: string }[] }
  /** One transaction inserting `rows`. */
  | { readonly op: 'insert'; readonly rows: readonly SqliteTodo[] }
  /** One transaction of updates; with `requery`, then the 20 queries again (answers their results). */
  | { readonly op: 'update'; readonly updates: readonly { id: string; set: Partial<TodoRow> }[]; readonly requery: boolean }
  | { readonly op: 'get'; readonly id: string }
  | { readonly op: 'range'; readonly lo: number; readonly hi: number }
  /** The 20 queries of queries.ts (or the ones given by `define`). */
  | { readonly op: 'queries' }
  /** Other queries in place of queries.ts's for `queries` and `update … requery` (the DOM bench's 20 lists). */
  | { readonly op: 'define'; readonly queries: readonly SqlQuery[] }
  /** One query, once. */
  | { readonly op: 'select'; readonly query: SqlQuery }
  /** The first 50 rows by title (P5). */
  | { readonly op: 'first50' }
  | { readonly op: 'close' };

/** A SELECT and its bound values. */
export interface SqlQuery {
  readonly sql: string;
  readonly bind: readonly unknown[];
}

export interface SqliteSettings {
  readonly version: string;
  readonly vfs: string;
  readonly journalMode: string;
  readonly synchronous: number;
}

/** What each request answers. */
export interface SqliteAnswers {
  open: SqliteSettings;
  projects: null;
  insert: null;
  update: ShownRow[][] | null;
  get: SqliteTodo | null;
  range: number;
  queries: ShownRow[][];
  define: null;
  select: any[];
  first50: ShownRow[];
  close: null;
}

export type SqliteMessage = SqliteRequest & { readonly seq: number };
export type SqliteReply = { readonly seq: number; readonly ok: true; readonly value: unknown } | { readonly seq: number; readonly ok: false; readonly error: string };
