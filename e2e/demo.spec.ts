/**
 * The demo app (demo/, issue 7) as its users meet it: `npm run build`'s files and demo/ served by
 * the demo's own server (demo/server.ts: the reference sync server with the demo's permissions and
 * sign-in), started here in the test's process on a free port of 127.0.0.1 with its data in .tmp/.
 * Alice and Bob each get their own browser context (two devices).
 *
 * - What one adds, edits, comments on and deletes shows in the other's page; a private note never
 *   reaches the other's DOM, database or any WebSocket frame sent to the other's page (every frame
 *   is scanned; the same scan finds the note in the owner's frames, so it can fail).
 * - The server stops: both keep working, the status says offline with a pending count, the server
 *   comes back on the same port and data, both converge with nothing lost.
 * - Reload with the server gone: the service worker opens the app with its data, and writes made
 *   then reach the other user once the server is back.
 * - S4: markup in a task title or a comment shows as text and runs nothing.
 * - People: the status in their words (also offline), a refused change announced with what
 *   happened to it, projects renamed and deleted (and undone), comment counts, every row's controls
 *   named for their row; at 1280 px and at 390 px (no horizontal scroll) no serious or critical
 *   axe-core violation; and a keyboard-only walk through every feature.
 * - Undo (`<jazz-db undo="undo">` and the bar's `jazz-action="undo"` button): after a reload it
 *   undoes the last change (a rename, then the add before it), and Bob sees it undone; a new user's
 *   button is disabled until there is something to undo; a change made on Alice's phone is undone
 *   from her laptop (the list is in the database, synced), on all three pages.
 * - Conflicts: with the server stopped (not `setOffline`), Alice and Bob rename one task; once it is
 *   back both pages mark the row and offer both titles (the one shown first), the tasks query
 *   fires `jazz-conflict` with the row and both values, it fits 390 px and passes axe-core; Bob
 *   keeps Alice's title by keyboard, and both converge with the mark gone (`jazz-conflict` with no
 *   conflicts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { join, resolve } from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { startDemoServer, DEMO_APP_ID, type DemoServer } from '../demo/server.ts';
import { buildDist } from './support/static-dist.ts';

test.describe.configure({ mode: 'serial' });

let dist: string;
let data: string;
let demo: DemoServer | undefined;
let port = 0;
const contexts: BrowserContext[] = [];
/** Every WebSocket frame each user's pages received. */
const frames: Record<string, Buffer[]> = {};
const errors: string[] = [];

async function serverUp(): Promise<DemoServer> {
  demo = await startDemoServer({ port, dataDir: data, distDir: dist, log: () => {} });
  port = demo.port;
  return demo;
}

async function serverDown(): Promise<void> {
  await demo?.close();
  demo = undefined;
}

test.beforeAll(async () => {
  dist = buildDist('e2e-demo-dist-');
  data = mkdtempSync(join(resolve('.tmp'), 'e2e-demo-data-'));
  await serverUp();
});

test.afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await serverDown();
  rmSync(dist, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

/** A new device (browser context) signed in as `user`; `device` names its frames in `frames`. */
async function openAs(browser: Browser, user: 'alice' | 'bob' | 'carol', device: string = user): Promise<Page> {
  const seen: Buffer[] = (frames[device] = []);
  const context = await browser.newContext({ baseURL: `http://localhost:${port}` });
  contexts.push(context);
  const page = await context.newPage();
  // The board's jazz-conflict events (as JSON: the conflicts hold Dates), from every load of the page.
  await page.addInitScript(() => {
    const w = window as unknown as { conflictEvents: unknown[] };
    w.conflictEvents = [];
    document.addEventListener('jazz-conflict', (e) => w.conflictEvents.push(JSON.parse(JSON.stringify({ target: (e.target as Element).id, ...(e as CustomEvent).detail }))));
  });
  page.on('pageerror', (e) => errors.push(`${device}: ${e.message}`));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => seen.push(Buffer.isBuffer(f.payload) ? f.payload : Buffer.from(f.payload))));
  await page.goto(`/?user=${user}`);
  await expect(page.locator('jazz-status')).toHaveAttribute('connection', 'online');
  await expect(page.locator('.task').first()).toBeVisible();
  return page;
}

