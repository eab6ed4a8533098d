/**
 * The page's client keeps its data across browser restarts: a page writes through each persistent
 * driver (`opfs`, `idb`), the browser is closed, a new browser opens the same profile, and every
 * row is there. One database is closed by the page first; the others are left open, as a closed
 * tab leaves them. The steps are `e2e/persist.html`'s (support/persist.ts), which Firefox and
 * WebKit run too (engines/storage.spec.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { launchOptions } from './support/chromium.ts';
import { KEPT, PERSIST_CASES, persistUrl } from './support/persist.ts';

let profileDir: string;

test.beforeAll(() => {
  profileDir = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
});

test.afterAll(() => {
  rmSync(profileDir, { recursive: true, force: true });
});

async function step(which: 'write' | 'read', baseURL: string | undefined): Promise<Record<string, any>> {
  const context = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
  try {
    const page = await context.newPage();
    await page.goto(persistUrl(which));
    return (await (await page.waitForFunction(() => window.result)).jsonValue()) as Record<string, any>;
  } finally {
    await context.close();
  }
}

test('rows written through opfs and idb are there after the browser restarts', async ({ baseURL }) => {
  const written = await step('write', baseURL);
  for (const c of PERSIST_CASES) expect(written[c.dbName], c.dbName).toMatchObject({ driver: { requested: c.driver, used: c.driver } });
  const read = await step('read', baseURL);
  for (const c of PERSIST_CASES) {
    // The opfs driver reports its page cache (the default); idb holds the whole database in memory.
    const cache = c.driver === 'opfs' ? { cacheBytes: 32 * 2 ** 20 } : {};
    expect(read[c.dbName], c.dbName).toEqual({ driver: { requested: c.driver, used: c.driver, persistent: true, ...cache }, projects: KEPT });
  }
});
