/**
 * The elements against the reference sync server (`server/sync-server.ts`, in the spec's process
 * through `support/sync-server.ts`), on pages made of elements (`support/elements-page.ts`):
 *
 * - a write the server refuses reaches the page as a `jazz-error` on the `<jazz-db>` and on the
 *   element that wrote it (the form, the row's checkbox, the undo button), with its `batchId`;
 * - a batch the server cannot store is refused (`INTERNAL`) and logged once, and the 100 writes
 *   made after it reach another device;
 * - a server that does not accept the app's schema, or has no such app, is reported once however
 *   often the client retries, `<jazz-db state="error">`, and `<jazz-status>` says what is needed
 *   (`update needed`, `unknown app`) instead of `offline`.
 */
import { expect, test, type Page } from '@playwright/test';
import { definePermissions } from '../src/policy/define.ts';
import { s } from '../src/schema/builder.ts';
import { errorsSeen, mount, SCHEMA } from './support/elements-page.ts';
import { TestSyncServer } from './support/sync-server.ts';

const app = s.fromJSON(SCHEMA);

/** How many times the page's sync client has started to connect (from the `jazz-status` events). */
function connectAttempts(page: Page): Promise<number> {
  return page.evaluate(() => {
    const states = window.seen['jazz-status'].map((st: { sync: { state: string } | null }) => st.sync?.state);
    return states.filter((st: string | undefined, i: number) => st === 'connecting' && states[i - 1] !== 'connecting').length;
  });
}

/** The text of `<jazz-status>`, as it reads unstyled. */
function statusLine(page: Page): Promise<string | null> {
  return page.locator('jazz-status').evaluate((el) => el.shadowRoot!.textContent);
}

test('a write the server refuses fires jazz-error, with its batchId, on the element that wrote it and on <jazz-db>', async ({ page }) => {
  const server = await TestSyncServer.start();
  try {
    // Inserts are allowed except of "forbidden", deletes too; no update is (a field edit, an undo).
    server.publish(
      'refusals',
      app.$schema,
      definePermissions(app, ({ policy }) => {
        policy['todos']!.allowRead.always();
        policy['todos']!.allowInsert.where({ title: { ne: 'forbidden' } });
        policy['todos']!.allowDelete.always();
      }),
    );
    const warnings = await mount(
      page,
      `<jazz-query id="todos" table="todos" order-by="title">
         <template><li><input type="checkbox" jazz-field="done"> <span class="title">{{title}}</span> <button jazz-action="delete">delete</button></li></template>
         <button id="undo" jazz-action="restore">undo</button>
       </jazz-query>
       <jazz-form id="add" table="todos"><input name="title"><button>Add</button></jazz-form>
       <jazz-status></jazz-status>`,
      `app="refusals" server="${server.url}" driver="memory"`,
    );
    await expect(page.locator('jazz-status')).toHaveAttribute('connection', 'online');
    const titles = page.locator('#todos .title');
    const input = page.locator('#add input');
    await input.fill('allowed');
    await input.press('Enter');
    await expect(titles).toHaveText(['allowed']);
    await input.fill('forbidden');
    await input.press('Enter');
    // Shown at once, taken back when the server refuses it.
    await expect.poll(() => errorsSeen(page)).toEqual(['jazz-db PERMISSION_DENIED', 'add PERMISSION_DENIED']);
    await expect(titles).toHaveText(['allowed']);

    const box = page.locator('#todos li', { hasText: 'allowed' }).locator('input');
    await box.click();
    await expect.poll(() => errorsSeen(page)).toEqual(['jazz-db PERMISSION_DENIED', 'add PERMISSION_DENIED', 'jazz-db PERMISSION_DENIED', 'input PERMISSION_DENIED']);
    await expect(box).not.toBeChecked();

    await page.locator('#todos li', { hasText: 'allowed' }).getByRole('button', { name: 'delete' }).click();
    await expect(titles).toHaveCount(0);
    await page.locator('#undo').click();
    await expect
      .poll(() => errorsSeen(page))
      .toEqual(['jazz-db PERMISSION_DENIED', 'add PERMISSION_DENIED', 'jazz-db PERMISSION_DENIED', 'input PERMISSION_DENIED', 'jazz-db PERMISSION_DENIED', 'undo PERMISSION_DENIED']);
    await expect(titles).toHaveCount(0);

    // Each element's event names the batch the <jazz-db>'s names, and says why.
    const errors = await page.evaluate(() => window.seen['jazz-error'] as { target: string; batchId: string; message: string }[]);
    for (let i = 0; i < errors.length; i += 2) {
      expect(errors[i + 1]!.batchId).toEqual(expect.any(String));
      expect(errors[i + 1]!.batchId).toBe(errors[i]!.batchId);
      expect(errors[i + 1]!.message).toBe(errors[i]!.message);
    }
    expect(new Set(errors.map((e) => e.batchId)).size).toBe(3);
    expect(errors[1]!.message).toContain('insert denied');
    expect(errors[3]!.message).toContain('update denied');
    expect(errors[5]!.message).toContain('update denied');
    // One warning per distinct message (the edit and the undo were refused in the same words).
    expect(warnings).toEqual([expect.stringContaining('insert denied'), expect.stringContaining('update denied')]);
  } finally {
    await server.dispose();
  }
});