/** The board's one Undo button (it undoes the user's last change, wherever it was made). */
const undo = (page: Page) => page.getByRole('button', { name: 'Undo your last change', exact: true });

/** The task rows' titles (the inputs' current values), in order. */
const titles = (page: Page) => page.locator('.task input.title').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));

/** The note rows' texts, in order. */
const notes = (page: Page) => page.locator('.note textarea').evaluateAll((els) => els.map((e) => (e as HTMLTextAreaElement).value));

async function addTask(page: Page, title: string): Promise<void> {
  await page.fill('#new-task input[name=title]', title);
  await page.press('#new-task input[name=title]', 'Enter');
  await expect.poll(() => titles(page)).toContain(title);
}

/**
 * The index of the `.task` row whose title input holds `title`, once the page shows it (a row
 * synced from another page may not be there yet, and `.nth(-1)` would pick the last row).
 */
async function rowIndex(page: Page, title: string): Promise<number> {
  await expect.poll(() => titles(page), `a row titled "${title}"`).toContain(title);
  return (await titles(page)).indexOf(title);
}

async function checkbox(page: Page, title: string) {
  const i = await rowIndex(page, title);
  expect(i, `a row titled "${title}"`).toBeGreaterThanOrEqual(0);
  return page.locator('.task').nth(i).locator('input[type=checkbox]');
}

async function settled(page: Page): Promise<void> {
  await expect(page.locator('jazz-status')).toHaveAttribute('connection', 'online');
  await expect(page.locator('jazz-status')).toHaveAttribute('pending', '0');
}

/** What the page's own database holds of a table (through the element's `.db`). */
function rows(page: Page, table: string): Promise<Record<string, unknown>[]> {
  return page.evaluate(async (t) => {
    const db = (document.querySelector('jazz-db') as any).db;
    return db.all(db.app[t]);
  }, table);
}

let alice: Page;
let bob: Page;

