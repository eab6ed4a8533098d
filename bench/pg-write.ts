/**
 * How fast one app on PostgreSQL acknowledges writes, beside the in-memory store: one client
 * pushes 2,000 single-row batches at once and waits for the last acknowledgement.
 * `npm run bench -- pg-write`. Needs PostgreSQL's binaries (Debian's `postgresql`); starts a
 * cluster of its own (fsync on).
 */
import { startSyncServer } from '../server/sync-server.ts';
import { createDb } from '../server/index.ts';
import { s } from '../src/schema/builder.ts';
import { startPostgres } from '../server/testing/postgres.ts';
const app = s.defineApp({ todos: s.table({ title: s.string() }) });
const cluster = await startPostgres();
try {
  for (const kind of ['memory', 'postgres']) {
    const srv = await startSyncServer({ port: 0, ...(kind === 'memory' ? { inMemory: true } : { postgres: await cluster.database() }), dev: true, log: () => {} });
    const db = createDb({ app, server: srv.url, appId: 't' });
    await db.insert(app.todos, { title: 'warm' }).wait({ tier: 'global' });
    const t = Date.now();
    let last: { wait(o: { tier: 'global' }): Promise<unknown> } | undefined;
    for (let i = 0; i < 2000; i++) last = db.insert(app.todos, { title: `t${i}` });
    await last!.wait({ tier: 'global' });
    const sec = (Date.now() - t) / 1000;
    console.log(kind, `2000 single-row batches acknowledged in ${sec.toFixed(2)} s: ${Math.round(2000 / sec)}/s`);
    await db.close();
    await srv.close();
  }
} finally {
  cluster.destroy();
}
