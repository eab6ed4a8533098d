/**
 * Warm start (`createDb({ warmStart: true })`, `<jazz-db warm-start>`; worker/page/warm.ts): a
 * reload shows each live query's result from the last visit at once, marked `stale` and `partial`,
 * before the database has opened; the worker's first result then replaces it with the difference as
 * its delta. Real Chromium, real OPFS, real reloads.
 */
import { expect, test, type Page } from '@playwright/test';
import { startWarm } from './support/warm-page.ts';

const SCHEMA = {
  tables: {
    todos: { title: 'string', done: { type: 'boolean', default: false }, blob: { type: 'bytes', optional: true } },
  },
};

/** Opens the database on a fresh load of the client page, with `warmStart` (support/warm-page.ts). */
async function open(page: Page, dbName: string, schema: unknown = SCHEMA): Promise<void> {
  await page.goto('/e2e/client.html');
  await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes');
  await page.evaluate(startWarm, [schema, dbName] as const);
}

const updatesOf = (page: Page, name: string) => page.evaluate((name) => window.t['updates'].filter((u: any) => u.name === name), name);

test('a reload shows the last visit’s rows at once, marked stale, then the database’s own', async ({ page }) => {
  const dbName = `warm-${Date.now()}`;
  await open(page, dbName);
  await page.evaluate(async () => {
    const { app, db, follow } = window.t;
    await db.batch((b: any) => ['b — ü 😀', 'a', 'c'].forEach((title) => b.insert(app.todos, { title }))).wait();
    follow('list', app.todos.orderBy('title'));
  });
  await expect.poll(async () => (await updatesOf(page, 'list')).at(-1)?.titles).toEqual(['a', 'b — ü 😀', 'c']);
  // The first visit had nothing kept: its first result is the database's.
  expect((await updatesOf(page, 'list'))[0]).toMatchObject({ stale: false, ready: true });

  // Reloaded at once: what the page kept is written when it is left (pagehide), not only after its delay.
  await open(page, dbName);
  await page.evaluate(() => window.t['follow']('list', window.t['app'].todos.orderBy('title')));
  await expect.poll(async () => (await updatesOf(page, 'list')).length).toBe(2);
  const [kept, fresh] = await updatesOf(page, 'list');
  expect(kept).toEqual({ name: 'list', titles: ['a', 'b — ü 😀', 'c'], added: 3, removed: [], changed: [], partial: true, stale: true, ready: false });
  // The same rows: the database's result says so with an empty delta, whole and not stale.
  expect(fresh).toMatchObject({ titles: ['a', 'b — ü 😀', 'c'], added: 0, removed: [], changed: [], partial: false, stale: false, ready: true });
});

test('rows changed while no page followed the query are shown as kept, then corrected', async ({ page }) => {
  const dbName = `warm-changed-${Date.now()}`;
  await open(page, dbName);
  await page.evaluate(async () => {
    const { app, db, follow } = window.t;
    await db.batch((b: any) => ['one', 'two', 'three'].forEach((title) => b.insert(app.todos, { title }))).wait();
    follow('open', app.todos.where({ done: false }).orderBy('title'));
  });
  await expect.poll(async () => (await updatesOf(page, 'open')).at(-1)?.titles).toEqual(['one', 'three', 'two']);
  // Written within a second, without leaving the page.
  await expect.poll(() => page.evaluate((key) => localStorage.getItem(key)?.includes('three') ?? false, `jazz-warm:${dbName}:main`)).toBe(true);

  // Another visit changes the rows without following that query.
  await open(page, dbName);
  await page.evaluate(async () => {
    const { app, db } = window.t;
    const rows = await db.all(app.todos.orderBy('title'));
    await db.update(app.todos, rows.find((r: any) => r.title === 'two').id, { done: true }).wait();
    await db.update(app.todos, rows.find((r: any) => r.title === 'one').id, { title: 'one, renamed' }).wait();
  });

  await open(page, dbName);
  await page.evaluate(() => window.t['follow']('open', window.t['app'].todos.where({ done: false }).orderBy('title')));
  await expect.poll(async () => (await updatesOf(page, 'open')).length).toBe(2);
  const [kept, fresh] = await updatesOf(page, 'open');
  expect(kept).toMatchObject({ titles: ['one', 'three', 'two'], stale: true, partial: true });
  expect(fresh).toMatchObject({ titles: ['one, renamed', 'three'], removed: ['two'], changed: ['one, renamed'], added: 0, stale: false, partial: false });
});

