/**
 * A quota error reaches the page as a typed error and leaves the database usable: the write that
 * hit it rejects with `STORAGE_QUOTA` and is not kept; the worker reopens its storage (recovering
 * exactly what was durable), live queries carry on, later writes succeed, and the status records
 * the error. The quota is simulated in IndexedDB (e2e/worker/quota.worker.ts): a real one needs
 * gigabytes of writes.
 */
import { test } from '@playwright/test';
import { openClient } from './support/client-page.ts';
import { expectQuotaHandled, quotaRoundTrip } from './support/scenarios.ts';

test('a quota error rejects the write, keeps nothing of it, and the database carries on', async ({ page }) => {
  await openClient(page, { dbName: `quota-${Date.now()}`, driver: 'idb', workerUrl: '/e2e/worker/quota.worker.ts' });
  const r = await page.evaluate(quotaRoundTrip);
  expectQuotaHandled(r);
});
