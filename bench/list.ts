/**
 * Big lists (issue 17): ROWS items in one `<jazz-query>`, with and without `virtual`, in real
 * Chromium (persistent profile, the built jazz.js), beside the same rows rendered from memory with
 * no database: `<lit-virtualizer>` (virtual) and one DocumentFragment of `<div>`s (plain).
 *
 *   npx tsx bench/list.ts                (npm run bench -- list)
 *   ROWS (10000)  RUNS (3)  CHANGES (30)  SCROLL (300 frames)  STEP (80 px a frame)  RELOADS (3)
 *   WIDTH (1280)  HEIGHT (800)           the viewport (WIDTH=390 HEIGHT=844: a phone)
 *   MODES=virtual,plain,raw-virtual,raw-plain
 *   WARM=1       the engine's lists in a <jazz-db warm-start>: a reload shows the first 100 rows
 *                the page kept at once, then the database's
 *   MARKS=1      after each reload, when the page got where (script, jazz.js, worker created, its
 *                first message, database ready; resources' responseEnd)
 *   PROFILE=1    CPU profiles of the page and its worker during each mode's first insert
 *                (bench/cpu-profile.ts; JAZZ_MINIFY=0 keeps the built files' names)
 *
 * For each mode and run (a new database each run): the rows written in one batch at tier `local` →
 * the list shows them (time and the next frame, on the page's clock; long tasks over 50 ms seen by
 * a PerformanceObserver registered by the page's first script); one row's title changed → the DOM
 * shows it (CHANGES times); SCROLL frames scrolled by STEP px each (frame intervals); then RELOADS
 * page reloads → the list is rendered again (from navigation start, and from the page's first
 * script as P5 counts: the browser's own start before it is 50–200 ms here): its first rows on
 * screen and its whole length known (a `virtual` list learns it with its first rows when the
 * worker knows it without reading every row), and → every row loaded.
 */
import { fileURLToPath } from 'node:url';
import { rmSync, mkdirSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { launchOptions } from '../e2e/support/chromium.ts';
import { fmt, load, percentile, table } from './stats.ts';
import { benchServer, builtDist, crossOriginIsolation } from './vite-server.ts';
import { CpuProfiler, DEBUG_PORT_ARG } from './cpu-profile.ts';

const ROWS = Number(process.env['ROWS'] ?? 10_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const CHANGES = Number(process.env['CHANGES'] ?? 30);
const SCROLL = Number(process.env['SCROLL'] ?? 300);
const STEP = Number(process.env['STEP'] ?? 80);
const RELOADS = Number(process.env['RELOADS'] ?? 3);
const WIDTH = Number(process.env['WIDTH'] ?? 1280);
const HEIGHT = Number(process.env['HEIGHT'] ?? 800);
const MODES = (process.env['MODES'] ?? 'virtual,plain,raw-virtual,raw-plain').split(',');
/** WARM=1: the engine's pages use <jazz-db warm-start> (a reload shows the rows the last visit kept first). */
const WARM = process.env['WARM'] === '1';
const PROFILE = process.env['PROFILE'] === '1';

type Tasks = { count: number; max: number; total: number };
type Render = { ms: number; frame: number; first: number; stored?: number; loaded?: number; script?: number; tasks: Tasks; marks?: Record<string, number> };

const log = (s: string) => console.log(`  · ${s}`);
const ev = <T>(page: Page, fn: string, ...args: unknown[]): Promise<T> => page.evaluate(([fn, args]) => (window as any).bench[fn as string](...(args as unknown[])), [fn, args] as const) as Promise<T>;

const dist = builtDist('list');
const { server, base } = await benchServer('list', [crossOriginIsolation, dist.plugin]);
const profile = fileURLToPath(new URL(`../.tmp/bench-list-profile-${process.pid}`, import.meta.url));
rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });

let ctx: BrowserContext | undefined;
try {
  console.log(`list bench: ${ROWS.toLocaleString('en-US')} rows, viewport ${WIDTH}×${HEIGHT}, ${RUNS} runs; load average before: ${load()}`);
  const opts = launchOptions();
  if (PROFILE) opts.args.push(DEBUG_PORT_ARG);
  ctx = await chromium.launchPersistentContext(profile, { ...opts, headless: true, viewport: { width: WIDTH, height: HEIGHT } });
  log(`browser ${ctx.browser()?.version() ?? ''}`);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  page.on('console', (m) => m.type() === 'error' && console.error('[page]', m.text()));
  const rowsOut: (string | number)[][] = [
    [
      'mode',
      'insert → first rows p50',
      'insert → all rows p50',
      'next frame',
      'longest task',
      'tasks > 50 ms (per run)',
      'reload → first rows p50',
      'reload → rendered p50',
      'same, from page script',
      'reload → all rows loaded p50',
      'longest task',
      'one row changed → DOM p50 / p95',
      'scroll frame p50 / p95',
      'longest task (scroll)',
    ],
  ];
  for (const mode of MODES) {
    const ins: Render[] = [];
    const rel: Render[] = [];
    const chg: number[] = [];
    const frames: number[] = [];
    const scrollTasks: Tasks[] = [];
    for (let run = 0; run < RUNS; run++) {
      const url = `${base}/bench/list/index.html?mode=${mode}&run=${run}${WARM ? '&warm' : ''}&jazz=${encodeURIComponent(`${dist.path}jazz.js`)}`;
      await page.goto(url);
      await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes', null, { timeout: 60_000 });
      if (run === 0 && !(await page.evaluate('crossOriginIsolated'))) throw new Error('the page is not cross-origin isolated: its clock is coarsened');
      const profiler = PROFILE && run === 0 ? await CpuProfiler.connect(profile) : undefined;
      await profiler?.start();
      ins.push(await ev<Render>(page, 'insert', ROWS));
      if (profiler) {
        const dir = fileURLToPath(new URL('../.tmp/cpu-profiles', import.meta.url));
        mkdirSync(dir, { recursive: true });
        console.log(`CPU profile of the ${mode} insert:\n${await profiler.stop(dir, `list-insert-${mode}`)}`);
        profiler.close();
      }
      for (let k = 0; k < CHANGES; k++) chg.push((await ev<{ ms: number }>(page, 'change', k % 5, run * CHANGES + k)).ms);
      const s = await ev<{ deltas: number[]; scrolled: number; tasks: Tasks }>(page, 'scroll', SCROLL, STEP);
      frames.push(...s.deltas);
      scrollTasks.push(s.tasks);
      if (!mode.startsWith('raw-')) {
        for (let k = 0; k < RELOADS; k++) {
          await page.reload();
          await page.waitForFunction(() => document.documentElement.dataset['ready'] === 'yes', null, { timeout: 60_000 });
          rel.push(await ev<Render>(page, 'reloaded', ROWS));
          if (process.env['MARKS'])
            log(
              `reload: ${Object.entries(rel.at(-1)!.marks ?? {})
                .map(([k, v]) => `${k} ${fmt(v)}`)
                .join(', ')}, rendered ${fmt(rel.at(-1)!.ms)}, all rows loaded ${fmt(rel.at(-1)!.loaded!)}`,
            );
        }
      }
      log(
        `${mode} run ${run + 1}: insert ${fmt(ins.at(-1)!.ms)}${ins.at(-1)!.stored ? ` (flushed at ${fmt(ins.at(-1)!.stored!)})` : ''} (longest task ${fmt(ins.at(-1)!.tasks.max)}), scrolled ${s.scrolled} px${
          rel.length
            ? `, reload ${rel
                .slice(-RELOADS)
                .map((r) => fmt(r.ms))
                .join(' / ')}`
            : ''
        }`,
      );
    }
    const med = (xs: number[]) => (xs.length ? fmt(percentile(xs, 50)) : '—');
    const max = (xs: number[]) => (xs.length ? fmt(Math.max(...xs)) : '—');
    rowsOut.push([
      mode,
      med(ins.map((r) => r.first)),
      med(ins.map((r) => r.ms)),
      med(ins.map((r) => r.frame)),
      max(ins.map((r) => r.tasks.max)),
      ins.map((r) => r.tasks.count).join(' / '),
      med(rel.map((r) => r.first)),
      med(rel.map((r) => r.ms)),
      med(rel.map((r) => r.ms - r.script!)),
      med(rel.map((r) => r.loaded!)),
      max(rel.map((r) => r.tasks.max)),
      `${med(chg)} / ${fmt(percentile(chg, 95))}`,
      `${med(frames)} / ${fmt(percentile(frames, 95))}`,
      max(scrollTasks.map((t) => t.max)),
    ]);
  }
  console.log();
  console.log(table(rowsOut));
  console.log(`\ntargets: virtual insert and reload → rendered ≤ 150 ms, no task over 50 ms, scroll frames p95 ≤ 20 ms; plain: no task over 50 ms; one row changed ≤ 16 ms.`);
  console.log(`"longest task" is the longest main-thread task (≥ 50 ms, PerformanceObserver 'longtask') over all runs; 0 means none over 50 ms. raw-*: the rows from memory, no database.`);
  console.log(`load average after: ${load()}`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
