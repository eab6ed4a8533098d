/**
 * Subscriptions on the sync server: each is a live query on the app's engine, with the user's read
 * rule added at every level (includes too). When its result gains rows, or rows in it change, the
 * rows the client does not hold yet are sent (their histories, through the read gate) and held from
 * then on; held rows get later versions from the batches (batches.ts).
 *
 * A subscription's `have` lists the rows the client holds for the query, with the digest of their
 * versions: rows whose digest differs from the server's are sent again (this is how a client that
 * was away learns what it missed), rows it may no longer read are dropped, and all of them are
 * held from then on, matching or not.
 *
 * A query the server will not run (invalid here, or one too many) gets an `error` frame naming
 * the subscription (`sub`); the connection stays open.
 *
 * A subscription that names a branch also gets that branch's rows (branch-sync.ts).
 *
 * On an edge (edge.ts) each query is also subscribed upstream: the first result settles at `edge`
 * from the edge's store, then at `global` once the upstream's first result arrived.
 *
 * Queries, `have` entries and drops are in the client's schema version (its connection's view);
 * the graphs run in the engine's names.
 */
import { buildGraph } from '../src/query/graph.ts';
import { checkQuery } from '../src/query/validate.ts';
import type { QueryAst } from '../src/query/ast.ts';
import type { OutRow } from '../src/query/ivm/view.ts';
import type { ClientMessage, WireVersion } from '../src/sync/protocol.ts';
import { JazzError } from '../src/util/errors.ts';
import type { AppState } from './apps.ts';
import type { Conn, ServerSub } from './connection.ts';
import type { ServerContext } from './context.ts';
import { hold, holdingOf, holds, unhold } from './holdings.ts';
import { historyFor, readVerdict, sendDrop, sendVersions } from './read-gate.ts';
import { branchRowsFor, sendBranchVersions, watchBranch } from './branch-sync.ts';

type SubMessage = Extract<ClientMessage, { t: 'sub' }>;

