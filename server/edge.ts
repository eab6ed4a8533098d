/**
 * An edge server's link to its upstream (`--upstream ws://…`, option `upstream`): a server with an
 * upstream is an edge, the one without is the authority (docs/sync.md, "Edge and global").
 *
 * Contract:
 * - Per app, the edge runs an ordinary sync client (src/sync/client.ts) on the app's own engine
 *   against `<upstream>/apps/<appId>/ws`, signed in with the backend secret as a `peer`. The
 *   engine's outbox is the edge's durable queue: a client's batch the edge accepts is applied and
 *   entered in the outbox in one store transaction (`Engine.applyRelayed`), so a batch the edge
 *   acknowledged at `edge` survives a crash and is pushed upstream when the link is up (at start,
 *   after every reconnect, and as it is accepted). Where the engine's store is memory (PostgreSQL),
 *   the server store keeps the waiting batches (`relayDone`, `requeue` in server-store.ts) and they
 *   are put back in the outbox at start.
 * - A client's batch is judged here (schema, authors, the edge's permissions: a refused write never
 *   leaves the edge), acknowledged `edge` once the edge's store has it, and `global` once the
 *   upstream acknowledged it `global`. A batch sent again is acknowledged at the tier the edge knows
 *   (`global` when its versions came from upstream). A batch the upstream refuses (only a broken
 *   batch can be: a peer is not judged by permissions) is undone here and refused to its pusher.
 * - Versions the upstream sends are applied as a peer's (no permission checks: upstream checked
 *   them) and passed on to the edge's clients that hold their rows or whose queries they match,
 *   through the read gate, as versions from another node are (`applyRemote` in batches.ts).
 * - Subscriptions: each query the edge's clients subscribe to is subscribed upstream too (one
 *   upstream subscription per distinct query, dropped with its last reader). A client's first
 *   result is `settled` at `edge` from the edge's store, and at `global` once the upstream
 *   subscription settled (the edge then holds the authority's rows for it).
 * - Transactions are decided only by the authority: the edge checks the author and its own write
 *   rules, then sends the transaction upstream and answers its client with the authority's
 *   verdict (the versions are applied here once it is accepted). While the upstream is away,
 *   transactions wait; batches are acknowledged `edge` and queue in the outbox.
 * - The upstream being away never stops the edge serving its clients from its store. `health()`
 *   says whether the upstream answers (GET /health on its HTTP side, within 2 s).
 */
import { canonicalSchemaJSON } from '../src/schema/schema.ts';
import { MAIN, type Engine } from '../src/engine/engine.ts';
import type { QueryAst } from '../src/query/ast.ts';
import { buildGraph } from '../src/query/graph.ts';
import type { RowVersion } from '../src/rows/version.ts';
import { SyncClient } from '../src/sync/client.ts';
import { haveOf } from '../src/sync/have.ts';
import type { HaveEntry, TxnQuery } from '../src/sync/protocol.ts';
import type { WireErrorCode } from '../src/sync/wire-errors.ts';
import { JazzError } from '../src/util/errors.ts';
import type { AppState } from './apps.ts';
import type { Conn } from './connection.ts';
import { wsConnector } from './ws-connector.ts';

type Items = { table: string; version: RowVersion }[];

export interface EdgeOptions {
  /** The upstream server's base address, `ws://host:port` (or `wss://`). */
  readonly url: string;
  /** The backend secret the upstream shares: the edge signs in with it as a `peer`. */
  readonly secret: string;
  /** Reconnection backoff towards the upstream (default 200 ms doubling to 5 s, with jitter). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** What the edge reports in GET /health about its upstream. */
export interface UpstreamHealth {
  readonly url: string;
  readonly reachable: boolean;
  /** Why not, when it is not. */
  readonly reason?: string;
}

/** One app's link: the sync client on the app's engine, and the upstream subscriptions it holds. */
interface Link {
  readonly engine: Engine;
  readonly client: SyncClient;
  readonly watches: Map<string, { readonly id: number; readonly settled: Promise<void>; count: number }>;
}

/** What the edge needs from the rest of the server. */
export interface EdgeHooks {
  /** Applies versions from upstream to the app's engine and passes them on (batches.ts `applyRemote`). */
  applyRemote(app: AppState, engine: Engine, items: Items): void;
  /** Refuses a client's batch (batches.ts `reject`). */
  reject(conn: Conn, batchId: string, code: WireErrorCode, reason: string): void;
  /** The upstream decided a batch of the outbox (server-store.ts `relayDone`). */
  decided(appId: string, batchId: string): void;
}

export class Edge {
  readonly #opts: EdgeOptions;
  readonly #hooks: EdgeHooks;
  readonly #links = new Map<string, Link>();
  #closed = false;

  constructor(opts: EdgeOptions, hooks: EdgeHooks) {
    this.#opts = opts;
    this.#hooks = hooks;
  }

  /**
   * The app's link, started on its current engine (at start for every stored app, so batches
   * accepted before a crash go upstream; else when a client first uses the app). An engine replaced
   * by a new schema version gets a new link; the old one stops.
   */
  link(app: AppState): void {
    this.#link(app);
  }

