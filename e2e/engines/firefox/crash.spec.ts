/**
 * R4 in Firefox: Firefox killed with SIGKILL while a page writes, 10 times. Each round Firefox
 * starts on the same profile folder (support/engines.ts), the page first reads every row back,
 * then writes continuously on OPFS (insert, `wait({ tier: 'local' })`, up to 16 in flight, every
 * 100th with a 20 KB title) and prints each write once it is confirmed; after about a second the
 * browser's main process gets SIGKILL. After every relaunch, every write the test heard confirmed
 * must be there with its value, and the long titles are found through their index in order. The
 * page's steps are the Chromium spec's (client-crash.spec.ts, support/scenarios.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openClient } from '../../support/client-page.ts';
import { firefoxDevice, launchFirefox } from '../../support/engines.ts';
import { heardConfirmed, readBackInPage, writeUntilKilled } from '../../support/scenarios.ts';
import { expect, test } from '../fixtures.ts';

const ROUNDS = 10;
const LONG = 'L'.repeat(20_000);
const WRITE_MS = 1000;

test('every write confirmed at local survives SIGKILL of Firefox, 10 times', async ({ baseURL }) => {
  // A round is a Firefox launch (4–6 s on 2 cores), the page's modules, a second of writes and
  // the kill: about 8 s alone, up to twice that beside the Chromium specs.
  test.setTimeout(ROUNDS * 25_000);
  const profile = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-firefox-crash-'));
  /** id → title of every write the test heard confirmed. */
  const confirmed = new Map<string, string>();
  const perRound: number[] = [];
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const browser = await launchFirefox({ profile });
      const page = await firefoxDevice(browser, baseURL!, true).newPage();
      let heard = 0;
      (page as unknown as { page: import('puppeteer-core').Page }).page.on('console', (m) => void (heardConfirmed(m.text(), confirmed) && heard++));
      await openClient(page, { dbName: 'crash' });
      const { rows, longByIndex } = await page.evaluate(readBackInPage, LONG);
      const present = new Map(rows);
      expect([...confirmed].filter(([id, title]) => present.get(id) !== title), `round ${round}: confirmed writes missing after the kill`).toEqual([]);
      expect(longByIndex, `round ${round}: long titles by their index`).toEqual(rows.map(([, t]) => t).filter((t) => t.startsWith('LONG+')).sort());
      expect(await page.evaluate(() => window.t.db.status.driver)).toEqual({ requested: 'opfs', used: 'opfs', persistent: true });
      if (round === ROUNDS) {
        await browser.close();
        break; // the last launch only checks the writes of the round before
      }
      // Write until killed. Not awaited: the loop runs in the page until the browser dies.
      await page.evaluate(writeUntilKilled, { round, LONG });
      await new Promise((r) => setTimeout(r, WRITE_MS));
      const firefox = browser.process()!;
      const exited = new Promise((r) => firefox.once('exit', r));
      firefox.kill('SIGKILL');
      await exited;
      // puppeteer puts the profile's own user.js back once it sees Firefox gone: let it finish
      // before the next launch backs it up again.
      for (let i = 0; i < 200 && existsSync(join(profile, 'user.js.puppeteer')); i++) await new Promise((r) => setTimeout(r, 25));
      perRound.push(heard);
    }
    console.log(`[crash:firefox] confirmed writes heard per round: ${perRound.join(' ')}; ${confirmed.size} in all`);
    expect(Math.min(...perRound)).toBeGreaterThan(0);
  } finally {
    // Firefox's last processes can still be writing to the profile for a moment after it closed.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});