export function handleSub(ctx: ServerContext, conn: Conn, msg: SubMessage): void {
  const engine = conn.app.engine!;
  stop(conn.subs.get(msg.id));
  conn.branchSubs.delete(msg.id);
  if (!conn.subs.has(msg.id) && conn.subs.size >= ctx.maxSubscriptions) {
    conn.send({ t: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', message: `subscription ${msg.id}: at most ${ctx.maxSubscriptions} subscriptions per connection`, sub: msg.id });
    return;
  }
  const view = conn.view!;
  let query: QueryAst;
  try {
    // Written in the client's schema version; run in the engine's names.
    checkQuery(view.schema, msg.query);
    query = view.query(msg.query);
  } catch (e) {
    conn.send({ t: 'error', code: e instanceof JazzError ? e.code : 'QUERY_INVALID', message: `subscription ${msg.id}: ${e instanceof Error ? e.message : String(e)}`, sub: msg.id });
    return;
  }
  const build = () =>
    buildGraph(engine, query, {
      attach: true,
      readFilter: (t) => conn.policy!.readFilter(t),
      readFilterSys: (t) => conn.policy!.readsSystemFields(t),
      onChange: () => {
        if (sub.scheduled) return;
        sub.scheduled = true;
        engine.schedule(flush);
      },
    });
  const sub: ServerSub = { graph: undefined as never, query, first: true, scheduled: false };
  const flush = () => {
    sub.scheduled = false;
    if (conn.subs.get(msg.id) !== sub) return;
    const result = sub.graph.view;
    const out: WireVersion[] = [];
    if (sub.first) {
      result.clearDelta();
      collect(ctx, conn, query, result.all, out);
    } else {
      const d = result.takeDelta();
      collect(ctx, conn, query, [...d.added, ...d.changed], out);
    }
    sendVersions(conn, out);
    if (sub.first && msg.branch !== undefined) {
      // On a branch: the rows its line touched, and their new versions from now on (branch-sync.ts).
      watchBranch(conn, msg.id, msg.branch, query);
      sendBranchVersions(conn, msg.branch, branchRowsFor(conn, msg.branch, query), true);
    }
    if (sub.first) {
      sub.first = false;
      // An edge has its store's rows now, and the authority's once its upstream subscription settled.
      conn.send({ t: 'settled', id: msg.id, tier: sub.upstream ? 'edge' : 'global' });
      // The upstream refused the query (one too many for it): a reader waiting for global is told.
      sub.upstream?.settled.then(
        () => {
          if (conn.subs.get(msg.id) === sub) conn.send({ t: 'settled', id: msg.id, tier: 'global' });
        },
        (e: unknown) => {
          const code = e instanceof JazzError ? e.code : 'INTERNAL';
          if (conn.subs.get(msg.id) === sub) conn.send({ t: 'error', code, message: `subscription ${msg.id}: the upstream refused it (${e instanceof Error ? e.message : String(e)})`, sub: msg.id });
        },
      );
    }
  };
  sub.graph = build();
  // Permissions depending on other rows changed: run the query again; rows the client lacks are
  // sent as at the start.
  sub.restart = () => {
    sub.graph.destroy();
    sub.graph = build();
    sub.graph.view.clearDelta();
    const out: WireVersion[] = [];
    collect(ctx, conn, query, sub.graph.view.all, out);
    sendVersions(conn, out);
  };
  conn.subs.set(msg.id, sub);
  if (ctx.edge) sub.upstream = ctx.edge.watch(conn.app, query, msg.branch);
  // Rows the client already holds: keep them up to date from now on, and resend those whose
  // versions differ from ours (this is how a returning client learns what it missed).
  const stale: WireVersion[] = [];
  const gone: [string, string][] = [];
  for (const [name, rowId, digest] of msg.have) {
    const table = view.tables.get(name)?.table.name;
    if (table === undefined) continue;
    const v = readVerdict(conn, table, rowId);
    if (v.verdict === 'denied') {
      unhold(conn, table, rowId);
      gone.push([table, rowId]);
      continue;
    }
    hold(conn, table, rowId, ctx.maxHeldRows);
    if (v.verdict === 'readable' && engine.rowDigest(table, rowId) !== digest) stale.push(...(historyFor(conn, table, rowId) ?? []));
  }
  sendDrop(conn, gone);
  sendVersions(conn, stale);
  sub.scheduled = true;
  engine.schedule(flush);
}

export function handleUnsub(conn: Conn, id: number): void {
  stop(conn.subs.get(id));
  conn.subs.delete(id);
  conn.branchSubs.delete(id);
}

/** Stops every subscription of a connection (it went away). */
export function stopAll(conn: Conn): void {
  for (const s of conn.subs.values()) stop(s);
  conn.subs.clear();
  conn.branchSubs.clear();
}

/** Ends a subscription's live query, and on an edge its share of the upstream subscription. */
function stop(sub: ServerSub | undefined): void {
  sub?.graph.destroy();
  sub?.upstream?.release();
}

/** Rows of a result (and of its includes) the connection does not hold yet: their histories, through the read gate. */
function collect(ctx: ServerContext, conn: Conn, q: QueryAst, rows: readonly OutRow[], out: WireVersion[]): void {
  for (const row of rows) {
    if (!holds(conn, q.table, row.id)) {
      // Held only once the gate let it through: a row the rule refuses at this moment is not sent.
      const history = historyFor(conn, q.table, row.id);
      if (history && hold(conn, q.table, row.id, ctx.maxHeldRows)) out.push(...history);
    }
    for (const [name, inc] of Object.entries(q.include ?? {})) {
      const nested = row[name];
      const list = Array.isArray(nested) ? (nested as OutRow[]) : nested ? [nested as OutRow] : [];
      collect(ctx, conn, inc.query, list, out);
    }
  }
}

/**
 * Rows of other tables changed: for connections whose read rules depend on them, drop held rows
 * that left the scope and rerun subscriptions on the affected tables (rows may have entered it).
 */
export function recheckDependents(app: AppState, changed: ReadonlySet<string>): void {
  for (const conn of app.conns) {
    if (!conn.deps || conn.deps.size === 0) continue;
    const affected = new Set<string>();
    for (const t of changed) for (const x of conn.deps.get(t) ?? []) affected.add(x);
    if (affected.size === 0) continue;
    const gone: [string, string][] = [];
    // Only reads: the verdict on a file is taken once for all of its held parts.
    conn.policy!.readOnly(() => {
      for (const k of [...conn.holds]) {
        const [table, rowId] = holdingOf(k);
        if (!affected.has(table)) continue;
        if (readVerdict(conn, table, rowId).verdict === 'denied') gone.push([table, rowId]);
      }
    });
    for (const [table, rowId] of gone) unhold(conn, table, rowId);
    sendDrop(conn, gone);
    for (const sub of conn.subs.values()) if (touches(sub.query, affected)) sub.restart?.();
  }
}

/** Whether a query reads any of these tables (at any include depth). */
function touches(q: QueryAst, tables: ReadonlySet<string>): boolean {
  return tables.has(q.table) || Object.values(q.include ?? {}).some((i) => touches(i.query, tables));
}
