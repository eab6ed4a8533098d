/**
 * Batches and transactions pushed by clients: checked, applied whole or refused whole, fanned out.
 *
 * - A batch is read against the schema (unknown tables or columns, values of the wrong type, too
 *   many versions of one row: refused with that check's code), judged by the user's write rules
 *   (`PERMISSION_DENIED`), applied in one store transaction, and acknowledged once durable.
 * - Durable means what the server store says (server-store.ts). On files, the engine's commit. On
 *   PostgreSQL (`logsBatches`), the batch is logged there first and applied only after its COMMIT;
 *   an app's batches are then handled one at a time (checked, logged, applied), so each is judged
 *   against a state that includes the ones before it. With several nodes, one that is behind the
 *   log is told so by the log (`NodeBehind`: nothing written), catches up and judges the batch
 *   again; batches other nodes accepted are applied here as a peer's and fanned out
 *   (`applyRemote`).
 * - Nothing a batch carries can make the server fail the connection: an unexpected error while
 *   handling one refuses that batch with `INTERNAL` (its stack logged once a minute at most), so
 *   the client undoes it and its later batches go through. Only a store that cannot write
 *   (`STORAGE_*`) is not the batch's fault: the connection is closed with `STORAGE` and the client
 *   keeps the batch and retries later, as it does when the server is down.
 * - A version the server already stores is not applied again and not judged again (it was judged
 *   when it was first stored): a batch whose versions are all stored is acknowledged again. That
 *   is how a client whose acknowledgement was lost learns its batch's fate.
 * - After a batch, the pusher holds the rows it wrote, if it may read them now: it gets the rest of
 *   their histories (it may have written offline on top of an older state); rows it may not read
 *   (any more) it is told to drop, after the acknowledgement (a transaction's writer applies its
 *   versions only then). Every other holder of a row gets the new versions, or `drop`
 *   when the row left its scope. All of it through the read gate (read-gate.ts).
 * - A transaction is a batch the authority accepts only if what it read is unchanged: the digest
 *   of every row it read, and the ids of every query's result (re-run with the user's read rules).
 *   Messages of a connection are handled in order and the server is single-threaded, so of several
 *   conflicting transactions exactly one is accepted.
 */
import type { Engine } from '../src/engine/engine.ts';
import type { RowVersion } from '../src/rows/version.ts';
import { buildGraph } from '../src/query/graph.ts';
import { checkQuery } from '../src/query/validate.ts';
import type { ClientMessage, HaveEntry, TxnQuery, WireErrorCode, WireVersion } from '../src/sync/protocol.ts';
import { CloseCode } from '../src/sync/protocol.ts';
import { fromWire } from '../src/sync/versions.ts';
import { JazzError } from '../src/util/errors.ts';
import type { Conn } from './connection.ts';
import type { ServerContext } from './context.ts';
import { hold, unhold } from './holdings.ts';
import { fanOutToHolders, historyFor, readVerdict, rowOf, sendDrop, sendVersions } from './read-gate.ts';
import { recheckDependents } from './subscriptions.ts';
import { BranchRefusal, branchOfBatch, deniedBranchWrites, dropBranches, fanOutBranch, sendBranchVersions } from './branch-sync.ts';
import { putBranches, type BranchInfo } from '../src/history/branches.ts';
import { MAIN } from '../src/engine/engine.ts';
import { carryOver, NodeBehind } from './pg-store.ts';
import type { AppState } from './apps.ts';
import { deletedParts, forgetParts } from './file-log.ts';

type Items = { table: string; version: RowVersion }[];
type PushMessage = Extract<ClientMessage, { t: 'push' }>;
type TxnMessage = Extract<ClientMessage, { t: 'txn' }>;

/**
 * Merging many versions of one row out of order costs the square of their number (each looks for
 * its children in the row's history); one batch may carry at most this many per row.
 */
const MAX_VERSIONS_PER_ROW = 256;

