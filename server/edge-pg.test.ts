/**
 * An edge on PostgreSQL (server/edge.ts, docs/sync.md "Edge and global"): its engine, and so its
 * outbox, is memory, so the batches waiting for the upstream are kept in `jazz_pending` too. An
 * edge stopped while the authority is away keeps nothing in memory, and still sends every batch it
 * acknowledged at `edge` once it is back; a batch the upstream has is no longer waiting.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, s, type SyncServer, type SyncServerOptions } from './index.ts';
import { until } from '../src/testing/until.ts';
import { usePostgres } from './testing/postgres.ts';

const pgc = usePostgres();
const SECRET = 'edge-pg-test-secret';
const APP = 'edgy';
const app = s.defineApp({ notes: s.table({ text: s.string() }) });

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-edge-pg-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(opts: Partial<SyncServerOptions>): Promise<SyncServer> {
  const server = await startSyncServer({ port: 0, dev: true, log: () => {}, ...opts, auth: { backendSecret: SECRET } });
  cleanups.push(() => server.close());
  return server;
}

async function waiting(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM jazz_pending')).rows[0]!.n);
  } finally {
    await c.end();
  }
}

describe('an edge on PostgreSQL', () => {
  it('sends what it acknowledged at edge after a restart, though its engine is memory', async () => {
    const database = await pgc.cluster.database();
    const authorityDir = path.join(root, 'authority');
    const authority = await start({ dataDir: authorityDir });
    const upstream = authority.url;
    const port = authority.port;
    // One batch reaches global first: it is not waiting any more.
    const edge = await start({ postgres: database, upstream });
    const db = createDb({ app, server: edge.url, appId: APP, backoff: { initialMs: 50, maxMs: 500 } });
    cleanups.push(() => db.close());
    await db.insert(app.notes, { text: 'global' }).wait({ tier: 'global' });
    await expect.poll(() => waiting(database)).toBe(0);

    await authority.close();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const h = db.insert(app.notes, { text: `queued ${i}` });
      await h.wait({ tier: 'edge' });
      ids.push(h.id);
    }
    expect(await waiting(database)).toBe(10);
    // The client and the edge go: only PostgreSQL has the batches now.
    await db.close();
    await edge.close();

    const back = await start({ dataDir: authorityDir, port });
    await start({ postgres: database, upstream });
    const engine = () => back.engineOf(APP)!;
    await until(() => ids.every((id) => engine().getRowById(engine().table('notes'), id) !== undefined), 10_000, 'every batch acknowledged at edge, at the authority');
    await expect.poll(() => waiting(database)).toBe(0);
  });
});
