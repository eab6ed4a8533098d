/**
 * Tabs of one database in Firefox and WebKitGTK: one leader (the Web Lock), followers that reach
 * it (SharedWorker broker, or BroadcastChannel), a takeover when the leader's tab goes; and a page
 * left before its database opened, which must not keep the database from the pages after it.
 *
 * The second test is WebKit's: it keeps a page it leaves in its back/forward cache with the page's
 * worker suspended, and so with the Web Lock and an IndexedDB open that worker held. Opening A,
 * leaving a page of B before B had opened, opening A again and then B again left B "connecting"
 * for good. The runtime now ends the worker of a page left before its database opened (and
 * reloads such a page if it comes back): worker/page/client.ts. Here the worker of the first B
 * page is e2e/worker/slow-lead.worker.ts, which holds the lock a while before it opens the
 * storage, so the page is always left mid-open.
 */
import { openClient, pageReady } from '../support/client-page.ts';
import type { EnginePage } from '../support/engines.ts';
import { expect, test } from './fixtures.ts';

/** Starts a live query of every todo's title in `window.t.live`. */
async function watch(page: EnginePage): Promise<void> {
  await page.evaluate(() => {
    const { app, db } = window.t;
    window.t.live = [];
    db.subscribeAll(app.todos.orderBy('title'), ({ all }: any) => (window.t.live = all.map((r: any) => r.title)));
  });
}

function insert(page: EnginePage, title: string): Promise<unknown> {
  return page.evaluate(async (title) => {
    const { app, db } = window.t;
    await db.insert(app.todos, { title }).wait({ tier: 'local' });
    return db.status.role;
  }, title);
}

test('two tabs of one database: one leads, the other follows and sees its writes; it takes over when the leader goes', async ({ engine }) => {
  const device = await engine.device();
  const dbName = `tabs-${Date.now()}`;
  const first = await device.newPage();
  await openClient(first, { dbName });
  const second = await device.newPage();
  await openClient(second, { dbName });
  await watch(first);
  await watch(second);
  const roles = async () => Promise.all([first, second].map((p) => p.evaluate(() => window.t.db.status.role)));
  expect(await roles()).toEqual(['leader', 'follower']);

  expect(await insert(second, 'from the follower')).toBe('follower');
  expect(await insert(first, 'from the leader')).toBe('leader');
  for (const p of [first, second]) await p.waitFor(() => window.t.live.length === 2, null, 'both writes in each tab');
  expect(await second.evaluate(() => window.t.live)).toEqual(['from the follower', 'from the leader']);

  // The leader's tab closes: the follower takes over (it opens the storage itself) and keeps everything.
  const t0 = Date.now();
  await first.close();
  await second.waitFor(() => window.t.db.status.role === 'leader', null, 'the takeover', 10_000);
  const takeover = Date.now() - t0;
  expect(await insert(second, 'after the takeover')).toBe('leader');
  await second.waitFor(() => window.t.live.length === 3, null, 'the write after the takeover');
  expect(await second.evaluate(async () => (await window.t.db.all(window.t.app.todos.orderBy('title'))).map((r: any) => r.title))).toEqual([
    'after the takeover',
    'from the follower',
    'from the leader',
  ]);
  console.log(`[tabs:${engine.name}] takeover after the leader's tab closed: ${takeover} ms; driver ${JSON.stringify(await second.evaluate(() => window.t.db.status.driver.used))}`);
});

test('a page left before its database opened does not keep that database from the next page', async ({ engine }) => {
  const page = await engine.page();
  const a = `nav-a-${Date.now()}`;
  const b = `nav-b-${Date.now()}`;
  await openClient(page, { dbName: a });
  // A page of B, left while its worker holds B's lock and has not opened the storage yet.
  await page.goto('/e2e/client.html?b');
  await page.evaluate(pageReady);
  await page.evaluate(pageLeavesMidOpen, b);
  await page.waitFor((b) => (window as any).held.includes(`jazz:${b}`), b, "B's worker holding the lock");
  await openClient(page, { dbName: a });
  // B again, on a new page: it opens (before the fix, in WebKit, it stayed `connecting` for good).
  await page.goto('/e2e/client.html?b-again');
  await page.evaluate(pageReady);
  const r = await page.evaluate(async (b) => {
    const { createDb, s } = window.jazz;
    const app = s.fromJSON({ tables: { todos: { title: 'string' } } });
    const db = createDb({ app, driver: { type: 'opfs', dbName: b } });
    const opened = await Promise.race([db.ready.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    if (opened) await db.insert(app.todos, { title: 'x' }).wait({ tier: 'local' });
    return { opened, status: db.status, locks: await navigator.locks.query() };
  }, b);
  expect(r.opened, `B did not open within 10 s: status ${JSON.stringify(r.status)}, locks ${JSON.stringify(r.locks)}`).toBe(true);
  expect(r.status).toMatchObject({ ready: true, role: 'leader', driver: { requested: 'opfs', persistent: true } });
});

/** In the page: opens `b` through the slow-leading worker, and keeps what locks are held in `window.held`. */
function pageLeavesMidOpen(b: string): void {
  const { createDb, s } = window.jazz;
  const app = s.fromJSON({ tables: { todos: { title: 'string' } } });
  createDb({ app, driver: { type: 'opfs', dbName: b }, workerUrl: new URL('/e2e/worker/slow-lead.worker.ts?ms=3000', location.href) });
  (window as any).held = [];
  const look = (): void => void navigator.locks.query().then((q) => (((window as any).held = q.held?.map((l) => l.name) ?? []), setTimeout(look, 20)));
  look();
}