export function handlePush(ctx: ServerContext, conn: Conn, msg: PushMessage): void | Promise<void> {
  return oneAtATime(ctx, conn, msg.batchId, () =>
    contained(ctx, conn, msg.batchId, 'push', () => {
      const engine = conn.app.engine!;
      const items = readBatch(ctx, conn, engine, msg.batchId, msg.versions);
      if (!items) return;
      let line: { branch: string; store: BranchInfo[]; moved: boolean };
      try {
        line = branchOfBatch(engine, items, msg.branches);
      } catch (e) {
        if (!(e instanceof BranchRefusal)) throw e;
        return reject(ctx, conn, msg.batchId, e.code, e.message);
      }
      if (forgedAuthor(ctx, conn, engine, msg.batchId, items)) return;
      if (line.branch !== MAIN) return applyBranchBatch(ctx, conn, engine, msg.batchId, line, items);
      if (!allStored(engine, items) && deniedWrites(ctx, conn, engine, msg.batchId, items)) return;
      return durableThen(ctx, conn, engine, msg.batchId, items, [], (e, its) => applyBatch(ctx, conn, e, msg.batchId, its));
    }),
  );
}

/**
 * With a store that logs batches, an app's batches are handled one at a time (see the top); a
 * batch whose connection closed while it waited is not handled (its client sends it again).
 */
function oneAtATime(ctx: ServerContext, conn: Conn, batchId: string, fn: () => void | Promise<void>): void | Promise<void> {
  if (!ctx.apps.store.logsBatches) return fn();
  return ctx.apps.exclusive(conn.app, async () => {
    if (await judgedAgain(ctx, conn.app, fn, () => conn.ws.readyState === conn.ws.OPEN)) return;
    // Other nodes keep writing faster than this one catches up: the client tries again later.
    ctx.metrics.batch('failed');
    ctx.events.storageFailed(conn.app.id, batchId, new NodeBehind(conn.app.id));
    conn.fail(CloseCode.serverError, 'STORAGE', 'the server is catching up with the other nodes; the client keeps its writes and retries');
  });
}

/**
 * Runs `fn` (inside the app's exclusive work); when the log says another node logged batches of the
 * app first (`NodeBehind`), catches up and runs it again, while `going()`: false when it gave up
 * after `MAX_CATCH_UPS` catch-ups (or with no way to catch up). Client batches and the server's own
 * collection of files (files.ts) are judged again this way.
 */
export async function judgedAgain(ctx: ServerContext, app: AppState, fn: () => void | Promise<void>, going: () => boolean = () => true): Promise<boolean> {
  for (let attempt = 1; going(); attempt++) {
    try {
      await fn();
      return true;
    } catch (e) {
      if (!(e instanceof NodeBehind)) throw e;
      if (attempt === MAX_CATCH_UPS || !ctx.catchUp) return false;
      await ctx.catchUp(app);
    }
  }
  return true;
}

/** Catch-ups one batch may need before it gives up (with `STORAGE`: the client retries later). */
const MAX_CATCH_UPS = 50;

/**
 * Applies an accepted batch with `apply`: at once when the engine's store is the durable one;
 * else once the store logged it (a batch whose versions are all stored already is in the log); the
 * parts of the files it deletes then leave the log (file-log.ts).
 * When the app's engine was replaced meanwhile (a new schema version), the versions are applied
 * to the new one.
 */
function durableThen(
  ctx: ServerContext,
  conn: Conn,
  engine: Engine,
  batchId: string,
  items: Items,
  branches: readonly BranchInfo[],
  apply: (engine: Engine, items: Items) => void,
): void | Promise<void> {
  const store = ctx.apps.store;
  if (!store.logsBatches || allStored(engine, items)) return apply(engine, items);
  const parts = deletedParts(ctx, engine, items);
  return store.persistBatch(conn.app.id, engine, { batchId, items, branches, ...(ctx.edge ? { relayed: true } : {}) }).then(() => {
    const now = conn.app.engine!;
    try {
      apply(now, carryOver(engine, now, items));
      forgetParts(ctx, conn.app, now, parts);
    } catch (e) {
      // Logged already: never refused from here on. The client keeps it and sends it again.
      ctx.events.messageFailed({ ...conn.who, type: 'push' }, e);
      conn.fail(CloseCode.serverError, 'SERVER', 'the server stored this batch but failed to apply it; the client keeps it and sends it again');
    }
  });
}