test('what is kept: the first 100 rows, no bytes, per schema; a stopped query is not called; a misspelt option is refused', async ({ page }) => {
  const dbName = `warm-limits-${Date.now()}`;
  await open(page, dbName);
  await page.evaluate(async () => {
    const { app, db, follow } = window.t;
    await db
      .batch((b: any) => {
        for (let i = 0; i < 150; i++) b.insert(app.todos, { title: `row ${String(i).padStart(3, '0')}` });
        b.insert(app.todos, { title: 'with bytes', blob: new Uint8Array([1, 2, 3]) });
      })
      .wait();
    follow('all', app.todos.where({ title: { lt: 'row 999' } }).orderBy('title'));
    follow('bytes', app.todos.where({ title: 'with bytes' }));
    follow('stopped', app.todos.orderBy('title').limit(5));
  });
  await expect.poll(async () => (await updatesOf(page, 'all')).at(-1)?.titles.length).toBe(150);
  await expect.poll(async () => (await updatesOf(page, 'bytes')).length).toBe(1);
  await expect.poll(async () => (await updatesOf(page, 'stopped')).length).toBe(1);

  await open(page, dbName);
  const refused = await page.evaluate(async () => {
    const { app, db, follow } = window.t;
    follow('all', app.todos.where({ title: { lt: 'row 999' } }).orderBy('title'));
    follow('bytes', app.todos.where({ title: 'with bytes' }));
    follow('stopped', app.todos.orderBy('title').limit(5))(); // stopped at once
    await db.ready;
    try {
      window.jazz.createDb({ app, driver: { type: 'memory' }, warmstart: true } as never);
      return 'accepted';
    } catch (e) {
      return (e as { code?: string }).code;
    }
  });
  expect(refused).toBe('OPTION_INVALID');
  await expect.poll(async () => (await updatesOf(page, 'all')).at(-1)?.titles.length).toBe(150);
  const all = await updatesOf(page, 'all');
  expect(all[0]).toMatchObject({ stale: true, partial: true });
  expect(all[0].titles).toHaveLength(100);
  expect(all[0].titles.at(-1)).toBe('row 099');
  expect(all.at(-1)).toMatchObject({ stale: false, partial: false, added: 50 });
  // Bytes do not survive JSON: that result was not kept, so its first update is the database's.
  expect((await updatesOf(page, 'bytes'))[0]).toMatchObject({ stale: false, titles: ['with bytes'] });
  await page.waitForTimeout(300);
  expect(await updatesOf(page, 'stopped')).toEqual([]);

  // A kept item of another layout (an older or newer jazz.js) is read as nothing. (Changed from a
  // page with no database open: a live one would write its own over it when left.)
  await page.goto('/e2e/client.html');
  await page.evaluate((key) => {
    const item = JSON.parse(localStorage.getItem(key)!);
    localStorage.setItem(key, JSON.stringify({ ...item, v: 0 }));
  }, `jazz-warm:${dbName}:main`);
  await open(page, dbName);
  await page.evaluate(() => window.t['follow']('all', window.t['app'].todos.where({ title: { lt: 'row 999' } }).orderBy('title')));
  await expect.poll(async () => (await updatesOf(page, 'all')).length).toBeGreaterThan(0);
  expect((await updatesOf(page, 'all'))[0]).toMatchObject({ stale: false, ready: true });

  // Another schema (a column more) finds nothing of what the first kept.
  const other = { tables: { todos: { ...SCHEMA.tables.todos, note: { type: 'string', optional: true } } } };
  await open(page, dbName, other);
  await page.evaluate(() => window.t['follow']('all', window.t['app'].todos.where({ title: { lt: 'row 999' } }).orderBy('title')));
  await expect.poll(async () => (await updatesOf(page, 'all')).length).toBeGreaterThan(0);
  expect((await updatesOf(page, 'all'))[0]).toMatchObject({ stale: false, ready: true });
});

