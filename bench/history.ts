/**
 * History on Node files, in one run (`npm run bench -- history`):
 *
 * - A row with 10,000 versions: `db.history` (decode, order, tiers), `db.conflicts` and
 *   `db.all(... { asOf })` of that one row, beside reading the row now.
 * - 100,000 rows, a fifth of them updated after a moment T: a query (`done = false`, first 50 by
 *   title) and the whole table, `asOf: T` beside the same query now. An as-of query reads every
 *   version of the tables it names (no index holds the past), so the ratio is large by design; the
 *   figure says how large.
 *
 * Medians and p95 over the runs, the machine's load beside them.
 *
 *   ROWS=100000 VERSIONS=10000 RUNS=7 npx tsx bench/history.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, s } from '../server/index.ts';
import { fmt, percentile, table } from './stats.ts';
import { mulberry32 } from '../src/util/random.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const VERSIONS = Number(process.env['VERSIONS'] ?? 10_000);
const RUNS = Number(process.env['RUNS'] ?? 7);
const BATCH = 1000;

const app = s.defineApp({ todos: s.table({ title: s.string(), done: s.boolean(), priority: s.int() }) });

// A fixed seed: every run writes the same rows.
const rand = mulberry32(11);
const word = () =>
  Math.floor(rand() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
const dir = fs.mkdtempSync(path.join(fileURLToPath(new URL('../.tmp/', import.meta.url)), 'bench-history-'));
const time = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return performance.now() - t;
};
const med = (xs: number[]) => percentile(xs, 50);
const p95 = (xs: number[]) => percentile(xs, 95);
const cell = (xs: number[]) => `${fmt(med(xs))} (p95 ${fmt(p95(xs))})`;

try {
  console.log(
    `jazz-elements history on Node files: a row with ${VERSIONS.toLocaleString()} versions; ${ROWS.toLocaleString()} rows; ${RUNS} runs, Node ${process.version}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  let now = Date.UTC(2026, 0, 1);
  const db = createDb({ app, driver: { type: 'file', path: path.join(dir, 'history.db') }, wall: () => now });

  // One row, many versions (a counter edited all day).
  const hot = db.insert(app.todos, { title: 'hot', done: false, priority: 0 }).id;
  for (let i = 1; i < VERSIONS; i++) {
    now += 1;
    db.update(app.todos, hot, { priority: i });
    if (i % BATCH === 0) await db.all(app.todos.limit(0));
  }
  const middle = Date.UTC(2026, 0, 1) + Math.floor(VERSIONS / 2);

  // Many rows, a fifth updated after T.
  const ids: string[] = [];
  for (let n = 0; n < ROWS; n += BATCH) {
    now += 1;
    const h = db.batch((b) => {
      for (let i = n; i < Math.min(ROWS, n + BATCH); i++) ids.push(b.insert(app.todos, { title: `${word()} ${word()}`, done: rand() < 0.3, priority: Math.floor(rand() * 5) }).id);
    });
    await h.wait();
  }
  now += 1000;
  const T = now;
  now += 1000;
  for (let n = 0; n < ids.length; n += 5 * BATCH) {
    now += 1;
    const h = db.batch((b) => {
      for (let i = n; i < Math.min(ids.length, n + 5 * BATCH); i += 5) b.update(app.todos, ids[i]!, { done: true, title: `${word()} changed` });
    });
    await h.wait();
  }

  const q = app.todos.where({ done: false }).orderBy('title').limit(50);
  const r = {
    history: [] as number[],
    conflicts: [] as number[],
    rowAsOf: [] as number[],
    rowNow: [] as number[],
    firstAsOf: [] as number[],
    firstNow: [] as number[],
    allAsOf: [] as number[],
    allNow: [] as number[],
  };
  let listed = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    const a = await time(async () => (listed = (await db.history(app.todos, hot)).length));
    const b = await time(() => db.conflicts(app.todos, hot));
    const c = await time(() => db.all(app.todos.where({ id: hot }), { asOf: middle }));
    const d = await time(() => db.all(app.todos.where({ id: hot })));
    const e = await time(() => db.all(q, { asOf: T }));
    const f = await time(() => db.all(q));
    const g = await time(() => db.all(app.todos, { asOf: T }));
    const h = await time(() => db.all(app.todos));
    if (i === 0) continue; // warm-up
    r.history.push(a);
    r.conflicts.push(b);
    r.rowAsOf.push(c);
    r.rowNow.push(d);
    r.firstAsOf.push(e);
    r.firstNow.push(f);
    r.allAsOf.push(g);
    r.allNow.push(h);
  }
  const check = await db.all(q, { asOf: T });
  await db.close();
  const ratio = (a: number[], b: number[]) => `${(med(a) / med(b)).toFixed(1)}×`;
  console.log(
    table([
      ['scenario', 'history / as of', 'now', 'ratio (median)'],
      [`db.history of a row with ${VERSIONS.toLocaleString()} versions (${listed.toLocaleString()} listed)`, cell(r.history), '', ''],
      ['db.conflicts of that row', cell(r.conflicts), '', ''],
      ['that row asOf its middle / now', cell(r.rowAsOf), cell(r.rowNow), ratio(r.rowAsOf, r.rowNow)],
      [`done = false, first 50 by title, over ${ROWS.toLocaleString()} rows: asOf T / now`, cell(r.firstAsOf), cell(r.firstNow), ratio(r.firstAsOf, r.firstNow)],
      [`all ${ROWS.toLocaleString()} rows: asOf T / now`, cell(r.allAsOf), cell(r.allNow), ratio(r.allAsOf, r.allNow)],
    ]),
  );
  console.log(
    `\n(asOf T gave ${check.length} rows; load average after: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
