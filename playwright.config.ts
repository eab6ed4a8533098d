/**
 * The browser tests (the `*.spec.ts` files of e2e/) in real Chromium, and the cross-engine part
 * (e2e/engines/) in Firefox and WebKitGTK too. `npm test` runs them after Vitest; alone:
 * `npx playwright test` (one engine: `--project firefox`). See e2e/README.md.
 */
import { defineConfig, devices } from '@playwright/test';
import { rmSync } from 'node:fs';
import { launchOptions } from './e2e/support/chromium.ts';
import { sharedBuildDir } from './e2e/support/static-dist.ts';
import type { EngineOptions } from './e2e/engines/fixtures.ts';

// Set by the web server's "ready" line (see `wait` below) before the test workers start.
const port = process.env['JAZZ_E2E_PORT'];

// One id per run, set here in the runner (the workers inherit it): the specs that need
// `npm run build`'s files share one build (support/static-dist.ts), deleted when the run ends.
if (!process.env['JAZZ_E2E_RUN']) {
  const run = (process.env['JAZZ_E2E_RUN'] = `${process.pid}-${Date.now()}`);
  process.on('exit', () => ['', '.failed'].forEach((suffix) => rmSync(sharedBuildDir(run) + suffix, { recursive: true, force: true })));
}

export default defineConfig<EngineOptions>({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  // The specs list the contract suites' cases in Node through the same `vitest` alias the worker
  // bundle uses (tsconfig.worker.json maps it to e2e/worker/vitest-shim.ts).
  tsconfig: './tsconfig.worker.json',
  outputDir: './.tmp/playwright-results',
  fullyParallel: false,
  // Two workers, as many as the machine has cores: a third lane for Firefox and WebKit only made
  // every browser slower (the timing specs of client-tabs and client-crash failed beside it). The
  // engines' projects come first in `projects`, so their files are handed out first (`workers: 1`
  // each): Firefox's, the longest chain, start at once in one worker, WebKit's and the across spec
  // in the other, and Chromium's follow in whichever worker is free.
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env['CI'],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  globalTimeout: 20 * 60_000,
  reporter: [['list'], ['json', { outputFile: './.tmp/playwright-report.json' }]],
  use: {
    ...(port ? { baseURL: `http://127.0.0.1:${port}` } : {}),
    trace: 'off',
    screenshot: 'off',
    video: 'off',
  },
  projects: [
    // Driven by e2e/support/engines.ts (puppeteer-core, WebKitWebDriver), not by Playwright.
    { name: 'firefox', testMatch: ['**/engines/*.spec.ts', '**/engines/firefox/*.spec.ts'], use: { engineName: 'firefox' }, workers: 1 },
    { name: 'webkit', testMatch: ['**/engines/*.spec.ts', '**/engines/webkit/*.spec.ts'], use: { engineName: 'webkit' }, workers: 1 },
    { name: 'firefox+webkit', testMatch: '**/engines/across/*.spec.ts', workers: 1 },
    {
      name: 'chromium',
      testIgnore: ['**/engines/**', '**/client-tabs.spec.ts', '**/client-sync.spec.ts'],
      workers: 2,
      use: { ...devices['Desktop Chrome'], launchOptions: launchOptions() },
    },
    // Timing figures run once everything else is done, alone on the machine: R6's takeover target
    // (≤ 2 s with 2–8 tabs; beside the SIGKILL rounds of client-crash it once took 2.3 s), and
    // client-sync's page lifecycle (a page in the back/forward cache must close its connection;
    // beside the heavy specs its worker once had not after 10 s).
    {
      name: 'chromium-alone',
      testMatch: ['**/client-tabs.spec.ts', '**/client-sync.spec.ts'],
      dependencies: ['firefox', 'webkit', 'firefox+webkit', 'chromium'],
      workers: 1,
      use: { ...devices['Desktop Chrome'], launchOptions: launchOptions() },
    },
  ],
  webServer: {
    command: 'node e2e/serve.mjs',
    wait: { stdout: /e2e server ready at http:\/\/127\.0\.0\.1:(?<jazz_e2e_port>\d+)\// },
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 60_000,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
  },
});
