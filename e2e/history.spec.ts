/**
 * History in the browser: the page's `db.history`, `subscribeHistory`, `conflicts`, `revert`,
 * `revertBatch` and `asOf` (run in the worker, src/history/), from a page that leads and from a
 * follower tab through the leader, with a history subscription that carries on when the leader's
 * tab goes; conflicts and a refused revert against the sync server; and the elements:
 * `<jazz-history>` (its versions, live, its revert button, data that stays text) and
 * `<jazz-query as-of>`; undo (`<jazz-db undo>` and `jazz-action="undo"` buttons), `jazz-merge`, and
 * a `<jazz-query>`'s `$conflicts` on two devices (marks, sides, `pick`, `jazz-conflict`).
 */
import { expect, type Page } from '@playwright/test';
import { test as base } from '@playwright/test';
import { definePermissions } from '../src/policy/define.ts';
import { s } from '../src/schema/builder.ts';
import { openClient } from './support/client-page.ts';
import { errorsSeen, load, mount, SCHEMA, test as elementsTest } from './support/elements-page.ts';
import { TestSyncServer } from './support/sync-server.ts';

/**
 * Runs every history call from `window.t`'s database: what it returns is checked the same for a
 * leader and a follower. Self-contained (it runs in the page).
 */
async function scenario(): Promise<Record<string, unknown>> {
  const { app, db } = window.t;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const code = async (p: () => Promise<unknown>) => {
    try {
      await p();
      return 'no error';
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  const t0 = Date.now() - 1;
  await sleep(5);
  const h1 = db.insert(app.todos, { title: 'first', priority: 1 });
  const id = h1.id;
  await h1.wait();
  const lengths: number[] = [];
  const stop = db.subscribeHistory(app.todos, id, (entries: unknown[]) => lengths.push(entries.length));
  await sleep(5);
  const t1 = Date.now();
  await sleep(5);
  await db.update(app.todos, id, { title: 'second' }).wait();
  await db.update(app.todos, id, { priority: 3, done: true }).wait();
  const history = await db.history(app.todos, id);

  let asOfLive: string[] = [];
  const stopAsOf = db.subscribeAll(app.todos, ({ all }: any) => (asOfLive = all.map((r: any) => `${r.title} ${r.priority}`)), { asOf: new Date(t1) });
  const asOf = {
    before: (await db.all(app.todos, { asOf: t0 })).length,
    atT1: (await db.all(app.todos.select('title', '$updatedAt'), { asOf: t1 })).map((r: any) => [r.title, typeof r.$updatedAt]),
    one: (await db.one(app.todos, { asOf: new Date(t1) }))?.title,
    now: (await db.one(app.todos))?.title,
  };

  // Back to the first version: one new batch under the page's key, tracked like any write.
  const reverting = db.revert(app.todos, id, { to: history[0].versionId });
  const pendingWhileReverting = db.status.pendingWrites;
  const r = await reverting;
  await r.wait();
  const afterRevert = await db.one(app.todos.where({ id }));

  // A batch undone: its update put back, its insert deleted.
  const b = db.batch((w: any) => {
    w.update(app.todos, id, { title: 'batched' });
    w.insert(app.todos, { title: 'made by the batch' });
  });
  await b.wait();
  const rb = await db.revertBatch(b.batchId);
  await rb.wait({ tier: 'local' });
  const afterRevertBatch = (await db.all(app.todos)).map((x: any) => x.title);
  const last = await db.history(app.todos, id);
  await sleep(50);
  stop();
  stopAsOf();
  // The live query at t1 did not move when later versions came.
  return {
    entries: history.map((e: any) => ({ changed: e.changed, deleted: e.deleted, isDate: e.at instanceof Date, tier: e.tier, author: typeof e.author, parents: e.parents.length })),
    firstBatchIsTheHandle: history[0].batchId === h1.batchId,
    frozen: Object.isFrozen(afterRevert),
    asOf,
    asOfLive,
    pendingWhileReverting,
    revertHandle: { id: r.id === id, batchId: typeof r.batchId },
    afterRevert: { title: afterRevert.title, priority: afterRevert.priority, done: afterRevert.done },
    revertBatchIds: [...rb.ids].sort().join() === [id, b.ids[1]].sort().join(),
    afterRevertBatch,
    lastBatches:
      last
        .slice(-3)
        .map((e: any) => e.batchId)
        .join() === [r.batchId, b.batchId, rb.batchId].join(),
    lastChanged: last.slice(-3).map((e: any) => e.changed),
    lengths,
    conflicts: await db.conflicts(app.todos, id),
    pendingAfter: db.status.pendingWrites,
    errors: {
      badVersion: await code(() => db.revert(app.todos, id, { to: 'nope' })),
      badId: await code(() => db.history(app.todos, 'not-a-uuid')),
      badTable: await code(() => db.conflicts('nope', id)),
      badBatch: await code(() => db.revertBatch('0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a')),
      badAsOf: await code(() => db.all(app.todos, { asOf: 'yesterday' })),
    },
  };
}

function expectScenario(r: Record<string, unknown>): void {
  expect(r['entries']).toEqual([
    { changed: { title: 'first', done: false, priority: 1, projectId: null }, deleted: false, isDate: true, tier: 'local', author: 'string', parents: 0 },
    { changed: { title: 'second' }, deleted: false, isDate: true, tier: 'local', author: 'string', parents: 1 },
    { changed: { done: true, priority: 3 }, deleted: false, isDate: true, tier: 'local', author: 'string', parents: 1 },
  ]);
  expect(r['firstBatchIsTheHandle']).toBe(true);
  expect(r['asOf']).toEqual({ before: 0, atT1: [['first', 'number']], one: 'first', now: 'second' });
  expect(r['asOfLive']).toEqual(['first 1']);
  expect(r['pendingWhileReverting']).toBe(1);
  expect(r['revertHandle']).toEqual({ id: true, batchId: 'string' });
  expect(r['afterRevert']).toEqual({ title: 'first', priority: 1, done: false });
  expect(r['frozen']).toBe(true);
  expect(r['revertBatchIds']).toBe(true);
  expect(r['afterRevertBatch']).toEqual(['first']);
  expect(r['lastBatches']).toBe(true);
  expect(r['lastChanged']).toEqual([{ title: 'first', done: false, priority: 1 }, { title: 'batched' }, { title: 'first' }]);
  // Once at first, then once per version written (each write awaited before the next).
  expect(r['lengths']).toEqual([1, 2, 3, 4, 5, 6]);
  expect(r['conflicts']).toEqual([]);
  expect(r['pendingAfter']).toBe(0);
  expect(r['errors']).toEqual({ badVersion: 'ROW_NOT_FOUND', badId: 'TYPE_MISMATCH', badTable: 'UNKNOWN_TABLE', badBatch: 'BATCH_NOT_FOUND', badAsOf: 'OPTION_INVALID' });
}

base('history, subscribeHistory, conflicts, revert, revertBatch and asOf from a page', async ({ page }) => {
  await openClient(page, { dbName: `history-${Date.now()}` });
  expect(await page.evaluate(() => window.t.db.status.role)).toBe('leader');
  expectScenario(await page.evaluate(scenario));
});

base('the same from a follower tab, and its history subscription carries on when the leader goes', async ({ context }) => {
  const dbName = `history-tabs-${Date.now()}`;
  const leader = await context.newPage();
  await openClient(leader, { dbName });
  const follower = await context.newPage();
  await openClient(follower, { dbName });
  expect(await follower.evaluate(() => window.t.db.status.role)).toBe('follower');
  expectScenario(await follower.evaluate(scenario));

  // A row written by the leader, followed from the follower; then the leader's tab closes.
  const id = await leader.evaluate(async () => {
    const { app, db } = window.t;
    const h = db.insert(app.todos, { title: 'v1' });
    await h.wait();
    return h.id;
  });
  await follower.evaluate((id) => {
    const { app, db } = window.t;
    window.t.calls = [];
    db.subscribeHistory(app.todos, id, (entries: any[]) => window.t.calls.push(entries.map((e) => e.changed.title ?? '-').join()));
  }, id);
  await expect.poll(() => follower.evaluate(() => window.t.calls)).toEqual(['v1']);
  await leader.close();
  await expect.poll(() => follower.evaluate(() => window.t.db.status.role), { timeout: 10_000 }).toBe('leader');
  await follower.evaluate(async (id) => {
    const { app, db } = window.t;
    await db.update(app.todos, id, { title: 'v2' }).wait();
    const [first] = await db.history(app.todos, id);
    await (await db.revert(app.todos, id, { to: first.versionId })).wait();
  }, id);
  // The same history again from the new leader is not reported twice.
  await expect.poll(() => follower.evaluate(() => window.t.calls)).toEqual(['v1', 'v1,v2', 'v1,v2,v1']);
});

base('a tab on a branch (createDb({ branch })) reads main as it stood plus its own writes, which main does not see, as leader and as follower', async ({ context }) => {
  const dbName = `branch-tabs-${Date.now()}`;
  const main = await context.newPage();
  await openClient(main, { dbName });
  const draft = await context.newPage();
  await openClient(draft, { dbName, branch: 'draft' });
  expect(await draft.evaluate(() => window.t.db.status.role)).toBe('follower');
  const titles = (p: Page) => p.evaluate(async () => (await window.t.db.all(window.t.app.todos.orderBy('title'))).map((r: { title: string }) => r.title));
  const id = await main.evaluate(async () => {
    const h = window.t.db.insert(window.t.app.todos, { title: 'on main' });
    await h.wait();
    return h.id;
  });
  // The branch was made when the draft tab opened, before this row: it does not see it.
  expect(await titles(draft)).toEqual([]);
  await draft.evaluate(async () => {
    await window.t.db.insert(window.t.app.todos, { title: 'draft only' }).wait();
  });
  expect(await titles(draft)).toEqual(['draft only']);
  expect(await titles(main)).toEqual(['on main']);
  // The main tab goes; the draft tab leads, still on its branch, and main's data is all there.
  await main.close();
  await expect.poll(() => draft.evaluate(() => window.t.db.status.role), { timeout: 10_000 }).toBe('leader');
  expect(await titles(draft)).toEqual(['draft only']);
  const again = await context.newPage();
  await openClient(again, { dbName });
  expect(await titles(again)).toEqual(['on main']);
  expect(await again.evaluate(async (id) => (await window.t.db.one(window.t.app.todos.where({ id })))?.title, id)).toBe('on main');
  // From the main tab (a follower now): the branches, a preview, the merge, and the branch dropped.
  const merged = await again.evaluate(async () => {
    const { app, db } = window.t;
    const branches = await db.branches();
    const preview = await db.mergePreview('draft');
    await (await db.merge('draft')).wait();
    await db.deleteBranch('draft');
    return {
      branches: branches.map((b: { name: string; from: string }) => [b.name, b.from]),
      fields: preview.map((c: { field: string; from: unknown }) => [c.field, c.from]).sort(),
      titles: (await db.all(app.todos.orderBy('title'))).map((r: { title: string }) => r.title),
      after: (await db.branches()).length,
    };
  });
  expect(merged).toEqual({
    branches: [['draft', 'main']],
    fields: [
      ['$deleted', false],
      ['done', false],
      ['priority', null],
      ['projectId', null],
      ['title', 'draft only'],
    ],
    titles: ['draft only', 'on main'],
    after: 0,
  });
});

base('concurrent edits on two devices: the same conflicts on both; a revert the server refuses reaches onRejected', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start({ persistent: true });
  const app = s.fromJSON(SCHEMA);
  // Anything may be written except a title put back to "original" by an update.
  server.publish(
    'history',
    app.$schema,
    definePermissions(app, ({ policy }) => {
      for (const t of ['todos', 'projects']) {
        policy[t]!.allowRead.always();
        policy[t]!.allowInsert.always();
      }
      policy['todos']!.allowUpdate.whereOld({ title: { ne: '' } }).whereNew({ title: { ne: 'original' } });
    }),
  );
  const contexts = await Promise.all([browser.newContext({ baseURL }), browser.newContext({ baseURL })]);
  try {
    const [a, b] = await Promise.all(contexts.map((c) => c.newPage()));
    const opts = { dbName: 'history-sync', driver: 'memory' as const, server: server.url, appId: 'history', backoff: { initialMs: 50, maxMs: 200 }, schema: JSON.parse(SCHEMA) };
    await openClient(a!, opts);
    await openClient(b!, opts);
    // A device receives the rows of the queries it follows.
    // Each keeps its rows with their conflicts (on request), as a list that marks them would.
    for (const p of [a!, b!]) {
      await p.evaluate(() => void window.t.db.subscribeAll(window.t.app.todos, ({ all }: { all: unknown[] }) => ((window as unknown as { rows: unknown[] }).rows = all), { conflicts: true }));
    }
    const id = await a!.evaluate(async () => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'original' });
      await h.wait({ tier: 'global' });
      return h.id;
    });
    const seen = (p: Page) => p.evaluate(async (id) => (await window.t.db.one(window.t.app.todos.where({ id })))?.title ?? null, id);
    await expect.poll(() => seen(b!)).toBe('original');
    await server.stop();
    const offline = (p: Page) => p.evaluate(() => window.t.db.syncStatus.state);
    await expect.poll(() => offline(a!)).not.toBe('online');
    await expect.poll(() => offline(b!)).not.toBe('online');
    for (const [p, title] of [
      [a!, 'from A'],
      [b!, 'from B'],
    ] as const) {
      await p.evaluate(([id, title]) => window.t.db.update(window.t.app.todos, id, { title }).wait(), [id, title] as const);
    }
    await server.start();
    const conflicts = (p: Page) => p.evaluate(async (id) => JSON.stringify(await window.t.db.conflicts(window.t.app.todos, id)), id);
    await expect.poll(async () => JSON.parse(await conflicts(a!)).length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => conflicts(b!), { timeout: 15_000 }).toBe(await conflicts(a!));
    const c = JSON.parse(await conflicts(a!));
    expect(c[0].field).toBe('title');
    expect([c[0].winner.value, c[0].losers.map((l: { value: string }) => l.value)].flat().sort()).toEqual(['from A', 'from B']);
    expect(typeof c[0].winner.at).toBe('string'); // a Date on the page (JSON here)
    const marked = (p: Page) => p.evaluate((id) => JSON.stringify((window as unknown as { rows: { id: string; $conflicts: unknown }[] }).rows.find((r) => r.id === id)?.$conflicts), id);
    for (const p of [a!, b!]) await expect.poll(() => marked(p), { timeout: 15_000 }).toBe(JSON.stringify(c));
    const read = await a!.evaluate(async (id) => JSON.stringify((await window.t.db.all(window.t.app.todos.where({ id }), { conflicts: true }))[0].$conflicts), id);
    expect(read).toBe(JSON.stringify(c));

    // Back to the first version: the server refuses the title "original"; the page hears of it.
    const refused = await a!.evaluate(async (id) => {
      const { app, db } = window.t;
      const rejections: { code: string; batchId: string }[] = [];
      db.onRejected((r: { code: string; batchId: string }) => rejections.push({ code: r.code, batchId: r.batchId }));
      const [first] = await db.history(app.todos, id);
      const h = await db.revert(app.todos, id, { to: first.versionId });
      let waited: string | undefined;
      try {
        await h.wait({ tier: 'global' });
      } catch (e) {
        waited = (e as { code?: string }).code;
      }
      return { waited, rejections, mine: rejections.every((r) => r.batchId === h.batchId), title: (await db.one(app.todos.where({ id })))?.title };
    }, id);
    expect(refused.waited).toBe('BATCH_REJECTED');
    expect(refused.rejections).toEqual([{ code: 'PERMISSION_DENIED', batchId: expect.any(String) }]);
    expect(refused.mine).toBe(true);
    expect(refused.title).not.toBe('original');
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.dispose();
  }
});

