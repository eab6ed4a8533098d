/**
 * The fixtures of the cross-engine specs (e2e/engines/): Playwright Test runs them, counts them
 * and reports them with the Chromium specs, but their pages are Firefox's and WebKitGTK's
 * (support/engines.ts), not Playwright's.
 *
 * - `engineName` is the project's engine (`firefox` or `webkit`, set in playwright.config.ts).
 * - `engine.device(name?)` opens a device: a storage partition of its own (a Firefox user context,
 *   or a MiniBrowser of its own). `engine.page(name?)` is a page on a new device. Both default to
 *   the project's engine, and are closed after the test.
 * - Launches are shared (each costs seconds): one Firefox per test worker serves every test of
 *   that worker (a device is a user context in it), and one MiniBrowser session per test worker
 *   is the first WebKit device of every test (its windows are closed after the test; the tests
 *   use database names of their own). Further WebKit devices of a test are sessions of their own.
 */
import { test as base } from '@playwright/test';
import type { Browser } from 'puppeteer-core';
import { firefoxDevice, launchFirefox, webkitDevice, type EngineDevice, type EngineName, type EnginePage } from '../support/engines.ts';

export interface EngineFixture {
  readonly name: EngineName;
  device(name?: EngineName): Promise<EngineDevice>;
  page(name?: EngineName): Promise<EnginePage>;
}

export interface EngineOptions {
  engineName: EngineName;
}

export const test = base.extend<{ engine: EngineFixture }, EngineOptions & { sharedFirefox: () => Promise<Browser>; sharedWebkit: (baseURL: string) => Promise<EngineDevice> }>({
  engineName: ['firefox', { option: true, scope: 'worker' }],
  sharedFirefox: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern; it has none.
    async ({}, use) => {
      let browser: Promise<Browser> | undefined;
      await use(() => (browser ??= launchFirefox()));
      if (browser) await (await browser).close().catch(() => {});
    },
    { scope: 'worker' },
  ],
  sharedWebkit: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern; it has none.
    async ({}, use) => {
      let device: Promise<EngineDevice> | undefined;
      await use((baseURL) => (device ??= webkitDevice(baseURL)));
      if (device) await (await device).close().catch(() => {});
    },
    { scope: 'worker' },
  ],
  engine: async ({ engineName, sharedFirefox, sharedWebkit, baseURL }, use) => {
    const opened: EngineDevice[] = [];
    let webkitShared = false;
    const device = async (name: EngineName = engineName): Promise<EngineDevice> => {
      let d: EngineDevice;
      if (name === 'firefox') d = firefoxDevice(await sharedFirefox(), baseURL!);
      else if (webkitShared) d = await webkitDevice(baseURL!);
      else {
        webkitShared = true;
        d = lease(await sharedWebkit(baseURL!));
      }
      opened.push(d);
      return d;
    };
    await use({ name: engineName, device, page: async (name) => (await device(name)).newPage() });
    await Promise.all(opened.map((d) => d.close().catch(() => {})));
  },
});

export { expect } from '@playwright/test';

/** The shared device for one test: its pages close after the test, the device stays. */
function lease(device: EngineDevice): EngineDevice {
  const pages: EnginePage[] = [];
  return {
    newPage: async () => {
      const page = await device.newPage();
      pages.push(page);
      return page;
    },
    close: async () => void (await Promise.all(pages.map((p) => p.close()))),
  };
}
