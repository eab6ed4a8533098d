/**
 * The incremental query graph. Rows flow through operators two ways:
 * - `fetch` pulls rows from upstream in the query's order, optionally starting at a row; used to
 *   hydrate a query and to refill a window when a row leaves it.
 * - `push` sends a change downstream as it happens; each operator turns the change into the
 *   changes of its own output, touching only what the change concerns.
 * Operators key rows by id and tolerate a change they have already seen through a fetch (a refill
 * may read a row's new state before that row's own change arrives), so the graph stays correct
 * whatever order the changes of one batch arrive in.
 */
import type { RowObject } from '../../rows/row-codec.ts';

export type Row = RowObject;

export type Change = { readonly type: 'add'; readonly row: Row } | { readonly type: 'remove'; readonly row: Row } | { readonly type: 'edit'; readonly old: Row; readonly row: Row };

/** Where to start a fetch: at a row (inclusive) or just after it. */
export interface Start {
  readonly row: Row;
  readonly exclusive: boolean;
}

export interface Input {
  /** Rows in query order from `start` on. The iterator may be abandoned early. */
  fetch(start?: Start): Iterable<Row>;
  setOutput(output: Output): void;
  destroy(): void;
}

export interface Output {
  push(change: Change): void;
}