const ROW = '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a';
const EVIL = '<img src=x onerror="window.__pwned=1">';
const JS_URL = 'javascript:window.__pwned=2';

async function write(page: Page, fn: string): Promise<unknown> {
  return page.evaluate(async (fn) => {
    const db = document.querySelector('jazz-db')!.db!;
    await db.ready;
    return new Function(`return (${fn})`)()(db);
  }, fn);
}

elementsTest("<jazz-history> renders a row's versions live, newest first too, and its revert button puts one back", async ({ shared: page }) => {
  const warnings = await mount(
    page,
    `<jazz-history id="h" table="todos" row-id="${ROW}">
       <template><li class="v"><b>{{$author}}</b> <i>{{$at | date: short}}</i> <span class="title">{{title}}</span>|<span class="done">{{done}}</span>|<span class="del">{{$deleted}}</span><s jazz-if="$deleted = true">deleted</s><em jazz-if="title is null">untitled</em>
         <a href="{{note}}">link</a><button jazz-action="revert">revert</button><code>{{$versionId}}</code></li></template>
     </jazz-history>
     <jazz-history id="newest" table="todos" row-id="${ROW}" order="newest"><template><p>{{title}}</p></template></jazz-history>
     <jazz-history id="last2" table="todos" row-id="${ROW}" limit="2"><template><p>{{title}}</p></template></jazz-history>
     <jazz-history id="newest2" table="todos" row-id="${ROW}" order="newest" limit="2"><template><p>{{title}}</p></template></jazz-history>`,
  );
  await expect(page.locator('#h')).toHaveAttribute('state', 'empty');
  await write(page, `(db) => db.upsert('todos', { title: 'one' }, { id: '${ROW}' }).wait()`);
  await write(page, `(db) => db.update('todos', '${ROW}', { done: true }).wait()`);
  await write(page, `(db) => db.update('todos', '${ROW}', { title: ${JSON.stringify(EVIL)}, note: ${JSON.stringify(JS_URL)} }).wait()`);
  const titles = page.locator('#h .title');
  await expect(titles).toHaveText(['one', '', EVIL]);
  await expect(page.locator('#h .done')).toHaveText(['false', 'true', '']);
  await expect(page.locator('#h .del')).toHaveText(['false', 'false', 'false']);
  await expect(page.locator('#newest p')).toHaveText([EVIL, '', 'one']);
  // A limit keeps the newest versions, in the order asked for.
  await expect(page.locator('#last2 p')).toHaveText(['', EVIL]);
  await expect(page.locator('#newest2 p')).toHaveText([EVIL, '']);
  // Conditions on the version's fields: a field it did not change is empty (null).
  await expect(page.locator('#h em:not([hidden])')).toHaveCount(1);
  await expect(page.locator('#h s:not([hidden])')).toHaveCount(0);
  await expect(page.locator('#h')).toHaveAttribute('state', 'ready');
  const year = String(new Date().getUTCFullYear()).slice(2);
  await expect(page.locator('#h i').first()).toContainText(`/${year}`);
  expect(await page.locator('#h b').first().textContent()).toMatch(/\S/);
  // Markup and javascript: in the data stay inert.
  expect(await page.locator('#h a').nth(2).getAttribute('href')).toBe('about:invalid#blocked');
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  expect(await page.locator('jazz-history img').count()).toBe(0);

  // Revert to the first version: a fourth version, the row reads as it did then.
  await page.locator('#h li').first().getByRole('button', { name: 'revert' }).click();
  await expect(titles).toHaveCount(4);
  await expect(titles.nth(3)).toHaveText('one');
  await expect(page.locator('#h .done').nth(3)).toHaveText('false');
  expect(await write(page, `(db) => db.one({ table: 'todos', where: { op: 'true' }, orderBy: [] })`)).toMatchObject({ title: 'one', done: false, note: null });
  const results = await page.evaluate(() => window.seen['jazz-results'].filter((e: { target: string }) => e.target === 'h').map((e: { n: number }) => e.n));
  expect(results.at(-1)).toBe(4);
  await expect(page.locator('#newest2 p')).toHaveText(['one', EVIL]);
  const limited = await page.evaluate(() => window.seen['jazz-results'].filter((e: { target: string }) => e.target === 'newest2').at(-1));
  expect(limited).toMatchObject({ n: 2, total: 4 });
  expect(await errorsSeen(page)).toEqual([]);
  expect(warnings).toEqual([]);
});

