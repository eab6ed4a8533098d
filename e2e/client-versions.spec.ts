/**
 * Schema versions in the browser: a database written by a page of one version, opened by the page
 * of the next (a static site deployed again), keeps everything in the new shape; and a tab still
 * on the old version beside a tab on the new one, sharing one database through one leader, both
 * keep working, whichever of them leads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test';
import { launchOptions } from './support/chromium.ts';
import { openClient } from './support/client-page.ts';
import { s } from '../src/index.ts';

const v1 = s.defineApp({ todos: s.table({ title: s.string(), priority: s.int() }) });
const v2 = s.defineApp({ todos: s.table({ name: s.string(), done: s.boolean().default(false) }), tags: s.table({ label: s.string() }) });
const m12 = s.defineMigration({
  from: v1,
  to: v2,
  migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: false }), priority: s.drop.int({ backwardsDefault: 0 }) } },
  createTables: { tags: true },
});
const V1 = JSON.parse(JSON.stringify({ tables: { todos: { title: 'string', priority: 'int' } } }));
const V2 = JSON.parse(JSON.stringify({ tables: { todos: { name: 'string', done: { type: 'boolean', default: false } }, tags: { label: 'string' } } }));
const MIGRATIONS = [JSON.parse(JSON.stringify(m12))];

let profile: string;
let context: BrowserContext;

test.beforeEach(async ({ baseURL }) => {
  profile = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
  context = await chromium.launchPersistentContext(profile, { ...launchOptions(), baseURL });
});

test.afterEach(async () => {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});

function rows(page: Page, query: string): Promise<Record<string, unknown>[]> {
  return page.evaluate(async (q) => {
    const { app, db } = window.t;
    return (await db.all(new Function(`return (${q})`)()(app))).map((r: Record<string, unknown>) => ({ ...r }));
  }, query);
}

test('a page reloaded with the next schema version finds every row in the new shape, indexed', async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  await openClient(page, { dbName: 'versions', schema: V1 });
  await page.evaluate(async () => {
    const { app, db } = window.t;
    for (const [title, priority] of [
      ['alpha', 3],
      ['beta', 5],
    ] as const)
      await db.insert(app.todos, { title, priority }).wait();
  });
  expect(v1.$hash).not.toBe(v2.$hash);
  await page.reload();
  await openClient(page, { dbName: 'versions', schema: V2, migrations: MIGRATIONS });
  expect(await rows(page, `(app) => app.todos.orderBy('name')`)).toEqual([expect.objectContaining({ name: 'alpha', done: false }), expect.objectContaining({ name: 'beta', done: false })]);
  expect(Object.keys((await rows(page, `(app) => app.todos`))[0]!).sort()).toEqual(['done', 'id', 'name']);
  await page.evaluate(async () => {
    const { app, db } = window.t;
    const [a] = await db.all(app.todos.where({ name: 'alpha' }));
    await db.update(app.todos, a.id, { done: true }).wait();
    await db.insert(app.tags, { label: 'new table' }).wait();
  });
  expect((await rows(page, `(app) => app.todos.where({ done: true })`)).map((r) => r['name'])).toEqual(['alpha']);
  expect((await rows(page, `(app) => app.tags`)).map((r) => r['label'])).toEqual(['new table']);
});

test('a tab on the old version and a tab on the new one share one database, whichever leads', async () => {
  const a = context.pages()[0] ?? (await context.newPage());
  await openClient(a, { dbName: 'side-by-side', schema: V1 });
  await a.evaluate(async () => {
    const { app, db } = window.t;
    await db.insert(app.todos, { title: 'from v1', priority: 2 }).wait();
  });
  // The v2 tab arrives while the v1 tab leads: the leader learns v2 from it.
  const b = await context.newPage();
  await openClient(b, { dbName: 'side-by-side', schema: V2, migrations: MIGRATIONS });
  expect(await b.evaluate(() => window.t.db.status.role)).toBe('follower');
  expect((await rows(b, `(app) => app.todos`)).map((r) => [r['name'], r['done']])).toEqual([['from v1', false]]);
  await b.evaluate(async () => {
    const { app, db } = window.t;
    await db.insert(app.todos, { name: 'from v2', done: true }).wait();
  });
  expect((await rows(a, `(app) => app.todos.orderBy('title')`)).map((r) => [r['title'], r['priority']])).toEqual([
    ['from v1', 2],
    ['from v2', 0],
  ]);
  // Live queries of both tabs follow writes of the other.
  await a.evaluate(() => {
    const { app, db } = window.t;
    window.t.stop = db.subscribeAll(app.todos.orderBy('title'), ({ all }: any) => (window.t.live = all.map((r: any) => r.title)));
  });
  await b.evaluate(async () => {
    const { app, db } = window.t;
    const [row] = await db.all(app.todos.where({ name: 'from v1' }));
    await db.update(app.todos, row.id, { name: 'renamed in v2' }).wait();
  });
  await expect.poll(() => a.evaluate(() => window.t.live)).toEqual(['from v2', 'renamed in v2']);
  // The v1 tab closes: the v2 tab leads, and a v1 tab that comes back follows it.
  await a.close();
  await expect.poll(() => b.evaluate(() => window.t.db.status.role), { timeout: 10_000 }).toBe('leader');
  const c = await context.newPage();
  await openClient(c, { dbName: 'side-by-side', schema: V1 });
  expect(await c.evaluate(() => window.t.db.status.role)).toBe('follower');
  expect((await rows(c, `(app) => app.todos.orderBy('title')`)).map((r) => [r['title'], r['priority']])).toEqual([
    ['from v2', 0],
    ['renamed in v2', 2],
  ]);
  await c.evaluate(async () => {
    const { app, db } = window.t;
    await db.insert(app.todos, { title: 'v1 again', priority: 9 }).wait();
  });
  expect((await rows(b, `(app) => app.todos.orderBy('name')`)).map((r) => r['name'])).toEqual(['from v2', 'renamed in v2', 'v1 again']);
});