test('two users on one board: adds, edits, comments and deletes show on both; private notes stay private', async ({ browser }) => {
  alice = await openAs(browser, 'alice');
  bob = await openAs(browser, 'bob');

  // Add on one side, see on the other.
  await addTask(alice, 'Write the release notes');
  await expect.poll(() => titles(bob)).toContain('Write the release notes');
  await addTask(bob, 'Book the venue');
  await expect.poll(() => titles(alice)).toContain('Book the venue');

  // Tick and rename.
  await (await checkbox(bob, 'Write the release notes')).check();
  await expect(await checkbox(alice, 'Write the release notes')).toBeChecked();
  const i = await rowIndex(alice, 'Book the venue');
  const title = alice.locator('.task').nth(i).locator('input.title');
  await title.fill('Book the big venue');
  await title.press('Enter');
  await expect.poll(() => titles(bob)).toContain('Book the big venue');
  await expect.poll(() => titles(bob)).not.toContain('Book the venue');

  // Bob assigns a task to Alice: it shows in her "Assigned to me", with its project's name.
  await bob
    .locator('.task')
    .nth(await rowIndex(bob, 'Book the big venue'))
    .locator('select')
    .selectOption('alice');
  await expect(alice.locator('.mine-task')).toHaveText(['Book the big venue in Welcome']);
  await expect(bob.locator('.mine-task')).toHaveCount(0);

  // A comment from Bob shows under Alice's task.
  const j = await rowIndex(bob, 'Book the big venue');
  const row = bob.locator('.task').nth(j);
  await row.locator('summary').click();
  await row.locator('jazz-form input[name=body]').fill('Ask for the hall with windows');
  await row.locator('jazz-form input[name=body]').press('Enter');
  const aliceRow = alice.locator('.task').nth(await rowIndex(alice, 'Book the big venue'));
  await aliceRow.locator('summary').click();
  await expect(aliceRow.locator('.comment')).toHaveText(['bob Ask for the hall with windows']);

  // Delete on one side, gone on the other; undo brings it back to both.
  await addTask(alice, 'Temporary');
  await expect.poll(() => titles(bob)).toContain('Temporary');
  await bob
    .locator('.task')
    .nth(await rowIndex(bob, 'Temporary'))
    .locator('[jazz-action=delete]')
    .click();
  await expect.poll(() => titles(alice)).not.toContain('Temporary');
  await undo(bob).click();
  await expect.poll(() => titles(alice)).toContain('Temporary');

  // Private notes: each user's own, never the other's.
  const secret = `alice-private-${Date.now().toString(36)}-canary`;
  await alice.fill('.notes textarea[name=text]', secret);
  await alice.click('.notes jazz-form button');
  await bob.fill('.notes textarea[name=text]', 'bob has a note too');
  await bob.click('.notes jazz-form button');
  await expect.poll(() => notes(alice)).toEqual([secret]);
  await expect.poll(() => notes(bob)).toEqual(['bob has a note too']);
  // A note as long as the field allows, in Japanese (2,000 characters, 6,000 bytes), is kept too.
  const long = 'あいうえおかきくけこ'.repeat(200);
  await alice.fill('.notes textarea[name=text]', long);
  await alice.click('.notes jazz-form button');
  await expect.poll(() => notes(alice)).toEqual([long, secret]);
  await settled(alice);
  await settled(bob);
  // The server has all the notes (so Alice's were there to leak) ...
  const engine = demo!.sync.engineOf(DEMO_APP_ID)!;
  const serverNotes = [...engine.rowIds('notes')].map((id) => engine.getRowById(engine.table('notes'), id)!['text']);
  expect(serverNotes.sort()).toEqual([secret, long, 'bob has a note too'].sort());
  // ... and another change after it, so every frame Bob could be sent has been sent.
  await addTask(alice, 'After the notes');
  await expect.poll(() => titles(bob)).toContain('After the notes');
  expect(await bob.content()).not.toContain(secret);
  expect((await rows(bob, 'notes')).map((n) => n['text'])).toEqual(['bob has a note too']);
  const needle = Buffer.from(secret);
  expect(frames.bob!.length).toBeGreaterThan(5);
  expect(frames.bob!.filter((f) => f.includes(needle)).length, "frames to Bob carrying Alice's note").toBe(0);
  // The scan does find it where it belongs: Alice's second device receives her note.
  const phone = await openAs(browser, 'alice', 'alice-phone');
  await expect.poll(() => notes(phone)).toEqual([long, secret]);
  expect(frames['alice-phone']!.some((f) => f.includes(needle))).toBe(true);
  await phone.context().close();
  expect(errors).toEqual([]);
});

test('the server stops: both keep working offline with a pending count, then converge', async () => {
  await serverDown();
  for (const page of [alice, bob]) await expect(page.locator('jazz-status')).not.toHaveAttribute('connection', 'online');

  await addTask(alice, 'Written offline by Alice');
  await expect(alice.locator('jazz-status')).toHaveText(/^Offline · \d+ changes? saved on this device, not synced yet/);
  await addTask(bob, 'Written offline by Bob');
  await (await checkbox(bob, 'Temporary')).check();
  await expect(alice.locator('jazz-status')).not.toHaveAttribute('pending', '0');
  await expect(bob.locator('jazz-status')).not.toHaveAttribute('pending', '0');
  expect(await titles(alice)).not.toContain('Written offline by Bob');

  await serverUp();
  await settled(alice);
  await settled(bob);
  for (const page of [alice, bob]) {
    await expect.poll(() => titles(page)).toContain('Written offline by Alice');
    await expect.poll(() => titles(page)).toContain('Written offline by Bob');
    await expect(await checkbox(page, 'Temporary')).toBeChecked();
  }
  const norm = (rs: Record<string, unknown>[]) => rs.map((r) => JSON.stringify([r['id'], r['title'], r['done'], r['assignee'] ?? null])).sort();
  await expect.poll(async () => norm(await rows(alice, 'tasks'))).toEqual(norm(await rows(bob, 'tasks')));
  const engine = demo!.sync.engineOf(DEMO_APP_ID)!;
  expect([...engine.rowIds('tasks')].length).toBe((await rows(alice, 'tasks')).length);
  expect(errors).toEqual([]);
});

