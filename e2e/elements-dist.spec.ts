/**
 * The drop-in script as a static site uses it (issue 7): `npm run build`'s files in a folder under
 * .tmp/, served by a plain `node:http` static server (not Vite, not the demo), and a bare HTML page
 * whose only script is `<script type="module" src="/jazz.js"></script>`. The page declares its data
 * with the elements; the test types into `<jazz-form>` and sees `<jazz-query>` react. Prints both
 * files' gzipped sizes (TARGETS.md P8).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>jazz.js elements on a static page</title>
<script type="module" src="/jazz.js"></script>
<jazz-db app="bare">
  <script type="application/json" slot="schema">{ "tables": { "todos": { "title": "string", "done": { "type": "boolean", "default": false } } } }</script>
  <ul>
    <jazz-query table="todos" where="done = false" order-by="title">
      <template><li data-id="{{id}}"><input type="checkbox" jazz-field="done"> <span>{{title}}</span></li></template>
      <p slot="empty">Nothing to do.</p>
    </jazz-query>
  </ul>
  <jazz-form table="todos"><input name="title" required><button>Add</button></jazz-form>
  <jazz-status></jazz-status>
</jazz-db>`;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
let dir: string;
let server: Server;
let origin: string;
const served: string[] = [];

test.beforeAll(async () => {
  dir = mkdtempSync(join(resolve('.tmp'), 'e2e-elements-dist-'));
  const env = { ...process.env, JAZZ_DIST: dir };
  // `npm run build` itself (however many files it makes), into this folder.
  execFileSync('npm', ['run', 'build'], { env, stdio: 'pipe' });
  writeFileSync(join(dir, 'index.html'), PAGE);
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    served.push(path);
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

test.afterAll(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a bare static page with only the script tag renders <jazz-query> and reacts to a write', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}/`);
  await expect(page.getByText('Nothing to do.')).toBeVisible();
  await page.locator('jazz-form input[name=title]').fill('<b>bold?</b> write docs');
  await page.locator('jazz-form button').click();
  await page.locator('jazz-form input[name=title]').fill('add tests');
  await page.locator('jazz-form input[name=title]').press('Enter');
  await expect(page.locator('jazz-query li span')).toHaveText(['<b>bold?</b> write docs', 'add tests']);
  await expect(page.getByText('Nothing to do.')).toBeHidden();
  // Ticking a row's checkbox writes `done`, so the row leaves this query (where="done = false").
  await page.locator('jazz-query li', { hasText: 'add tests' }).locator('input').click();
  await expect(page.locator('jazz-query li span')).toHaveText(['<b>bold?</b> write docs']);
  await expect(page.locator('jazz-status')).toHaveAttribute('driver', 'opfs');
  expect(errors).toEqual([]);
  // Only the build's own files were loaded (the runtime may add more of its own, like a broker).
  const scripts = served.filter((p) => p.endsWith('.js'));
  expect(scripts).toEqual(expect.arrayContaining(['/jazz.js', '/jazz-worker.js']));
  expect(scripts.filter((p) => !/^\/jazz(-[a-z]+)?\.js$/.test(p))).toEqual([]);
  const sizes = ['jazz.js', 'jazz-worker.js'].map((f) => {
    const raw = readFileSync(join(dir, f));
    return `${f}: ${raw.length} B, ${gzipSync(raw, { level: 9 }).length} B gzipped`;
  });
  console.log(`[elements build] ${sizes.join('; ')}`);
});
