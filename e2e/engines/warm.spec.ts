/**
 * Warm start in Firefox and WebKitGTK (the Chromium spec, e2e/client-warm.spec.ts, has the rest):
 * a reload shows the last visit's rows at once, marked stale, before the database has opened (on
 * WebKitGTK the `idb` fallback's, which loads the whole database first), then the database's own.
 */
import type { EnginePage } from '../support/engines.ts';
import { pageReady } from '../support/client-page.ts';
import { expect, test } from './fixtures.ts';

const SCHEMA = { tables: { todos: { title: 'string' } } };

/** Loads the client page and opens `dbName` with warmStart; every update of `follow`'s queries goes to `window.t.updates`. */
async function visit(page: EnginePage, dbName: string): Promise<void> {
  await page.goto('/e2e/client.html');
  await page.evaluate(pageReady);
  await page.evaluate(
    ([schema, dbName]) => {
      const { createDb, s } = window.jazz;
      const app = s.fromJSON(schema as never);
      const db = createDb({ app, driver: { type: 'opfs', dbName: dbName as string }, warmStart: true });
      let ready = false;
      void db.ready.then(() => (ready = true));
      const updates: unknown[] = [];
      db.subscribeAll(app['todos']!.orderBy('title'), ({ all, stale }) => updates.push({ titles: all.map((r) => r['title']), stale: !!stale, ready }));
      window.t = { app, db, updates };
    },
    [SCHEMA, dbName] as const,
  );
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

  await visit(page, dbName);
  await page.waitFor(() => window.t['updates'].length >= 2, null, 'the kept rows and the database’s');
  const [kept, fresh] = await page.evaluate(() => window.t['updates'].slice(0, 2));
  expect(kept).toEqual({ titles: ['a', 'b ü', 'c 😀'], stale: true, ready: false });
  expect(fresh).toEqual({ titles: ['a', 'b ü', 'c 😀'], stale: false, ready: true });
});
