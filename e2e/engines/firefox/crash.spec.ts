/**
 * R4 in Firefox: Firefox killed with SIGKILL while a page writes, 5 times (Chromium's spec kills
 * Chromium 20 times; a Firefox round costs twice a Chromium one, and five keep the suite's time in
 * bounds while every run still kills Firefox mid-write). Each round Firefox starts on the same
 * profile folder straight on `e2e/crash.html` (support/engines.ts' `launchFirefoxAt`, no
 * WebDriver: a BiDi session would wait seconds per launch for Firefox's startup idle tasks), and
 * the page runs the round by itself (e2e/page/crash-run.ts): it reads
 * every row back and posts them to the spec's loopback server, then writes continuously on OPFS
 * (insert, `wait({ tier: 'local' })`, up to 16 in flight, every 100th with a 20 KB title) and
 * posts each write once it is confirmed; a second after the first confirmed write arrives, the
 * browser's main process gets SIGKILL. After every relaunch, every write the test heard confirmed
 * must be there with its value, and the long titles are found through their index in order. The
 * page's steps are the Chromium spec's (client-crash.spec.ts, support/crash-steps.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchFirefoxAt, reportServer } from '../../support/engines.ts';
import { heardConfirmed } from '../../support/crash-steps.ts';
import { expect, test } from '../fixtures.ts';

const ROUNDS = 5;
const LONG_LENGTH = 20_000;
const WRITE_MS = 1000;

test('every write confirmed at local survives SIGKILL of Firefox, 5 times', async ({ baseURL }) => {
  // A round is a Firefox start (3–5 s on 2 cores), the page's modules, a second of writes and
  // the kill: about 6 s alone, up to twice that beside the Chromium specs.
  test.setTimeout(ROUNDS * 20_000);
  const profile = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-firefox-crash-'));
  const report = await reportServer();
  /** id → title of every write the test heard confirmed. */
  const confirmed = new Map<string, string>();
  const perRound: number[] = [];
  const times: number[] = [];
  /** Takes the confirmed lines that have arrived; how many of them were new. */
  const hear = (): number => {
    let n = 0;
    for (const body of report.take()) for (const line of body.split('\n')) if (heardConfirmed(line, confirmed)) n++;
    return n;
  };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const started = Date.now();
      // The last launch only checks the writes of the round before.
      const url = new URL(`/e2e/crash.html?report=${encodeURIComponent(report.url)}&long=${LONG_LENGTH}${round < ROUNDS ? `&write=${round}` : ''}`, baseURL).href;
      const firefox = await launchFirefoxAt(profile, url);
      try {
        hear(); // late lines of the round before, if any
        const back = JSON.parse(await report.next(60_000, `round ${round}: the page's read-back`));
        if (back.failed) throw new Error(`round ${round}: the page failed: ${back.failed}`);
        const present = new Map<string, string>(back.rows);
        expect(
          [...confirmed].filter(([id, title]) => present.get(id) !== title),
          `round ${round}: confirmed writes missing after the kill`,
        ).toEqual([]);
        expect(back.longByIndex, `round ${round}: long titles by their index`).toEqual(
          (back.rows as [string, string][])
            .map(([, t]) => t)
            .filter((t) => t.startsWith('LONG+'))
            .sort(),
        );
        expect(back.driver).toEqual({ requested: 'opfs', used: 'opfs', persistent: true, cacheBytes: 32 * 2 ** 20 });
        if (round === ROUNDS) break;
        // Write until killed: a second from the first confirmed write heard.
        let heard = 0;
        for (const deadline = Date.now() + 30_000; (heard += hear()) === 0; ) {
          if (Date.now() > deadline) throw new Error(`round ${round}: no write confirmed within 30 s`);
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, WRITE_MS));
        await firefox.kill('SIGKILL');
        // What was on its way when Firefox died: the loopback server reads it in a moment.
        await new Promise((r) => setTimeout(r, 100));
        perRound.push(heard + hear());
      } finally {
        await firefox.kill('SIGKILL');
      }
      times.push(Date.now() - started);
    }
    console.log(`[crash:firefox] confirmed writes heard per round: ${perRound.join(' ')}; ${confirmed.size} in all; ms per launch and round: ${times.join(' ')}`);
    expect(Math.min(...perRound)).toBeGreaterThan(0);
  } finally {
    await report.close();
    // Firefox's last processes can still be writing to the profile for a moment after it died.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});