elementsTest('<jazz-history> mistakes: a bad order, an unknown binding, a row id that is not one, a limit of 0', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-history id="order" table="todos" row-id="${ROW}" order="sideways"><template>{{title}}</template></jazz-history>
     <jazz-history id="binding" table="todos" row-id="${ROW}"><template>{{titel}}</template></jazz-history>
     <jazz-history id="rowid" table="todos" row-id="nope"><template>{{title}}</template></jazz-history>
     <jazz-history id="limit" table="todos" row-id="${ROW}" limit="0"><template>{{title}}</template></jazz-history>`,
  );
  for (const id of ['order', 'binding', 'rowid', 'limit']) await expect(page.locator(`#${id}`)).toHaveAttribute('state', 'error');
  const errors = await page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; attribute?: string }) => `${e.target} ${e.code} ${e.attribute ?? ''}`.trim()));
  expect(errors.sort()).toEqual(['binding UNKNOWN_COLUMN', 'limit ATTRIBUTE_INVALID limit', 'order ATTRIBUTE_INVALID order', 'rowid TYPE_MISMATCH row-id']);
});

elementsTest('<jazz-query as-of> shows the rows as they stood then; an invalid one is an attribute error', async ({ shared: page }) => {
  await mount(page, `<jazz-query id="now" table="todos"><template><li>{{title}}</li></template></jazz-query>`);
  await write(page, `(db) => db.upsert('todos', { title: 'before' }, { id: '${ROW}' }).wait()`);
  const t = (await write(page, `async () => { await new Promise((r) => setTimeout(r, 5)); const t = Date.now(); await new Promise((r) => setTimeout(r, 5)); return t; }`)) as number;
  await write(page, `(db) => db.update('todos', '${ROW}', { title: 'after' }).wait()`);
  await page.evaluate((t) => {
    document.querySelector('jazz-db')!.insertAdjacentHTML(
      'beforeend',
      `<jazz-query id="ms" table="todos" as-of="${t}"><template><li>{{title}} {{$updatedAt}}</li></template></jazz-query>
       <jazz-query id="iso" table="todos" as-of="${new Date(t).toISOString()}"><template><li>{{title}}</li></template></jazz-query>
       <jazz-query id="bad" table="todos" as-of="last tuesday"><template><li>{{title}}</li></template></jazz-query>`,
    );
  }, t);
  await expect(page.locator('#now li')).toHaveText(['after']);
  await expect(page.locator('#ms li')).toHaveText([/^before \d+$/]);
  await expect(page.locator('#iso li')).toHaveText(['before']);
  await expect(page.locator('#bad')).toHaveAttribute('state', 'error');
  const errors = await page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; attribute?: string }) => `${e.target} ${e.code} ${e.attribute}`));
  expect(errors).toEqual(['bad OPTION_INVALID as-of']);
  // Later versions do not move it; the attribute changed to now does.
  await write(page, `(db) => db.update('todos', '${ROW}', { title: 'later' }).wait()`);
  await expect(page.locator('#now li')).toHaveText(['later']);
  await expect(page.locator('#iso li')).toHaveText(['before']);
  await page.locator('#iso').evaluate((el) => el.setAttribute('as-of', String(Date.now() + 1000)));
  await expect(page.locator('#iso li')).toHaveText(['later']);
});

