/**
 * P6 in Node: the reference server runs in its own process on loopback; clients are
 * real WebSocket clients in this process.
 * - write on client A → subscription callback on client B (p50, p95);
 * - one write fanned out to 100 subscribed clients: time until the last one has it (p50, p95);
 * - initial sync: a fresh client subscribes to 100k rows; rows/s until it has them all.
 *
 *   npx tsx bench/sync.ts [--rows 100000] [--clients 100]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { s, createDb } from '../server/index.ts';
import { fmt, summary, table } from './stats.ts';

const argv = process.argv.slice(2);
const arg = (k: string, d: number) => (argv.includes(k) ? Number(argv[argv.indexOf(k) + 1]) : d);
const ROWS = arg('--rows', 100_000);
const FANOUT = arg('--clients', 100);

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ title: s.string(), done: s.boolean(), priority: s.int(), notes: s.string(), projectId: s.ref('projects').optional() }),
});

async function startServer(): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--in-memory', '--dev'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, proc };
}

const until = async (cond: () => boolean, ms = 60_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
};

const { url, proc } = await startServer();
const open = () => createDb({ app, server: url, appId: 'bench' });

// 1. A → B
const a = open();
const b = open();
let seenAt = 0;
let want = '';
b.subscribeAll(app.todos.where({ done: false }).orderBy('title', 'desc').limit(50), ({ delta }) => {
  if (delta.added.some((r) => r.title === want) || delta.changed.some((r) => r.title === want)) seenAt = performance.now();
});
await a.insert(app.todos, { title: 'warm-up', done: false, priority: 1, notes: 'x' }).wait({ tier: 'global' });
const ab: number[] = [];
for (let i = 0; i < 300; i++) {
  want = `a${String(i).padStart(5, '0')}`;
  seenAt = 0;
  const t0 = performance.now();
  a.insert(app.todos, { title: want, done: false, priority: i % 10, notes: 'n'.repeat(100) });
  await until(() => seenAt > 0);
  ab.push(seenAt - t0);
}

// 2. Fan-out to FANOUT clients.
const fans = Array.from({ length: FANOUT }, open);
const got = new Array<number>(FANOUT).fill(0);
let target = '';
fans.forEach((db, i) =>
  db.subscribeAll(app.todos.where({ priority: 99 }), ({ all }) => {
    if (all.some((r) => r.title === target)) got[i] = performance.now();
  }),
);
await until(() => fans.every((f) => f.syncStatus.state === 'online'));
await new Promise((r) => setTimeout(r, 500));
const fan: number[] = [];
for (let i = 0; i < 30; i++) {
  target = `fan${i}`;
  got.fill(0);
  const t0 = performance.now();
  a.insert(app.todos, { title: target, done: false, priority: 99, notes: 'fan' });
  await until(() => got.every((x) => x > 0));
  fan.push(Math.max(...got) - t0);
}
for (const f of fans) await f.close();

// 3. Initial sync of ROWS rows.
const loader = open();
for (let i = 0; i < ROWS; i += 1000) {
  const h = loader.batch((w) => {
    for (let j = i; j < Math.min(ROWS, i + 1000); j++) w.insert(app.todos, { title: `bulk ${j}`, done: j % 2 === 0, priority: j % 10, notes: 'n'.repeat(120) });
  });
  if ((i / 1000) % 10 === 9) await h.wait({ tier: 'global' });
}
await until(() => loader.syncStatus.pendingBatches === 0, 300_000);
const fresh = open();
const t0 = performance.now();
const rows = await fresh.all(app.todos.where({ priority: { lt: 10 } }), { tier: 'global' });
const syncMs = performance.now() - t0;

console.log('\nP6 (Node, server in its own process on loopback, in-memory storage)\n');
const s1 = summary(ab);
const s2 = summary(fan);
console.log(
  table([
    ['scenario', 'p50', 'p95', 'target'],
    ['write on A → callback on B', fmt(s1.p50), fmt(s1.p95), 'p95 ≤ 10 ms'],
    [`one write → ${FANOUT} subscribed clients (last one)`, fmt(s2.p50), fmt(s2.p95), 'p95 ≤ 50 ms'],
    [`initial sync of ${rows.length} rows`, `${Math.round((rows.length / syncMs) * 1000)} rows/s`, fmt(syncMs), '≥ 50k rows/s'],
  ]),
);
await Promise.all([a.close(), b.close(), loader.close(), fresh.close()]);
proc.kill('SIGTERM');
