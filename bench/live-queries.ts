/**
 * P4 in Node, on the memory store: 20 live queries (filter + sort + limit 50, one
 * include) over tables of 10k / 100k / 1M rows. Measures the time from the write call to the last
 * subscription callback for one update, and for one batch touching all 20 queries, beside the time
 * to re-run the same 20 queries from scratch in the same process.
 *
 *   npx tsx bench/live-queries.ts [sizes, default 10000,100000,1000000] [--updates 300]
 */
import { createDb, type Db } from '../src/index.ts';
import { fmt, summary, table } from './stats.ts';

import { benchApp as app } from './todo-app.ts';
import { mulberry32 } from '../src/util/random.ts';

const args = process.argv.slice(2);
const sizes = (args.find((a) => /^\d/.test(a)) ?? '10000,100000,1000000').split(',').map(Number);
const UPDATES = Number(args[args.indexOf('--updates') + 1] ?? 300) || 300;

// A fixed seed: every run writes the same rows.
const rand = mulberry32(42);
const word = () =>
  Math.floor(rand() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');

function load(n: number): { db: Db<typeof app>; projects: string[]; ms: number } {
  const db = createDb({ app, driver: { type: 'memory' } });
  const projects: string[] = [];
  db.batch((b) => {
    for (let i = 0; i < 100; i++) projects.push(b.insert(app.projects, { name: `project ${i}` }).id);
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    db.batch((b) => {
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        b.insert(app.todos, {
          title: `${word()} ${word()} ${word()}`,
          done: rand() < 0.5,
          priority: Math.floor(rand() * 10),
          due: 1_700_000_000_000 + Math.floor(rand() * 1e10),
          notes: 'n'.repeat(60 + Math.floor(rand() * 80)),
          projectId: projects[Math.floor(rand() * projects.length)]!,
        });
      }
    });
  }
  return { db, projects, ms: performance.now() - t0 };
}

function queries(projects: string[]) {
  const qs = [];
  for (let i = 0; i < 10; i++) qs.push(app.todos.where({ projectId: projects[i]!, done: false }).orderBy('title').limit(50).include({ project: true }));
  for (let i = 0; i < 5; i++)
    qs.push(
      app.todos
        .where({ priority: { gte: i * 2 } })
        .orderBy('due', 'desc')
        .limit(50)
        .include({ project: true }),
    );
  for (let i = 0; i < 5; i++)
    qs.push(
      app.todos
        .where({ done: i % 2 === 0, priority: i })
        .orderBy('title')
        .limit(50)
        .include({ project: true }),
    );
  return qs;
}

async function run(n: number) {
  const { db, projects, ms } = load(n);
  const mem = process.memoryUsage();
  const qs = queries(projects);
  // Re-running all 20 from scratch: the baseline a non-incremental engine pays on every write.
  const rerun: number[] = [];
  for (let k = 0; k < 15; k++) {
    const t0 = performance.now();
    for (const q of qs) db.allSync(q);
    rerun.push(performance.now() - t0);
  }
  const windows: (readonly { id: string }[])[] = qs.map(() => []);
  let lastCallback = 0;
  const subscribeStart = performance.now();
  const stops = qs.map((q, i) =>
    db.subscribeAll(q, ({ all }) => {
      windows[i] = all;
      lastCallback = performance.now();
    }),
  );
  await new Promise((r) => setTimeout(r, 0));
  const subscribeMs = performance.now() - subscribeStart;

  const one: number[] = [];
  const batch: number[] = [];
  for (let k = 0; k < UPDATES; k++) {
    // One update of a row inside a random query's window: a new title moves it or pushes it out.
    const w = windows[Math.floor(rand() * windows.length)]!;
    const row = w[Math.floor(rand() * w.length)];
    if (!row) continue;
    lastCallback = 0;
    const t0 = performance.now();
    if (rand() < 0.5) db.update(app.todos, row.id, { title: `${word()} ${word()}` });
    else db.update(app.todos, row.id, { done: rand() < 0.5, priority: Math.floor(rand() * 10) });
    await Promise.resolve();
    if (lastCallback) one.push(lastCallback - t0);
  }
  for (let k = 0; k < Math.max(20, UPDATES / 10); k++) {
    lastCallback = 0;
    const t0 = performance.now();
    db.batch((b) => {
      for (const w of windows) {
        const row = w[Math.floor(rand() * w.length)];
        if (row) b.update(app.todos, row.id, { title: `${word()} ${word()}`, due: 1_700_000_000_000 + Math.floor(rand() * 1e10) });
      }
    });
    await Promise.resolve();
    if (lastCallback) batch.push(lastCallback - t0);
  }
  for (const stop of stops) stop();
  await db.close();
  return { n, loadRowsPerSec: (n / ms) * 1000, heapMiB: (mem.heapUsed + mem.arrayBuffers) / 2 ** 20, subscribeMs, rerun: summary(rerun), one: summary(one), batch: summary(batch) };
}

const results = [];
for (const n of sizes) {
  const r = await run(n);
  results.push(r);
  console.error(`done ${n}`);
}
console.log('\nP4 (Node, memory store): 20 live queries, filter + sort + limit 50 + include; write → last callback\n');
console.log(
  table([
    ['rows', 'one update p50', 'p95', 'batch of 20 p50', 'p95', 're-run 20 p50', 'ratio re-run/update p50', 'subscribe 20', 'load rows/s', 'memory MiB'],
    ...results.map((r) => [
      r.n,
      fmt(r.one.p50),
      fmt(r.one.p95),
      fmt(r.batch.p50),
      fmt(r.batch.p95),
      fmt(r.rerun.p50),
      (r.rerun.p50 / r.one.p50).toFixed(0) + '×',
      fmt(r.subscribeMs),
      Math.round(r.loadRowsPerSec),
      r.heapMiB.toFixed(0),
    ]),
  ]),
);
const first = results[0]!;
const last = results[results.length - 1]!;
console.log(`\nscaling ${last.n} vs ${first.n}: one update p95 ×${(last.one.p95 / first.one.p95).toFixed(2)} (target ≤ 1.5), target p95 ≤ 4 ms; batch p95 target ≤ 10 ms`);