/**
 * A batch on a branch (branch-sync.ts): judged against the rows as they read there, stored with
 * the records its line lacks here, sent to the branch's readers, acknowledged once durable.
 */
function applyBranchBatch(ctx: ServerContext, conn: Conn, engine: Engine, batchId: string, line: { branch: string; store: BranchInfo[]; moved: boolean }, items: Items): void | Promise<void> {
  // The records first: the rows are judged as they read on the branch's line.
  putBranches(engine, line.store);
  if (!allStored(engine, items)) {
    const denied = deniedBranchWrites(conn, engine, line.branch, items);
    if (denied) {
      dropBranches(engine, line.store); // a refused batch leaves nothing behind, its branch's name included
      return reject(ctx, conn, batchId, 'PERMISSION_DENIED', denied);
    }
  }
  const applied = durableThen(ctx, conn, engine, batchId, items, line.store, (engine, items) => {
    const started = performance.now();
    const { new: fresh, durable } = receive(ctx, engine, batchId, items);
    fanOutBranch(conn.app, conn, line.branch, fresh.length > 0 ? fresh : items, new Set(items.map((i) => i.version.versionId)));
    // The pusher's record of the branch started at another moment: it takes the server's.
    if (line.moved) sendBranchVersions(conn, line.branch, [], true);
    ctx.metrics.fanout((performance.now() - started) / 1000);
    durable.then(
      () => {
        ctx.metrics.batch('accepted');
        acknowledge(ctx, conn, batchId);
      },
      (e) => {
        ctx.metrics.batch('failed');
        ctx.events.storageFailed(conn.app.id, batchId, e);
        conn.fail(CloseCode.serverError, 'STORAGE', 'the server could not store a batch; the client keeps it and retries');
      },
    );
  });
  // Not logged: its branch records go too.
  return applied?.catch((e: unknown) => {
    dropBranches(engine, line.store);
    throw e;
  });
}

export function handleTxn(ctx: ServerContext, conn: Conn, msg: TxnMessage): void | Promise<void> {
  return oneAtATime(ctx, conn, msg.batchId, () =>
    contained(ctx, conn, msg.batchId, 'txn', () => {
      const engine = conn.app.engine!;
      const items = readBatch(ctx, conn, engine, msg.batchId, msg.versions);
      if (!items) return;
      if (items.some((i) => i.version.branch !== MAIN)) return reject(ctx, conn, msg.batchId, 'BRANCH_REJECTED', 'transactions are decided on main; a branch takes batches');
      if (forgedAuthor(ctx, conn, engine, msg.batchId, items)) return;
      // Sent again after a reconnect, and already applied: say so again (applyBatch applies nothing).
      if (!allStored(engine, items)) {
        // On an edge the authority decides (edge.ts); the edge's own write rules are checked first.
        if (ctx.edge) return deniedWrites(ctx, conn, engine, msg.batchId, items) ? undefined : relayTxn(ctx, conn, msg, items);
        const conflict = txnConflict(conn, engine, msg.reads, msg.queries);
        if (conflict) return reject(ctx, conn, msg.batchId, 'TRANSACTION_CONFLICT', conflict);
        if (deniedWrites(ctx, conn, engine, msg.batchId, items)) return;
      }
      // Accepted: from here on it is an ordinary batch, applied and fanned out.
      return durableThen(ctx, conn, engine, msg.batchId, items, [], (e, its) => applyBatch(ctx, conn, e, msg.batchId, its));
    }),
  );
}

/**
 * Applies an accepted batch to the engine: on an edge also entered in the outbox, in the same store
 * transaction, for the authority (edge.ts); a batch sent again is not entered again.
 */