/** The elements' schema with an undo list (`<jazz-db undo="undo">`). */
const UNDO_SCHEMA = JSON.stringify({ tables: { ...JSON.parse(SCHEMA).tables, undo: { batch: 'string' } } });

/** A token whose `sub` is `user` (unsigned: nothing checks it without a server; it only names the author). */
const tokenOf = (user: string) => `e30.${Buffer.from(JSON.stringify({ sub: user })).toString('base64url')}.x`;

elementsTest('jazz-action="undo" in a <jazz-db undo>: enabled while there is a change to undo, newest first, per user, 50 kept', async ({ shared: page }) => {
  const warnings = await mount(
    page,
    `<button id="undo" jazz-action="undo">Undo</button>
     <jazz-query id="q" table="todos" order-by="title"><template><li><input type="checkbox" jazz-field="done" aria-label="done {{title}}"> <span>{{title}}</span> <button jazz-action="delete">delete {{title}}</button></li></template></jazz-query>
     <jazz-form id="f" table="todos"><input name="title" aria-label="title"><button>Add</button></jazz-form>
     <jazz-query id="q2" table="todos"><template><i>{{title}}</i></template><button id="undo2" jazz-action="undo">Undo too</button></jazz-query>`,
    `driver="memory" undo="undo" token="${tokenOf('ann')}"`,
    UNDO_SCHEMA,
  );
  const undo = page.locator('#undo');
  const titles = page.locator('#q span');
  const entries = () => write(page, `(db) => db.all(db.app.undo.select('*', '$createdBy')).then((rs) => rs.map((r) => r.$createdBy))`) as Promise<string[]>;
  await expect(page.locator('#q')).toHaveAttribute('state', 'empty');
  await expect(undo).toBeDisabled();
  await expect(page.locator('#undo2')).toBeDisabled();
  for (const t of ['one', 'two']) {
    await page.fill('#f input', t);
    await page.press('#f input', 'Enter');
  }
  await expect(titles).toHaveText(['one', 'two']);
  await expect(undo).toBeEnabled();
  await page.getByLabel('done one').check();
  await page.getByRole('button', { name: 'delete two' }).click();
  await expect(titles).toHaveText(['one']);
  // Four changes, each an entry written as the token's user.
  await expect.poll(entries).toEqual(['ann', 'ann', 'ann', 'ann']);
  // Undone newest first: the delete, the tick (from the button inside a <jazz-query>), the adds.
  await undo.click();
  await expect(titles).toHaveText(['one', 'two']);
  await page.locator('#undo2').click();
  await expect(page.getByLabel('done one')).not.toBeChecked();
  await undo.click();
  await expect(titles).toHaveText(['one']);
  await expect.poll(entries).toEqual(['ann']);

  // Another user on the same database has a list of their own.
  await page.locator('jazz-db').evaluate((el, t) => el.setAttribute('token', t), tokenOf('ben'));
  await expect(undo).toBeDisabled();
  await page.getByLabel('done one').check();
  await expect(undo).toBeEnabled();
  await undo.click();
  await expect(page.getByLabel('done one')).not.toBeChecked();
  await expect(undo).toBeDisabled();
  await expect(titles).toHaveText(['one']);
  await page.locator('jazz-db').evaluate((el, t) => el.setAttribute('token', t), tokenOf('ann'));
  await expect(undo).toBeEnabled();
  await undo.click();
  await expect(page.locator('#q')).toHaveAttribute('state', 'empty');
  await expect(undo).toBeDisabled();
  await expect(page.locator('#undo2')).toBeDisabled();
  await expect.poll(entries).toEqual([]);

  // The list keeps the newest 50.
  await page.fill('#f input', 'ticked');
  await page.press('#f input', 'Enter');
  const box = page.getByLabel('done ticked');
  for (let i = 0; i < 55; i++) {
    await box.setChecked(i % 2 === 0);
    if (i === 40) await expect.poll(async () => (await entries()).length).toBe(42);
  }
  await expect.poll(async () => (await entries()).length).toBe(50);
  await undo.click();
  await expect(box).not.toBeChecked(); // the 55th change (a tick) undone
  expect(await errorsSeen(page)).toEqual([]);
  expect(warnings).toEqual([]);
});

