/**
 * How long a server node on PostgreSQL takes to open an app: read its logged batches and replay
 * them into its engine (server/pg-store.ts). `npm run bench -- pg-replay [rows] [rows per batch]`
 * (defaults: 100,000 rows, one row per batch, the worst case: what single-row writes of clients
 * leave). Needs PostgreSQL's binaries (Debian's `postgresql`); starts a cluster of its own.
 *
 * The log is filled directly (multi-row INSERTs of versions made by the app's own engine), then a
 * server is started on it and timed until it listens with every row in its engine.
 */
import pg from 'pg';
import { startSyncServer } from '../server/sync-server.ts';
import { s } from '../src/schema/builder.ts';
import { encodeItems } from '../server/pg-store.ts';
import { startPostgres } from '../server/testing/postgres.ts';

const rows = Number(process.argv[2] ?? 100_000);
const perBatch = Number(process.argv[3] ?? 1);
const app = s.defineApp({
  todos: s.table({ title: s.string(), done: s.boolean().default(false), priority: s.int().optional(), tags: s.array(s.string()).optional() }),
});

const cluster = await startPostgres();
try {
  const url = await cluster.database();
  const first = await startSyncServer({ port: 0, postgres: url, log: () => {} });
  await first.publish('bench', app.$schema);
  const engine = first.engineOf('bench')!;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let t = Date.now();
  const ROWS_PER_INSERT = 1000;
  let values: unknown[] = [];
  let tuples: string[] = [];
  const flush = async () => {
    if (!tuples.length) return;
    await client.query(`INSERT INTO jazz_batches (app_id, batch_id, versions, version_count) VALUES ${tuples.join(',')}`, values);
    values = [];
    tuples = [];
  };
  for (let i = 0; i < rows; i += perBatch) {
    const ops = [];
    for (let j = i; j < Math.min(rows, i + perBatch); j++) ops.push({ kind: 'insert' as const, table: 'todos', values: { title: `todo ${j}`, priority: j % 5, tags: j % 3 ? ['a'] : [] } });
    const r = engine.write(ops);
    const items = engine.batchVersions(r.batchId);
    const n = values.length;
    tuples.push(`('bench', $${n + 1}, $${n + 2}, $${n + 3})`);
    values.push(r.batchId, Buffer.from(encodeItems(engine, items)), items.length);
    if (tuples.length >= ROWS_PER_INSERT) await flush();
  }
  await flush();
  const size = await client.query(`SELECT count(*)::int AS batches, pg_size_pretty(pg_total_relation_size('jazz_batches')) AS size FROM jazz_batches`);
  console.log(`logged ${rows} rows in ${size.rows[0].batches} batches (${size.rows[0].size} in jazz_batches) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await client.end();
  await first.close();

  t = Date.now();
  const second = await startSyncServer({ port: 0, postgres: url, log: () => {} });
  const opened = (Date.now() - t) / 1000;
  const count = second.engineOf('bench')!.tables.get('todos')!.liveCount;
  await second.close();
  if (count !== rows) throw new Error(`replayed ${count} rows, expected ${rows}`);
  console.log(`a new node opened it: ${count} rows read and replayed in ${opened.toFixed(2)} s (${Math.round(count / opened)} rows/s)`);
} finally {
  cluster.destroy();
}
