/**
 * Issue 7's benchmark (P4 at the DOM level): the time from a user's click that writes
 * to the moment the DOM shows the change, with 20 `<jazz-query>` elements over ROWS todos, beside
 * the same 20 lists on Dexie `liveQuery`, on SQLite-WASM and on TanStack DB, in one run (real
 * Chromium, persistent profile).
 *
 *   npx tsx bench/dom.ts                 (npm run bench -- dom)
 *   ROWS=10000 CLICKS=100 npx tsx bench/dom.ts      quick check
 *   ROWS (100000)  CLICKS (200)  QUIET (150 ms without a DOM change ends a click)
 *   BLOCK (25)                 clicks per turn: the pages take turns, in four tabs
 *   DEXIE_DURABILITY (strict)  Dexie's chromeTransactionDurability: strict | relaxed | default
 *   SOURCE=1                   the elements from source through Vite instead of the built jazz.js
 *   INDEXES=0                  page A without its two-column indexes (to see what they do)
 *   PROFILE=1                  CPU profiles of page A and its worker during the mount after the restart
 *   WARM=1                     page A's <jazz-db warm-start>: a visit that shows the 20 lists comes
 *                              before the restart (as a user's last visit), so the mount after it
 *                              shows their kept rows before the database has opened
 *   CHECK=0                    skip the after-each-click check of every list against a fresh query
 *   CLICK=dom                  click with a page-side element.click() instead of Playwright's real
 *                              input (no input-driven frame first: shows what the input pipeline costs)
 *   SKIP=sqlite,tanstack       leave out some of the other pages (dexie, sqlite, tanstack)
 *
 * Pages (bench/dom/; the rows, the 20 lists, the timing and the check: shared.ts; the hand-written
 * keyed rendering of pages B–D: render.ts):
 * - A, jazz.html: one `<jazz-db driver="opfs">`, 20 `<jazz-query>`, the built `dist/jazz.js` made
 *   by `npm run build` into .tmp/ and served as it is. Writes from `jazz-field` wait at tier 'local'.
 *   Its `.indexes` are the two-column indexes page B has (`[projectId+title]`, `[priority+title]`).
 * - B, dexie.html: one Dexie `liveQuery` per list (chromeTransactionDurability DEXIE_DURABILITY).
 * - C, sqlite.html: SQLite-WASM in the browser bench's worker (bench/browser/sqlite.worker.ts:
 *   OPFS VFS, `synchronous=FULL`, durable). No live queries: a checkbox's change writes `done` and
 *   re-runs the 20 queries in one round trip to the worker, then the page re-renders the 20 lists.
 * - D, tanstack.html: TanStack DB in memory (local-only collections, not durable: its rows are
 *   loaded into memory when the page opens, and that load is its load figure), one live query
 *   collection per list; the checkbox updates the todos collection.
 * A page that fails to load or open prints its error and leaves its column empty; the others run.
 *
 * Flow: a first browser loads the rows into A, B and C (timed; the same ids and rows), then a
 * restarted browser opens the four pages in four tabs (first render of the 20 lists, timed; D
 * loads its rows first) and clicks checkboxes with Playwright (`locator.click()`, real input
 * events), the same checkbox on every page (picked from what they show, which is the same), the
 * pages taking turns, BLOCK clicks each.
 *
 * Timing (on the page, performance.now()): from a capturing `click` listener on `document` to the
 * last MutationObserver callback that saw a row change in any of the 20 lists (and to the next
 * animation frame after it), once nothing changed for QUIET ms. The pages are cross-origin isolated
 * (COOP/COEP) so that clock is not coarsened; the bench says so, or refuses sub-millisecond figures.
 * Then, outside the timing, every list is compared with a fresh non-live query on its own system,
 * and a hash of what the page shows is compared with the jazz page's after the same click.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import type { Plugin } from 'vite';
import { launchOptions } from '../e2e/support/chromium.ts';
import { CpuProfiler, DEBUG_PORT_ARG } from './cpu-profile.ts';
import { attempt, fmt, load, summary, table } from './stats.ts';
import { benchServer, crossOriginIsolation } from './vite-server.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const CLICKS = Number(process.env['CLICKS'] ?? 200);
const QUIET = Number(process.env['QUIET'] ?? 150);
const BLOCK = Number(process.env['BLOCK'] ?? 25);
const DURABILITY = process.env['DEXIE_DURABILITY'] ?? 'strict';
const SOURCE = process.env['SOURCE'] === '1';
const CHECK = process.env['CHECK'] !== '0';
const INDEXES = process.env['INDEXES'] !== '0';
const WARM = process.env['WARM'] === '1';
const CLICK = process.env['CLICK'] ?? 'input';
const SKIP = new Set((process.env['SKIP'] ?? '').split(',').filter(Boolean));

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

const { server, base } = await benchServer('dom', [crossOriginIsolation, serveDist], SOURCE ? ['@lit/reactive-element', '@lit/context', 'comlink'] : []);

type Sys = 'jazz' | 'dexie' | 'sqlite' | 'tanstack';
const SYSTEMS: { key: Sys; name: string; column: string; url: string }[] = [
  {
    key: 'jazz',
    name: 'jazz',
    column: `jazz (<jazz-query>, opfs${INDEXES ? '' : ', no 2-column indexes'}${WARM ? ', warm-start' : ''})`,
    url: `${base}/bench/dom/jazz.html?${SOURCE ? 'source&' : ''}${INDEXES ? '' : 'noindexes&'}${WARM ? 'warm' : ''}`,
  },
  { key: 'dexie', name: 'Dexie', column: 'Dexie (liveQuery)', url: `${base}/bench/dom/dexie.html` },
  { key: 'sqlite', name: 'SQLite', column: 'SQLite-WASM (re-run)', url: `${base}/bench/dom/sqlite.html` },
  { key: 'tanstack', name: 'TanStack', column: 'TanStack DB (memory)', url: `${base}/bench/dom/tanstack.html` },
];
const OTHERS = SYSTEMS.slice(1);

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

/** PROFILE=1: CPU profiles of page A and its worker while it mounts the 20 lists after the restart (bench/cpu-profile.ts). */
const PROFILE = process.env['PROFILE'] === '1';
const launch = () => {
  const opts = launchOptions();
  if (PROFILE) opts.args.push(DEBUG_PORT_ARG);
  return chromium.launchPersistentContext(profile, { ...opts, headless: true, viewport: { width: 1600, height: 1000 } });
};

