/**
 * Files in the elements (elements/files.ts), in real Chromium, two devices through the reference
 * server:
 *
 * 1. A `<jazz-form>` with `<input type="file">` stores a 1,000 × 1,000 PNG of noise (over 3 MiB)
 *    with `jazz-progress` events and a `<progress jazz-progress>` it drives, empties the input, and
 *    writes the row; on the second device `<img jazz-src="photo">` shows the image (its natural
 *    size) and `<a jazz-file="photo">` downloads it under its name. Deleting the row takes the
 *    image away and revokes its object URL.
 * 2. `<jazz-stream file-id="{{answer}}">` in a template renders a live stream written on the
 *    other device as it arrives (`state="live"`), then whole (`state="done"`).
 * 3. Mistakes: a file input named for a text column, a required file column with no file chosen,
 *    `jazz-src` on a `<div>`; each is a `jazz-error` and nothing is written.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { mount } from './support/elements-page.ts';
import { TestSyncServer } from './support/sync-server.ts';
import { newAppId } from './support/sync-rows.ts';

const SCHEMA = JSON.stringify({
  tables: {
    posts: { title: 'string', photo: { type: 'file', optional: true }, answer: { type: 'file', optional: true } },
    docs: { title: 'string', doc: 'file' },
  },
});

const POSTS = `
  <jazz-query id="posts" table="posts" order-by="title">
    <template><li><span class="title">{{title}}</span> <img jazz-src="photo" alt="{{title}}"> <a jazz-file="photo"></a>
      <jazz-stream file-id="{{answer}}"></jazz-stream> <button jazz-action="delete">delete</button></li></template>
  </jazz-query>`;

async function device(browser: Browser, server: TestSyncServer, appId: string, body: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await mount(page, body, `app="${appId}" server="${server.url}" driver="memory"`, SCHEMA);
  await expect(page.locator('jazz-db')).toHaveAttribute('state', 'ready');
  return page;
}

test('a form uploads a photo with progress; another device shows it, links it, and lets go of it when the row goes', async ({ browser }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('elfiles');
  try {
    const phone = await device(
      browser,
      server,
      appId,
      `<jazz-form id="add" table="posts"><input name="title" required><input type="file" name="photo" accept="image/png">
         <progress jazz-progress="photo"></progress><button>Post</button></jazz-form>`,
    );
    const laptop = await device(browser, server, appId, POSTS);

    // A real PNG of noise (it does not compress), chosen in the file input as a person would.
    const size = await phone.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 1000;
      const ctx = canvas.getContext('2d')!;
      const img = ctx.createImageData(1000, 1000);
      for (let i = 0; i < img.data.length; i += 65536) crypto.getRandomValues(img.data.subarray(i, i + 65536));
      for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
      ctx.putImageData(img, 0, 0);
      const blob = await new Promise<Blob>((r) => canvas.toBlob((b) => r(b!), 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'Straße 🌅.png', { type: 'image/png' }));
      document.querySelector<HTMLInputElement>('input[type=file]')!.files = dt.files;
      return blob.size;
    });
    expect(size).toBeGreaterThan(3 << 20);
    await phone.locator('input[name=title]').fill('sunset');
    await phone.locator('button').click();

    // Progress: growing, ending at the whole size; the bar full; the input emptied; the row written.
    await expect.poll(() => phone.evaluate(() => window.seen['jazz-progress'].at(-1)?.loaded)).toBe(size);
    const progress = await phone.evaluate(() => window.seen['jazz-progress'] as { target: string; loaded: number; total: number; column: string; name: string }[]);
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(progress.map((p) => p.loaded)).toEqual(progress.map((p) => p.loaded).sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ target: 'add', total: size, column: 'photo', name: 'Straße 🌅.png' });
    expect(await phone.locator('progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([size, size]);
    expect(await phone.locator('input[type=file]').evaluate((el: HTMLInputElement) => el.files!.length)).toBe(0);
    expect(await phone.locator('input[name=title]').inputValue()).toBe('');

    // The other device: the image shown at its size, the link named for the file.
    const img = laptop.locator('#posts img');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 20_000 }).toBe(1000);
    const src = (await img.getAttribute('src'))!;
    expect(src).toMatch(/^blob:/);
    const link = laptop.locator('#posts a');
    await expect(link).toHaveAttribute('download', 'Straße 🌅.png');
    await expect(link).toHaveText('Straße 🌅.png');
    expect(await link.getAttribute('href')).toBe(src); // one object URL per file
    expect(await laptop.evaluate(async (src) => (await (await fetch(src)).blob()).size, src)).toBe(size);

    // The row goes: the image with it, and its URL is revoked.
    await laptop.locator('#posts button').click();
    await expect(laptop.locator('#posts li')).toHaveCount(0);
    await expect
      .poll(() =>
        laptop.evaluate(async (src) => {
          try {
            await fetch(src);
            return 'still there';
          } catch {
            return 'revoked';
          }
        }, src),
      )
      .toBe('revoked');
  } finally {
    for (const c of browser.contexts()) await c.close().catch(() => {});
    await server.dispose();
  }
});

test('<jazz-stream> renders a stream written on another device as it arrives', async ({ browser }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('elstream');
  try {
    const writer = await device(browser, server, appId, '');
    const reader = await device(browser, server, appId, POSTS);
    await writer.evaluate(async () => {
      const db = document.querySelector('jazz-db')!.db!;
      const stream = await db.createStream({ mimeType: 'text/plain' });
      window.t = { stream };
      await db.insert('posts', { title: 'question', answer: stream.id }).wait();
      stream.write('Bonjour, ');
      stream.write('こんにちは');
    });
    const shown = reader.locator('#posts jazz-stream');
    await expect(shown).toHaveText('Bonjour, こんにちは', { timeout: 15_000 });
    await expect(shown).toHaveAttribute('state', 'live');
    await expect(shown).toHaveAttribute('aria-busy', 'true');
    await writer.evaluate(async () => {
      for (let i = 0; i < 50; i++) window.t.stream.write(` ${i}`);
      await window.t.stream.close();
    });
    const rest = [...Array(50).keys()].map((i) => ` ${i}`).join('');
    await expect(shown).toHaveAttribute('state', 'done');
    await expect(shown).toHaveAttribute('aria-busy', 'false');
    await expect(shown).toHaveText(`Bonjour, こんにちは${rest}`);
  } finally {
    for (const c of browser.contexts()) await c.close().catch(() => {});
    await server.dispose();
  }
});

test('file mistakes are jazz-errors and write nothing', async ({ page }) => {
  await mount(
    page,
    `<jazz-form id="wrong" table="posts"><input name="title" value="x"><input type="file" id="title2" name="title2"><button id="w">go</button></jazz-form>
     <jazz-form id="needs" table="docs"><input name="title" value="y"><input type="file" id="doc" name="doc"><button id="n">go</button></jazz-form>
     <jazz-query id="bad" table="posts"><template><div jazz-src="photo"></div></template></jazz-query>
     <jazz-count id="count" table="docs"></jazz-count>`,
    'driver="memory"',
    SCHEMA,
  );
  await expect(page.locator('#wrong')).toHaveAttribute('state', 'error');
  await page.locator('#n').click();
  await expect
    .poll(() => page.evaluate(() => window.seen['jazz-error'].map((e: { target: string; code: string; message: string }) => `${e.target} ${e.code} ${e.message.slice(0, 40)}`)))
    .toEqual(
      expect.arrayContaining([expect.stringMatching(/^title2 UNKNOWN_COLUMN/), expect.stringMatching(/^bad TEMPLATE_INVALID jazz-src goes on <img>/), 'doc TYPE_MISMATCH Please choose a file.']),
    );
  await expect(page.locator('#count')).toHaveText('0');
  // With a file chosen, the same form writes.
  await page.locator('#needs input[type=file]').setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('héllo') });
  await page.locator('#n').click();
  await expect(page.locator('#count')).toHaveText('1');
  const text = await page.evaluate(async () => {
    const db = document.querySelector('jazz-db')!.db!;
    const [row] = await db.all(db.app['docs']!);
    return (await db.loadFileAsBlob(row!['doc'] as string)).text();
  });
  expect(text).toBe('héllo');
});
