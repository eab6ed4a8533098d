/**
 * R5: at least 5 clients make random writes on shared rows while random clients lose
 * their connection and the server restarts (on its durable files). After quiescence every client's
 * subscribed data equals the server's, and no acknowledged write is missing from the server.
 *
 * Seeds: JAZZ_SYNC_SEEDS (default 100) × JAZZ_SYNC_OPS (default 1000), from JAZZ_SEED (default
 * random); each seed is printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDb, startSyncServer, wsConnector, type SyncServer } from './index.ts';
import { todoApp as app, rng } from '../src/testing/fixtures.ts';
import type { Db } from '../src/db.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Connector, Transport } from '../src/sync/transport.ts';
import { until } from '../src/testing/until.ts';

const SEEDS = Number(process.env.JAZZ_SYNC_SEEDS ?? 100);
const OPS = Number(process.env.JAZZ_SYNC_OPS ?? 1000);
const FIRST = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));
const CLIENTS = 5;

mkdirSync('.tmp', { recursive: true });
const root = mkdtempSync(join('.tmp', 'r5-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Waits for `cond` (20 s at most), naming `what` if it does not come. */
const waitFor = (cond: () => boolean, what: string, ms = 20_000) => until(cond, ms, what);

/** A connector whose live connections the test can cut, as a network would. */
function cuttable(): { connect: Connector; cut: () => void } {
  const live = new Set<Transport>();
  return {
    connect: (url, events) => {
      const t = wsConnector(url, { ...events, close: (c, r) => (live.delete(t), events.close(c, r)) });
      live.add(t);
      return t;
    },
    cut: () => {
      for (const t of [...live]) t.close(4000, 'network cut by the test');
    },
  };
}

const plain = (rows: readonly Record<string, unknown>[]) => JSON.stringify(rows);

async function runSeed(seed: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const dir = join(root, String(seed));
  let server: SyncServer = await startSyncServer({ port: 0, dataDir: dir, dev: true, log: () => {} });
  const port = server.port;
  const clients = Array.from({ length: CLIENTS }, () => {
    const net = cuttable();
    const db = createDb({ app, server: server.url, appId: 'r5', connect: net.connect, backoff: { initialMs: 5, maxMs: 50 } });
    return { db, net };
  });
  const acked: { db: Db<typeof app>; batchId: string }[] = [];
  const views = clients.map(({ db }) => {
    const v = { rows: '' };
    db.subscribeAll(app.todos, ({ all }) => (v.rows = plain(all)));
    return v;
  });
  const ids: string[] = [];
  try {
    for (let step = 0; step < OPS; step++) {
      const { db } = pick(clients);
      const k = r();
      let batch: { batchId: string; wait: (o: { tier: 'global' }) => Promise<unknown> } | undefined;
      try {
        if (k < 0.2 || ids.length < 3) {
          const h = db.insert(app.todos, { title: pick(['a', 'b', 'c']), priority: Math.floor(r() * 5) });
          ids.push(h.id);
          batch = h;
        } else if (k < 0.75) {
          const id = pick(ids);
          const values: Record<string, unknown> = {};
          if (r() < 0.6) values.title = pick(['a', 'b', 'c', 'd', 'e']);
          if (r() < 0.5) values.done = r() < 0.5;
          if (r() < 0.4) values.priority = r() < 0.2 ? null : Math.floor(r() * 9);
          batch = db.update(app.todos, id, Object.keys(values).length ? values : { title: 'z' });
        } else if (k < 0.85) {
          batch = db.delete(app.todos, pick(ids));
        } else if (k < 0.92) {
          batch = db.restore(app.todos, pick(ids));
        } else {
          batch = db.batch((b) => {
            b.update(app.todos, pick(ids), { done: r() < 0.5 });
            ids.push(b.insert(app.todos, { title: pick(['x', 'y']) }).id);
          });
        }
      } catch (e) {
        // This client has not seen the row yet (or it is deleted here): a real app would not write it.
        if (!['ROW_NOT_FOUND', 'ROW_DELETED'].includes((e as { code?: string }).code ?? '')) throw e;
      }
      if (batch) {
        const b = batch;
        b.wait({ tier: 'global' }).then(
          () => acked.push({ db, batchId: b.batchId }),
          () => {},
        );
      }
      if (r() < 0.01) pick(clients).net.cut();
      if (r() < 0.002) {
        await server.close();
        server = await startSyncServer({ port, dataDir: dir, dev: true, log: () => {} });
      }
      if (r() < 0.1) await new Promise((res) => setTimeout(res, 0));
    }
    // Quiescence: everyone online with an empty outbox, then let the last versions travel.
    await waitFor(() => clients.every(({ db }) => db.syncStatus.state === 'online' && db.syncStatus.pendingBatches === 0), 'every client online with nothing pending');
    const serverEngine = server.engineOf('r5')!;
    const serverRows = () => plain(serverSide(serverEngine));
    await waitFor(() => views.every((v) => v.rows === serverRows()), 'every client to equal the server', 20_000).catch(() => {});
    const expected = serverRows();
    for (let i = 0; i < clients.length; i++) {
      expect(JSON.parse(views[i]!.rows), `client ${i} (seed ${seed})`).toEqual(JSON.parse(expected));
      expect(plain(clients[i]!.db.allSync(app.todos))).toBe(expected);
    }
    // Every acknowledged batch is on the server.
    for (const { db, batchId } of acked) {
      for (const { table, version } of db.engine.batchVersions(batchId)) {
        const hist = serverEngine.history(serverEngine.table(table), version.rowId).map((v) => v.versionId);
        expect(hist, `acked version ${version.versionId} (seed ${seed})`).toContain(version.versionId);
      }
    }
  } finally {
    for (const { db } of clients) await db.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The server's answer to the query the clients subscribed to (all live todos, in id order). */
function serverSide(engine: Engine): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const t = engine.table('todos');
  for (const id of engine.rowIds('todos')) {
    const row = engine.getRowById(t, id);
    if (row) rows.push({ ...row });
  }
  rows.sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : 1));
  return rows;
}

describe('R5: convergence through the server with disconnects and restarts', () => {
  for (let i = 0; i < SEEDS; i++) {
    const seed = FIRST + i;
    it(`seed ${seed}`, async () => {
      console.log(`sync convergence seed ${seed} (replay: JAZZ_SEED=${seed} JAZZ_SYNC_SEEDS=1)`);
      await runSeed(seed);
    }, 60_000);
  }
});
