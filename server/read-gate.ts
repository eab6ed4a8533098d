/**
 * What a connection may receive: the one gate every row version passes on its way from the server
 * to a client. Subscription results and their changes, the history sent after a push, the rows
 * resent after a `have` digest differs, versions forwarded to the rows' holders and accepted
 * transactions all go through `historyFor` / `versionFor`, which ask the user's read rule at that
 * moment: never from a cached verdict, and never skipped because the client already knows a
 * version (a client can claim anything).
 *
 * The rule, for a user whose permissions restrict reads (admin and peer sessions, and apps without
 * permissions, receive everything):
 * - A row is sent only while its current state passes the read rule. Otherwise the client gets
 *   nothing of it (and, if it held the row, `drop`: holdings.ts and the callers).
 * - Each version of the row is sent whole when the row as that version wrote it (its snapshot)
 *   passes the read rule too, or when it is the current row. A version written while the row was
 *   out of the user's scope (someone else's data: another tenant's title, a note before it was
 *   shared) is sent with only the fields it still decides in the current row, whose values the
 *   user reads in the row anyway; its other fields are left out (not marked as changed, no value).
 * - Every version id is sent, so the client holds the same set of versions as the server: the same
 *   digest (anti-entropy settles), the same heads, the same visible row byte for byte, because the
 *   winner of every field is there. Only the history of the row before it entered the user's scope
 *   is partial, which is the point.
 */
import type { Engine, TableRuntime } from '../src/engine/engine.ts';
import { sysValues, valuesEqual, type RowVersion, type VisibleState } from '../src/rows/version.ts';
import type { RowObject } from '../src/rows/row-codec.ts';
import type { WireBranch, WireVersion } from '../src/sync/protocol.ts';
import { encodedSize } from '../src/sync/codec.ts';
import { DELETED_FIELD, toWire } from '../src/sync/versions.ts';
import type { AppState } from './apps.ts';
import type { Conn } from './connection.ts';
import { holdersOf, unhold } from './holdings.ts';

/** A visible state as a row object with its system fields, for permission checks. */
export function rowOf(id: string, state: VisibleState): RowObject {
  return { id, ...state.values, ...sysValues(state) } as RowObject;
}

/**
 * Whether the connection may read the row now: `readable` with its current state, `denied`, or
 * `unknown` (the server has no version of it).
 */
export function readVerdict(conn: Conn, table: string, rowId: string): { readonly verdict: 'readable'; readonly state: VisibleState } | { readonly verdict: 'denied' | 'unknown' } {
  const engine = conn.app.engine!;
  const t = engine.tables.get(table);
  const state = t && engine.getVisibleState(t, rowId);
  if (!state) return { verdict: 'unknown' };
  return conn.policy!.canRead(table, rowOf(rowId, state)) ? { verdict: 'readable', state } : { verdict: 'denied' };
}

/**
 * Every version of the row as this connection may receive it (but those in `skip`), or undefined
 * when it may not read the row now or the row is unknown.
 */
export function historyFor(conn: Conn, table: string, rowId: string, skip?: ReadonlySet<string>): WireVersion[] | undefined {
  const v = readVerdict(conn, table, rowId);
  if (v.verdict !== 'readable') return undefined;
  const engine = conn.app.engine!;
  const out: WireVersion[] = [];
  for (const version of engine.rowVersions(table, rowId)) {
    if (!skip?.has(version.versionId)) out.push(versionFor(conn, engine, table, version, v.state));
  }
  return out;
}

/**
 * One version of a row whose current state (`state`) the connection may read, as it may receive
 * it: whole, or with only the fields it decides in the current row (see the top of the file).
 */
