/**
 * The library build as a page without a bundler uses it: `npm run build`'s three Vite builds write
 * jazz.js, its lazy parts (jazz-more.js, jazz-virtual.js and what they share), jazz-worker.js and
 * jazz-broker.js to a folder under .tmp/, a plain static server (node:http, not Vite) serves that
 * folder, and a bare HTML page imports `./jazz.js`, writes, reads and subscribes. Another page, in
 * a folder of its own, has only the script tag (`../jazz.js`) and elements that need the lazy part:
 * it renders, and the part is fetched from beside jazz.js, not from beside the page. The gzipped
 * sizes are printed and held to the budget: jazz.js (what every page loads first) ≤ 25 kB,
 * jazz-worker.js ≤ 80 kB; the lazy parts load later and are printed.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveDist, serveFolder, type StaticDist } from './support/static-dist.ts';

let site: StaticDist;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>jazz.js with no bundler</title>
<script type="module">
  import { createDb, s, JazzError } from './jazz.js';
  try {
    const app = s.fromJSON({ tables: { todos: { title: 'string', done: { type: 'boolean', default: false } } } });
    const db = createDb({ app, driver: { type: 'opfs', dbName: 'build-check' } });
    const live = [];
    db.subscribeAll(app.todos.where({ done: false }).orderBy('title'), ({ all }) => live.push(all.map((r) => r.title)));
    const a = db.insert(app.todos, { title: 'b' });
    db.insert(app.todos, { title: 'a' });
    await a.wait({ tier: 'local' });
    db.update(app.todos, a.id, { done: true });
    const rows = await db.all(app.todos.orderBy('title'));
    let error;
    try { await db.insert(app.todos, { nope: 1 }).wait(); } catch (e) { error = e instanceof JazzError ? e.code : String(e); }
    await new Promise((r) => setTimeout(r, 50));
    window.result = { rows: rows.map((r) => [r.title, r.done]), live, error, status: db.status };
    await db.close();
  } catch (e) {
    window.result = { failed: String(e && e.stack || e) };
  }
</script>`;

/** Only the script tag, from a page one folder down, and elements of the lazy part. */
const LAZY_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>jazz.js lazy parts</title>
<script type="module" src="../jazz.js"></script>
<jazz-db app="lazy" driver="memory">
  <script type="application/json" slot="schema">{ "tables": { "todos": { "title": "string", "done": { "type": "boolean", "default": false } } } }</script>
  <jazz-query table="todos" order-by="title" into="list">
    <template><li jazz-class="done: done = true">{{title | truncate: 8}}</li></template>
  </jazz-query>
  <ul id="list"></ul>
  <jazz-count table="todos" where="done = false"><template><p>{{count | plural: "# item left", "# items left"}}</p></template></jazz-count>
  <jazz-form table="todos"><input name="title"><button>Add</button></jazz-form>
</jazz-db>`;

test.beforeAll(async () => {
  // `npm run build` itself (however many files it makes), into a folder of its own.
  site = await serveDist('e2e-dist-', { 'index.html': PAGE, 'app/index.html': LAZY_PAGE });
});

test.afterAll(async () => {
  await site?.close();
});

test('dist/jazz.js works from a bare page on a plain static server', async ({ page }) => {
  await page.goto(`${site.origin}/index.html`);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined);
  const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
  expect(result).toMatchObject({
    rows: [
      ['a', false],
      ['b', true],
    ],
    error: 'UNKNOWN_COLUMN',
    status: { ready: true, driver: { used: 'opfs', persistent: true }, pendingWrites: 0 },
  });
  const live = (result as { live: string[][] }).live;
  expect(live.at(-1)).toEqual(['a']);
  expect((result as { status: { role: string } }).status.role).toBe('leader');
  // The page loaded the three files (the broker is a SharedWorker) and nothing else of ours.
  expect(new Set(site.served.filter((p) => p.endsWith('.js')))).toEqual(new Set(['/jazz.js', '/jazz-worker.js', '/jazz-broker.js']));
  console.log(`[build] ${site.sizes(site.scripts)}`);
  // The size budget of the drop-in files: the page's first script 25 kB gzipped, the worker 80 kB.
  expect(site.gzipped('jazz.js')).toBeLessThanOrEqual(25_000);
  expect(site.gzipped('jazz-worker.js')).toBeLessThanOrEqual(80_000);
  // The files the README's drop-in steps list, and no other.
  expect(site.scripts).toEqual([
    'jazz-broker.js',
    'jazz-files.js',
    'jazz-flow.js',
    'jazz-inspector.js',
    'jazz-more.js',
    'jazz-revisions.js',
    'jazz-virtual.js',
    'jazz-warm.js',
    'jazz-worker.js',
    'jazz.js',
  ]);
});

test('a bare page with only the script tag uses the lazy part, fetched from beside jazz.js', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const from = site.served.length;
  await page.goto(`${site.origin}/app/index.html`);
  await expect(page.locator('jazz-count p')).toHaveText('0 items left');
  await page.locator('jazz-form input').fill('a very long title');
  await page.locator('jazz-form input').press('Enter');
  await page.locator('jazz-form input').fill('b');
  await page.locator('jazz-form input').press('Enter');
  await expect(page.locator('#list > li')).toHaveText(['a very …', 'b']);
  await expect(page.locator('jazz-count p')).toHaveText('2 items left');
  const scripts = site.served.slice(from).filter((p) => p.endsWith('.js'));
  expect(scripts).toEqual(expect.arrayContaining(['/jazz.js', '/jazz-more.js', '/jazz-worker.js']));
  // Every script came from beside jazz.js, none from beside the page; the virtualizer was not needed.
  expect(scripts.filter((p) => p.startsWith('/app/') || p.includes('virtual'))).toEqual([]);
  expect(errors).toEqual([]);
});

test("jazz.js from another origin, as from a CDN: the worker starts, the data is the page origin's", async ({ page }) => {
  const dir = mkdtempSync(join(resolve('.tmp'), 'e2e-cdn-page-'));
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>from a CDN</title>
<script type="module" src="${site.origin}/jazz.js"></script>
<jazz-db app="cdn" driver="opfs" db-name="cdn-check">
  <script type="application/json" slot="schema">{ "tables": { "todos": { "title": "string" } } }</script>
  <jazz-query table="todos" order-by="title"><template><li>{{title}}</li></template></jazz-query>
  <jazz-form table="todos"><input name="title" aria-label="title"><button>Add</button></jazz-form>
  <jazz-count table="todos"></jazz-count>
</jazz-db>`,
  );
  const pageSite = await serveFolder(dir);
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${pageSite.origin}/`);
    await page.getByLabel('title').fill('from another origin');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect(page.locator('jazz-query li')).toHaveText(['from another origin']);
    await expect(page.locator('jazz-count')).toHaveText('1');
    const status = await page.evaluate(() => (document.querySelector('jazz-db') as unknown as { db: { status: { driver: { used: string }; persistent: boolean } } }).db.status);
    expect(status).toMatchObject({ driver: { used: 'opfs' }, persistent: true });
    // The data stays after a reload: the worker's storage is the page's origin's.
    await page.reload();
    await expect(page.locator('jazz-query li')).toHaveText(['from another origin']);
    expect(errors).toEqual([]);
  } finally {
    await pageSite.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
