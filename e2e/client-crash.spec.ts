/**
 * R4: Chromium killed with SIGKILL while a page writes, 20 times. Each round a browser
 * opens the same persistent profile, the page first reads every row back, then writes
 * continuously (insert, `wait({ tier: 'local' })`, up to 16 in flight) and prints each write once
 * it is confirmed; after about a second the browser process (found by its --user-data-dir, the
 * one without --type=) gets SIGKILL. After every relaunch, every write the test saw confirmed must
 * be there, with its value (every 100th write has a 20 KB title, found again through its index).
 * Messages still in flight when the browser dies are simply not counted:
 * the check is over confirmations the test heard, all of which the page had at `local`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test, type Page } from '@playwright/test';
import { launchOptions } from './support/chromium.ts';
import { openClient } from './support/client-page.ts';
import { heardConfirmed, readBackInPage, writeUntilKilled } from './support/scenarios.ts';

const ROUNDS = 20;
/** The shared prefix of the long titles: their index entries are cut, and they live in overflow pages. */
const LONG = 'L'.repeat(20_000);
const WRITE_MS = 1000;

let profileDir: string;

test.beforeAll(() => {
  profileDir = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
});

test.afterAll(() => {
  rmSync(profileDir, { recursive: true, force: true });
});

/** The browser process of this profile: its command line names the folder and has no --type=. */
function browserPid(userDataDir: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (args.some((a) => a === `--user-data-dir=${userDataDir}`) && !args.some((a) => a.startsWith('--type='))) return Number(entry);
  }
  return undefined;
}

/** Every row's [id, title] and the long titles by their index (support/scenarios.ts). */
function readBack(page: Page): ReturnType<typeof readBackInPage> {
  return page.evaluate(readBackInPage, LONG);
}

test('every write confirmed at local survives SIGKILL of the browser, 20 times', async ({ baseURL }) => {
  test.setTimeout(ROUNDS * 12_000);
  /** id → title of every write the test heard confirmed. */
  const confirmed = new Map<string, string>();
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const context = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
    const page = context.pages()[0] ?? (await context.newPage());
    let heard = 0;
    page.on('console', (m) => void (heardConfirmed(m.text(), confirmed) && heard++));
    await openClient(page, { dbName: 'crash' });
    const { rows, longByIndex } = await readBack(page);
    const present = new Map(rows);
    const lost = [...confirmed].filter(([id, title]) => present.get(id) !== title);
    expect(lost, `round ${round}: confirmed writes missing after the kill`).toEqual([]);
    // The long titles, found through their (cut) index entries, in order.
    expect(longByIndex, `round ${round}: long titles by their index`).toEqual(
      rows
        .map(([, t]) => t)
        .filter((t) => t.startsWith('LONG+'))
        .sort(),
    );

    // Write until killed. Not awaited: the loop runs in the page until the browser dies.
    await page.evaluate(writeUntilKilled, { round, LONG });
    await page.waitForTimeout(WRITE_MS);
    const pid = browserPid(profileDir);
    expect(pid, 'the browser process of the profile').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await context.close().catch(() => {});
    perRound.push(heard);
  }
  console.log(`[crash] confirmed writes heard per round: ${perRound.join(' ')}; ${confirmed.size} in all`);
  expect(Math.min(...perRound)).toBeGreaterThan(0);

  // One last launch checks the writes of the final round.
  const context = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await openClient(page, { dbName: 'crash' });
    const { rows } = await readBack(page);
    const present = new Map(rows);
    expect([...confirmed].filter(([id, title]) => present.get(id) !== title)).toEqual([]);
  } finally {
    await context.close();
  }
});
