/**
 * Branches on the sync server: storing a branch's batches, judging them, and sending a branch's
 * rows to the clients reading it, under the same permissions as main.
 *
 * - **Records.** A push of branch versions carries the records of the branch's line (the branch
 *   and those it started from). A record the server lacks is stored with the batch. One name is
 *   one branch per app: a record the server has from another line refuses the batch
 *   (`BRANCH_CONFLICT`); one from the same line at another moment joins the server's branch (two
 *   people opened "draft" from main before hearing of each other), and the pusher is sent the
 *   server's record, which it adopts. A line that does not reach main, or versions on several
 *   branches in one batch, refuse it (`BRANCH_REJECTED`).
 * - **Writes.** A branch version is judged by the user's write rules against the row as it reads on
 *   that branch before and after it (insert, update, delete as on main). Authors are checked as on
 *   main (batches.ts).
 * - **Reads: a branch never shows a row its reader cannot read on main.** A row of a branch is sent
 *   only while (a) the row as it reads on the branch passes the user's read rule and (b) if the row
 *   exists on main, the row as it reads on main passes it too. Its versions go through the same
 *   per-version gate as main's (read-gate.ts `versionFor`), against the state they are read in.
 * - **Subscriptions.** A subscription on a branch is the main subscription of the query (the rows
 *   main had at the fork come through it) plus, once, every row of the query's tables (includes
 *   too) that the branch's line touched and the user may read; from then on new versions of the
 *   branch's rows of those tables are sent to it as they arrive. It does not filter branch rows by
 *   the query's `where` (it sends more rows than the query needs, never fewer: branches are small
 *   next to main). A row of the branch that leaves the user's scope is not sent any more; the
 *   client is not told to drop what it has of it (main's `drop` covers rows of main): that is left
 *   for later, and said here.
 */
import { MAIN, type Engine } from '../src/engine/engine.ts';
import { mergeAll } from '../src/history/history.ts';
import { branchLine, readBranch, versionsOn, type BranchInfo } from '../src/history/branches.ts';
import { tablesOf } from '../src/history/as-of.ts';
import { metaKey } from '../src/engine/keyspace.ts';
import { mergeVersion, type RowVersion, type VisibleState } from '../src/rows/version.ts';
import type { QueryAst } from '../src/query/ast.ts';
import type { WireBranch, WireVersion } from '../src/sync/protocol.ts';
import type { AppState } from './apps.ts';
import type { Conn } from './connection.ts';
import { rowOf, sendVersions, versionFor } from './read-gate.ts';

type Items = readonly { table: string; version: RowVersion }[];