export function versionFor(conn: Conn, engine: Engine, table: string, version: RowVersion, state: VisibleState): WireVersion {
  // In the client's schema version's names and columns (its view).
  const wire = toWire(engine, table, version, conn.view);
  const policy = conn.policy!;
  if (policy.unrestricted) return wire;
  const t = engine.table(table);
  // The row as the version wrote it: its columns, created as the row was, updated by this version.
  const snapshot = { id: version.rowId, ...version.values, ...sysValues({ created: state.created, updated: { ts: version.ts, vid: version.versionId, author: version.author } }) } as RowObject;
  if (isCurrent(t, version, state) || policy.canRead(table, snapshot)) return wire;
  const decides = new Set<string>();
  for (const c of conn.view!.ofInternal(table)!.columns) if (state.stamps[c.col.no]?.vid === version.versionId) decides.add(c.name);
  const values: Record<string, unknown> = {};
  for (const name of decides) if (wire.values[name] !== undefined) values[name] = wire.values[name];
  return { ...wire, changed: wire.changed.filter((f) => f === DELETED_FIELD || decides.has(f)), values };
}

/** Tells the client to forget rows (given in internal names), in its version's names. */
export function sendDrop(conn: Conn, rows: readonly (readonly [string, string])[]): void {
  const out: [string, string][] = [];
  for (const [table, id] of rows) {
    const name = conn.view?.tableName(table);
    if (name !== undefined) out.push([name, id]);
  }
  if (out.length) conn.send({ t: 'drop', rows: out });
}

/** Whether the version's snapshot is the current row (a row's only version is, and often its newest). */
function isCurrent(t: TableRuntime, version: RowVersion, state: VisibleState): boolean {
  for (const c of t.cat.columns) if (!valuesEqual(version.values[c.name] ?? null, state.values[c.name] ?? null)) return false;
  return true;
}

/** Versions per frame, and bytes per frame (a larger version goes alone). */
const VERSIONS_PER_FRAME = 2000;
const FRAME_BYTES = 1 << 20;

/**
 * Sends versions in frames of at most 2,000 versions and about 1 MiB (a larger version alone);
 * versions of a branch go with the records of its line (`branches`, in every frame).
 */
export function sendVersions(conn: Conn, versions: readonly WireVersion[], branches?: readonly WireBranch[]): void {
  const extra = branches && branches.length > 0 ? { branches } : {};
  let frame: WireVersion[] = [];
  let bytes = 0;
  for (const v of versions) {
    const n = encodedSize(v);
    if (frame.length > 0 && (bytes + n > FRAME_BYTES || frame.length >= VERSIONS_PER_FRAME)) {
      conn.send({ t: 'versions', versions: frame, ...extra });
      frame = [];
      bytes = 0;
    }
    frame.push(v);
    bytes += n;
  }
  if (frame.length > 0) conn.send({ t: 'versions', versions: frame, ...extra });
}

/** New versions of main to every connection (but `pusher`) that holds their rows: the versions, or `drop` when a row left its scope. */
export function fanOutToHolders(app: AppState, engine: Engine, fresh: readonly { readonly table: string; readonly version: RowVersion }[], pusher: Conn | undefined): void {
  const perConn = new Map<Conn, WireVersion[]>();
  const drops = new Map<Conn, [string, string][]>();
  for (const { table, version } of fresh) {
    const holders = holdersOf(app, table, version.rowId);
    if (!holders) continue;
    for (const other of [...holders]) {
      if (other === pusher) continue;
      const v = readVerdict(other, table, version.rowId);
      if (v.verdict !== 'readable') {
        // The row left this user's scope: tell them to forget it, and stop sending it.
        unhold(other, table, version.rowId);
        let d = drops.get(other);
        if (!d) drops.set(other, (d = []));
        d.push([table, version.rowId]);
        continue;
      }
      let list = perConn.get(other);
      if (!list) perConn.set(other, (list = []));
      list.push(versionFor(other, engine, table, version, v.state));
    }
  }
  for (const [other, list] of perConn) sendVersions(other, list);
  for (const [other, rows] of drops) sendDrop(other, rows);
}