  #link(app: AppState): Link {
    const engine = app.engine!;
    const had = this.#links.get(app.id);
    if (had?.engine === engine) return had;
    had?.client.stop();
    const client = new SyncClient(engine, {
      server: this.#opts.url,
      appId: app.id,
      connect: wsConnector,
      schemaJSON: canonicalSchemaJSON(app.schema!),
      schemaHash: app.hash!,
      ...(engine.catalogue.json.migrations.length ? { migrationsJSON: JSON.stringify(engine.catalogue.json.migrations) } : {}),
      auth: { secret: this.#opts.secret, role: 'peer' },
      backoff: { initialMs: this.#opts.backoff?.initialMs ?? 200, maxMs: this.#opts.backoff?.maxMs ?? 5000 },
      applyVersions: (items) => {
        if (app.engine === engine && !engine.closed) this.#hooks.applyRemote(app, engine, items);
      },
    });
    const link: Link = { engine, client, watches: new Map() };
    this.#links.set(app.id, link);
    for (const batchId of engine.outbox()) void this.#decided(link, app.id, batchId).catch(() => {});
    if (!this.#closed) client.start();
    return link;
  }

  /** Resolves when the upstream acknowledged the batch `global` (rejects if it refused it), and tells the store either way. */
  #decided(link: Link, appId: string, batchId: string): Promise<void> {
    const global = link.client.waitBatch(batchId, 'global');
    global.then(
      () => this.#hooks.decided(appId, batchId),
      (e: unknown) => {
        if (e instanceof JazzError && e.code === 'BATCH_REJECTED') this.#hooks.decided(appId, batchId);
      },
    );
    return global;
  }

  /**
   * A client's batch is in the edge's store: acknowledges it at the tier the edge knows, pushes it
   * upstream if it still has to go, and relays `global` (or the upstream's refusal) when it comes.
   */
  acknowledge(conn: Conn, batchId: string): void {
    const link = this.#link(conn.app);
    const rec = link.engine.batchRecord(batchId);
    // No record: its versions came from upstream, which has them.
    if (!rec || (rec.s === 'accepted' && rec.tier === 'global')) return conn.send({ t: 'ack', batchId, tier: 'global' });
    if (rec.s === 'rejected') return this.#hooks.reject(conn, batchId, 'INTERNAL', `the upstream refused this batch: ${rec.reason ?? ''}`);
    conn.send({ t: 'ack', batchId, tier: 'edge' });
    if (rec.s === 'pending') link.client.pushed(batchId);
    this.#decided(link, conn.app.id, batchId).then(
      () => conn.send({ t: 'ack', batchId, tier: 'global' }),
      (e: unknown) => {
        if (e instanceof JazzError && e.code === 'BATCH_REJECTED') this.#hooks.reject(conn, batchId, (e.details['reason'] as WireErrorCode | undefined) ?? 'INTERNAL', e.message);
      },
    );
  }

  /**
   * Subscribes upstream to a query a client of the edge reads (on `branch`, if it names one);
   * `settled` resolves when the upstream's first result is here, rejects if the upstream refused it.
   */
  watch(app: AppState, query: QueryAst, branch: string = MAIN): { readonly settled: Promise<void>; release(): void } {
    const link = this.#link(app);
    const key = `${branch}\u0000${JSON.stringify(query)}`;
    let w = link.watches.get(key);
    if (!w) {
      const { id, settled } = link.client.subscribe(query, 'global', () => haveOf(link.engine, query, rowsOf(link.engine, query)), branch);
      link.watches.set(key, (w = { id, settled, count: 0 }));
    }
    w.count++;
    const watched = w;
    let released = false;
    return {
      settled: watched.settled,
      release: () => {
        if (released) return;
        released = true;
        if (--watched.count > 0 || link.watches.get(key) !== watched) return;
        link.watches.delete(key);
        link.client.unsubscribe(watched.id);
      },
    };
  }

  /**
   * Sends a client's transaction (checked here: authors, write rules) to the authority, which
   * decides it; answers the client with the verdict. Reads and queries are in the engine's names.
   */
  transaction(conn: Conn, batchId: string, reads: HaveEntry[], queries: TxnQuery[], items: Items): void {
    this.#link(conn.app)
      .client.transaction(batchId, reads, queries, items)
      .then(
        () => conn.send({ t: 'ack', batchId, tier: 'global' }),
        (e: unknown) => {
          if (e instanceof JazzError && e.code === 'CLOSED') return; // the edge is stopping: the client sends it again
          this.#hooks.reject(conn, batchId, e instanceof JazzError ? (e.code as WireErrorCode) : 'INTERNAL', e instanceof Error ? e.message : String(e));
        },
      );
  }

  /** Whether the upstream answers its GET /health now (within 2 s). */
  async health(): Promise<UpstreamHealth> {
    const url = this.#opts.url;
    const http = `${url.replace(/^ws/, 'http').replace(/\/+$/, '')}/health`;
    try {
      await fetch(http, { signal: AbortSignal.timeout(2000) });
      return { url, reachable: true };
    } catch (e) {
      return { url, reachable: false, reason: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) };
    }
  }

  /** Stops every link (their outboxes stay for the next start). */
  close(): void {
    this.#closed = true;
    for (const l of this.#links.values()) l.client.stop();
    this.#links.clear();
  }
}

/** The rows of a query as the engine has them now, for the `have` of an upstream subscription. */
function rowsOf(engine: Engine, query: QueryAst): { readonly id: string }[] {
  const g = buildGraph(engine, query, { attach: false, onChange: () => {} });
  const rows = g.view.all.slice();
  g.destroy();
  return rows;
}
