/**
 * The TodoMVC example (examples/todomvc/) as its users meet it: `npm run build`'s files and the
 * example's in one folder on a plain static server, in one browser context (its OPFS lives as long
 * as the context, so a reload keeps the data). The tests run in order on one page, each on the
 * todos the one before left, through the TodoMVC behaviours: adding (trimmed, never empty),
 * toggling, toggle-all, the counter with its plurals, clear completed, editing (double-click,
 * Enter and blur save, Escape cancels, emptied deletes), the routes with the selected link, and
 * persistence across a reload; and the example holds at most 10 lines of JavaScript of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { serveDist, type StaticDist } from './support/static-dist.ts';

const DIR = new URL('../examples/todomvc/', import.meta.url);
const FILES = readdirSync(DIR);

test.describe.configure({ mode: 'serial' });

let site: StaticDist;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];

test.beforeAll(async ({ browser }) => {
  site = await serveDist('e2e-todomvc-', Object.fromEntries(FILES.map((f) => [f, readFileSync(new URL(f, DIR), 'utf8')])));
  context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${site.origin}/index.html`);
});

test.afterAll(async () => {
  await context?.close();
  await site?.close();
});

const newTodo = () => page.locator('.new-todo');
const items = () => page.locator('.todo-list li');
const labels = () => page.locator('.todo-list li .view label');
/** The row whose title is `title` exactly. */
const row = (title: string) => items().filter({ has: page.getByText(title, { exact: true }) });

async function add(...titles: string[]): Promise<void> {
  for (const t of titles) {
    await newTodo().fill(t);
    await newTodo().press('Enter');
  }
}

test('the example is HTML and CSS with at most 10 lines of JavaScript of its own (counted)', () => {
  const html = readFileSync(new URL('index.html', DIR), 'utf8');
  // Inline scripts other than the schema (JSON, not code), and .js files of its own.
  const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs]) => !/type="application\/json"/.test(attrs!)).map(([, , body]) => body!);
  const lines = [...inline, ...FILES.filter((f) => f.endsWith('.js')).map((f) => readFileSync(new URL(f, DIR), 'utf8'))]
    .flatMap((code) => code.split('\n'))
    .filter((l) => l.trim() && !/^\s*\/\//.test(l));
  console.log(`[todomvc] ${lines.length} lines of JavaScript`);
  expect(lines.length).toBeLessThanOrEqual(10);
  // The one script is the drop-in, from beside the page.
  expect([...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1])).toEqual(['jazz.js']);
});

test('adding: Enter adds a trimmed todo and clears the field; an empty one is not added; no list or footer until there is one', async () => {
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'ready');
  await expect(page.locator('jazz-count').first()).toHaveAttribute('count', '0');
  await expect(page.locator('.main')).toBeHidden();
  await expect(page.locator('.footer')).toBeHidden();
  await expect(newTodo()).toBeFocused();
  await add('   ');
  await expect(newTodo()).toHaveValue('   ');
  await newTodo().fill('');
  await add('  buy some cheese  ', 'feed the cat', '<img src=x onerror="window.__pwned=1">');
  await expect(labels()).toHaveText(['buy some cheese', 'feed the cat', '<img src=x onerror="window.__pwned=1">']);
  await expect(newTodo()).toHaveValue('');
  await expect(page.locator('.main')).toBeVisible();
  await expect(page.locator('.footer')).toBeVisible();
  expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
  expect(await page.locator('.todo-list img').count()).toBe(0);
  // Rows are the list's own items: nothing stands between the <ul> and its <li>s.
  expect(await page.locator('.todo-list > *').evaluateAll((els) => els.map((e) => e.localName))).toEqual(['li', 'li', 'li']);
  await expect(page.getByRole('list').first().getByRole('listitem')).toHaveCount(3);
});

test('the counter and its plurals, toggling, toggle-all and clear completed', async () => {
  const count = page.locator('.todo-count');
  await expect(count).toHaveText('3 items left');
  await expect(count.locator('strong')).toHaveText('3');
  await expect(page.locator('.clear-completed')).toBeHidden();
  await items().nth(2).locator('.toggle').check();
  await expect(items().nth(2)).toHaveClass(/\bcompleted\b/);
  await expect(count).toHaveText('2 items left');
  await expect(page.locator('.clear-completed')).toBeVisible();
  await items().nth(1).locator('.toggle').check();
  await expect(count).toHaveText('1 item left');
  await expect(page.locator('.toggle-all')).not.toBeChecked();
  // Completing the last one by hand checks toggle-all; toggle-all then clears every one, as one batch.
  await items().nth(0).locator('.toggle').check();
  await expect(page.locator('.toggle-all')).toBeChecked();
  await expect(count).toHaveText('0 items left');
  await page.locator('.toggle-all + label').click();
  await expect(count).toHaveText('3 items left');
  await expect(page.locator('.todo-list li.completed')).toHaveCount(0);
  await page.locator('.toggle-all + label').click();
  await expect(page.locator('.todo-list li.completed')).toHaveCount(3);
  await page.locator('.toggle-all + label').click();
  // Clear completed deletes the completed ones only.
  await items().nth(2).locator('.toggle').check();
  await page.locator('.clear-completed').click();
  await expect(labels()).toHaveText(['buy some cheese', 'feed the cat']);
  await expect(page.locator('.clear-completed')).toBeHidden();
  await expect(count).toHaveText('2 items left');
  // Delete one with its button (named for the todo).
  await add('book a doctor');
  await items().nth(2).hover();
  await page.getByRole('button', { name: 'Delete book a doctor' }).click();
  await expect(labels()).toHaveText(['buy some cheese', 'feed the cat']);
});

