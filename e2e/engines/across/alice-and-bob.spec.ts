/**
 * Across engines: Alice in Firefox (OPFS) and Bob in WebKitGTK (IndexedDB, its fallback) on one
 * reference server (support/sync-server.ts). Their writes reach each other; then Bob's network is
 * cut (a proxy on loopback between his page and the server, support/cut-proxy.ts) while both keep
 * writing: Bob's status says offline with batches pending and Alice sees none of his offline
 * writes; mended, Bob reconnects by himself, and both devices' live queries, fresh reads and the
 * server's rows are the same.
 */
import { cutProxy } from '../../support/cut-proxy.ts';
import { TestSyncServer } from '../../support/sync-server.ts';
import { newAppId, serverRows } from '../../support/sync-rows.ts';
import { expect, test } from '../fixtures.ts';
import { openSyncDevice, views, waitLive, type SyncDevice } from '../sync-device.ts';

function write(d: SyncDevice, ops: [kind: 'insert' | 'update' | 'delete', title: string, done?: boolean][], tier: 'local' | 'global'): Promise<void> {
  return d.page.evaluate(
    async ([ops, tier]) => {
      const { app, db } = window.t;
      const byTitle = (t: string) => window.t.live.find((r: any) => r.title === t).id;
      for (const [kind, title, done] of ops) {
        const h = kind === 'insert' ? db.insert(app.todos, { title }) : kind === 'update' ? db.update(app.todos, byTitle(title), { done }) : db.delete(app.todos, byTitle(title));
        await h.wait({ tier });
      }
    },
    [ops, tier] as const,
  );
}

const titles = (d: SyncDevice): Promise<string[]> => d.page.evaluate(() => window.t.live.map((r: any) => `${r.title}${r.done ? ' (done)' : ''}`).sort());

test('Alice in Firefox and Bob in WebKit: their writes reach each other, also after Bob was offline, and both equal the server', async ({ engine }) => {
  const server = await TestSyncServer.start();
  const proxy = await cutProxy(server.port);
  try {
    const appId = newAppId('across');
    const alice = await openSyncDevice(await engine.device('firefox'), 'alice', { server: server.url, appId, driver: 'opfs' });
    const bob = await openSyncDevice(await engine.device('webkit'), 'bob', { server: `ws://127.0.0.1:${proxy.port}`, appId, driver: 'opfs' });
    expect(await alice.page.evaluate(() => window.t.db.status.driver.used)).toBe('opfs');
    expect(await bob.page.evaluate(() => window.t.db.status.driver.used)).toBe('idb');

    await write(alice, [['insert', 'from alice']], 'global');
    await waitLive(bob, (rows) => rows.some((r) => r.title === 'from alice'), "Alice's insert");
    await write(
      bob,
      [
        ['insert', 'from bob'],
        ['update', 'from alice', true],
      ],
      'global',
    );
    await waitLive(alice, (rows) => rows.some((r) => r.title === 'from bob') && rows.some((r) => r.title === 'from alice' && r.done), "Bob's insert and update");

    // Bob loses his network; both keep writing.
    proxy.cut();
    await bob.page.waitFor(() => window.t.db.status.sync?.state !== 'online', null, 'Bob offline');
    await write(
      bob,
      [
        ['insert', 'bob offline 1'],
        ['insert', 'bob offline 2'],
        ['delete', 'from bob'],
      ],
      'local',
    );
    await write(
      alice,
      [
        ['insert', 'alice while bob was away'],
        ['update', 'from alice', false],
      ],
      'global',
    );
    const away = await bob.page.evaluate(() => window.t.db.status.sync);
    expect(away.state).not.toBe('online');
    expect(away.pendingBatches).toBeGreaterThan(0);
    expect(await titles(alice)).toEqual(['alice while bob was away', 'from alice', 'from bob']);

    // Back online: Bob reconnects by himself; everyone converges.
    const t0 = Date.now();
    proxy.mend();
    const final = ['alice while bob was away', 'bob offline 1', 'bob offline 2', 'from alice'];
    for (const d of [alice, bob]) {
      await d.page.waitFor(() => window.t.db.status.sync?.state === 'online' && window.t.db.status.sync?.pendingBatches === 0, null, `${d.name} online with nothing pending`, 15_000);
      await d.page.waitFor((want) => JSON.stringify(window.t.live.map((r: any) => `${r.title}${r.done ? ' (done)' : ''}`).sort()) === JSON.stringify(want), final, `${d.name} converged`, 15_000);
    }
    console.log(`[across] Bob back online and both converged ${Date.now() - t0} ms after his network returned`);
    const server_ = serverRows(server, appId);
    expect(server_.map((r) => r.title).sort()).toEqual(final);
    for (const d of [alice, bob]) {
      const v = await views(d);
      expect(v.live, d.name).toEqual(v.fresh);
      expect(v.fresh, d.name).toEqual(server_);
      expect(v.problems, d.name).toEqual([]);
    }
  } finally {
    await proxy.close();
    await server.dispose();
  }
});