elementsTest('<jazz-db undo> naming no table, or one without a string batch column: one jazz-error (attribute undo), the buttons stay disabled, writes go on', async ({ shared: page }) => {
  for (const [table, message] of [
    ['nope', /the schema has no such table/],
    ['todos', /it has no column "batch"/],
  ] as const) {
    const warnings = await mount(
      page,
      `<button id="undo" jazz-action="undo">Undo</button>
       <jazz-query id="q" table="todos"><template><li><input type="checkbox" jazz-field="done" aria-label="done {{title}}"></li></template></jazz-query>`,
      `driver="memory" undo="${table}"`,
    );
    await write(page, `(db) => db.insert('todos', { title: 'a' }).wait()`);
    await page.getByLabel('done a').check();
    await expect.poll(() => write(page, `(db) => db.all(db.app.todos).then((rs) => rs[0].done)`)).toBe(true);
    await expect(page.locator('#undo')).toBeDisabled();
    const seen = await page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; attribute?: string; message: string }) => [e.target, e.code, e.attribute, e.message]));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.slice(0, 3)).toEqual(['jazz-db', 'UNKNOWN_TABLE', 'undo']);
    expect(seen[0]![3]).toMatch(message);
    expect(warnings).toHaveLength(1);
  }
});

elementsTest('jazz-merge from the <jazz-db> whose database merged a branch: from, into, the batch and its rows', async ({ shared: page }) => {
  const name = `merge-${Date.now()}`;
  const schema = `<script type="application/json" slot="schema">${SCHEMA}</script>`;
  await load(page, `<jazz-db id="main" db-name="${name}">${schema}</jazz-db><jazz-db id="draft" db-name="${name}" branch="draft">${schema}</jazz-db>`);
  const done = await page.evaluate(async () => {
    const [main, draft] = ['main', 'draft'].map((id) => (document.getElementById(id) as HTMLElementTagNameMap['jazz-db']).db!);
    await Promise.all([main!.ready, draft!.ready]);
    const row = draft!.insert('todos', { title: 'drafted' });
    await row.wait();
    const merged = await main!.merge('draft');
    await merged.wait();
    return { row: row.id, batchId: merged.batchId, title: (await main!.one(main!.app.todos))?.title };
  });
  expect(done.title).toBe('drafted');
  const merges = await page.evaluate(() =>
    window.seen['jazz-merge'].map((e: Record<string, unknown>) => ({ target: e['target'], from: e['from'], into: e['into'], batchId: e['batchId'], ids: e['ids'] })),
  );
  // From the main one only (the draft's database did not merge).
  expect(merges).toEqual([{ target: 'main', from: 'draft', into: 'main', batchId: done.batchId, ids: [done.row] }]);
  expect(await errorsSeen(page)).toEqual([]);
});

