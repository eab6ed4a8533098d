/**
 * The package as a user gets it: `npm pack` (which builds dist/ and lib/ through `prepack`), the
 * tarball installed into a fresh project outside the repository (`npm install <tarball>`, with
 * react and react-dom beside it), and every entry used there:
 *
 * - a Node script with `jazz-elements/server` (a sync server and two clients) and the main entry,
 *   and the package's command line;
 * - TypeScript against the packed .d.ts only: typed rows, the elements' events on `document` and
 *   `window`, tags in `HTMLElementTagNameMap`;
 * - a Vite app built with `jazz-elements/browser` (the worker and broker files come with it);
 * - a React app built with Vite and `jazz-elements/react`;
 * - a static page with only the script tag (`node_modules/jazz-elements/dist/jazz.js`).
 *
 * The apps run in Chromium from a plain static server. Installing needs the npm registry or npm's
 * cache (CI has both: `npm install` of the repository has just filled the cache).
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveFolder } from './support/static-dist.ts';

test.describe.configure({ mode: 'serial' });

const repo = resolve('.');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
let project: string;
let site: { origin: string; served: string[]; close: () => Promise<void> };
let packed: string[] = [];

function sh(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}\n${err.stderr ?? err.message}`);
  }
}

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

const vite = join(repo, 'node_modules/vite/bin/vite.js');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

test.beforeAll(async () => {
  test.setTimeout(300_000);
  project = mkdtempSync(join(tmpdir(), 'jazz-package-'));
  const packDir = join(project, 'pack');
  mkdirSync(packDir);
  // `npm pack --json` prints the build's lines (prepack) first, then the JSON.
  const out = sh('npm', ['pack', '--json', '--pack-destination', packDir], repo);
  const json = JSON.parse(out.slice(out.lastIndexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
  packed = json[0]!.files.map((f) => f.path);
  const app = join(project, 'app');
  write(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  sh(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packDir, json[0]!.filename), `react@${pkg.devDependencies['react']}`, `react-dom@${pkg.devDependencies['react-dom']}`],
    app,
  );

  // The Vite app and the React app, built with Vite from their own folders.
  write(join(app, 'vite-app/index.html'), '<!doctype html><meta charset="utf-8"><title>vite app</title><pre id="out">loading</pre><script type="module" src="./main.js"></script>');
  write(
    join(app, 'vite-app/main.js'),
    `import { createDb, s } from 'jazz-elements/browser';
const app = s.defineApp({ todos: s.table({ title: s.string() }) });
const db = createDb({ app, driver: { type: 'opfs', dbName: 'vite-app' } });
try {
  await db.insert(app.todos, { title: 'bundled ✓' }).wait({ tier: 'local' });
  const rows = await db.all(app.todos);
  document.getElementById('out').textContent = JSON.stringify({ titles: rows.map((r) => r.title), driver: db.status.driver?.used, role: db.status.role });
} catch (e) {
  document.getElementById('out').textContent = 'failed: ' + (e && e.stack || e);
}`,
  );
  write(join(app, 'react-app/index.html'), '<!doctype html><meta charset="utf-8"><title>react app</title><div id="root"></div><script type="module" src="./main.js"></script>');
  write(
    join(app, 'react-app/main.js'),
    `import { createElement as h, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { createDb, s } from 'jazz-elements/browser';
import { JazzProvider, useAll, useDb, useOne, useStatus, useSuspenseAll } from 'jazz-elements/react';
const app = s.defineApp({ todos: s.table({ title: s.string(), done: s.boolean().default(false) }) });
const db = createDb({ app, driver: { type: 'memory' } });
function Todos() {
  const todos = useAll(app.todos.where({ done: false }).orderBy('title'));
  const writer = useDb();
  if (!todos) return h('p', { id: 'list' }, 'loading');
  return h('ul', { id: 'list' }, todos.map((t) => h('li', { key: t.id, onClick: () => writer.update(app.todos, t.id, { done: true }) }, t.title)));
}
function Count() {
  return h('p', { id: 'count' }, String(useSuspenseAll(app.todos).length));
}
function One() {
  const t = useOne(app.todos.where({ title: 'b' }));
  return h('p', { id: 'one' }, t === undefined ? 'loading' : t === null ? 'none' : t.title + (t.done ? ' (done)' : ''));
}
function Status() {
  return h('p', { id: 'status' }, useStatus().ready ? 'ready' : 'opening');
}
createRoot(document.getElementById('root')).render(
  h(StrictMode, null, h(JazzProvider, { db }, h(Todos), h(Suspense, { fallback: h('p', { id: 'count' }, 'suspended') }, h(Count)), h(One), h(Status))),
);
window.db = db;
window.app = app;`,
  );
  for (const dir of ['vite-app', 'react-app']) sh(process.execPath, [vite, 'build', dir, '--base', './', '--logLevel', 'warn'], app);

  // The static page: only the script tag, from the installed package.
  write(
    join(app, 'static/index.html'),
    `<!doctype html><meta charset="utf-8"><title>static</title>
<script type="module" src="../node_modules/jazz-elements/dist/jazz.js"></script>
<jazz-db app="static" driver="memory">
  <script type="application/json" slot="schema">{ "tables": { "todos": { "title": "string" } } }</script>
  <jazz-form table="todos"><input name="title" aria-label="title"><button>Add</button></jazz-form>
  <jazz-query table="todos" order-by="title"><template><li>{{title}}</li></template></jazz-query>
  <jazz-count table="todos"></jazz-count>
</jazz-db>
<script type="module">
  // What the README shows a page's own script doing.
  import { s } from '../node_modules/jazz-elements/dist/jazz.js';
  const el = document.querySelector('jazz-db');
  await customElements.whenDefined('jazz-db');
  await el.updateComplete;
  const db = el.db;
  await db.insert(db.app.todos, { title: 'from a script' }).wait();
  window.result = { builder: typeof s.defineApp, rows: (await db.all(db.app.todos)).map((r) => r.title) };
</script>`,
  );
  site = await serveFolder(app);
});

test.afterAll(async () => {
  await site?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

test('the tarball holds built modules with types for every entry, the drop-in files, the manifest and the licence, and no sources', () => {
  for (const entry of ['src/index', 'elements/index', 'worker/page/index', 'server/index', 'react/index']) {
    expect(packed).toContain(`lib/${entry}.js`);
    expect(packed).toContain(`lib/${entry}.d.ts`);
  }
  for (const f of [
    'dist/jazz.js',
    'dist/jazz-worker.js',
    'dist/jazz-broker.js',
    'dist/jazz-more.js',
    'dist/jazz-files.js',
    'dist/jazz-inspector.js',
    'custom-elements.json',
    'LICENSE',
    'README.md',
    'CHANGELOG.md',
    'package.json',
    'bin/jazz-elements.mjs',
  ])
    expect(packed).toContain(f);
  expect(packed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  const installed = join(project, 'app/node_modules/jazz-elements');
  const manifest = JSON.parse(readFileSync(join(installed, 'custom-elements.json'), 'utf8')) as {
    modules: { declarations?: { tagName?: string; attributes?: { name: string }[]; events?: { name: string }[] }[] }[];
  };
  const tags = new Map(
    manifest.modules
      .flatMap((m) => m.declarations ?? [])
      .filter((d) => d.tagName)
      .map((d) => [d.tagName!, d]),
  );
  expect([...tags.keys()].sort()).toEqual(['jazz-count', 'jazz-db', 'jazz-form', 'jazz-history', 'jazz-inspector', 'jazz-nav', 'jazz-query', 'jazz-status', 'jazz-stream']);
  expect(tags.get('jazz-stream')!.attributes!.map((a) => a.name)).toContain('file-id');
  expect(tags.get('jazz-query')!.attributes!.map((a) => a.name)).toEqual(expect.arrayContaining(['table', 'where', 'order-by', 'limit', 'virtual']));
  expect(tags.get('jazz-query')!.events!.map((e) => e.name)).toEqual(expect.arrayContaining(['jazz-results', 'jazz-change', 'jazz-error']));
  // No declaration file names a .ts module (a consumer's TypeScript could not resolve it).
  const dts = readdirSync(join(installed, 'lib'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'));
  const tsImports = dts.filter((f) => /from ['"]\.{1,2}\/[^'"]+\.ts['"]/.test(readFileSync(join(installed, 'lib', f), 'utf8')));
  expect(tsImports).toEqual([]);
});

test('Node: the server entry (a sync server, two clients), the main entry, and the command line', () => {
  const app = join(project, 'app');
  write(
    join(app, 'node-check.mjs'),
    `import { startSyncServer, createDb, s } from 'jazz-elements/server';
import * as core from 'jazz-elements';
const app = s.defineApp({ todos: s.table({ title: s.string() }) });
const server = await startSyncServer({ port: 0, inMemory: true, dev: true, log: () => {} });
const url = 'ws://127.0.0.1:' + server.port;
const a = createDb({ app, server: url, appId: 'pk' });
const b = createDb({ app, server: url, appId: 'pk' });
const h = a.insert(app.todos, { title: 'from a ✓ 日本' });
await h.wait({ tier: 'global' });
const seen = await new Promise((resolve) => {
  const stop = b.subscribeAll(app.todos, ({ all }) => { if (all.length) { stop(); resolve(all[0].title); } });
});
const local = core.createDb({ app: core.s.defineApp({ t: core.s.table({ n: core.s.int() }) }) });
local.insert(local.app.t, { n: 7 });
const n = (await local.all(local.app.t))[0].n;
// An app defined with the main entry works with the server entry's createDb: one copy of the classes.
const shared = core.s.defineApp({ notes: core.s.table({ text: core.s.string() }) });
const nodeDb = createDb({ app: shared });
await nodeDb.insert(shared.notes, { text: 'shared' }).wait();
const sharedText = (await nodeDb.all(shared.notes.where({ text: 'shared' })))[0].text;
await Promise.all([a.close(), b.close(), local.close(), nodeDb.close()]);
await server.close();
console.log(JSON.stringify({ seen, n, sharedText }));`,
  );
  expect(JSON.parse(sh(process.execPath, ['node-check.mjs'], app))).toEqual({ seen: 'from a ✓ 日本', n: 7, sharedText: 'shared' });
  write(join(app, 'schema.json'), JSON.stringify({ tables: { todos: { title: 'string' } } }));
  expect(sh(process.execPath, ['node_modules/.bin/jazz-elements', 'schema', 'hash', 'schema.json'], app).trim()).toMatch(/^[0-9a-f]{16,}$/);
});

test('TypeScript: rows from the schema, events on document and window, tags, from the packed .d.ts alone', () => {
  const app = join(project, 'app');
  write(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023', 'DOM', 'DOM.Iterable'], strict: true, noEmit: true, skipLibCheck: true, types: [] },
      include: ['typed.ts'],
    }),
  );
  write(
    join(app, 'typed.ts'),
    `import 'jazz-elements/elements';
import { createDb, s, JazzError } from 'jazz-elements/browser';
import type { JazzErrorDetail } from 'jazz-elements/elements';
const app = s.defineApp({ todos: s.table({ title: s.string(), done: s.boolean().default(false) }) });
const db = createDb({ app, driver: { type: 'opfs', dbName: 'todos' } });
db.insert(app.todos, { title: 'x' });
// @ts-expect-error title is a string
db.insert(app.todos, { title: 1 });
export async function first(): Promise<string | undefined> {
  const row = await db.one(app.todos.where({ done: false }));
  const done: boolean | undefined = row?.done;
  return done ? row?.title : undefined;
}
document.addEventListener('jazz-error', (e) => { const d: JazzErrorDetail = e.detail; console.log(d.code, e.detail.message); });
window.addEventListener('jazz-change', (e) => console.log(e.detail.added.length));
const q: HTMLElementTagNameMap['jazz-query'] = document.createElement('jazz-query');
q.addEventListener('jazz-results', (e) => e.detail.rows.length);
const count: HTMLElementTagNameMap['jazz-count'] | null = document.querySelector('jazz-count');
export { JazzError, count };`,
  );
  sh(process.execPath, [tsc, '-p', '.'], app);
  // And a mistake is caught: an event that does not exist has no detail.
  writeFileSync(join(app, 'typed.ts'), `import 'jazz-elements/elements';\ndocument.addEventListener('jazz-nope', (e) => e.detail);\n`);
  expect(() => sh(process.execPath, [tsc, '-p', '.'], app)).toThrow(/detail/);
});

test('a Vite app with the client API: the worker and broker come with the package', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/vite-app/dist/`);
  await expect(page.locator('#out')).not.toHaveText('loading', { timeout: 20_000 });
  expect(JSON.parse((await page.locator('#out').textContent())!)).toEqual({ titles: ['bundled ✓'], driver: 'opfs', role: 'leader' });
  expect(site.served.some((p) => /\/vite-app\/dist\/assets\/jazz-worker-[\w-]+\.js$/.test(p))).toBe(true);
  expect(site.served.some((p) => /\/vite-app\/dist\/assets\/jazz-broker-[\w-]+\.js$/.test(p))).toBe(true);
  expect(errors).toEqual([]);
});

test('a React app: live rows, a write from a component, Suspense, one row, the status', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/react-app/dist/`);
  await expect(page.locator('#status')).toHaveText('ready', { timeout: 20_000 });
  await expect(page.locator('#count')).toHaveText('0');
  await expect(page.locator('#one')).toHaveText('none');
  await page.evaluate(() => {
    const { db, app } = window as unknown as { db: { insert(t: unknown, v: unknown): unknown }; app: { todos: unknown } };
    db.insert(app.todos, { title: 'b' });
    db.insert(app.todos, { title: 'a' });
  });
  await expect(page.locator('#list li')).toHaveText(['a', 'b']);
  await expect(page.locator('#count')).toHaveText('2');
  await expect(page.locator('#one')).toHaveText('b');
  await page.locator('#list li', { hasText: 'b' }).click();
  await expect(page.locator('#list li')).toHaveText(['a']);
  await expect(page.locator('#one')).toHaveText('b (done)');
  expect(errors).toEqual([]);
});

test('a static page with only the script tag from node_modules', async ({ page }) => {
  await page.goto(`${site.origin}/static/`);
  await page.waitForFunction(() => 'result' in window);
  expect(await page.evaluate(() => (window as unknown as { result: unknown }).result)).toEqual({ builder: 'function', rows: ['from a script'] });
  await page.getByLabel('title').fill('typed on a static page');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.locator('jazz-query li')).toHaveText(['from a script', 'typed on a static page']);
  await expect(page.locator('jazz-count')).toHaveText('2');
  // <jazz-count> is in the lazy part, fetched from beside jazz.js in the package.
  expect(site.served).toContain('/node_modules/jazz-elements/dist/jazz-more.js');
});
