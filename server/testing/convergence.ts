/**
 * For the R5 convergence tests (server/convergence.test.ts on one server, server/pg-cluster.test.ts
 * on several nodes): the pieces both use.
 *
 * - `cuttable(route)`: a connector whose live connections the test can cut, as a network would;
 *   `route` picks the URL of each new connection (another node), given the client's own.
 * - `randomWrite`: one seeded random write on shared todos (insert, update, delete, restore, or a
 *   batch of two), registered with `acked` once the server acknowledges it at `global`. A write on a
 *   row this client has not seen yet (or sees deleted) is skipped, as a real app would not make it.
 * - `watchTodos`: each client's subscribed todos, as JSON, kept current.
 * - `expectConverged`: every client equals the server's engine (all live todos in id order), and
 *   every acknowledged version is in the server's history.
 */
import { expect } from 'vitest';
import { wsConnector } from '../ws-connector.ts';
import { todoApp as app } from '../../src/testing/fixtures.ts';
import type { Db } from '../../src/db.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { Connector, Transport } from '../../src/sync/transport.ts';
import { until } from '../../src/testing/until.ts';

export type TodoDb = Db<typeof app>;
export interface Acked {
  readonly db: TodoDb;
  readonly batchId: string;
}

export function cuttable(route: (url: string) => string = (url) => url): { connect: Connector; cut: () => void } {
  const live = new Set<Transport>();
  return {
    connect: (url, events) => {
      const t = wsConnector(route(url), { ...events, close: (c, r) => (live.delete(t), events.close(c, r)) });
      live.add(t);
      return t;
    },
    cut: () => {
      for (const t of [...live]) t.close(4000, 'network cut by the test');
    },
  };
}

export function randomWrite(db: TodoDb, r: () => number, ids: string[], acked: Acked[]): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
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
    if (!['ROW_NOT_FOUND', 'ROW_DELETED'].includes((e as { code?: string }).code ?? '')) throw e;
  }
  if (batch) {
    const b = batch;
    b.wait({ tier: 'global' }).then(
      () => acked.push({ db, batchId: b.batchId }),
      () => {},
    );
  }
}

const plain = (rows: readonly Record<string, unknown>[]) => JSON.stringify(rows);

/** Each client's subscribed todos (all of them, in id order), as JSON. */
export function watchTodos(dbs: readonly TodoDb[]): { rows: string }[] {
  return dbs.map((db) => {
    const v = { rows: '' };
    db.subscribeAll(app.todos, ({ all }) => (v.rows = plain(all)));
    return v;
  });
}

/** The server's answer to the query the clients subscribed to (all live todos, in id order). */
export function serverTodos(engine: Engine): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const t = engine.table('todos');
  for (const id of engine.rowIds('todos')) {
    const row = engine.getRowById(t, id);
    if (row) rows.push({ ...row });
  }
  rows.sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : 1));
  return rows;
}

/**
 * Waits for every client to be online with nothing pending and to equal `engine`, then checks it,
 * and checks that every acknowledged version is in `engine`'s history. `label` names the seed.
 */
export async function expectConverged(dbs: readonly TodoDb[], views: readonly { rows: string }[], engine: () => Engine, acked: readonly Acked[], label: string): Promise<void> {
  await until(() => dbs.every((db) => db.syncStatus.state === 'online' && db.syncStatus.pendingBatches === 0), 20_000, `every client online with nothing pending (${label})`);
  const serverRows = () => plain(serverTodos(engine()));
  await until(() => views.every((v) => v.rows === serverRows()), 20_000, 'every client to equal the server').catch(() => {});
  const expected = serverRows();
  for (let i = 0; i < dbs.length; i++) {
    expect(JSON.parse(views[i]!.rows), `client ${i} (${label})`).toEqual(JSON.parse(expected));
    expect(plain(dbs[i]!.allSync(app.todos)), `client ${i} (${label})`).toBe(expected);
  }
  const e = engine();
  for (const { db, batchId } of acked) {
    for (const { table, version } of db.engine.batchVersions(batchId)) {
      const hist = e.history(e.table(table), version.rowId).map((v) => v.versionId);
      expect(hist, `acked version ${version.versionId} (${label})`).toContain(version.versionId);
    }
  }
}
