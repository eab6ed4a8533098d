/**
 * The demo's two-user flow in Firefox and WebKitGTK: `npm run build`'s files and demo/ on the
 * demo's own server (demo/server.ts, in this process, data in .tmp/), Alice and Bob on two devices
 * of the engine. What one adds, ticks, renames, comments on, deletes and undoes shows in the
 * other's page; Alice's private note is in her page and nowhere in Bob's database. The Chromium
 * spec (demo.spec.ts) adds the frame scan, the server's restart and the offline reload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDemoServer, type DemoServer } from '../../demo/server.ts';
import type { EnginePage } from '../support/engines.ts';
import { buildDist } from '../support/static-dist.ts';
import { expect, test } from './fixtures.ts';

let dist: string;
let data: string;
let demo: DemoServer;

test.beforeAll(async () => {
  test.setTimeout(120_000); // `npm run build`, beside the other specs
  dist = buildDist('e2e-demo-dist-');
  data = mkdtempSync(join(resolve('.tmp'), 'e2e-demo-data-'));
  demo = await startDemoServer({ port: 0, dataDir: data, distDir: dist, log: () => {} });
});

test.afterAll(async () => {
  await demo?.close();
  rmSync(dist, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const titles = (page: EnginePage): Promise<string[]> => page.evaluate(() => [...document.querySelectorAll<HTMLInputElement>('.task input.title')].map((e) => e.value));

/** The selector of the `.task` row whose title is `title` (by its row id). */
async function row(page: EnginePage, title: string): Promise<string> {
  await page.waitFor((t) => [...document.querySelectorAll<HTMLInputElement>('.task input.title')].some((e) => e.value === t), title, `a row titled "${title}"`);
  const id = await page.evaluate((t) => [...document.querySelectorAll<HTMLInputElement>('.task input.title')].find((e) => e.value === t)!.closest('li')!.dataset['id'], title);
  return `.task[data-id="${id}"]`;
}

async function signIn(page: EnginePage, user: string): Promise<void> {
  await page.goto(`${demo.url}?user=${user}`);
  await page.waitFor(() => document.querySelector('jazz-status')?.getAttribute('connection') === 'online' && !!document.querySelector('.task'), null, `${user} online with the board`, 20_000);
}

test('two users on one board: adds, ticks, renames, comments, deletes and undo show on both; private notes stay private', async ({ engine }) => {
  test.setTimeout(120_000);
  const alice = await engine.page();
  const bob = await engine.page();
  await signIn(alice, 'alice');
  await signIn(bob, 'bob');
  const sees = (page: EnginePage, title: string, what: string) =>
    page.waitFor((t) => [...document.querySelectorAll<HTMLInputElement>('.task input.title')].some((e) => e.value === t), title, what, 15_000);
  const gone = (page: EnginePage, title: string, what: string) =>
    page.waitFor((t) => ![...document.querySelectorAll<HTMLInputElement>('.task input.title')].some((e) => e.value === t), title, what, 15_000);

  // Add on one side, see on the other.
  await alice.type('#new-task input[name=title]', 'Write the release notes');
  await alice.press('#new-task input[name=title]', 'Enter');
  await sees(bob, 'Write the release notes', "Alice's task on Bob's board");
  await bob.type('#new-task input[name=title]', 'Book the venue');
  await bob.click('#new-task button');
  await sees(alice, 'Book the venue', "Bob's task on Alice's board");

  // Tick on Bob's side, rename on Alice's.
  await bob.click(`${await row(bob, 'Write the release notes')} input[type=checkbox]`);
  const ticked = await row(alice, 'Write the release notes');
  await alice.waitFor((s) => document.querySelector<HTMLInputElement>(`${s} input[type=checkbox]`)!.checked, ticked, "Bob's tick on Alice's board", 15_000);
  const venue = `${await row(alice, 'Book the venue')} input.title`;
  await alice.fill(venue, 'Book the big venue');
  await alice.press(venue, 'Enter');
  await sees(bob, 'Book the big venue', "Alice's rename on Bob's board");
  await gone(bob, 'Book the venue', 'the old title');

  // A comment from Bob shows under the task on Alice's side.
  const bobsRow = await row(bob, 'Book the big venue');
  await bob.click(`${bobsRow} summary`);
  await bob.type(`${bobsRow} jazz-form input[name=body]`, 'Ask for the hall with windows');
  await bob.press(`${bobsRow} jazz-form input[name=body]`, 'Enter');
  const alicesRow = await row(alice, 'Book the big venue');
  await alice.waitFor((s) => document.querySelector(`${s} .comment`)?.textContent === 'bob Ask for the hall with windows', alicesRow, "Bob's comment on Alice's board", 15_000);

  // Delete on one side, gone on the other; undo brings it back to both.
  await bob.click(`${await row(bob, 'Write the release notes')} [jazz-action=delete]`);
  await gone(alice, 'Write the release notes', "Bob's delete on Alice's board");
  // Undo (the bar's button, enabled once the delete is on Bob's undo list) reverts his last change.
  await bob.waitFor(() => document.querySelector<HTMLButtonElement>('.bar [jazz-action=undo]')?.disabled === false, null, "Bob's Undo enabled", 15_000);
  await bob.click('.bar [jazz-action=undo]');
  await sees(alice, 'Write the release notes', "Bob's undo on Alice's board");

  // Private notes: each user's own, never the other's.
  const secret = `alice-private-${Date.now().toString(36)}`;
  await alice.type('.notes textarea[name=text]', secret);
  await alice.click('.notes jazz-form button');
  await alice.waitFor((s) => [...document.querySelectorAll<HTMLTextAreaElement>('.note textarea')].some((e) => e.value === s), secret, "Alice's note in her list");
  await alice.type('#new-task input[name=title]', 'After the note');
  await alice.press('#new-task input[name=title]', 'Enter');
  await sees(bob, 'After the note', 'a task written after the note');
  const bobsNotes = await bob.evaluate(async () => {
    const db = (document.querySelector('jazz-db') as any).db;
    return { rows: (await db.all(db.app.notes)).length, html: document.body.innerHTML };
  });
  expect(bobsNotes.rows).toBe(0);
  expect(bobsNotes.html).not.toContain(secret);
  expect((await titles(alice)).sort()).toEqual((await titles(bob)).sort());
  expect(await alice.evaluate(() => document.querySelector('jazz-status')!.getAttribute('driver'))).toBe(engine.name === 'webkit' ? 'idb' : 'opfs');
});
