/**
 * Warm start in Firefox and WebKitGTK (the Chromium spec, e2e/client-warm.spec.ts, has the rest):
 * a reload shows the last visit's rows at once, marked stale, before the database has opened (on
 * WebKitGTK the `idb` fallback's, which loads the whole database first), then the database's own.
 */
import type { EnginePage } from '../support/engines.ts';
import { pageReady } from '../support/client-page.ts';
import { startWarm } from '../support/warm-page.ts';
import { expect, test } from './fixtures.ts';

const SCHEMA = { tables: { todos: { title: 'string' } } };

/**
 * Loads the client page, opens `dbName` with warmStart (support/warm-page.ts) and follows every todo
 * by title. `workerUrl`: another worker entry (e2e/worker/).
 */
async function visit(page: EnginePage, dbName: string, workerUrl?: string): Promise<void> {
  await page.goto('/e2e/client.html');
  await page.evaluate(pageReady);
  await page.evaluate(startWarm, [SCHEMA, dbName, workerUrl] as const);
  await page.evaluate(() => window.t['follow']('all', window.t['app'].todos.orderBy('title')));
}

test('a reload shows the kept rows first, marked stale, then the database’s', async ({ engine }) => {
  const page = await engine.page();
  const dbName = `warm-${engine.name}-${Date.now()}`;
  await visit(page, dbName);
  await page.evaluate(async () => {
    const { app, db } = window.t;
    await db.batch((b: any) => ['b ü', 'a', 'c 😀'].forEach((title) => b.insert(app.todos, { title }))).wait();
  });
  await page.waitFor(() => window.t['updates'].at(-1)?.titles.length === 3, null, 'the three rows');
  // Kept within a second (the reload's own pagehide would too).
  await page.waitFor((key) => localStorage.getItem(key)?.includes('c 😀'), `jazz-warm:${dbName}:main`, 'the kept rows');

  // The reload's worker opens the database 400 ms late (e2e/worker/slow-open.worker.ts), as a big
  // database or a slow disk would: under a loaded machine the kept rows' script could otherwise
  // come after a quick open, and the order this test checks would be left to chance.
  await visit(page, dbName, '/e2e/worker/slow-open.worker.ts?hold=400');
  await page.waitFor(() => window.t['updates'].length >= 2, null, 'the kept rows and the database’s');
  const [kept, fresh] = await page.evaluate(() => window.t['updates'].slice(0, 2));
  expect(kept).toEqual({ name: 'all', titles: ['a', 'b ü', 'c 😀'], added: 3, removed: [], changed: [], partial: true, stale: true, ready: false });
  expect(fresh).toEqual({ name: 'all', titles: ['a', 'b ü', 'c 😀'], added: 0, removed: [], changed: [], partial: false, stale: false, ready: true });
});
