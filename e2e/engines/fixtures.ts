/**
 * The fixtures of the cross-engine specs (e2e/engines/): Playwright Test runs them, counts them
 * and reports them with the Chromium specs, but their pages are Firefox's and WebKitGTK's
 * (support/engines.ts), not Playwright's.
 *
 * - `engineName` is the project's engine (`firefox` or `webkit`, set in playwright.config.ts).
 * - `engine.device(name?)` opens a device: a storage partition of its own (a Firefox user context,
 *   or a MiniBrowser of its own). `engine.page(name?)` is a page on a new device. Both default to
 *   the project's engine, and are closed after the test.
 * - One Firefox per test worker serves every test of that worker (a launch costs seconds); a
 *   WebKit device is a MiniBrowser of its own anyway.
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

export const test = base.extend<{ engine: EngineFixture }, EngineOptions & { sharedFirefox: () => Promise<Browser> }>({
  engineName: ['firefox', { option: true, scope: 'worker' }],
  sharedFirefox: [
    async ({}, use) => {
      let browser: Promise<Browser> | undefined;
      await use(() => (browser ??= launchFirefox()));
      if (browser) await (await browser).close().catch(() => {});
    },
    { scope: 'worker' },
  ],
  engine: async ({ engineName, sharedFirefox, baseURL }, use) => {
    const opened: EngineDevice[] = [];
    const device = async (name: EngineName = engineName): Promise<EngineDevice> => {
      const d = name === 'firefox' ? firefoxDevice(await sharedFirefox(), baseURL!) : await webkitDevice(baseURL!);
      opened.push(d);
      return d;
    };
    await use({ name: engineName, device, page: async (name) => (await device(name)).newPage() });
    await Promise.all(opened.map((d) => d.close().catch(() => {})));
  },
});

export { expect } from '@playwright/test';
