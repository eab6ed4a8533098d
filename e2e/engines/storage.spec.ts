/**
 * Storage in Firefox and WebKitGTK: what the page's client keeps, where, and what its status says.
 *
 * - **Restart.** `e2e/persist.html` writes through `opfs` and `idb` (one database closed by the
 *   page, the others left open), the browser goes, a new one opens the same profile and every row
 *   is there (the Chromium spec runs the same steps). Firefox is closed and started again on its
 *   profile folder, straight on the page (no WebDriver), which reports what it read. MiniBrowser
 *   keeps nothing under WebDriver, so it runs the page itself on a profile folder
 *   (`XDG_DATA_HOME`) and is killed (it has no other way to quit from outside): what the page saw
 *   confirmed must be there after the relaunch.
 * - **Fallback.** WebKitGTK has no `navigator.storage.getDirectory`: `opfs` falls back to `idb`,
 *   works, and says why, in the status and once on the console; the status never claims more than
 *   it has. Firefox has OPFS with sync access handles, so there the wrapper workers of the
 *   Chromium spec take them (and IndexedDB) away.
 * - **Quota.** A (simulated) IndexedDB quota error rejects the write with `STORAGE_QUOTA`, keeps
 *   nothing of it, and the database carries on (e2e/worker/quota.worker.ts, as in Chromium).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchFirefox, launchFirefoxAt, firefoxDevice, launchMiniBrowser, reportServer } from '../support/engines.ts';
import { openClient } from '../support/client-page.ts';
import { KEPT, PERSIST_CASES, persistUrl } from '../support/persist.ts';
import { expectQuotaHandled, quotaRoundTrip, roundTrip } from '../support/scenarios.ts';
import { expect, test } from './fixtures.ts';

/** One step of persist.html in a browser started on `profile` and ended after it. */
async function step(engine: string, profile: string, which: 'write' | 'read', baseURL: string): Promise<Record<string, any>> {
  // Firefox writes under WebDriver and is closed as a user closes it; it reads (and MiniBrowser,
  // which keeps nothing under WebDriver, does both) started straight on the page, which reports
  // to a loopback server: no WebDriver session to wait for.
  if (engine === 'firefox' && which === 'write') {
    const browser = await launchFirefox({ profile });
    try {
      const page = await firefoxDevice(browser, baseURL, true).newPage();
      await page.goto(persistUrl(which));
      await page.waitFor(() => (window as any).result !== undefined, null, `the ${which} step`, 60_000);
      return await page.evaluate(() => (window as any).result);
    } finally {
      await browser.close();
    }
  }
  const report = await reportServer();
  const url = new URL(`${persistUrl(which)}&report=${encodeURIComponent(report.url)}`, baseURL).href;
  const mini = engine === 'firefox' ? await launchFirefoxAt(profile, url) : await launchMiniBrowser(profile, url);
  try {
    const result = JSON.parse(await report.next(60_000, `the ${which} step in ${engine}`));
    if (result.failed) throw new Error(`the ${which} step failed in ${engine}: ${result.failed}`);
    return result;
  } finally {
    await mini.kill('SIGKILL');
    await report.close();
  }
}

test('rows written through opfs and idb are there after the browser restarts', async ({ engineName, baseURL }) => {
  test.setTimeout(180_000); // two browser launches, each step given 60 s
  const profile = mkdtempSync(join(resolve('.tmp'), `e2e-profile-${engineName}-`));
  try {
    // WebKitGTK has no OPFS: `opfs` runs on its fallback, IndexedDB, which is what persists there.
    const used = (driver: string) => (engineName === 'webkit' ? 'idb' : driver);
    const written = await step(engineName, profile, 'write', baseURL!);
    for (const c of PERSIST_CASES) expect(written[c.dbName], c.dbName).toMatchObject({ driver: { requested: c.driver, used: used(c.driver), persistent: true } });
    const read = await step(engineName, profile, 'read', baseURL!);
    for (const c of PERSIST_CASES) {
      expect(read[c.dbName], c.dbName).toMatchObject({ driver: { requested: c.driver, used: used(c.driver), persistent: true }, projects: KEPT });
    }
  } finally {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});

test('a driver that cannot run falls back, works, and the status says why', async ({ engine }) => {
  const page = await engine.page();
  if (engine.name === 'firefox') {
    // Firefox has OPFS with sync access handles: there the wrapper worker takes them away, as in Chromium's spec.
    await openClient(page, { collectWarnings: true, dbName: `fb-${Date.now()}`, driver: 'opfs' });
    const native = await page.evaluate(roundTrip);
    expect(native.status.driver).toEqual({ requested: 'opfs', used: 'opfs', persistent: true, cacheBytes: 32 * 2 ** 20 });
    expect(native.warnings).toEqual([]);
  }
  // WebKitGTK's own lack (no OPFS at all), or Firefox without sync access handles.
  const workerUrl = engine.name === 'firefox' ? { workerUrl: '/e2e/worker/no-opfs.worker.ts' } : {};
  await openClient(page, { collectWarnings: true, dbName: `fb-idb-${Date.now()}`, driver: 'opfs', ...workerUrl });
  const r = await page.evaluate(roundTrip);
  expect(r.titles).toEqual(['a', 'b']);
  expect(r.live).toEqual(['a', 'b']);
  expect(r.status.driver).toMatchObject({ requested: 'opfs', used: 'idb', persistent: true });
  expect(r.status.driver.fallbackReason).toContain(engine.name === 'firefox' ? 'createSyncAccessHandle' : 'navigator.storage.getDirectory is missing');
  expect(r.warnings).toEqual([expect.stringContaining('the opfs driver cannot run here, so the database uses idb')]);
  // Without IndexedDB too: memory, and no claim of persistence.
  await openClient(page, { collectWarnings: true, dbName: `fb-mem-${Date.now()}`, driver: 'opfs', workerUrl: '/e2e/worker/no-storage.worker.ts' });
  const mem = await page.evaluate(roundTrip);
  expect(mem.titles).toEqual(['a', 'b']);
  expect(mem.status.driver).toMatchObject({ requested: 'opfs', used: 'memory', persistent: false });
  expect(mem.status.driver.fallbackReason).toMatch(/opfs: .*; idb: IndexedDB is not available/);
  expect(mem.status.persistent).toBe(false);
});

test('a quota error rejects the write, keeps nothing of it, and the database carries on', async ({ engine }) => {
  const page = await engine.page();
  await openClient(page, { dbName: `quota-${Date.now()}`, driver: 'idb', workerUrl: '/e2e/worker/quota.worker.ts' });
  const r = await page.evaluate(quotaRoundTrip);
  expectQuotaHandled(r);
});