elementsTest('$conflicts mistakes: a binding a side does not have, and a condition on it under select', async ({ shared: page }) => {
  await mount(
    page,
    `<jazz-query id="bad" table="todos"><template><li><template jazz-each="$conflicts"><b>{{valu}}</b></template></li></template></jazz-query>
     <jazz-query id="ok" table="todos" select="title"><template><li jazz-class="c: $conflicts is not null">{{title}}<template jazz-each="$conflicts"><b jazz-if="current = true">{{value}} {{field}} {{author}} {{at}} {{versionId}}</b></template></li></template></jazz-query>`,
  );
  await write(page, `(db) => db.insert('todos', { title: 'a' }).wait()`);
  await expect(page.locator('#bad')).toHaveAttribute('state', 'error');
  await expect(page.locator('#ok')).toHaveAttribute('state', 'ready');
  await expect(page.locator('#ok li')).toHaveText(['a']);
  await expect(page.locator('#ok li.c')).toHaveCount(0);
  expect(await page.evaluate(() => (document.getElementById('ok') as HTMLElementTagNameMap['jazz-query']).rows[0]!['$conflicts'])).toEqual([]);
  expect(await errorsSeen(page)).toEqual(['bad UNKNOWN_COLUMN']);
});

base('<jazz-query> and $conflicts on two devices: rows marked, the sides shown, jazz-conflict, and a pick that ends it on both', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const contexts = await Promise.all([browser.newContext({ baseURL }), browser.newContext({ baseURL })]);
  try {
    const [a, b] = (await Promise.all(contexts.map((c) => c.newPage()))) as [Page, Page];
    const html = `<jazz-query id="q" table="todos" order-by="title">
        <template><li jazz-class="conflicted: $conflicts is not null"><span class="t">{{title}}</span> <em jazz-if="$conflicts contains 'title'">edited at once</em>
          <template jazz-each="$conflicts"><button jazz-action="pick" jazz-class="now: current = true" aria-label="{{field}} {{value}} by {{author}}">{{value}}</button></template></li></template>
      </jazz-query>
      <jazz-query id="plain" table="todos" conflicts><template><p>{{title}}</p></template></jazz-query>
      <jazz-query id="none" table="todos"><template><p>{{title}}</p></template></jazz-query>`;
    const db = `driver="memory" server="${server.url}" app="conflicts"`;
    for (const p of [a, b]) await mount(p, html, db);
    const id = (await write(a, `(db) => { const h = db.insert('todos', { title: 'original' }); return h.wait({ tier: 'global' }).then(() => h.id); }`)) as string;
    for (const p of [a, b]) await expect(p.locator('#q .t')).toHaveText(['original']);
    await server.stop();
    for (const p of [a, b]) await expect.poll(() => write(p, `(db) => db.syncStatus.state`)).not.toBe('online');
    await write(a, `(db) => db.update('todos', '${id}', { title: 'from ann' }).wait()`);
    await write(b, `(db) => db.update('todos', '${id}', { title: 'from ben' }).wait()`);
    for (const p of [a, b]) await expect(p.locator('#q li.conflicted')).toHaveCount(0);
    await server.start();

    for (const p of [a, b]) {
      await expect(p.locator('#q li.conflicted')).toHaveCount(1, { timeout: 15_000 });
      await expect(p.locator('#q em:not([hidden])')).toHaveCount(1);
    }
    // The same sides on both, the value shown now first (and marked). (Each device writes as its
    // anonymous user: the authors are read from db.conflicts.)
    const [c] = (await write(a, `(db) => db.conflicts('todos', '${id}')`)) as { winner: { value: string; author: string }; losers: { value: string; author: string }[] }[];
    const winner = c!.winner.value;
    const loser = winner === 'from ann' ? 'from ben' : 'from ann';
    const by = (v: string) => (v === winner ? c!.winner.author : c!.losers[0]!.author);
    expect(c!.losers.map((l) => l.value)).toEqual([loser]);
    expect(by(winner)).not.toBe(by(loser));
    for (const p of [a, b]) {
      await expect(p.locator('#q .t')).toHaveText([winner]);
      await expect(p.locator('#q button')).toHaveText([winner, loser]);
      await expect(p.locator('#q button.now')).toHaveText([winner]);
      await expect(p.getByRole('button', { name: `title ${loser} by ${by(loser)}` })).toHaveCount(1);
    }
    // jazz-conflict from the queries that ask for conflicts, not from the one that does not.
    const conflictEvents = (p: Page) =>
      p.evaluate(() =>
        window.seen['jazz-conflict'].map(
          (e: {
            target: string;
            table: string;
            id: string;
            conflicts: { field: string; winner: { value: string; author: string; at: unknown; versionId: string }; losers: { value: string; author: string }[] }[];
          }) => ({
            ...e,
            conflicts: e.conflicts.map((c) => ({
              field: c.field,
              winner: [c.winner.value, c.winner.author, c.winner.at instanceof Date, typeof c.winner.versionId],
              losers: c.losers.map((l) => [l.value, l.author]),
            })),
          }),
        ),
      );
    for (const p of [a, b]) {
      const events = await conflictEvents(p);
      const expected = { table: 'todos', id, conflicts: [{ field: 'title', winner: [winner, by(winner), true, 'string'], losers: [[loser, by(loser)]] }] };
      expect(events.filter((e: { target: string }) => e.target === 'q').at(-1)).toMatchObject(expected);
      expect(events.filter((e: { target: string }) => e.target === 'plain').at(-1)).toMatchObject(expected);
      expect(events.filter((e: { target: string }) => e.target === 'none')).toEqual([]);
      expect(await p.evaluate(() => (document.getElementById('none') as HTMLElementTagNameMap['jazz-query']).rows[0]!['$conflicts'])).toBeUndefined();
    }

    // Ben keeps the value that lost: a new write, and the conflict is over on both.
    await b.getByRole('button', { name: `title ${loser} by ${by(loser)}` }).click();
    for (const p of [a, b]) {
      await expect(p.locator('#q li.conflicted')).toHaveCount(0, { timeout: 15_000 });
      await expect(p.locator('#q .t')).toHaveText([loser]);
      await expect(p.locator('#q button')).toHaveCount(0);
      const events = await conflictEvents(p);
      for (const target of ['q', 'plain']) expect(events.filter((e: { target: string }) => e.target === target).at(-1)).toMatchObject({ table: 'todos', id, conflicts: [] });
      // The only error: <jazz-db> saying the server could not be reached while it was stopped (when a retry fell in that time).
      expect((await errorsSeen(p)).filter((e) => e !== 'jazz-db UNREACHABLE')).toEqual([]);
    }
    expect(await write(a, `(db) => db.conflicts('todos', '${id}')`)).toEqual([]);
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.dispose();
  }
});
