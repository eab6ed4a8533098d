/**
 * The 20 queries of the browser bench (bench/browser.ts), as data: every system under test (the
 * engine, Dexie, SQLite-WASM, TanStack DB) builds its own form of each from this list, so all of
 * them answer the same questions over the same rows. Each is a filter, an order and a limit of 50,
 * with the project of every row (one include / join).
 */

/** One query: which rows, in which order. */
export type QuerySpec =
  /** Project `project`'s rows with `done = false`, by title. */
  | { readonly kind: 'project'; readonly project: number }
  /** Rows with `priority >= min`, by due, latest first. */
  | { readonly kind: 'priorityAtLeast'; readonly min: number }
  /** Rows with `priority = priority` and `done = done`, by title. */
  | { readonly kind: 'priorityDone'; readonly priority: number; readonly done: boolean };

export const LIMIT = 50;

export const QUERIES: readonly QuerySpec[] = [
  ...Array.from({ length: 10 }, (_, project) => ({ kind: 'project', project }) as const),
  ...Array.from({ length: 5 }, (_, i) => ({ kind: 'priorityAtLeast', min: i * 2 }) as const),
  ...Array.from({ length: 5 }, (_, i) => ({ kind: 'priorityDone', priority: i, done: i % 2 === 0 }) as const),
];

/** A row as every system returns it: its id and title at least (the include differs in shape). */
export interface ShownRow {
  readonly id: string;
  readonly title: string;
}
