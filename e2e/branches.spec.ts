/**
 * Branches through the sync server, from browsers (the page's `createDb({ branch })` in the
 * worker, server/branch-sync.ts on the server): two devices on branch "draft" see each other's
 * writes live, a third on main sees none of them, and a device that comes back with nothing local
 * gets the branch from the server.
 */
import { expect, type Page } from '@playwright/test';
import { test } from '@playwright/test';
import { s } from '../src/schema/builder.ts';
import { openClient, SCHEMA } from './support/client-page.ts';
import { TestSyncServer } from './support/sync-server.ts';

test("two devices on a branch see each other's writes through the server; main sees none of them; a device back with nothing local gets the branch again", async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start({ persistent: false });
  server.publish('branches', s.fromJSON(SCHEMA).$schema);
  const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext({ baseURL })));
  try {
    const [a, b, m] = (await Promise.all(contexts.map((c) => c.newPage()))) as [Page, Page, Page];
    const opts = { dbName: 'branch-sync', driver: 'memory' as const, server: server.url, appId: 'branches', backoff: { initialMs: 50, maxMs: 200 } };
    await openClient(m, opts);
    const base = await m.evaluate(async () => {
      const h = window.t.db.insert(window.t.app.todos, { title: 'on main' });
      await h.wait({ tier: 'global' });
      return h.id;
    });
    await openClient(a, { ...opts, branch: 'draft' });
    await openClient(b, { ...opts, branch: 'draft' });
    const watch = (p: Page) =>
      p.evaluate(
        () =>
          void window.t.db.subscribeAll(window.t.app.todos.orderBy('title'), ({ all }: { all: { title: string }[] }) => ((window as unknown as { titles: string[] }).titles = all.map((r) => r.title))),
      );
    for (const p of [a, b, m]) await watch(p);
    const titles = (p: Page) => p.evaluate(() => JSON.stringify((window as unknown as { titles?: string[] }).titles ?? null));
    // A device on the branch holds main's row once its live query has brought it (memory: nothing local).
    for (const p of [a, b]) await expect.poll(() => titles(p), { timeout: 15_000 }).toBe(JSON.stringify(['on main']));
    await a.evaluate(async (id) => {
      const { app, db } = window.t;
      await db.update(app.todos, id, { title: 'on main, reworded on draft' }).wait({ tier: 'global' });
      await db.insert(app.todos, { title: 'from A on draft' }).wait({ tier: 'global' });
    }, base);
    await b.evaluate(() => window.t.db.insert(window.t.app.todos, { title: 'from B on draft' }).wait({ tier: 'global' }));
    const onDraft = JSON.stringify(['from A on draft', 'from B on draft', 'on main, reworded on draft']);
    await expect.poll(() => titles(a), { timeout: 15_000 }).toBe(onDraft);
    await expect.poll(() => titles(b), { timeout: 15_000 }).toBe(onDraft);
    expect(await titles(m)).toBe(JSON.stringify(['on main']));
    expect(await m.evaluate(async () => (await window.t.db.all(window.t.app.todos, { tier: 'global' })).length)).toBe(1);
    // The server keeps the branch: B, opened again with nothing local (memory), gets it back.
    await openClient(b, { ...opts, branch: 'draft' });
    await watch(b);
    await expect.poll(() => titles(b), { timeout: 15_000 }).toBe(onDraft);
    // The server keeps the branch's versions beside main's; main is as it was.
    const e = server.engineOf('branches')!;
    expect(
      e
        .history(e.table('todos'), base)
        .map((v) => v.branch)
        .sort(),
    ).toEqual(['draft', 'main']);
    expect(e.getRowById(e.table('todos'), base)!.title).toBe('on main');
    expect(await titles(m)).toBe(JSON.stringify(['on main']));
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
});
