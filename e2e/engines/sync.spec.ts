/**
 * Sync with the reference server in Firefox and WebKitGTK (server/sync-server.ts in this process,
 * support/sync-server.ts): two devices of one engine, each its own storage (the first on `opfs`,
 * which is IndexedDB in WebKitGTK, the second on `memory`). Inserts, updates, deletes and a
 * batch on one reach the other's live query; `wait({ tier: 'global' })` resolves once the server
 * has the write; at the end both devices' live queries equal fresh reads and the server's rows.
 * The Chromium spec (client-sync.spec.ts) has more; Firefox against WebKit is engines/across/.
 */
import { TestSyncServer } from '../support/sync-server.ts';
import { projectBatch } from '../support/scenarios.ts';
import { newAppId, serverRows } from '../support/sync-rows.ts';
import { expect, test } from './fixtures.ts';
import { openSyncDevice, views, waitLive } from './sync-device.ts';

test('two devices sync through the reference server: inserts, updates, deletes and a batch; global waits; both equal the server', async ({ engine }) => {
  const server = await TestSyncServer.start();
  try {
    const appId = newAppId(`engines-${engine.name}`);
    const a = await openSyncDevice(await engine.device(), 'A', { server: server.url, appId, driver: 'opfs' });
    const b = await openSyncDevice(await engine.device(), 'B', { server: server.url, appId, driver: 'memory' });

    const id = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'buy milk', priority: 1 });
      await h.wait({ tier: 'global' });
      return h.id;
    });
    expect(serverRows(server, appId).map((r) => r.title)).toEqual(['buy milk']);
    await waitLive(b, (rows) => rows.some((r) => r.title === 'buy milk' && r.priority === 1), 'the insert');
    await a.page.evaluate(async (id) => {
      const { app, db } = window.t;
      await db.update(app.todos, id, { done: true, priority: 5 }).wait({ tier: 'global' });
    }, id);
    await waitLive(b, (rows) => rows.length === 1 && rows[0].done === true && rows[0].priority === 5, 'the update');
    // A batch written on B (a project and a todo that refers to it) reaches A whole.
    const batch = await b.page.evaluate(projectBatch);
    await waitLive(a, (rows) => rows.some((r) => r.title === 'eggs' && r.projectId !== null), "B's batch");
    expect(await a.page.evaluate(() => window.t.live.find((r: any) => r.title === 'eggs').projectId)).toBe(batch[0]);
    await a.page.evaluate(async (id) => {
      const { app, db } = window.t;
      await db.delete(app.todos, id).wait({ tier: 'global' });
    }, id);
    await waitLive(b, (rows) => !rows.some((r) => r.title === 'buy milk'), 'the delete');

    for (const d of [a, b]) {
      await d.page.waitFor(() => window.t.db.status.sync?.state === 'online' && window.t.db.status.sync?.pendingBatches === 0, null, `${d.name} online with nothing pending`);
      const v = await views(d);
      expect(v.live, d.name).toEqual(v.fresh);
      expect(v.fresh, d.name).toEqual(serverRows(server, appId));
      expect(v.problems, d.name).toEqual([]);
    }
    expect(serverRows(server, appId).map((r) => r.title)).toEqual(['eggs']);
  } finally {
    await server.dispose();
  }
});