/** Why a branch batch is refused: `code` is the rejection's code (`BRANCH_CONFLICT`, `BRANCH_REJECTED`). */
export class BranchRefusal extends Error {
  readonly code: 'BRANCH_CONFLICT' | 'BRANCH_REJECTED';
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: 'BRANCH_CONFLICT' | 'BRANCH_REJECTED', message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/**
 * The branch a batch is written on (main when none), after checking its records against the
 * server's: returns the records to store, or throws `BRANCH_CONFLICT` / `BRANCH_REJECTED`.
 */
export function branchOfBatch(engine: Engine, items: Items, records: readonly WireBranch[] | undefined): { branch: string; store: BranchInfo[]; moved: boolean } {
  const branch = items[0]?.version.branch ?? MAIN;
  let moved = false;
  if (items.some((i) => i.version.branch !== branch)) throw new BranchRefusal('BRANCH_REJECTED', 'every version of a batch must be on the same branch');
  if (branch === MAIN) return { branch, store: [], moved };
  const byName = new Map((records ?? []).map((r) => [r.name, r]));
  const store: BranchInfo[] = [];
  // Walk the line from the batch's branch back to main, with the records sent or those stored.
  for (let name = branch, steps = 0; name !== MAIN; steps++) {
    if (steps > 100) throw new BranchRefusal('BRANCH_REJECTED', `branch "${branch}" starts from a loop of branches`);
    const sent = byName.get(name);
    const here = readBranch(engine, name);
    if (here && sent && here.from !== sent.from) {
      throw new BranchRefusal('BRANCH_CONFLICT', `branch "${name}" exists on the server, started from "${here.from}"; this one started from "${sent.from}": name it differently`, { branch: name });
    }
    if (here && sent && here.at !== sent.at) moved = true;
    const rec = here ?? sent;
    if (!rec) throw new BranchRefusal('BRANCH_REJECTED', `the batch is on branch "${branch}", but the server has no record of branch "${name}" and the batch does not carry it`, { branch: name });
    if (!here) store.push({ name: rec.name, from: rec.from, at: Math.floor(rec.at) });
    name = rec.from;
  }
  return { branch, store, moved };
}

/** Removes records stored (`putBranches`) for a batch that was then refused. */
export function dropBranches(engine: Engine, records: readonly BranchInfo[]): void {
  if (records.length === 0) return;
  const tx = engine.store.transaction();
  for (const r of records) tx.delete(metaKey('branch', r.name));
  tx.commit().catch(() => {});
}

/** How a row reads on a branch (undefined: the branch's line has no version of it). */
function stateOnBranch(engine: Engine, table: string, rowId: string, branch: string): VisibleState | undefined {
  const t = engine.table(table);
  return mergeAll(t.cat, versionsOn(engine, t, rowId, branch));
}

/**
 * A batch's branch versions judged by the user's write rules against the row as it reads on the
 * branch: the first refusal, or undefined.
 */
export function deniedBranchWrites(conn: Conn, engine: Engine, branch: string, items: Items): string | undefined {
  const policy = conn.policy!;
  if (policy.unrestricted) return undefined;
  const overlay = new Map<string, VisibleState | undefined>();
  for (const { table, version: v } of items) {
    if (engine.hasVersion(table, v.rowId, v.versionId)) continue; // judged when it was first stored
    const key = `${table}\u0000${v.rowId}`;
    const before = overlay.has(key) ? overlay.get(key) : stateOnBranch(engine, table, v.rowId, branch);
    const after = mergeVersion(engine.table(table).cat, before, v, () => false).state;
    overlay.set(key, after);
    const was = before && !before.deleted ? rowOf(v.rowId, before) : undefined;
    const now = !after.deleted ? rowOf(v.rowId, after) : undefined;
    if (!before) {
      if (!policy.canInsert(table, rowOf(v.rowId, after))) return `${table}: insert denied on branch "${branch}" (no allowInsert rule matches the new row ${v.rowId})`;
    } else if (was && !now) {
      if (!policy.canDelete(table, was)) return `${table}: delete denied on branch "${branch}" (no allowDelete rule matches row ${v.rowId})`;
    } else if (!policy.canUpdate(table, rowOf(v.rowId, before), rowOf(v.rowId, after))) {
      return `${table}: update denied on branch "${branch}" (no allowUpdate rule matches row ${v.rowId} before and after)`;
    }
  }
  return undefined;
}

/**
 * Every version of a row on a branch's line as the connection may receive it (but those in
 * `skip`), or undefined when it may not read the row there (see the top: main's rule too).
 */
export function branchHistoryFor(conn: Conn, branch: string, table: string, rowId: string, skip?: ReadonlySet<string>): WireVersion[] | undefined {
  const engine = conn.app.engine!;
  const t = engine.tables.get(table);
  if (!t) return undefined;
  const policy = conn.policy!;
  const onMain = engine.getVisibleState(t, rowId);
  if (onMain && !policy.canRead(table, rowOf(rowId, onMain))) return undefined;
  const line = versionsOn(engine, t, rowId, branch);
  const state = mergeAll(t.cat, line);
  if (!state || !policy.canRead(table, rowOf(rowId, state))) return undefined;
  const out: WireVersion[] = [];
  for (const v of line) {
    if (skip?.has(v.versionId)) continue;
    // Main's versions as main's gate sends them; the branch's against the row on the branch.
    out.push(versionFor(conn, engine, table, v, v.branch === MAIN && onMain ? onMain : state));
  }
  return out;
}

/** What a connection reads on branches: per subscription, the branch and the tables it reads. */
export interface BranchSub {
  readonly branch: string;
  readonly tables: ReadonlySet<string>;
}

/**
 * A subscription on `branch` (query in internal names): the rows the branch's line touched in
 * the query's tables, as the connection may read them. Returns the versions to send.
 */
export function branchRowsFor(conn: Conn, branch: string, query: QueryAst): WireVersion[] {
  const engine = conn.app.engine!;
  if (!readBranch(engine, branch)) return []; // nobody wrote on it yet: main's rows are all it has
  const out: WireVersion[] = [];
  const names = branchLine(engine, branch).map((b) => b.name);
  for (const table of tablesOf(query)) {
    const ids = new Set(names.flatMap((n) => engine.branchRows(n, table)));
    for (const id of ids) out.push(...(branchHistoryFor(conn, branch, table, id) ?? []));
  }
  return out;
}

/** The records a connection needs with versions of `branch`: its line. */
export function recordsOf(engine: Engine, branch: string): WireBranch[] {
  return readBranch(engine, branch) ? branchLine(engine, branch) : [];
}

/**
 * New versions of a branch reached the server: each connection reading that branch (or one that
 * started from it) on their tables gets the rows they changed, through the gate. The pusher gets
 * the rest of the rows' histories (it may have written on an older state).
 */
export function fanOutBranch(app: AppState, pusher: Conn | undefined, branch: string, fresh: Items, pushed: ReadonlySet<string>): void {
  const engine = app.engine!;
  const rows = new Map<string, { table: string; rowId: string }>();
  for (const { table, version } of fresh) rows.set(`${table}\u0000${version.rowId}`, { table, rowId: version.rowId });
  for (const conn of app.conns) {
    if (!conn.ready || !conn.policy) continue;
    let readers = readersOf(engine, conn, branch);
    // The pusher gets its rows' histories on the branch it wrote on, reading it or not.
    if (conn === pusher && readers.length === 0) readers = [{ branch, tables: new Set() }];
    for (const b of readers) {
      const out: WireVersion[] = [];
      for (const { table, rowId } of rows.values()) {
        if (conn !== pusher && !b.tables.has(table)) continue;
        out.push(...(branchHistoryFor(conn, b.branch, table, rowId, conn === pusher ? pushed : undefined) ?? []));
      }
      sendBranchVersions(conn, b.branch, out);
    }
  }
}

/** The connection's branch subscriptions that read `branch`'s versions (on it, or on a branch started from it). */
function readersOf(engine: Engine, conn: Conn, branch: string): BranchSub[] {
  const out = new Map<string, { branch: string; tables: Set<string> }>();
  for (const s of conn.branchSubs.values()) {
    if (s.branch !== branch && !(readBranch(engine, s.branch) && branchLine(engine, s.branch).some((b) => b.name === branch))) continue;
    let e = out.get(s.branch);
    if (!e) out.set(s.branch, (e = { branch: s.branch, tables: new Set() }));
    for (const t of s.tables) e.tables.add(t);
  }
  return [...out.values()];
}

/** Registers a subscription on a branch, with the tables it reads (internal names). */
export function watchBranch(conn: Conn, id: number, branch: string, query: QueryAst): void {
  conn.branchSubs.set(id, { branch, tables: tablesOf(query) });
}

/**
 * Sends versions of a branch's line with the line's records (read-gate.ts frames them). `always`:
 * the records go even with no versions (a new subscription on the branch learns where it starts).
 */
export function sendBranchVersions(conn: Conn, branch: string, versions: readonly WireVersion[], always = false): void {
  const records = recordsOf(conn.app.engine!, branch);
  if (versions.length === 0) {
    if (always && records.length > 0) conn.send({ t: 'versions', versions: [], branches: records });
    return;
  }
  sendVersions(conn, versions, records);
}
