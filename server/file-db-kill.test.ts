/**
 * The engine killed with SIGKILL (issue 3, R4 in Node): a child process writes through
 * `createDb({ driver: { type: 'file' } })`, reports every write confirmed at tier `local`, and is
 * killed at a random moment, 20 times on the same database. After each kill the database reopens
 * with every confirmed row and update, and the engine agrees with itself: indexes, live queries,
 * counts and the clock match a from-scratch evaluation of the visible rows, long values included
 * (20 KB titles whose index entries are cut, 64 KiB of JSON).
 * (The store-level version of this test is in fs-store.test.ts.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from './index.ts';
import { todoApp as app, rng } from '../src/testing/fixtures.ts';
import { evaluate } from '../src/testing/reference.ts';
import type { DurableStore } from '../src/store/durable-store.ts';

/** The prefix of the writer's long titles (testing/kill-engine-writer.ts). */
const LONG = 'L'.repeat(20_000);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-file-db-kill-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const ROUNDS = 20;
const tick = () => new Promise((r) => setTimeout(r, 0));

/** Runs the writer until a random moment, kills it, and returns the lines it completed. */
async function runAndKill(child: string, file: string, round: number, delayMs: number): Promise<string[]> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, file, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    proc.on('exit', () => reject(new Error(`writer exited early: ${err}`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  proc.kill('SIGKILL');
  await exited;
  const lines = out.split('\n');
  lines.pop(); // a line cut by the kill is not an acknowledgement
  return lines;
}

describe('the engine killed with SIGKILL while writing (20 rounds)', () => {
  it('keeps every row and update confirmed at local, and stays consistent', async () => {
    const file = path.join(root, 'killed', 'app.db');
    const child = fileURLToPath(new URL('./testing/kill-engine-writer.ts', import.meta.url));
    const seed = Number(process.env['JAZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[engine kill test] seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const next = rng(seed);
    const acked = new Set<string>();
    const updated = new Map<string, number>();
    let clientId: string | undefined;
    let clock = 0;
    let longRows = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 10 + Math.floor(next() * 250);
      const lines = await runAndKill(child, file, round, delay);
      for (const line of lines) {
        const [kind, id, n] = line.split(' ');
        if (kind === 'ack') acked.add(id!);
        if (kind === 'upd') updated.set(id!, Math.max(updated.get(id!) ?? 0, Number(n)));
      }
      const label = `round ${round}, killed after ${delay} ms (seed ${seed})`;

      const db = createDb({ app, driver: { type: 'file', path: file } });
      try {
        (db.engine.store as DurableStore).checkIntegrity();
        // The identity and the clock survive; the clock is past every stored version.
        clientId ??= db.engine.clientId;
        expect(db.engine.clientId, label).toBe(clientId);
        expect(db.engine.clock.last, label).toBeGreaterThanOrEqual(clock);
        clock = db.engine.clock.last;
        const todos = db.allSync(app.todos);
        const projects = db.allSync(app.projects);
        const maxTs = Math.max(0, ...[...db.engine.versions('todos'), ...[...db.engine.versions('projects')]].map((v) => v.ts));
        expect(clock, label).toBeGreaterThanOrEqual(maxTs);

        // Every confirmed row is there, through the engine's point read and its id index.
        const byId = new Map(todos.map((r) => [r.id, r]));
        const missing = [...acked].filter((id) => !byId.has(id));
        expect(missing, label).toEqual([]);
        for (const id of [...acked].filter((_, k) => k % 25 === 0)) {
          expect((await db.one(app.todos.where({ id })))?.id, label).toBe(id);
        }
        // Every confirmed update is there (or a later one), whole: priority and done came together.
        for (const [id, n] of updated) {
          const row = byId.get(id)!;
          expect(row.priority, `${label}: priority of ${id}`).toBeGreaterThanOrEqual(n);
          expect(row.done, `${label}: done of ${id}`).toBe(row.priority! % 2 === 0);
        }

        // Indexes, plans and live queries agree with a from-scratch filter of all rows.
        const tables = new Map([
          ['todos', new Map(todos.map((r) => [r.id, { ...r } as Record<string, unknown>]))],
          ['projects', new Map(projects.map((r) => [r.id, { ...r } as Record<string, unknown>]))],
        ]);
        const p0 = projects[Math.floor(next() * projects.length)]?.id ?? '00000000-0000-7000-8000-000000000000';
        const qs = [
          app.todos.where({ done: false }).orderBy('title').limit(50).include({ project: true }),
          app.todos
            .where({ priority: { gte: 2 } })
            .orderBy('priority', 'desc')
            .limit(30),
          app.todos.where({ tags: { contains: 'odd' } }).orderBy('title'),
          app.todos.where({ projectId: p0 }).orderBy('title'),
          app.todos
            .where({ due: { isNull: false } })
            .orderBy('due', 'desc')
            .limit(20),
          app.todos
            .where({ title: { gte: `r${round}` } })
            .orderBy('title')
            .limit(40),
          app.projects
            .orderBy('name')
            .limit(10)
            .include({ todosViaProject: app.todos.orderBy('title') }),
          // Long values: titles that share a 20 KB prefix (cut in the index), ordered and ranged on.
          app.todos
            .where({ title: { gt: LONG } })
            .orderBy('title', 'desc')
            .limit(15),
          app.todos
            .where({ title: { gte: `${LONG}r${round}` } })
            .orderBy('title')
            .limit(15),
          app.todos
            .where({ tags: { contains: 'long' } })
            .orderBy('title')
            .limit(30),
        ];
        const live: unknown[][] = qs.map(() => []);
        const stops = qs.map((q, k) => db.subscribeAll(q, ({ all }) => (live[k] = [...all])));
        await tick();
        for (const stop of stops) stop();
        qs.forEach((q, k) => {
          const expected = evaluate(tables, q.ast);
          expect(db.allSync(q), `${label}: query ${k}`).toEqual(expected);
          expect(live[k], `${label}: live query ${k}`).toEqual(expected);
        });
        const long = todos.filter((r) => r.title.startsWith(LONG));
        for (const r of long) expect((r.meta as { text: string }).text.length, `${label}: long row ${r.id}`).toBe(64 * 1024);
        longRows = Math.max(longRows, long.length);
        expect(db.engine.table('todos').liveCount, label).toBe(todos.length);
        expect(db.engine.table('projects').liveCount, label).toBe(projects.length);
      } finally {
        await db.close();
      }
    }
    expect(acked.size).toBeGreaterThan(100);
    expect(longRows).toBeGreaterThan(5);
    expect(updated.size).toBeGreaterThan(10);
    console.log(`[engine kill test] ${acked.size} confirmed rows and ${updated.size} updated rows over ${ROUNDS} kills, none lost (seed ${seed})`);
  }, 120_000);
});
