/**
 * P3 (durable single-row update) and P4 (one update → 20 live queries) in Firefox and WebKitGTK,
 * each beside Dexie in the same browser, in one run (issue 19):
 *
 *   npx tsx bench/engines.ts             (npm run bench -- engines)
 *   ROWS=20000 UPDATES=300 LIVE=30 npx tsx bench/engines.ts     quick check
 *
 * The page is the Chromium bench's (bench/browser/), engine from source, run by itself
 * (`?auto=`) in each browser on a disk-backed profile, reporting to this process: Firefox ESR on
 * a profile folder (engine on `opfs`), WebKitGTK's MiniBrowser outside WebDriver on its own
 * `XDG_DATA_HOME` (engine on `idb`: WebKitGTK has no OPFS; under WebDriver its storage would be
 * in memory). Durability: the engine waits each write at tier `local`; Dexie's transactions ask
 * for `durability: 'strict'`, as the engine's IndexedDB commits do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchFirefox, launchMiniBrowser, reportServer } from '../e2e/support/engines.ts';
import { fmt, summary, table } from './stats.ts';
import { benchServer } from './vite-server.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const UPDATES = Number(process.env['UPDATES'] ?? 1000);
const LIVE = Number(process.env['LIVE'] ?? 60);

const root = fileURLToPath(new URL('..', import.meta.url));
const { server, base } = await benchServer('engines');

interface Result {
  userAgent: string;
  driver: unknown;
  p3: { eng: number[]; dex: number[] };
  p4engine: { times: number[]; missed: number };
  p4dexie: { times: number[]; missed: number };
  failed?: string;
}

async function run(engine: 'firefox' | 'webkit'): Promise<Result> {
  const profile = mkdtempSync(join(root, '.tmp', `bench-${engine}-`));
  const report = await reportServer();
  const url = `${base}/bench/browser/index.html?driver=${engine === 'webkit' ? 'idb' : 'opfs'}&auto=${ROWS},${UPDATES},${LIVE}&report=${encodeURIComponent(report.url)}`;
  const timeout = 30 * 60_000;
  try {
    if (engine === 'firefox') {
      const browser = await launchFirefox({ profile });
      try {
        const page = await browser.newPage();
        await page.goto(url);
        return JSON.parse(await report.next(timeout, 'Firefox'));
      } finally {
        await browser.close();
      }
    }
    const mini = await launchMiniBrowser(profile, url);
    try {
      return JSON.parse(await report.next(timeout, 'WebKitGTK'));
    } finally {
      await mini.kill();
    }
  } finally {
    await report.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const out: (string | number)[][] = [['engine', 'measure', 'jazz-elements', 'Dexie (same browser)', 'jazz/Dexie']];
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? `${(b / a).toFixed(2)}×` : '—');
try {
  console.log(`engines bench: ${ROWS.toLocaleString('en-US')} rows, ${UPDATES} serial updates (P3), ${LIVE} updates under 20 live queries (P4)`);
  for (const engine of ['firefox', 'webkit'] as const) {
    const t0 = Date.now();
    const r = await run(engine);
    if (r.failed) throw new Error(`${engine}: ${r.failed}`);
    const name = engine === 'firefox' ? 'Firefox' : 'WebKitGTK';
    console.log(
      `  · ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${r.userAgent}; driver ${JSON.stringify(r.driver)}; P4 updates with no callback: engine ${r.p4engine.missed}, Dexie ${r.p4dexie.missed}`,
    );
    const [e3, d3, e4, d4] = [summary(r.p3.eng), summary(r.p3.dex), summary(r.p4engine.times), summary(r.p4dexie.times)];
    const drv = (r.driver as { used: string }).used;
    out.push([name, `P3 serial update at local (${drv}), p50`, fmt(e3.p50), fmt(d3.p50), ratio(e3.p50, d3.p50)]);
    out.push([name, `P3 p95`, fmt(e3.p95), fmt(d3.p95), ratio(e3.p95, d3.p95)]);
    out.push([name, `P4 update → last of 20 live queries, p50`, fmt(e4.p50), fmt(d4.p50), ratio(e4.p50, d4.p50)]);
    out.push([name, `P4 p95`, fmt(e4.p95), fmt(d4.p95), ratio(e4.p95, d4.p95)]);
  }
  console.log();
  console.log(table(out));
  console.log(`\njazz/Dexie: > 1× means jazz-elements is faster. Engine from source (Vite); durability: tier 'local' vs Dexie 'strict'.`);
} finally {
  await server.close();
}