test('reload with the server gone: the service worker opens the app with its data', async () => {
  await alice.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await expect.poll(() => alice.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
  const before = await titles(alice);
  await serverDown();
  await alice.reload();
  await expect(alice.locator('.task').first()).toBeVisible();
  await expect.poll(() => titles(alice)).toEqual(before);
  await expect(alice.locator('jazz-status')).not.toHaveAttribute('connection', 'online');
  await expect(alice.locator('.me .user')).toHaveText('alice');

  // Work goes on, and reaches Bob once the server is back.
  await addTask(alice, 'Written after an offline reload');
  await serverUp();
  await expect.poll(() => titles(bob), { timeout: 20_000 }).toContain('Written after an offline reload');
  await settled(alice);
  expect(errors).toEqual([]);
});

test('S4: markup in a title or a comment is shown as text and runs nothing', async () => {
  const img = '<img src=x onerror="window.__pwned = 1">';
  const script = '<script>window.__pwned = 2</script>';
  await addTask(alice, img);
  await addTask(alice, script);
  await expect.poll(() => titles(bob)).toContain(img);
  await expect.poll(() => titles(bob)).toContain(script);
  const row = bob.locator('.task').nth(await rowIndex(bob, img));
  await row.locator('summary').click();
  await row.locator('jazz-form input[name=body]').fill(script);
  await row.locator('jazz-form input[name=body]').press('Enter');
  const aliceRow = alice.locator('.task').nth(await rowIndex(alice, img));
  await aliceRow.locator('summary').click();
  await expect(aliceRow.locator('.comment .body')).toHaveText([script]);
  for (const page of [alice, bob]) {
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    expect(await page.locator('.task-list img, .task-list script').count()).toBe(0);
  }
  expect(errors).toEqual([]);
});

/** Presses Tab (Shift+Tab with `back`) until the focused element's accessible name is `name`; fails after 200. */
async function tabTo(page: Page, name: string | RegExp, back = false): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.getAttribute('aria-label') ?? el.textContent ?? '').trim() : '';
    });
    if (typeof name === 'string' ? focused === name : name.test(focused)) return;
  }
  throw new Error(`no control named ${String(name)} within 200 Tabs`);
}