test('a batch the server cannot store: refused, a jazz-error on the page, one log line; the 100 writes after it reach another device', async ({ page, browser }) => {
  const server = await TestSyncServer.start();
  const other = await browser.newContext();
  try {
    server.publish('poison', app.$schema);
    server.failValuesContaining('poison', 'POISON');
    await mount(page, `<jazz-form id="add" table="todos"><input name="title"><button>Add</button></jazz-form>`, `app="poison" server="${server.url}" driver="memory"`);
    const b = await other.newPage();
    await mount(b, `<jazz-query id="todos" table="todos" order-by="title"><template><li>{{title}}</li></template></jazz-query>`, `app="poison" server="${server.url}" driver="memory"`);
    const input = page.locator('#add input');
    await input.fill('POISON pill');
    await input.press('Enter');
    const titles = Array.from({ length: 100 }, (_, i) => `ok ${String(i).padStart(3, '0')}`);
    for (const t of titles) {
      await input.fill(t);
      await input.press('Enter');
    }
    await expect(b.locator('#todos li')).toHaveCount(100, { timeout: 20_000 });
    await expect(b.locator('#todos li')).toHaveText(titles);
    await expect.poll(() => errorsSeen(page)).toEqual(['jazz-db INTERNAL', 'add INTERNAL']);
    expect(server.log.filter((l) => l.includes('batch refused'))).toEqual([expect.stringContaining('INTERNAL')]);
  } finally {
    await other.close();
    await server.dispose();
  }
});

test('a server that does not accept the app\'s schema: one jazz-error over every retry, state="error", <jazz-status> says update needed', async ({ page }) => {
  const server = await TestSyncServer.start();
  try {
    server.publish('mismatch', app.$schema);
    // This page's app has a table more than the one the server knows.
    const newer = JSON.stringify({ tables: { ...JSON.parse(SCHEMA).tables, tags: { name: 'string' } } });
    const warnings = await mount(page, '<jazz-status></jazz-status>', `app="mismatch" server="${server.url}" driver="memory"`, newer);
    const status = page.locator('jazz-status');
    await expect(status).toHaveAttribute('connection', 'update-needed');
    await expect(page.locator('jazz-db')).toHaveAttribute('state', 'error');
    expect(await statusLine(page)).toBe('update needed, 0 pending, leader, memory');
    expect(await status.evaluate((el) => el.shadowRoot!.querySelector('[part~=connection]')!.getAttribute('part'))).toBe('connection update-needed');
    // The client keeps retrying (slowly); each retry gets the same answer, reported once.
    await expect.poll(() => connectAttempts(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    await expect(status).toHaveAttribute('connection', 'update-needed');
    expect(await errorsSeen(page)).toEqual(['jazz-db SCHEMA_MISMATCH']);
    expect(warnings).toEqual([expect.stringContaining('SCHEMA_MISMATCH')]);
    // The database itself works on this device.
    await page.evaluate(() => document.querySelector('jazz-db')!.db!.insert('todos', { title: 'kept here' }).wait());
    await expect(status).toHaveAttribute('pending', '1');
  } finally {
    await server.dispose();
  }
});

test('a server that has no such app: UNKNOWN_APP once, saying how to create it, and <jazz-status> says unknown app', async ({ page }) => {
  const server = await TestSyncServer.start({ dev: false });
  try {
    const warnings = await mount(page, '<jazz-status></jazz-status>', `app="nosuch" server="${server.url}" driver="memory"`);
    const status = page.locator('jazz-status');
    await expect(status).toHaveAttribute('connection', 'unknown-app');
    await expect(page.locator('jazz-db')).toHaveAttribute('state', 'error');
    expect(await statusLine(page)).toBe('unknown app, 0 pending, leader, memory');
    await expect.poll(() => connectAttempts(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    expect(await errorsSeen(page)).toEqual(['jazz-db UNKNOWN_APP']);
    const message = await page.evaluate(() => window.seen['jazz-error'][0].message as string);
    expect(message).toContain('has no app "nosuch"');
    expect(message).toContain('publish its schema');
    expect(message).toContain('--dev');
    expect(await status.evaluate((el) => el.shadowRoot!.querySelector('[part~=connection]')!.getAttribute('title'))).toBe(message);
    expect(warnings).toEqual([`jazz-elements: UNKNOWN_APP: ${message}`]);
  } finally {
    await server.dispose();
  }
});
