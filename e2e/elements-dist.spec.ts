/**
 * The drop-in script as a static site uses it (issue 7): `npm run build`'s files in a folder under
 * .tmp/, served by a plain `node:http` static server (not Vite, not the demo), and a bare HTML page
 * whose only script is `<script type="module" src="/jazz.js"></script>`. The page declares its data
 * with the elements; the test types into `<jazz-form>` and sees `<jazz-query>` react. Prints both
 * files' gzipped sizes (P8).
 */
import { expect, test } from '@playwright/test';
import { serveDist, type StaticDist } from './support/static-dist.ts';

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

let site: StaticDist;

test.beforeAll(async () => {
  // `npm run build` itself (however many files it makes), into a folder of its own.
  site = await serveDist('e2e-elements-dist-', { 'index.html': PAGE });
});

test.afterAll(async () => {
  await site?.close();
});

test('a bare static page with only the script tag renders <jazz-query> and reacts to a write', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/`);
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
  const scripts = site.served.filter((p) => p.endsWith('.js'));
  expect(scripts).toEqual(expect.arrayContaining(['/jazz.js', '/jazz-worker.js']));
  expect(scripts.filter((p) => !/^\/jazz(-[a-z]+)?\.js$/.test(p))).toEqual([]);
  console.log(`[elements build] ${site.sizes(['jazz.js', 'jazz-worker.js'])}`);
});
