/**
 * Issue 7's benchmark (P4 at the DOM level): the time from a user's click that writes
 * to the moment the DOM shows the change, with 20 `<jazz-query>` elements over ROWS todos, beside
 * the same page built on Dexie `liveQuery` (real Chromium, persistent profile).
 *
 *   npx tsx bench/dom.ts                 (npm run bench -- dom)
 *   ROWS=10000 CLICKS=100 npx tsx bench/dom.ts      quick check
 *   ROWS (100000)  CLICKS (200)  QUIET (150 ms without a DOM change ends a click)
 *   BLOCK (25)                 clicks per turn: the two pages take turns, in two tabs
 *   DEXIE_DURABILITY (strict)  Dexie's chromeTransactionDurability: strict | relaxed | default
 *   SOURCE=1                   the elements from source through Vite instead of the built jazz.js
 *   CHECK=0                    skip the after-each-click check of every list against a fresh query
 *   CLICK=dom                  click with a page-side element.click() instead of Playwright's real
 *                              input (no input-driven frame first: shows what the input pipeline costs)
 *
 * Pages: bench/dom/jazz.html (one `<jazz-db driver="opfs">`, 20 `<jazz-query>`, the built
 * `dist/jazz.js` made by `npm run build` into .tmp/ and served as it is) and bench/dom/dexie.html
 * (the same 20 queries with Dexie `liveQuery`, keyed rendering by hand; see dexie-page.ts). Both
 * pages and their rows: bench/dom/shared.ts. Flow: a first browser loads the rows into both
 * (timed), then a restarted browser opens both pages in two tabs (first render of the 20 lists,
 * timed) and clicks checkboxes with Playwright (`locator.click()`, real input events), the same
 * checkbox on both pages (picked from what they show, which is the same), taking turns.
 *
 * Timing (on the page, performance.now()): from a capturing `click` listener on `document` to the
 * last MutationObserver callback that saw a row change in any of the 20 lists (and to the next
 * animation frame after it), once nothing changed for QUIET ms. The pages are cross-origin isolated
 * (COOP/COEP) so that clock is not coarsened; the bench says so, or refuses sub-millisecond figures. Then, outside the timing, every
 * list is compared with a fresh non-live query, and a hash of what the page shows is compared with
 * the other page's after the same click.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { createServer, type Plugin } from 'vite';
import { launchOptions } from '../e2e/support/chromium.ts';
import { fmt, summary, table } from './stats.ts';
import { crossOriginIsolation } from './vite-server.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const CLICKS = Number(process.env['CLICKS'] ?? 200);
const QUIET = Number(process.env['QUIET'] ?? 150);
const BLOCK = Number(process.env['BLOCK'] ?? 25);
const DURABILITY = process.env['DEXIE_DURABILITY'] ?? 'strict';
const SOURCE = process.env['SOURCE'] === '1';
const CHECK = process.env['CHECK'] !== '0';
const CLICK = process.env['CLICK'] ?? 'input';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = join(root, '.tmp');
const profile = join(tmp, `bench-dom-profile-${process.pid}`);
const dist = join(tmp, `bench-dom-dist-${process.pid}`);

const log = (s: string) => console.log(`  · ${s}`);

// The built jazz.js / jazz-worker.js / jazz-broker.js, served raw (no Vite transform) at /jazz-dist/.
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json' };
const serveDist: Plugin = {
  name: 'bench-dom-dist',
  configureServer(server) {
    server.middlewares.use((req, res, next) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!path.startsWith('/jazz-dist/')) return next();
      const file = join(dist, path.slice('/jazz-dist/'.length));
      if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
        res.statusCode = 404;
        return void res.end();
      }
      res.setHeader('content-type', TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream');
      createReadStream(file).pipe(res);
    });
  },
};

mkdirSync(tmp, { recursive: true });
rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });
if (!SOURCE) {
  const t = Date.now();
  execFileSync('npm', ['run', 'build'], { cwd: root, env: { ...process.env, JAZZ_DIST: dist }, stdio: 'pipe' });
  log(`npm run build → ${dist} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}

const server = await createServer({
  configFile: false,
  root,
  cacheDir: join(tmp, 'vite-bench-dom'),
  clearScreen: false,
  logLevel: 'warn',
  plugins: [crossOriginIsolation, serveDist],
  optimizeDeps: { noDiscovery: true, entries: [], include: ['dexie', ...(SOURCE ? ['@lit/reactive-element', '@lit/context', 'comlink'] : [])] },
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
});
await server.listen();
const addr = server.httpServer!.address();
const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
const jazzUrl = `${base}/bench/dom/jazz.html${SOURCE ? '?source' : ''}`;
const dexieUrl = `${base}/bench/dom/dexie.html`;

async function open(ctx: BrowserContext, url: string, name: string): Promise<Page> {
  const page = ctx.pages().find((p) => p.url() === 'about:blank') ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error(`[${name} page error]`, e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`[${name} ${m.type()}]`, m.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes', null, { timeout: 120_000 });
  return page;
}

const launch = () => chromium.launchPersistentContext(profile, { ...launchOptions(), headless: true, viewport: { width: 1600, height: 1000 } });

const ev = <T>(page: Page, fn: string, ...args: unknown[]): Promise<T> => page.evaluate(([fn, args]) => (window as any).bench[fn as string](...(args as unknown[])), [fn, args] as const) as Promise<T>;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
let isolated = false;
/** A time, refused below 1 ms when the page's clock is coarsened (not cross-origin isolated). */
const ms = (x: number) => (!isolated && x < 1 ? '< 1 ms (clock coarse)' : fmt(x));