const ev = <T>(page: Page, fn: string, ...args: unknown[]): Promise<T> => page.evaluate(([fn, args]) => (window as any).bench[fn as string](...(args as unknown[])), [fn, args] as const) as Promise<T>;

let isolated = false;
/** A time, refused below 1 ms when the page's clock is coarsened (not cross-origin isolated). */
const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : !isolated && x < 1 ? '< 1 ms (clock coarse)' : fmt(x));

const failures: string[] = [];

type Click = { dom: number; frame: number; change: number; first: number; lists: number; mutations: number } | { missed: true };
type Side = {
  key: Sys;
  name: string;
  page: Page;
  dom: number[];
  frame: number[];
  change: number[];
  first: number[];
  lists: number[];
  missed: number;
  bad: number;
  hashes: string[];
  dead: boolean;
};
type Check = { bad: number[]; hash: string; rows: number };

/** Load time (ms) and first render after the restart (ms), per system. */
const loaded: Partial<Record<Sys, number>> = {};
const mounted: Partial<Record<Sys, number>> = {};

let ctx: BrowserContext | undefined;
try {
  console.log(
    `dom bench: ${ROWS.toLocaleString('en-US')} rows, 20 lists, ${CLICKS} clicks, quiet ${QUIET} ms; elements from ${SOURCE ? 'source (Vite)' : 'the built jazz.js'}; Chromium ${launchOptions().executablePath ?? '(playwright)'}`,
  );
  const active = OTHERS.filter((s) => !SKIP.has(s.key));
  if (active.length < OTHERS.length)
    log(
      `skipped: ${OTHERS.filter((s) => SKIP.has(s.key))
        .map((s) => s.name)
        .join(', ')}`,
    );

  console.log(`  load average before: ${load()}`);
  // Load, in a first browser: jazz (which makes the ids), then the durable others with its ids.
  ctx = await launch();
  log(`browser ${ctx.browser()?.version() ?? ''}`);
  let page = await open(ctx, SYSTEMS[0]!.url, 'jazz');
  isolated = await page.evaluate('crossOriginIsolated');
  log(`crossOriginIsolated: ${isolated}${isolated ? '' : ' — the clock is coarsened: figures under 1 ms are not reported'}`);
  const le = await ev<{ ms: number; projects: string[]; ids: string[]; driver: unknown }>(page, 'load', ROWS);
  loaded.jazz = le.ms;
  const rate = (t: number) => `${(t / 1000).toFixed(1)} s (${Math.round(ROWS / (t / 1000)).toLocaleString('en-US')} rows/s)`;
  log(`jazz load: ${rate(le.ms)}; driver ${JSON.stringify(le.driver)}`);
  await ev(page, 'close');
  if (WARM) {
    // The user's last visit: the 20 lists shown, then kept (warm-start writes within a second).
    page = await open(ctx!, SYSTEMS[0]!.url, 'jazz');
    await ev(page, 'mount', le.projects);
    await new Promise((r) => setTimeout(r, 1500));
    await ev(page, 'close');
  }
  let sqliteSettings = 'SQLite-WASM: —';
  const failed = new Set<Sys>();
  for (const sys of active) {
    if (sys.key === 'tanstack') continue; // in memory: it loads when its page opens
    const r = await attempt(failures, `${sys.name} load`, async () => {
      page = await open(ctx!, sys.url, sys.name);
      return sys.key === 'dexie'
        ? await ev<{ ms: number; settings?: undefined }>(page, 'load', le.projects, le.ids, DURABILITY)
        : await ev<{ ms: number; settings: { version: string; vfs: string; journalMode: string; synchronous: number } }>(page, 'load', le.projects, le.ids);
    });
    if (!r) {
      failed.add(sys.key);
      continue;
    }
    loaded[sys.key] = r.ms;
    log(`${sys.name} load: ${rate(r.ms)}`);
    if (r.settings)
      sqliteSettings = `SQLite ${r.settings.version}, VFS ${r.settings.vfs}, journal_mode=${r.settings.journalMode}, synchronous=${r.settings.synchronous === 2 ? 'FULL' : r.settings.synchronous}`;
  }
  console.log(
    `  durability: engine writes from jazz-field wait at tier 'local' (the lists update before the flush); Dexie chromeTransactionDurability '${DURABILITY}'; ${sqliteSettings}; TanStack DB in memory (not durable)`,
  );
  await ctx.close();
  ctx = undefined;

  // Measure, in a restarted browser: the pages in four tabs, taking turns.
  ctx = await launch();
  const blank = (p: string) => ({ key: 'jazz' as Sys, name: p, dom: [], frame: [], change: [], first: [], lists: [], missed: 0, bad: 0, hashes: [], dead: false });
  const pj = await open(ctx, SYSTEMS[0]!.url, 'jazz');
  const profiler = PROFILE ? await CpuProfiler.connect(profile) : undefined;
  await profiler?.start();
  const mj = await ev<{ ms: number; dbReadyMs: number; renderedMs: number; sinceNavigation: number; driver: unknown }>(pj, 'mount', le.projects);
  if (profiler) {
    const dir = fileURLToPath(new URL('../.tmp/cpu-profiles', import.meta.url));
    mkdirSync(dir, { recursive: true });
    console.log(`CPU profile of the mount:\n${await profiler.stop(dir, 'dom-mount')}`);
    profiler.close();
  }
  // With warm-start: when the 20 lists showed rows (the last visit's), the database opening behind.
  mounted.jazz = WARM ? mj.renderedMs : mj.ms;
  log(
    `jazz: 20 lists rendered ${fmt(mj.renderedMs)} after mounting, harness ready ${fmt(mj.ms)} (database ready after ${fmt(mj.dbReadyMs)}; ${fmt(mj.sinceNavigation)} after navigation start); driver ${JSON.stringify(mj.driver)}`,
  );
  const sides: Side[] = [{ ...blank('jazz'), page: pj }];
  for (const sys of active) {
    if (failed.has(sys.key)) continue;
    const r = await attempt(failures, `${sys.name} open`, async () => {
      const p = await open(ctx!, sys.url, sys.name);
      const args = sys.key === 'dexie' ? [le.projects, DURABILITY] : sys.key === 'tanstack' ? [le.projects, le.ids] : [le.projects];
      return { page: p, m: await ev<{ ms: number; sinceNavigation: number; loadMs?: number; readyMs?: number }>(p, 'mount', ...args) };
    });
    if (!r) continue;
    mounted[sys.key] = r.m.ms;
    if (r.m.loadMs !== undefined) {
      loaded[sys.key] = r.m.loadMs;
      log(`${sys.name}: ${rate(r.m.loadMs)} into memory`);
    }
    log(
      `${sys.name}: 20 lists rendered ${fmt(r.m.ms)} after mounting (${r.m.readyMs === undefined ? '' : `live queries ready after ${fmt(r.m.readyMs)}; `}${fmt(r.m.sinceNavigation)} after navigation start)`,
    );
    sides.push({ ...blank(sys.name), key: sys.key, page: r.page });
  }
  if (CHECK) {
    const first: string[] = [];
    let jh = '';
    for (const side of sides) {
      const c = await attempt(failures, `${side.name} check`, () => ev<Check>(side.page, 'check'));
      if (!c) continue;
      if (side.key === 'jazz') jh = c.hash;
      first.push(`${side.name} ${c.rows} rows, ${c.bad.length} lists wrong${side.key === 'jazz' ? '' : `, same as jazz: ${c.hash === jh}`}`);
    }
    log(`first render: ${first.join('; ')}`);
  }

  const reported = new Set<string>();
  /** Clicks `k0` to `k1` - 1 on one page. */
  async function clicks(side: Side, k0: number, k1: number): Promise<void> {
    await side.page.bringToFront();
    for (let k = k0; k < k1; k++) {
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
        const c = await ev<Check>(side.page, 'check');
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
  for (let k0 = 0; k0 < CLICKS; k0 += BLOCK) {
    for (const side of sides) {
      if (side.dead) continue;
      // The jazz page is the reference: its failure ends the run.
      if (side.key === 'jazz') await clicks(side, k0, Math.min(CLICKS, k0 + BLOCK));
      else if (!(await attempt(failures, `${side.name} clicks`, () => clicks(side, k0, Math.min(CLICKS, k0 + BLOCK)).then(() => true)))) side.dead = true;
    }
    log(`${Math.min(CLICKS, k0 + BLOCK)} / ${CLICKS} clicks`);
  }

  const j = sides[0]!;
  const by = new Map(sides.map((s) => [s.key, s]));
  /** Clicks after which a page showed other rows than the jazz page (by hash). */
  const differ = (s: Side) => (s.dead ? NaN : s.hashes.filter((x, i) => x !== j.hashes[i]).length + Math.max(0, j.hashes.length - s.hashes.length));
  const allSame = CHECK ? j.hashes.filter((x, i) => sides.every((s) => !s.dead && s.hashes[i] === x)).length : NaN;

  const cols = SYSTEMS.map((s) => s.key);
  const others = OTHERS.map((s) => s.key);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && a > 0 && b > 0 ? `${(b / a).toFixed(2)}×` : '—');
  const rows: (string | number)[][] = [['measure', ...SYSTEMS.map((s) => s.column), ...OTHERS.map((s) => `${s.name}/jazz`)]];
  /** One line: a figure per system (from its side, when it ran), and with `ratios` each other system's against jazz. */
  const line = (measure: string, f: (k: Sys) => number | undefined, show: (x: number | undefined) => string | number, ratios = true) => {
    const v = cols.map(f);
    rows.push([measure, ...v.map(show), ...others.map((_, i) => (ratios ? ratio(v[0], v[i + 1]) : ''))]);
  };
  const stat = (pick: (s: Side) => number[], q: 'p50' | 'p95') => (k: Sys) => {
    const s = by.get(k);
    return s && pick(s).length ? summary(pick(s))[q] : undefined;
  };
  const secs = (x: number | undefined) => (x === undefined ? '—' : `${(x / 1000).toFixed(1)} s`);
  const count = (pick: (s: Side) => number) => (k: Sys) => {
    const s = by.get(k);
    return s ? pick(s) : undefined;
  };
  const num = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : x);
  const mean = (k: Sys) => {
    const xs = by.get(k)?.lists;
    return xs?.length ? Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)) : undefined;
  };
  line(`load ${ROWS.toLocaleString('en-US')} rows, 1k/batch, each awaited (TanStack: into memory)`, (k) => loaded[k], secs);
  line('after browser restart: mount → 20 lists rendered', (k) => mounted[k], ms);
  line(
    `click → DOM shows it in every list, p50 (${sides.map((s) => s.dom.length).join(' / ')} clicks)`,
    stat((s) => s.dom, 'p50'),
    ms,
  );
  line(
    'click → DOM shows it in every list, p95',
    stat((s) => s.dom, 'p95'),
    ms,
  );
  line(
    'click → change event (where all write), p50',
    stat((s) => s.change, 'p50'),
    ms,
    false,
  );
  line(
    'click → first list changed, p50',
    stat((s) => s.first, 'p50'),
    ms,
  );
  line(
    'click → next frame after the last change, p50',
    stat((s) => s.frame, 'p50'),
    ms,
  );
  line(
    'click → next frame after the last change, p95',
    stat((s) => s.frame, 'p95'),
    ms,
  );
  line('lists changed per click (mean)', mean, num, false);
  line(
    'clicks with no DOM change',
    count((s) => s.missed),
    num,
    false,
  );
  if (CHECK) {
    line(
      'clicks after which a list differed from a fresh query',
      count((s) => s.bad),
      num,
      false,
    );
    line(
      'clicks after which the page showed other rows than jazz',
      count((s) => (s.key === 'jazz' ? 0 : differ(s))),
      num,
      false,
    );
  }
  console.log();
  console.log(table(rows));
  if (CHECK) console.log(`\nall ${sides.length} pages showed the same rows after ${allSame} of ${CLICKS} clicks.`);
  console.log(
    `X/jazz: > 1× means the jazz page is faster. SQLite-WASM has no live queries: its click writes and re-runs the 20 queries in one round trip, then re-renders. TanStack DB is in memory (not durable). Machine noise: compare within one run.`,
  );
  for (const f of failures) console.log(`— ${f}`);
  console.log(`load average after: ${load()}`);
  for (const s of sides) await ev(s.page, 'close').catch(() => {});
} finally {
  if (ctx) await ctx.close().catch(() => {});
  await server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
}
