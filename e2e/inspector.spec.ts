/**
 * `<jazz-inspector>` (elements/jazz-inspector.ts, its own `jazz-inspector.js`) in Chromium, on a
 * page of the drop-in files: the database's status, tables with live counts, a table's rows
 * filtered by a query box, a row's history, the page's live queries with their sizes, the
 * elements' errors; read-only until `editable` is set.
 */
import { expect, test } from '@playwright/test';
import { serveDist, type StaticDist } from './support/static-dist.ts';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>inspector</title>
<script type="module" src="./jazz.js"></script>
<script type="module" src="./jazz-inspector.js"></script>
<jazz-db app="inspect" driver="opfs" db-name="inspector-check">
  <script type="application/json" slot="schema">{ "tables": { "todos": { "title": "string", "done": { "type": "boolean", "default": false } }, "notes": { "text": "string" } } }</script>
  <jazz-query table="todos" where="done = false" order-by="title"><template><li>{{title}}</li></template></jazz-query>
  <jazz-query id="bad" table="todos" where="done ="><template><li>{{title}}</li></template></jazz-query>
</jazz-db>
<jazz-inspector></jazz-inspector>`;

let site: StaticDist;
test.beforeAll(async () => {
  site = await serveDist('e2e-inspector-', { 'index.html': PAGE });
});
test.afterAll(() => site?.close());

test('shows the database, its tables, rows, history, live queries and errors; edits only when editable', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/index.html`);
  const ins = page.locator('jazz-inspector');
  await page.evaluate(async () => {
    const el = document.querySelector('jazz-db') as unknown as { db: any; updateComplete: Promise<unknown> };
    await customElements.whenDefined('jazz-db');
    await el.updateComplete;
    const { db } = el;
    const a = db.insert(db.app.todos, { title: 'milk 🥛' });
    db.insert(db.app.todos, { title: 'bread' });
    db.insert(db.app.todos, { title: 'eggs', done: true });
    await db.update(db.app.todos, a.id, { title: 'oat milk 🥛' }).wait();
  });
  await expect(ins.locator('table[part=status] td').first()).toHaveText('opfs');
  await expect(ins.getByRole('button', { name: 'todos (3)' })).toBeVisible();
  await expect(ins.getByRole('button', { name: 'notes (0)' })).toBeVisible();
  // A table's rows, then filtered by the query box.
  await ins.getByRole('button', { name: 'todos (3)' }).click();
  await expect(ins.locator('table[part=rows] tbody tr')).toHaveCount(3);
  const box = ins.getByRole('searchbox', { name: 'where, in todos' });
  await box.fill('done = false and title contains "milk"');
  await box.press('Enter');
  await expect(ins.locator('table[part=rows] tbody tr')).toHaveCount(1);
  await expect(ins.locator('table[part=rows] tbody tr td').nth(1)).toHaveText('oat milk 🥛');
  // A mistake in the query box is shown, not thrown.
  await box.fill('done =');
  await box.press('Enter');
  await expect(ins.locator('p.error')).toContainText('position');
  await box.fill('');
  await box.press('Enter');
  // A row's history: the insert and the rename.
  await ins.locator('table[part=rows] tbody tr', { hasText: 'oat milk' }).click();
  await expect(ins.locator('table[part=history] tbody tr')).toHaveCount(2);
  await expect(ins.locator('table[part=history] tbody tr').nth(1)).toContainText('oat milk 🥛');
  // The page's live queries, with their sizes; the broken one's error.
  const queries = ins.locator('table[part=queries] tbody tr');
  await expect(queries.first()).toContainText('done = false');
  await expect(queries.first().locator('td').nth(2)).toHaveText('ready');
  await expect(queries.first().locator('td').nth(3)).toHaveText('2');
  // The broken query failed before the inspector loaded: its state and message still show.
  await expect(queries.nth(1).locator('td').nth(2)).toContainText('error: ');
  // A mistake made later arrives as a jazz-error, listed with its code.
  await page.locator('#bad').evaluate((q) => q.setAttribute('where', 'nope = 1'));
  await expect(ins.locator('table[part=errors]')).toContainText('UNKNOWN_COLUMN');
  // At a phone's width the page does not scroll sideways because of it.
  await page.setViewportSize({ width: 390, height: 800 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  // Read-only: no write buttons until `editable`.
  await expect(ins.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await ins.evaluate((el) => el.setAttribute('editable', ''));
  await ins.getByRole('button', { name: 'todos (3)' }).click();
  await ins.getByRole('button', { name: 'todos' }).click();
  await expect(ins.getByRole('button', { name: 'Delete' })).toHaveCount(3);
  await ins.getByRole('button', { name: 'Delete' }).first().click();
  await expect(ins.getByRole('button', { name: 'todos (2)' })).toBeVisible();
  expect(errors).toEqual([]);
});
