/**
 * The library build as a page without a bundler uses it: `npm run build`'s three Vite builds write
 * jazz.js, jazz-worker.js and jazz-broker.js to a folder under .tmp/, a plain static server (node:http, not Vite)
 * serves that folder, and a bare HTML page imports `./jazz.js`, writes, reads and subscribes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';

let dir: string;
let server: Server;
let origin: string;
const served: string[] = [];

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

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

test.beforeAll(async () => {
  dir = mkdtempSync(join(resolve('.tmp'), 'e2e-dist-'));
  const env = { ...process.env, JAZZ_DIST: dir };
  execFileSync('npx', ['vite', 'build'], { env, stdio: 'pipe' });
  execFileSync('npx', ['vite', 'build', '--mode', 'worker'], { env, stdio: 'pipe' });
  execFileSync('npx', ['vite', 'build', '--mode', 'broker'], { env, stdio: 'pipe' });
  writeFileSync(join(dir, 'index.html'), PAGE);
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    served.push(path);
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

test.afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('dist/jazz.js works from a bare page on a plain static server', async ({ page }) => {
  await page.goto(`${origin}/index.html`);
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
  expect(new Set(served.filter((p) => p.endsWith('.js')))).toEqual(new Set(['/jazz.js', '/jazz-worker.js', '/jazz-broker.js']));
  const sizes = ['jazz.js', 'jazz-worker.js', 'jazz-broker.js'].map((f) => {
    const raw = readFileSync(join(dir, f));
    return `${f}: ${statSync(join(dir, f)).size} B, ${gzipSync(raw, { level: 9 }).length} B gzipped`;
  });
  console.log(`[build] ${sizes.join('; ')}`);
});