test('<jazz-db warm-start>: a list shows its last rows before the database opens, busy and without events', async ({ page }) => {
  const dbName = `warm-el-${Date.now()}`;
  const markup = `<jazz-db driver="opfs" db-name="${dbName}" warm-start><script type="application/json" slot="schema">${JSON.stringify(SCHEMA)}</script>
    <jazz-query id="q" table="todos" order-by="title"><template><li>{{title}}</li></template></jazz-query></jazz-db>`;
  /** Loads the elements page, then the markup, noting the list's state when its rows first show and its events. */
  const visit = async () => {
    await page.goto('/e2e/elements.html');
    await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes');
    await page.evaluate((markup) => {
      const seen: any = { results: 0 };
      window.seen = seen;
      new MutationObserver(() => {
        const q = document.querySelector('#q');
        if (!seen.first && q?.querySelector('li'))
          seen.first = { rows: [...q.querySelectorAll('li')].map((li) => li.textContent), busy: q.getAttribute('aria-busy'), db: document.querySelector('jazz-db')!.getAttribute('state') };
      }).observe(document.body, { childList: true, subtree: true });
      document.addEventListener('jazz-results', () => seen.results++);
      document.body.innerHTML = markup;
    }, markup);
  };
  await visit();
  await page.waitForFunction(() => (document.querySelector('jazz-db') as any)?.db?.status.ready);
  await page.evaluate(async () => {
    const db = (document.querySelector('jazz-db') as any).db;
    await db.batch((b: any) => ['kept 2', 'kept 1'].forEach((title) => b.insert(db.app.todos, { title }))).wait();
  });
  await expect(page.locator('#q li')).toHaveText(['kept 1', 'kept 2']);
  expect(await page.evaluate(() => window.seen['first'])).toMatchObject({ busy: null, db: 'ready' });

  await visit();
  await expect(page.locator('#q')).toHaveAttribute('state', 'ready');
  await expect(page.locator('#q')).not.toHaveAttribute('aria-busy', /./);
  const seen = await page.evaluate(() => window.seen);
  expect(seen.first).toEqual({ rows: ['kept 1', 'kept 2'], busy: 'true', db: 'loading' });
  expect(seen.results).toBe(1); // the database's result only
});

test('two tabs of one database keep both their queries’ results', async ({ page, context }) => {
  const dbName = `warm-tabs-${Date.now()}`;
  await open(page, dbName);
  await page.evaluate(async () => {
    const { app, db, follow } = window.t;
    await db.batch((b: any) => ['x1', 'x2', 'y1'].forEach((title) => b.insert(app.todos, { title }))).wait();
    follow('x', app.todos.where({ title: { lt: 'y' } }).orderBy('title'));
  });
  await expect.poll(async () => (await updatesOf(page, 'x')).at(-1)?.titles).toEqual(['x1', 'x2']);
  const other = await context.newPage();
  await open(other, dbName);
  await other.evaluate(() => window.t['follow']('y', window.t['app'].todos.where({ title: { gte: 'y' } }).orderBy('title')));
  await expect.poll(async () => (await updatesOf(other, 'y')).at(-1)?.titles).toEqual(['y1']);
  // Each tab writes its own within a second, merged with what the other wrote.
  const key = `jazz-warm:${dbName}:main`;
  await expect.poll(() => page.evaluate((key) => Object.keys(JSON.parse(localStorage.getItem(key) ?? '{"q":{}}').q).length, key)).toBe(2);
  await other.close();

  await open(page, dbName);
  await page.evaluate(() => {
    const { app, follow } = window.t;
    follow('x', app.todos.where({ title: { lt: 'y' } }).orderBy('title'));
    follow('y', app.todos.where({ title: { gte: 'y' } }).orderBy('title'));
  });
  await expect.poll(async () => (await updatesOf(page, 'y')).length).toBe(2);
  expect((await updatesOf(page, 'x'))[0]).toMatchObject({ stale: true, titles: ['x1', 'x2'] });
  expect((await updatesOf(page, 'y'))[0]).toMatchObject({ stale: true, titles: ['y1'] });
});
