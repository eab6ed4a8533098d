/**
 * Which connections hold which rows. A connection holds a row once the server has sent it (or the
 * client said it has it, in a subscription's `have`); new versions of a held row are forwarded to
 * it, through the read gate (read-gate.ts), until it no longer may read the row (then it gets
 * `drop`) or goes away. The index runs both ways: `conn.holds` and `app.holders`.
 *
 * A connection may hold at most `max` rows (bounding the server's memory per client): past that
 * it is closed with `TOO_MANY_ROWS`.
 */
import { CloseCode } from '../src/sync/protocol.ts';
import type { AppState } from './apps.ts';
import type { Conn } from './connection.ts';

function key(table: string, rowId: string): string {
  return `${table}\u0000${rowId}`;
}

/** Splits a holding key back into its table and row id. */
export function holdingOf(k: string): [table: string, rowId: string] {
  return k.split('\u0000') as [string, string];
}

export function holds(conn: Conn, table: string, rowId: string): boolean {
  return conn.holds.has(key(table, rowId));
}

/** The connections holding a row. */
export function holdersOf(app: AppState, table: string, rowId: string): ReadonlySet<Conn> | undefined {
  return app.holders.get(key(table, rowId));
}

/** Marks the row held; false when it already was (or the connection is over its limit and was closed). */
export function hold(conn: Conn, table: string, rowId: string, max: number): boolean {
  const k = key(table, rowId);
  if (conn.holds.has(k)) return false;
  if (conn.holds.size >= max) {
    conn.fail(CloseCode.tooLarge, 'TOO_MANY_ROWS', `a connection may hold at most ${max} rows; subscribe to narrower queries`);
    return false;
  }
  conn.holds.add(k);
  let set = conn.app.holders.get(k);
  if (!set) conn.app.holders.set(k, (set = new Set()));
  set.add(conn);
  return true;
}

export function unhold(conn: Conn, table: string, rowId: string): void {
  const k = key(table, rowId);
  conn.holds.delete(k);
  const set = conn.app.holders.get(k);
  set?.delete(conn);
  if (set && set.size === 0) conn.app.holders.delete(k);
}

/** Forgets everything the connection held (it went away). */
export function releaseAll(conn: Conn): void {
  for (const k of conn.holds) {
    const set = conn.app.holders.get(k);
    set?.delete(conn);
    if (set && set.size === 0) conn.app.holders.delete(k);
  }
  conn.holds.clear();
}