function receive(ctx: ServerContext, engine: Engine, batchId: string, items: Items): ReturnType<Engine['applyVersions']> {
  return ctx.edge && !allStored(engine, items) ? engine.applyRelayed(batchId, items) : engine.applyVersions(items);
}

/** Acknowledges a batch the store has: `global` on the authority; on an edge `edge`, then `global` when the authority has it. */
function acknowledge(ctx: ServerContext, conn: Conn, batchId: string): void {
  if (ctx.edge) ctx.edge.acknowledge(conn, batchId);
  else conn.send({ t: 'ack', batchId, tier: 'global' });
}

/**
 * A transaction on an edge goes to the authority, with its reads and queries in the engine's names
 * (the authority reads the edge's schema version); the client's connection is not held meanwhile.
 */
function relayTxn(ctx: ServerContext, conn: Conn, msg: TxnMessage, items: Items): void {
  const read = txnReads(conn, msg.reads, msg.queries);
  if (typeof read === 'string') return reject(ctx, conn, msg.batchId, 'TRANSACTION_CONFLICT', read);
  ctx.edge!.transaction(conn, msg.batchId, read.reads, read.queries, items);
}

/** What a transaction read, from the client's schema version into the engine's names; a string says why it cannot be. */
function txnReads(conn: Conn, reads: readonly HaveEntry[], queries: readonly TxnQuery[]): { reads: HaveEntry[]; queries: TxnQuery[] } | string {
  const view = conn.view!;
  const out: { reads: HaveEntry[]; queries: TxnQuery[] } = { reads: [], queries: [] };
  for (const [name, rowId, digest] of reads) {
    const table = view.tables.get(name)?.table.name;
    if (table === undefined) return `unknown table ${name}`;
    out.reads.push([table, rowId, digest]);
  }
  for (const { query: q, ids } of queries) {
    try {
      checkQuery(view.schema, q);
      out.queries.push({ query: view.query(q), ids });
    } catch (e) {
      return `a query of the transaction is invalid: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return out;
}

/** Refuses a pushed batch or transaction: tells the client, and the log. */
export function reject(ctx: ServerContext, conn: Conn, batchId: string, code: WireErrorCode, reason: string): void {
  conn.send({ t: 'reject', batchId, code, reason });
  ctx.metrics.batch('rejected');
  ctx.events.batchRejected({ ...conn.who, batchId, code, reason });
}

/** Runs the handling of one batch; whatever it throws (or its promise rejects with) refuses that batch and nothing else (see the top). */
function contained(ctx: ServerContext, conn: Conn, batchId: string, type: string, fn: () => void | Promise<void>): void | Promise<void> {
  const failed = (e: unknown): void => {
    if (e instanceof NodeBehind) throw e; // judged again (oneAtATime)
    if (e instanceof JazzError && (e.code.startsWith('STORAGE_') || e.code === 'CLOSED')) {
      ctx.metrics.batch('failed');
      ctx.events.storageFailed(conn.app.id, batchId, e);
      conn.fail(CloseCode.serverError, 'STORAGE', 'the server cannot store data right now; the client keeps its writes and retries');
      return;
    }
    ctx.events.messageFailed({ ...conn.who, type }, e);
    reject(ctx, conn, batchId, 'INTERNAL', `the server failed to apply this batch (${e instanceof Error ? e.message : String(e)}); it was not applied`);
  };
  try {
    return fn()?.catch(failed);
  } catch (e) {
    failed(e);
  }
}

/** The versions of a pushed batch or transaction, checked against the schema; refuses it if not. */
function readBatch(ctx: ServerContext, conn: Conn, engine: Engine, batchId: string, versions: readonly WireVersion[]): Items | undefined {
  try {
    const counts = new Map<string, number>();
    for (const v of versions) {
      const n = (counts.get(v.rowId) ?? 0) + 1;
      if (n > MAX_VERSIONS_PER_ROW) throw new JazzError('BATCH_REJECTED', `a batch may write at most ${MAX_VERSIONS_PER_ROW} versions of one row`);
      counts.set(v.rowId, n);
    }
    return versions.map((w) => {
      if (w.batchId !== batchId) throw new JazzError('BATCH_REJECTED', 'every version of a batch must carry its batch id');
      return fromWire(engine, w, conn.view);
    });
  } catch (e) {
    reject(ctx, conn, batchId, e instanceof JazzError ? e.code : 'BATCH_REJECTED', e instanceof Error ? e.message : String(e));
    return undefined;
  }
}

/**
 * Refuses the batch (and says true) if one of its new versions claims an author the session may
 * not write as (`AUTHOR_MISMATCH`):
 * - a user writes as their own user id, or as the anonymous identity of the same client
 *   (`anon:<client id>`: writes made on this device before it signed in); never with `via`;
 * - the backend secret's `admin` writes as `admin`, or on behalf of a user only when it says so:
 *   `via: 'admin'` on the version, which records it;
 * - a `peer` is a trusted server relaying versions that others wrote (the node that received them
 *   checked them): any author.
 * Versions the server already stores were checked when they arrived, and are not judged again.
 */
function forgedAuthor(ctx: ServerContext, conn: Conn, engine: Engine, batchId: string, items: Items): boolean {
  const session = conn.session!;
  if (session.role === 'peer') return false;
  for (const { table, version: v } of items) {
    const ok =
      session.role === 'admin'
        ? v.via === undefined
          ? v.author === session.userId
          : v.via === session.userId
        : v.via === undefined && (v.author === session.userId || v.author === `anon:${conn.clientId}`);
    if (ok || engine.hasVersion(table, v.rowId, v.versionId)) continue;
    const claim = v.via === undefined ? `author "${v.author}"` : `author "${v.author}" via "${v.via}"`;
    const may =
      session.role === 'admin'
        ? `"${session.userId}", or another user with via "${session.userId}"`
        : `"${session.userId}"${session.userId === `anon:${conn.clientId}` ? '' : ` or "anon:${conn.clientId}"`}`;
    reject(ctx, conn, batchId, 'AUTHOR_MISMATCH', `version ${v.versionId} of ${table} claims ${claim}; this session writes as ${may}`);
    return true;
  }
  return false;
}

/** Whether the server stores every version already (a batch sent again). */
function allStored(engine: Engine, items: Items): boolean {
  return items.length > 0 && items.every(({ table, version }) => engine.hasVersion(table, version.rowId, version.versionId));
}

/** Refuses the batch (and says true) if the user's permissions forbid one of its writes. */
function deniedWrites(ctx: ServerContext, conn: Conn, engine: Engine, batchId: string, items: Items): boolean {
  const policy = conn.policy!;
  if (policy.unrestricted) return false;
  for (const p of engine.previewVersions(items)) {
    if (p.known) continue; // stored already: applying it again changes nothing (see the top)
    const before = p.before && !p.before.deleted ? rowOf(p.rowId, p.before) : undefined;
    const after = !p.after.deleted ? rowOf(p.rowId, p.after) : undefined;
    let denied: string | undefined;
    if (!p.before) {
      if (!policy.canInsert(p.table, rowOf(p.rowId, p.after))) denied = `${p.table}: insert denied (no allowInsert rule matches the new row ${p.rowId})`;
    } else if (before && !after) {
      if (!policy.canDelete(p.table, before)) denied = `${p.table}: delete denied (no allowDelete rule matches row ${p.rowId})`;
    } else if (!policy.canUpdate(p.table, rowOf(p.rowId, p.before), rowOf(p.rowId, p.after))) {
      denied = `${p.table}: update denied (no allowUpdate rule matches row ${p.rowId} before and after)`;
    }
    if (denied) {
      reject(ctx, conn, batchId, 'PERMISSION_DENIED', denied);
      return true;
    }
  }
  return false;
}

/** Applies an accepted batch, settles what the pusher and the rows' holders receive, acknowledges it once durable. */
function applyBatch(ctx: ServerContext, conn: Conn, engine: Engine, batchId: string, items: Items): void {
  const app = conn.app;
  const started = performance.now();
  const { new: fresh, durable } = receive(ctx, engine, batchId, items);
  // The pusher: the rows it wrote, if it may read them now, with the rest of their histories.
  const pushed = new Set(items.map((i) => i.version.versionId));
  const catchUp: WireVersion[] = [];
  const pusherDrops: [string, string][] = [];
  const seen = new Set<string>();
  for (const { table, version } of items) {
    const k = `${table}\u0000${version.rowId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (readVerdict(conn, table, version.rowId).verdict !== 'readable') {
      // Whether it held the row or not: a transaction's writer applies its versions only once they
      // are acknowledged, so the drop goes after the acknowledgement (below).
      unhold(conn, table, version.rowId);
      pusherDrops.push([table, version.rowId]);
      continue;
    }
    if (!hold(conn, table, version.rowId, ctx.maxHeldRows)) continue;
    catchUp.push(...(historyFor(conn, table, version.rowId, pushed) ?? []));
  }
  sendVersions(conn, catchUp);
  // Every other connection that holds the rows: the new versions, or drop.
  fanOutToHolders(app, engine, fresh, conn);
  if (fresh.length) recheckDependents(app, new Set(fresh.map((f) => f.table)));
  ctx.metrics.fanout((performance.now() - started) / 1000);
  durable.then(
    () => {
      ctx.metrics.batch('accepted');
      acknowledge(ctx, conn, batchId);
      sendDrop(conn, pusherDrops);
    },
    (e) => {
      ctx.metrics.batch('failed');
      ctx.events.storageFailed(app.id, batchId, e);
      conn.fail(CloseCode.serverError, 'STORAGE', 'the server could not store a batch; the client keeps it and retries');
    },
  );
}

/**
 * Versions another node accepted (read from the log by `catchUp`): applied as a peer's, with no
 * checks (they were checked where they were accepted), and sent to this node's connections that
 * hold their rows or read their branches, as if a client of this node had pushed them.
 */
export function applyRemote(ctx: ServerContext, app: AppState, engine: Engine, items: Items, branches: readonly BranchInfo[]): void {
  const started = performance.now();
  if (branches.length) putBranches(engine, branches);
  const { new: fresh } = engine.applyVersions(items);
  if (fresh.length === 0) return;
  const main = fresh.filter((f) => f.version.branch === MAIN);
  fanOutToHolders(app, engine, main, undefined);
  const byBranch = new Map<string, Items>();
  for (const f of fresh) {
    if (f.version.branch === MAIN) continue;
    let list = byBranch.get(f.version.branch);
    if (!list) byBranch.set(f.version.branch, (list = []));
    list.push(f);
  }
  for (const [branch, list] of byBranch) fanOutBranch(app, undefined, branch, list, new Set());
  if (main.length) recheckDependents(app, new Set(main.map((f) => f.table)));
  ctx.metrics.fanout((performance.now() - started) / 1000);
}

/** Why a transaction cannot be accepted (something it read changed), or undefined. */
function txnConflict(conn: Conn, engine: Engine, asSent: readonly HaveEntry[], sentQueries: readonly TxnQuery[]): string | undefined {
  const read = txnReads(conn, asSent, sentQueries);
  if (typeof read === 'string') return read;
  for (const [i, [table, rowId, digest]] of read.reads.entries()) {
    if ((engine.rowDigest(table, rowId) ?? '') !== digest) return `${asSent[i]![0]} row ${rowId} changed since it was read`;
  }
  for (const { query, ids } of read.queries) {
    const g = buildGraph(engine, query, { attach: false, onChange: () => {}, readFilter: (t) => conn.policy!.readFilter(t), readFilterSys: (t) => conn.policy!.readsSystemFields(t) });
    const now = g.view.all.map((r) => r.id);
    g.destroy();
    if (now.length !== ids.length || now.some((id, i) => id !== ids[i])) return `the result of a query on ${query.table} changed since it was read`;
  }
  return undefined;
}