test('editing: a double-click edits in place; Enter and blur save trimmed, Escape cancels, an emptied todo is deleted', async () => {
  const first = items().nth(0);
  await first.locator('label').dblclick();
  await expect(first).toHaveClass(/\bediting\b/);
  const edit = first.locator('.edit');
  await expect(edit).toBeFocused();
  await expect(edit).toHaveValue('buy some cheese');
  await expect(first.locator('.toggle')).toBeHidden();
  await expect(first.locator('label')).toBeHidden();
  await edit.fill('  buy some sausages  ');
  await edit.press('Enter');
  await expect(first).not.toHaveClass(/\bediting\b/);
  await expect(labels()).toHaveText(['buy some sausages', 'feed the cat']);
  // Blur saves.
  await first.locator('label').dblclick();
  await edit.fill('buy bread');
  await newTodo().click();
  await expect(labels()).toHaveText(['buy bread', 'feed the cat']);
  // Escape cancels.
  await first.locator('label').dblclick();
  await edit.fill('never saved');
  await edit.press('Escape');
  await expect(first).not.toHaveClass(/\bediting\b/);
  await expect(labels()).toHaveText(['buy bread', 'feed the cat']);
  // Emptied: deleted.
  await items().nth(1).locator('label').dblclick();
  await items().nth(1).locator('.edit').fill('   ');
  await items().nth(1).locator('.edit').press('Enter');
  await expect(labels()).toHaveText(['buy bread']);
  expect(errors).toEqual([]);
});

test('routes: All, Active and Completed follow the hash, with the selected link; back goes back', async () => {
  await add('walk the dog', 'water the plants');
  await expect(labels()).toHaveText(['buy bread', 'walk the dog', 'water the plants']);
  await row('walk the dog').locator('.toggle').check();
  const link = (name: string) => page.getByRole('link', { name, exact: true });
  await expect(link('All')).toHaveClass(/\bselected\b/);
  await expect(link('All')).toHaveAttribute('aria-current', 'page');
  await link('Active').click();
  await expect(page).toHaveURL(/#\/active$/);
  await expect(labels()).toHaveText(['buy bread', 'water the plants']);
  await expect(link('Active')).toHaveClass(/\bselected\b/);
  await expect(link('All')).not.toHaveClass(/\bselected\b/);
  // A todo completed while Active is shown leaves the list.
  await row('water the plants').locator('.toggle').click();
  await expect(labels()).toHaveText(['buy bread']);
  await link('Completed').click();
  await expect(labels()).toHaveText(['walk the dog', 'water the plants']);
  await expect(link('Completed')).toHaveAttribute('aria-current', 'page');
  await page.goBack();
  await expect(labels()).toHaveText(['buy bread']);
  await expect(link('Active')).toHaveClass(/\bselected\b/);
  await link('All').click();
  await expect(labels()).toHaveText(['buy bread', 'walk the dog', 'water the plants']);
});

test('persistence: a reload shows the same todos, their state and the route', async () => {
  await page.getByRole('link', { name: 'Completed', exact: true }).click();
  await page.reload();
  await expect(labels()).toHaveText(['walk the dog', 'water the plants']);
  await expect(page.getByRole('link', { name: 'Completed', exact: true })).toHaveClass(/\bselected\b/);
  await expect(page.locator('.todo-count')).toHaveText('1 item left');
  await page.getByRole('link', { name: 'All', exact: true }).click();
  await expect(page.locator('.todo-list li.completed label')).toHaveText(['walk the dog', 'water the plants']);
  // The lazy part came from beside jazz.js.
  expect(site.served).toEqual(expect.arrayContaining(['/jazz.js', '/jazz-more.js']));
});

test('accessibility: no serious or critical axe-core violation', async () => {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`[todomvc] axe: ${violations.length} violations (${violations.map((v) => `${v.id}:${v.impact}`).join(', ') || 'none'})`);
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
  expect(errors).toEqual([]);
});
