/**
 * The write path in one process, as JSON on one line: P2 (bulk load of ~200-byte rows in 1k-row
 * batches, each awaited at `local`) and P3 (serial single-row updates, each awaited at `local`),
 * on Node files under .tmp/. `bench/revisions.ts` runs this same file against another revision of
 * the engine, alternating, to compare before and after in one run.
 *
 *   npx tsx bench/write-path.ts            ROWS=100000 UPDATES=1000 by default
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from '../server/index.ts';
import { s } from '../src/schema/builder.ts';

const ROWS = Number(process.env['ROWS'] ?? 100_000);
const UPDATES = Number(process.env['UPDATES'] ?? 1_000);
const BATCH = 1_000;

// The benchmarks' todo schema, written out here so that this file runs unchanged against older
// revisions of the engine (see revisions.ts).
const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    priority: s.int().optional(),
    due: s.timestamp().optional(),
    tags: s.array(s.string()).optional(),
    projectId: s.ref('projects').optional(),
  }),
});

// mulberry32 with a fixed seed, written out for the same reason as the schema. (An LCG in float
// arithmetic, used here before, loses its product's low bits and repeats after ~16k numbers: every
// title, due date and tag came again, and the random indexes' inserts stayed in a few cached pages.)
let seed = 42;
const rand = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const word = () =>
  Math.floor(rand() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(here, '..', '.tmp', 'write-path-'));
try {
  const db = createDb({ app, driver: { type: 'file', path: path.join(dir, 'bench.db') } });
  const projects: string[] = [];
  await db
    .batch((b) => {
      for (let i = 0; i < 100; i++) projects.push(b.insert(app.projects, { name: `project ${i}` }).id);
    })
    .wait({ tier: 'local' });
  const ids: string[] = [];
  const t0 = performance.now();
  for (let n = 0; n < ROWS; n += BATCH) {
    const h = db.batch((b) => {
      for (let i = 0; i < BATCH; i++) {
        const id = b.insert(app.todos, {
          title: `${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()}`,
          done: rand() < 0.3,
          priority: Math.floor(rand() * 5),
          due: 1_700_000_000_000 + Math.floor(rand() * 1e9),
          tags: rand() < 0.5 ? [word(), word()] : [word()],
          projectId: projects[Math.floor(rand() * projects.length)]!,
        }).id;
        ids.push(id);
      }
    });
    await h.wait({ tier: 'local' });
  }
  const loadMs = performance.now() - t0;
  const lat: number[] = [];
  for (let i = 0; i < UPDATES; i++) {
    const id = ids[Math.floor(rand() * ids.length)]!;
    const t = performance.now();
    await db.update(app.todos, id, { priority: i % 5, done: i % 2 === 0 }).wait({ tier: 'local' });
    lat.push(performance.now() - t);
  }
  await db.close();
  lat.sort((a, b) => a - b);
  const at = (p: number) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]!;
  process.stdout.write(`${JSON.stringify({ rows: ROWS, p2RowsPerSec: ROWS / (loadMs / 1000), p3p50: at(50), p3p95: at(95) })}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
