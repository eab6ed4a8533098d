/**
 * P1–P5, P7 in real Chromium (persistent profile), side by side in one run: raw OPFS
 * sync-access-handle writes, the engine through the page client (worker/page, opfs driver, from
 * source through a Vite dev server as e2e/ does) and Dexie on IndexedDB.
 *
 *   npx tsx bench/browser.ts            (npm run bench -- browser)
 *   ROWS=10000 UPDATES=300 LIVE=30 npx tsx bench/browser.ts     quick check
 *   DEXIE_DURABILITY=relaxed            Dexie's Chromium transaction durability (default strict)
 *   P1_MIB=256                          MiB written per raw OPFS run
 *   SKIP=p1,p3,p7,p4,p5,p5u             leave out some measures
 *
 * Durability: the engine waits each write at tier `local` (committed and flushed on its OPFS sync
 * access handles); Dexie runs with `chromeTransactionDurability: 'strict'` (IndexedDB flushes the
 * transaction before `complete`). Timings are taken on the page with performance.now().
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import type { Plugin } from 'vite';
import { benchServer } from './vite-server.ts';
import { launchOptions } from '../e2e/support/chromium.ts';
import { fmt, summary, table, percentile } from './stats.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const UPDATES = Number(process.env['UPDATES'] ?? 1000);
const READS = Number(process.env['READS'] ?? 1000);
const LIVE = Number(process.env['LIVE'] ?? 60);
const COLD = Number(process.env['COLD'] ?? 3);
const P1_MIB = Number(process.env['P1_MIB'] ?? 256);
const DURABILITY = process.env['DEXIE_DURABILITY'] ?? 'strict';
const QUIET = Number(process.env['QUIET'] ?? 150);
const SKIP = new Set((process.env['SKIP'] ?? '').split(',').filter(Boolean));

const profile = fileURLToPath(new URL(`../.tmp/bench-browser-profile-${process.pid}`, import.meta.url));

// The built files under /.tmp/bench-dist-<pid>/ are served as a static host would (bytes as they
// are, ETag, revalidated): Vite's dev transform would add a ~1 MB inline source map to
// jazz-worker.js, and the worker's cold start would time that instead of the file users load.
const DIST_PATH = `/.tmp/bench-dist-${process.pid}/`;
const staticDist: Plugin = {
  name: 'bench-static-dist',
  configureServer(s) {
    s.middlewares.use((req, res, next) => {
      const path = (req.url ?? '').split('?')[0]!;
      if (!path.startsWith(DIST_PATH) || !path.endsWith('.js')) return next();
      const file = fileURLToPath(new URL(`..${path}`, import.meta.url));
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch {
        return next();
      }
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('ETag', etag);
      if (req.headers['if-none-match'] === etag) {
        res.statusCode = 304;
        return res.end();
      }
      res.setHeader('Content-Type', 'text/javascript');
      res.end(body);
    });
  },
};

const { server, base } = await benchServer('browser', [staticDist]);
// The worker as users run it: `npm run build`'s jazz-worker.js (one module, minified), served by
// the same server as a static file (above). SOURCE_WORKER=1 loads it from source instead (every module unbundled).
let url = `${base}/bench/browser/index.html`;
if (process.env['SOURCE_WORKER'] !== '1') {
  const dist = fileURLToPath(new URL(`../.tmp/bench-dist-${process.pid}`, import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build'], { env: { ...process.env, JAZZ_DIST: dist }, stdio: 'pipe' });
  url += `?worker=${encodeURIComponent(`${DIST_PATH}jazz-worker.js`)}`;
  process.on('exit', () => rmSync(dist, { recursive: true, force: true }));
}

rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });

async function launch(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await chromium.launchPersistentContext(profile, { ...launchOptions(), headless: true });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`[page ${m.type()}]`, m.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes', null, { timeout: 60_000 });
  return { ctx, page };
}

const ev = <T>(page: Page, fn: string, ...args: unknown[]): Promise<T> => page.evaluate(([fn, args]) => (window as any).bench[fn as string](...(args as unknown[])), [fn, args] as const) as Promise<T>;

const log = (s: string) => console.log(`  · ${s}`);
const rows: (string | number)[][] = [['id', 'measure', 'engine (opfs)', 'Dexie (IDB)', 'raw OPFS', 'engine/Dexie', 'target']];
const ratio = (a: number, b: number, higherBetter: boolean) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0 ? `${(higherBetter ? a / b : b / a).toFixed(2)}×` : '—');
const rate = (x: number) => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')}/s` : '—');

let ctx: BrowserContext | undefined;
try {
  console.log(
    `browser bench: ${ROWS.toLocaleString('en-US')} rows, Chromium ${launchOptions().executablePath ?? '(playwright)'}; durability: engine tier 'local' (OPFS flush), Dexie chromeTransactionDurability '${DURABILITY}'`,
  );
  let page: Page;
  ({ ctx, page } = await launch());
  console.log(`  browser ${ctx.browser()?.version() ?? ''}`);

  // P1
  let p1MiBs = NaN;
  if (!SKIP.has('p1')) {
    const p1 = await ev<{ noFlushMiBs: number[]; flushEachMiBs: number; flushEach: number[] }>(page, 'p1', P1_MIB, 2000);
    p1MiBs = percentile(p1.noFlushMiBs, 50);
    const f = summary(p1.flushEach);
    log(`P1 done: ${p1.noFlushMiBs.map((x) => x.toFixed(0)).join(', ')} MiB/s without flush`);
    rows.push(['P1', `seq 16 KiB writes, flush at end (${P1_MIB} MiB ×3, median)`, '', '', `${p1MiBs.toFixed(0)} MiB/s`, '', 'ceiling (baseline 390–450 MiB/s)']);
    rows.push(['P1', '16 KiB write + flush each (2,000)', '', '', `${p1.flushEachMiBs.toFixed(0)} MiB/s; p50 ${fmt(f.p50)}, p95 ${fmt(f.p95)}`, '', 'ceiling (baseline p50 0.55 ms, p95 1.2 ms)']);
  }

  // P2
  const setup = await ev<{ driver: unknown; bytesPerRow: number }>(page, 'setup', ROWS, DURABILITY);
  log(`driver: ${JSON.stringify(setup.driver)}; ~${setup.bytesPerRow} bytes/row as JSON`);
  const le = await ev<{ ms: number }>(page, 'loadEngine');
  log(`P2 engine load: ${(le.ms / 1000).toFixed(1)} s`);
  const ld = await ev<{ ms: number }>(page, 'loadDexie');
  log(`P2 Dexie load: ${(ld.ms / 1000).toFixed(1)} s`);
  const rE = ROWS / (le.ms / 1000);
  const rD = ROWS / (ld.ms / 1000);
  const frac = Number.isFinite(p1MiBs) ? ` (${(((rE * setup.bytesPerRow) / 1024 / 1024 / p1MiBs) * 100).toFixed(1)}% of P1 bandwidth)` : '';
  rows.push([
    'P2',
    `bulk load ${ROWS.toLocaleString('en-US')} rows, 1k/batch, each awaited`,
    `${rate(rE)}${frac}`,
    rate(rD),
    '',
    ratio(rE, rD, true),
    '≥ 100,000 rows/s, 25× Dexie (Dexie baseline 4,000/s)',
  ]);

  // P3
  if (!SKIP.has('p3')) {
    const u = await ev<{ eng: number[]; dex: number[] }>(page, 'updates', UPDATES);
    const e = summary(u.eng);
    const d = summary(u.dex);
    log('P3 done');
    rows.push(['P3', `${UPDATES} serial updates awaited, p50`, fmt(e.p50), fmt(d.p50), '', ratio(e.p50, d.p50, false), 'p50 ≤ 1 ms (Dexie baseline 2.4 ms)']);
    rows.push(['P3', `${UPDATES} serial updates awaited, p95`, fmt(e.p95), fmt(d.p95), '', ratio(e.p95, d.p95, false), 'p95 ≤ 2 ms (Dexie baseline 6.6 ms)']);
  }

  // P7
  if (!SKIP.has('p7')) {
    const r = await ev<{ eng: number[]; dex: number[]; rEng: number[]; rDex: number[]; counts: number[] }>(page, 'reads', READS);
    const e = summary(r.eng);
    const d = summary(r.dex);
    const re = summary(r.rEng);
    const rd = summary(r.rDex);
    log(`P7 done; range sizes ${Math.min(...r.counts)}–${Math.max(...r.counts)}`);
    rows.push(['P7', `point read by id (${READS}), p50`, fmt(e.p50), fmt(d.p50), '', ratio(e.p50, d.p50, false), 'p50 ≤ 0.1 ms']);
    rows.push(['P7', `point read by id, p95`, fmt(e.p95), fmt(d.p95), '', ratio(e.p95, d.p95, false), '']);
    rows.push(['P7', `indexed range ~${Math.round(percentile(r.counts, 50))} rows (10 runs), p50`, fmt(re.p50), fmt(rd.p50), '', ratio(re.p50, rd.p50, false), '≥ 3× Dexie']);
    rows.push(['P7', `indexed range, p95`, fmt(re.p95), fmt(rd.p95), '', ratio(re.p95, rd.p95, false), '']);
  }

  // P4
  if (!SKIP.has('p4')) {
    const le4 = await ev<{ times: number[]; missed: number; firstMs: number }>(page, 'live', LIVE, 'engine', QUIET);
    log(`P4 engine done (first results of 20 queries: ${fmt(le4.firstMs)}; updates with no callback: ${le4.missed})`);
    const ld4 = await ev<{ times: number[]; missed: number; firstMs: number }>(page, 'live', LIVE, 'dexie', QUIET);
    log(`P4 Dexie done (first results of 20 queries: ${fmt(ld4.firstMs)}; updates with no callback: ${ld4.missed})`);
    const e = summary(le4.times);
    const d = summary(ld4.times);
    rows.push(['P4', `update → last callback, 20 live queries (${LIVE}), p50`, fmt(e.p50), fmt(d.p50), '', ratio(e.p50, d.p50, false), '(Dexie baseline 100k: p50 54 ms)']);
    rows.push(['P4', `update → last callback, p95`, fmt(e.p95), fmt(d.p95), '', ratio(e.p95, d.p95, false), 'p95 ≤ 4 ms (Dexie baseline 70 ms)']);
  }

  // P5
  await ev(page, 'close');
  await ctx.close();
  ctx = undefined;
  if (!SKIP.has('p5')) {
    const cold: Record<'engine' | 'dexie', number[]> = { engine: [], dexie: [] };
    const nav: Record<'engine' | 'dexie', number[]> = { engine: [], dexie: [] };
    for (let k = 0; k < COLD; k++) {
      for (const which of ['engine', 'dexie'] as const) {
        ({ ctx, page } = await launch());
        const r = await ev<{ ms: number; sinceNavigation: number }>(page, 'cold', which);
        cold[which].push(r.ms);
        nav[which].push(r.sinceNavigation);
        await ev(page, 'close');
        await ctx.close();
        ctx = undefined;
      }
    }
    log(`P5: engine ${cold.engine.map(fmt).join(', ')}; Dexie ${cold.dexie.map(fmt).join(', ')}`);
    const e = percentile(cold.engine, 50);
    const d = percentile(cold.dexie, 50);
    rows.push(['P5', `cold open after browser restart → first 50 by title (${COLD} restarts, median)`, fmt(e), fmt(d), '', ratio(e, d, false), '≤ 50 ms (Dexie baseline 182 ms)']);
    rows.push([
      'P5',
      `same, from navigation start (page modules served unbundled by Vite; worker ${process.env['SOURCE_WORKER'] === '1' ? 'from source' : 'built'})`,
      fmt(percentile(nav.engine, 50)),
      fmt(percentile(nav.dexie, 50)),
      '',
      '',
      '',
    ]);
  }

  // P5u: the same cold open, the first time a new schema version opens the database (v2 renames
  // the sorted column and adds one; v3, v4, … add one more each), beside opening that version again.
  if (!SKIP.has('p5u')) {
    const upgrade: number[] = [];
    const again: number[] = [];
    for (let k = 1; k <= COLD; k++) {
      for (const into of [upgrade, again]) {
        ({ ctx, page } = await launch());
        into.push((await ev<{ ms: number }>(page, 'coldVersion', k)).ms);
        // Let the background build of the added column's index finish before the restart.
        if (into === upgrade) await new Promise((r) => setTimeout(r, 5000));
        await ev(page, 'close');
        await ctx.close();
        ctx = undefined;
      }
    }
    log(`P5u: upgrade ${upgrade.map(fmt).join(', ')}; same version again ${again.map(fmt).join(', ')}`);
    const u = percentile(upgrade, 50);
    const a = percentile(again, 50);
    rows.push([
      'P5u',
      `cold open as a new schema version (rename + add) → first 50 by the renamed column (${COLD}, median)`,
      fmt(u),
      '',
      '',
      '',
      `opened again without upgrade: ${fmt(a)} (${(u / a).toFixed(2)}×)`,
    ]);
  }

  console.log();
  console.log(table(rows));
  console.log(`\nengine/Dexie: > 1× means the engine is faster. Durability: engine waits at tier 'local' (flushed to OPFS); Dexie chromeTransactionDurability '${DURABILITY}'.`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