type Click = { dom: number; frame: number; change: number; first: number; lists: number; mutations: number } | { missed: true };
type Side = { name: string; page: Page; dom: number[]; frame: number[]; change: number[]; first: number[]; lists: number[]; missed: number; bad: number; hashes: string[] };

let ctx: BrowserContext | undefined;
try {
  console.log(
    `dom bench: ${ROWS.toLocaleString('en-US')} rows, 20 lists, ${CLICKS} clicks, quiet ${QUIET} ms; elements from ${SOURCE ? 'source (Vite)' : 'the built jazz.js'}; Chromium ${launchOptions().executablePath ?? '(playwright)'}`,
  );
  console.log(`  durability: engine writes from jazz-field wait at tier 'local' (the lists update before the flush); Dexie chromeTransactionDurability '${DURABILITY}'`);

  console.log(`  load average before: ${load()}`);
  // Load, in a first browser.
  ctx = await launch();
  log(`browser ${ctx.browser()?.version() ?? ''}`);
  let page = await open(ctx, jazzUrl, 'jazz');
  isolated = await page.evaluate('crossOriginIsolated');
  log(`crossOriginIsolated: ${isolated}${isolated ? '' : ' — the clock is coarsened: figures under 1 ms are not reported'}`);
  const le = await ev<{ ms: number; projects: string[]; ids: string[]; driver: unknown }>(page, 'load', ROWS);
  log(`engine load: ${(le.ms / 1000).toFixed(1)} s (${Math.round(ROWS / (le.ms / 1000)).toLocaleString('en-US')} rows/s); driver ${JSON.stringify(le.driver)}`);
  await ev(page, 'close');
  page = await open(ctx, dexieUrl, 'dexie');
  const ld = await ev<{ ms: number }>(page, 'load', le.projects, le.ids, DURABILITY);
  log(`Dexie load: ${(ld.ms / 1000).toFixed(1)} s (${Math.round(ROWS / (ld.ms / 1000)).toLocaleString('en-US')} rows/s)`);
  await ctx.close();
  ctx = undefined;

  // Measure, in a restarted browser: both pages in two tabs, taking turns.
  ctx = await launch();
  const pj = await open(ctx, jazzUrl, 'jazz');
  const mj = await ev<{ ms: number; dbReadyMs: number; renderedMs: number; sinceNavigation: number; driver: unknown }>(pj, 'mount', le.projects);
  log(`jazz: 20 lists rendered ${fmt(mj.ms)} after mounting (database ready after ${fmt(mj.dbReadyMs)}; ${fmt(mj.sinceNavigation)} after navigation start); driver ${JSON.stringify(mj.driver)}`);
  const pd = await open(ctx, dexieUrl, 'dexie');
  const md = await ev<{ ms: number; sinceNavigation: number }>(pd, 'mount', le.projects, DURABILITY);
  log(`Dexie: 20 lists rendered ${fmt(md.ms)} after mounting (${fmt(md.sinceNavigation)} after navigation start)`);
  const first = CHECK ? [await ev<{ bad: number[]; hash: string; rows: number }>(pj, 'check'), await ev<{ bad: number[]; hash: string; rows: number }>(pd, 'check')] : [];
  if (CHECK)
    log(
      `first render: jazz ${first[0]!.rows} rows, ${first[0]!.bad.length} lists wrong; Dexie ${first[1]!.rows} rows, ${first[1]!.bad.length} lists wrong; same on both pages: ${first[0]!.hash === first[1]!.hash}`,
    );

  const sides: Side[] = [
    { name: 'jazz', page: pj, dom: [], frame: [], change: [], first: [], lists: [], missed: 0, bad: 0, hashes: [] },
    { name: 'Dexie', page: pd, dom: [], frame: [], change: [], first: [], lists: [], missed: 0, bad: 0, hashes: [] },
  ];
  const reported = new Set<string>();
  for (let k0 = 0; k0 < CLICKS; k0 += BLOCK) {
    for (const side of sides) {
      await side.page.bringToFront();
      for (let k = k0; k < Math.min(CLICKS, k0 + BLOCK); k++) {
        const sel = await ev<string | null>(side.page, 'pick', k);
        if (!sel) {
          side.missed++;
          side.hashes.push('none');
          continue;
        }
        if (CLICK === 'dom') await side.page.evaluate((s) => (document.querySelector(s) as HTMLElement).click(), sel);
        else await side.page.locator(sel).click();
        const r = await ev<Click>(side.page, 'settle', QUIET);
        if ('missed' in r) side.missed++;
        else {
          side.dom.push(r.dom);
          side.frame.push(r.frame);
          side.change.push(r.change);
          side.first.push(r.first);
          side.lists.push(r.lists);
        }
        if (CHECK) {
          const c = await ev<{ bad: number[]; hash: string }>(side.page, 'check');
          side.hashes.push(c.hash);
          if (c.bad.length) {
            side.bad++;
            const key = `${side.name}:${c.bad[0]}`;
            if (!reported.has(key)) {
              reported.add(key);
              const d = await ev<{ shown: string[]; want: string[] }>(side.page, 'diff', c.bad[0]);
              let at = 0;
              while (at < Math.max(d.shown.length, d.want.length) && d.shown[at] === d.want[at]) at++;
              const from = Math.max(0, at - 1);
              console.error(
                `[${side.name}] click ${k}: lists ${c.bad.join(', ')} differ from a fresh query; list ${c.bad[0]} (${d.shown.length} rows shown, ${d.want.length} wanted), from row ${from}:\n  shown: ${d.shown.slice(from, from + 3).join('\n         ')}\n  want:  ${d.want.slice(from, from + 3).join('\n         ')}`,
              );
            }
          }
        }
      }
    }
    log(`${Math.min(CLICKS, k0 + BLOCK)} / ${CLICKS} clicks`);
  }
  const differ = CHECK ? sides[0]!.hashes.filter((x, i) => x !== sides[1]!.hashes[i]).length : NaN;

  const [j, d] = sides as [Side, Side];
  const sj = summary(j.dom);
  const sd = summary(d.dom);
  const fj = summary(j.frame);
  const fd = summary(d.frame);
  const ratio = (a: number, b: number) => (a > 0 && b > 0 ? `${(b / a).toFixed(2)}×` : '—');
  const rows: (string | number)[][] = [['measure', 'jazz (<jazz-query>, opfs)', 'Dexie (liveQuery)', 'Dexie/jazz']];
  rows.push([`load ${ROWS.toLocaleString('en-US')} rows, 1k/batch, each awaited`, `${(le.ms / 1000).toFixed(1)} s`, `${(ld.ms / 1000).toFixed(1)} s`, ratio(le.ms, ld.ms)]);
  rows.push(['after browser restart: mount → 20 lists rendered', ms(mj.ms), ms(md.ms), ratio(mj.ms, md.ms)]);
  rows.push([`click → DOM shows it in every list, p50 (${j.dom.length} / ${d.dom.length} clicks)`, ms(sj.p50), ms(sd.p50), ratio(sj.p50, sd.p50)]);
  rows.push(['click → DOM shows it in every list, p95', ms(sj.p95), ms(sd.p95), ratio(sj.p95, sd.p95)]);
  rows.push(['click → change event (where both write), p50', ms(summary(j.change).p50), ms(summary(d.change).p50), '']);
  rows.push(['click → first list changed, p50', ms(summary(j.first).p50), ms(summary(d.first).p50), ratio(summary(j.first).p50, summary(d.first).p50)]);
  rows.push(['click → next frame after the last change, p50', ms(fj.p50), ms(fd.p50), ratio(fj.p50, fd.p50)]);
  rows.push(['click → next frame after the last change, p95', ms(fj.p95), ms(fd.p95), ratio(fj.p95, fd.p95)]);
  const mean = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : '—');
  rows.push(['lists changed per click (mean)', mean(j.lists), mean(d.lists), '']);
  rows.push(['clicks with no DOM change', j.missed, d.missed, '']);
  if (CHECK) rows.push(['clicks after which a list differed from a fresh query', j.bad, d.bad, '']);
  console.log();
  console.log(table(rows));
  if (CHECK) console.log(`\nboth pages showed the same rows after ${CLICKS - differ} of ${CLICKS} clicks.`);
  console.log(`Dexie/jazz: > 1× means the jazz page is faster. Machine noise: compare within one run.`);
  console.log(`load average after: ${load()}`);
  await ev(pj, 'close').catch(() => {});
  await ev(pd, 'close').catch(() => {});
} finally {
  if (ctx) await ctx.close().catch(() => {});
  await server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
}