async function axe(page: Page, label: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  console.log(`[demo] axe at ${label}: ${violations.length} violations (${violations.map((v) => `${v.id}:${v.impact}`).join(', ') || 'none'})`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`),
    `axe at ${label}`,
  ).toEqual([]);
}

test('people: the status in their words, every row control named for its row, comment counts, projects renamed and deleted', async () => {
  await settled(alice);
  await expect(alice.locator('jazz-status')).toHaveText('All changes saved and synced');
  await expect(alice.getByRole('status')).toHaveCount(1);
  await addTask(alice, 'Write press release');
  for (const name of ['Done: ‘Write press release’', 'Title of ‘Write press release’', 'Assignee of ‘Write press release’', 'Delete ‘Write press release’', 'Comment on ‘Write press release’']) {
    await expect(alice.getByLabel(name, { exact: true }), name).toHaveCount(1);
  }
  const row = alice.locator('.task').nth(await rowIndex(alice, 'Write press release'));
  await expect(row.locator('summary .count')).toHaveText('0');
  await row.locator('summary').click();
  await row.getByLabel('Comment on ‘Write press release’', { exact: true }).fill('First draft is in the folder');
  await row.getByLabel('Comment on ‘Write press release’', { exact: true }).press('Enter');
  await expect(row.locator('summary .count')).toHaveText('1');
  await expect(
    bob
      .locator('.task')
      .nth(await rowIndex(bob, 'Write press release'))
      .locator('summary .count'),
  ).toHaveText('1');

  // Rename a project in place, on both; delete one and undo it.
  await alice.getByRole('button', { name: 'Rename project ‘Welcome’' }).click();
  await expect(alice.getByLabel('New name of project ‘Welcome’', { exact: true })).toBeFocused();
  await alice.keyboard.press('Control+A');
  await alice.keyboard.type('Launch');
  await alice.keyboard.press('Enter');
  await expect(alice.locator('#project-title')).toHaveText('Launch');
  await expect(bob.locator('.project')).toHaveText(['Launch']);
  await alice.fill('.projects jazz-form input', 'Scratch');
  await alice.press('.projects jazz-form input', 'Enter');
  await expect(bob.locator('.project')).toHaveText(['Launch', 'Scratch']);
  await alice.getByRole('button', { name: 'Delete project ‘Scratch’' }).click();
  await expect(bob.locator('.project')).toHaveText(['Launch']);
  await undo(alice).click();
  await expect(bob.locator('.project')).toHaveText(['Launch', 'Scratch']);
  expect(errors).toEqual([]);
});

test('a change the server refuses is announced, saying it was undone on this device', async () => {
  // A comment in someone else's name (the permissions refuse it): the page's hidden field is
  // changed as a tampered page would.
  const row = alice.locator('.task').nth(await rowIndex(alice, 'Write press release'));
  await row.locator('jazz-form input[name=author]').evaluate((el: HTMLInputElement) => el.setAttribute('value', 'bob'));
  await row.getByLabel('Comment on ‘Write press release’', { exact: true }).fill('Signed as Bob');
  await row.getByLabel('Comment on ‘Write press release’', { exact: true }).press('Enter');
  const refused = alice.getByRole('alert');
  await expect(refused).toHaveText(/The server refused a change \(you are not allowed to make it\); it was undone on this device\./);
  await expect(row.locator('.comment .body')).toHaveText(['First draft is in the folder']);
  await expect(bob.locator('.comment .body', { hasText: 'Signed as Bob' })).toHaveCount(0);
  await row.locator('jazz-form input[name=author]').evaluate((el: HTMLInputElement) => el.setAttribute('value', 'alice'));
});

test('at 1280 px and at 390 px: no horizontal scroll and no serious or critical axe-core violation', async () => {
  for (const [width, height] of [
    [1280, 900],
    [390, 844],
  ] as const) {
    await alice.setViewportSize({ width, height });
    await expect(alice.locator('.task').first()).toBeVisible();
    expect(await alice.evaluate(() => document.documentElement.scrollWidth), `scroll width at ${width} px`).toBeLessThanOrEqual(width);
    await alice
      .locator('.task details')
      .first()
      .evaluate((d: HTMLDetailsElement) => (d.open = true));
    await axe(alice, `${width} px`);
  }
});

test('keyboard only, at 390 px: add, tick, rename, assign, comment, delete and undo, add a note', async () => {
  const page = alice;
  await page.keyboard.press('Escape');
  await page.locator('body').focus();
  await tabTo(page, 'New task');
  await page.keyboard.type('Walk through by keyboard');
  await page.keyboard.press('Enter');
  await expect.poll(() => titles(bob)).toContain('Walk through by keyboard');
  await tabTo(page, 'Done: ‘Walk through by keyboard’');
  await page.keyboard.press('Space');
  await expect.poll(async () => (await rows(bob, 'tasks')).find((t) => t['title'] === 'Walk through by keyboard')?.['done']).toBe(true);
  await tabTo(page, 'Title of ‘Walk through by keyboard’');
  await page.keyboard.press('End');
  await page.keyboard.type(' again');
  await page.keyboard.press('Enter');
  await expect.poll(() => titles(bob)).toContain('Walk through by keyboard again');
  await tabTo(page, 'Assignee of ‘Walk through by keyboard again’');
  await page.keyboard.press('ArrowDown');
  await expect.poll(async () => (await rows(bob, 'tasks')).find((t) => t['title'] === 'Walk through by keyboard again')?.['assignee']).toBe('alice');
  await tabTo(page, 'Comments 0 on ‘Walk through by keyboard again’');
  await page.keyboard.press('Enter');
  await tabTo(page, 'Comment on ‘Walk through by keyboard again’');
  await page.keyboard.type('Done without a mouse');
  await page.keyboard.press('Enter');
  await expect(bob.locator('.comment .body', { hasText: 'Done without a mouse' })).toHaveCount(1);
  await tabTo(page, 'Delete ‘Walk through by keyboard again’', true);
  await page.keyboard.press('Enter');
  await expect.poll(() => titles(bob)).not.toContain('Walk through by keyboard again');
  await tabTo(page, 'Undo your last change', true);
  await page.keyboard.press('Enter');
  await expect.poll(() => titles(bob)).toContain('Walk through by keyboard again');
  await tabTo(page, 'New note');
  await page.keyboard.type('Typed, not clicked');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect.poll(() => notes(page)).toContain('Typed, not clicked');
  // Focus is visible wherever it lands.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  expect(outline).not.toBe('none');
  expect(errors).toEqual([]);
});

test('undo survives a reload: the last change is undone after it, and the other user sees it undone', async () => {
  await addTask(alice, 'Plan the offsite');
  await expect.poll(() => titles(bob)).toContain('Plan the offsite');
  const title = alice
    .locator('.task')
    .nth(await rowIndex(alice, 'Plan the offsite'))
    .locator('input.title');
  await title.fill('Plan the team offsite');
  await title.press('Enter');
  await expect.poll(() => titles(bob)).toContain('Plan the team offsite');
  await settled(alice);
  await alice.reload();
  await expect(alice.locator('.task').first()).toBeVisible();
  await expect(undo(alice)).toBeEnabled();
  await undo(alice).click();
  // The rename is undone, not the add before it: on Alice's page and, synced, on Bob's.
  await expect.poll(() => titles(alice)).toContain('Plan the offsite');
  await expect.poll(() => titles(bob)).toContain('Plan the offsite');
  expect(await titles(bob)).not.toContain('Plan the team offsite');
  // Again: now the add.
  await undo(alice).click();
  await expect.poll(() => titles(bob)).not.toContain('Plan the offsite');
  await expect.poll(() => titles(alice)).not.toContain('Plan the offsite');
  expect(errors).toEqual([]);
});

test('undo follows the user: disabled with nothing to undo; a change made on one device is undone from another', async ({ browser }) => {
  // Carol has changed nothing yet.
  const carol = await openAs(browser, 'carol');
  await expect(undo(carol)).toBeDisabled();
  await addTask(carol, 'Carol was here');
  await expect(undo(carol)).toBeEnabled();
  await undo(carol).click();
  await expect.poll(() => titles(carol)).not.toContain('Carol was here');
  await expect(undo(carol)).toBeDisabled();
  await expect.poll(() => titles(bob)).not.toContain('Carol was here');
  await carol.context().close();

  // Alice renames a task on her phone; her laptop's Undo undoes that, on all three pages.
  const phone = await openAs(browser, 'alice', 'alice-phone-2');
  const title = phone
    .locator('.task')
    .nth(await rowIndex(phone, 'Book the big venue'))
    .locator('input.title');
  await title.fill('Book the biggest venue');
  await title.press('Enter');
  await expect.poll(() => titles(alice)).toContain('Book the biggest venue');
  // The laptop has the phone's entry of the undo list (its newest) before it undoes.
  const newest = async (page: Page) =>
    (await rows(page, 'undo'))
      .map((r) => r['id'] as string)
      .sort()
      .at(-1);
  await expect.poll(async () => (await newest(phone)) !== undefined && (await newest(alice)) === (await newest(phone))).toBe(true);
  await undo(alice).click();
  for (const page of [alice, phone, bob]) {
    await expect.poll(() => titles(page)).toContain('Book the big venue');
    expect(await titles(page)).not.toContain('Book the biggest venue');
  }
  await phone.context().close();
  // Each user's list is theirs alone: Bob's database holds only his own entries.
  const bobs = await bob.evaluate(async () => {
    const db = (document.querySelector('jazz-db') as any).db;
    return (await db.all(db.app.undo.select('*', '$createdBy'))).map((r: { $createdBy: string }) => r.$createdBy);
  });
  expect(bobs.length).toBeGreaterThan(0);
  expect([...new Set(bobs)]).toEqual(['bob']);
  expect(errors).toEqual([]);
});

test("a title renamed on two devices at once: both mark it with both titles, one keeps the other's by keyboard, both converge", async () => {
  await addTask(alice, 'Name the project');
  await expect.poll(() => titles(bob)).toContain('Name the project');
  await settled(alice);
  await settled(bob);
  await serverDown();
  for (const page of [alice, bob]) await expect(page.locator('jazz-status')).not.toHaveAttribute('connection', 'online');
  for (const [page, title] of [
    [alice, 'Name it Aurora'],
    [bob, 'Name it Borealis'],
  ] as const) {
    const input = page
      .locator('.task')
      .nth(await rowIndex(page, 'Name the project'))
      .locator('input.title');
    await input.fill(title);
    await input.press('Enter');
    await expect.poll(() => titles(page)).toContain(title);
  }
  await expect(alice.locator('.task.conflicted')).toHaveCount(0);
  await serverUp();
  await settled(alice);
  await settled(bob);

  // Both mark the row and offer both titles, the one shown now first; both show the same one.
  const both = ['Name it Aurora', 'Name it Borealis'];
  const shown = async (page: Page) => (await titles(page)).filter((t) => both.includes(t));
  await expect.poll(() => shown(alice), { timeout: 15_000 }).toHaveLength(1);
  await expect.poll(() => shown(bob), { timeout: 15_000 }).toEqual(await shown(alice));
  const [winner] = await shown(alice);
  const loser = both.find((t) => t !== winner)!;
  const by = (t: string) => (t === 'Name it Aurora' ? 'alice' : 'bob');
  for (const page of [alice, bob]) {
    const row = page.locator('.task.conflicted');
    await expect(row).toHaveCount(1, { timeout: 15_000 });
    const group = row.getByRole('group', { name: `Title of ‘${winner}’ changed on two devices at once` });
    await expect(group).toBeVisible();
    await expect(group.getByRole('button')).toHaveText([`Keep ‘${winner}’ by ${by(winner!)}`, `Keep ‘${loser}’ by ${by(loser)}`], { ignoreCase: true });
  }
  // jazz-conflict from the tasks query, on both: the row, its title, both values.
  const id = (await rows(alice, 'tasks')).find((t) => t['title'] === winner)!['id'];
  const eventsFor = (page: Page) => page.evaluate((id) => (window as unknown as { conflictEvents: { id: string }[] }).conflictEvents.filter((e) => e.id === id), id);
  for (const page of [alice, bob]) {
    const events = (await eventsFor(page)) as unknown as {
      target: string;
      table: string;
      conflicts: { field: string; winner: { value: string; author: string }; losers: { value: string; author: string }[] }[];
    }[];
    expect(events.length).toBeGreaterThanOrEqual(1);
    const last = events.at(-1)!;
    expect([last.target, last.table, last.conflicts.length, last.conflicts[0]!.field]).toEqual(['tasks', 'tasks', 1, 'title']);
    expect([last.conflicts[0]!.winner.value, last.conflicts[0]!.winner.author]).toEqual([winner, by(winner!)]);
    expect(last.conflicts[0]!.losers.map((l) => [l.value, l.author])).toEqual([[loser, by(loser)]]);
  }
  // It fits Alice's phone-wide screen (390 px since the keyboard test) and passes axe-core.
  expect(alice.viewportSize()?.width).toBe(390);
  expect(await alice.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await axe(alice, '390 px, with a conflict shown');

  // Bob keeps Alice's title, by keyboard alone.
  await bob.locator('body').focus();
  await tabTo(bob, 'Keep ‘Name it Aurora’ by alice as the title');
  await bob.keyboard.press('Enter');
  for (const page of [alice, bob]) {
    await expect(page.locator('.task.conflicted')).toHaveCount(0);
    await expect.poll(() => shown(page)).toEqual(['Name it Aurora']);
    await expect.poll(async () => ((await eventsFor(page)).at(-1) as unknown as { conflicts: unknown[] }).conflicts).toEqual([]);
  }
  await settled(alice);
  await settled(bob);
  const norm = (rs: Record<string, unknown>[]) => rs.map((r) => JSON.stringify([r['id'], r['title'], r['done'], r['assignee'] ?? null])).sort();
  expect(norm(await rows(alice, 'tasks'))).toEqual(norm(await rows(bob, 'tasks')));
  expect(errors).toEqual([]);
});
