/**
 * Drivers and fallbacks: when the asked-for driver cannot run, the runtime falls back (opfs → idb
 * → memory), works, and says so in its status; it never pretends to persist. OPFS and IndexedDB
 * are taken away inside the worker by small wrapper workers (e2e/worker/no-*.worker.ts).
 */
import { expect, test, type Page } from '@playwright/test';
import { openClient } from './support/client-page.ts';
import { roundTrip as inPage } from './support/scenarios.ts';

async function roundTrip(page: Page): ReturnType<typeof inPage> {
  return page.evaluate(inPage);
}

test('opfs without sync access handles falls back to idb and says why', async ({ page }) => {
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  await openClient(page, { dbName: `fb-idb-${Date.now()}`, driver: 'opfs', workerUrl: '/e2e/worker/no-opfs.worker.ts' });
  const r = await roundTrip(page);
  expect(r.titles).toEqual(['a', 'b']);
  expect(r.live).toEqual(['a', 'b']);
  expect(r.status.driver).toMatchObject({ requested: 'opfs', used: 'idb', persistent: true });
  expect(r.status.driver.fallbackReason).toContain('createSyncAccessHandle');
  expect(r.status.persistent).toBe(true);
  expect(messages.join('\n')).toContain('the opfs driver cannot run here, so the database uses idb');
});

test('with neither OPFS nor IndexedDB it falls back to memory and reports no persistence', async ({ page }) => {
  await openClient(page, { dbName: `fb-mem-${Date.now()}`, driver: 'opfs', workerUrl: '/e2e/worker/no-storage.worker.ts' });
  const r = await roundTrip(page);
  expect(r.titles).toEqual(['a', 'b']);
  expect(r.status.driver).toMatchObject({ requested: 'opfs', used: 'memory', persistent: false });
  expect(r.status.driver.fallbackReason).toMatch(/opfs: .*; idb: IndexedDB is not available/);
  expect(r.status.persistent).toBe(false);
});

test('the idb and memory drivers work when asked for', async ({ page }) => {
  await openClient(page, { dbName: `idb-${Date.now()}`, driver: 'idb' });
  const idb = await roundTrip(page);
  expect(idb.titles).toEqual(['a', 'b']);
  expect(idb.status.driver).toEqual({ requested: 'idb', used: 'idb', persistent: true });
  await openClient(page, { dbName: `mem-${Date.now()}`, driver: 'memory' });
  const mem = await roundTrip(page);
  expect(mem.titles).toEqual(['a', 'b']);
  expect(mem.status.driver).toEqual({ requested: 'memory', used: 'memory', persistent: false });
});
