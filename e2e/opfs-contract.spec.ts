/**
 * The store's contract suites over OPFS, run inside a real dedicated worker in Chromium
 * (e2e/worker/suites.ts): the BlockFile contract over `OpfsBlockFile`, the KV contract over
 * `openOpfsStore`, and the cases only OPFS has. One Playwright test per case, each run in the
 * worker by name; the cases are listed in Node from the same suites, and the worker must define
 * exactly those.
 *
 * Twice: in a persistent profile (what users have) and in an in-memory one (incognito), whose OPFS
 * is another implementation with its own failure modes (see worker/opfs-blockfile.ts). The
 * long-values contract (engine level, on the opfs and idb drivers' stores) runs in the persistent
 * profile only.
 *
 * Replay the KV contract's random model with KV_CONTRACT_SEED=<seed>, the long-values contract's
 * with LONG_VALUES_SEED=<seed> (both print theirs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test, type BrowserContext } from '@playwright/test';
import type { ContractReply, ContractRequest } from './worker/protocol.ts';
import { BLOCKFILE_SUITE, LONG_VALUES_SUITE, STORE_SUITE } from './worker/suites.ts';
import { suiteCases } from './support/cases.ts';
import { launchOptions } from './support/chromium.ts';
import { startWorker, type TestWorker } from './support/worker-client.ts';

const cases = suiteCases();
const seeds = new URLSearchParams();
for (const name of ['KV_CONTRACT_SEED', 'LONG_VALUES_SEED']) if (process.env[name] !== undefined) seeds.set(name, process.env[name]!);
const workerUrl = `/e2e/worker/contract.worker.ts${seeds.size ? `?${seeds}` : ''}`;

for (const profile of ['persistent profile', 'in-memory profile'] as const) {
  test.describe(profile, () => {
    let context: BrowserContext | undefined;
    let profileDir: string | undefined;
    let worker: TestWorker<ContractRequest, ContractReply>;

    // One browser and worker for the profile's tests (Playwright starts them again after a failure).
    test.beforeAll(async ({ browser, baseURL }) => {
      if (profile === 'persistent profile') {
        profileDir = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
        context = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
      } else {
        context = await browser.newContext();
      }
      const page = await context.newPage();
      await page.goto('/e2e/index.html');
      worker = await startWorker(page, workerUrl);
    });

    test.afterAll(async () => {
      await context?.close();
      if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    });

    test('the worker defines exactly the cases of the suites', async () => {
      const reply = await worker.request({ type: 'list' });
      if (reply.type !== 'list') throw new Error(`the worker answered ${JSON.stringify(reply)}`);
      expect(reply.cases).toEqual(cases);
      // Both contracts are there (a listing that lost a suite on both sides would still match).
      for (const suite of [`${BLOCKFILE_SUITE} > BlockFile contract: `, `${STORE_SUITE} > KvStore contract: `]) {
        expect(cases.filter((name) => name.startsWith(suite)).length, suite).toBeGreaterThan(5);
      }
      for (const driver of ['opfs', 'idb']) {
        expect(cases.filter((name) => name.startsWith(`${LONG_VALUES_SUITE} > long values contract: ${driver} > `)).length, driver).toBe(2);
      }
    });

    // The long-values suite (tens of MiB per case) runs where users' data lives: the persistent profile.
    for (const name of cases.filter((c) => profile === 'persistent profile' || !c.startsWith(LONG_VALUES_SUITE))) {
      test(name, async () => {
        const reply = await worker.request({ type: 'run', name });
        if (reply.type !== 'result') throw new Error(`the worker answered ${JSON.stringify(reply)}`);
        const { result } = reply;
        for (const line of result.logs) console.log(`[worker, ${profile}] ${line}`);
        // Every case has what it needs (a reopen included), so a skip is a failure too.
        expect(result.status, result.errors.join('\n\n')).toBe('passed');
      });
    }
  });
}
