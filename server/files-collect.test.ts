/**
 * The server collects files on PostgreSQL as on files (server/files.ts, server/file-log.ts): with
 * two nodes on one database, deleting the last row that references a file on one node deletes the
 * file on both and for clients of both, the deletion is logged exactly once, the parts leave the
 * log (its size goes down; a client's deleteFile takes them out too), a node started afterwards replays to the same state, and a row that
 * references the file again on the other node, racing with the collection, keeps it whenever it
 * was logged first. Files no row ever referenced are collected after the grace period, on both
 * stores, but not a stream whose writer is connected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createDb, s, startSyncServer, type SyncServer } from './index.ts';
import type { Db } from '../src/db.ts';
import type { Engine } from '../src/engine/engine.ts';
import { until } from '../src/testing/until.ts';
import { rng, seededByteSource } from '../src/testing/fixtures.ts';
import { FILES } from '../src/files/system-tables.ts';
import { partsOf } from '../src/files/files.ts';
import { decodeItems } from './pg-store.ts';
import { usePostgres } from './testing/postgres.ts';
import { inProcessNodes } from './testing/cluster.ts';

const pgc = usePostgres();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const app = s.defineApp({ docs: s.table({ title: s.string(), attachment: s.file().optional() }) });
const seed = Date.now() % 100_000;
console.log(`files-collect.test seed ${seed}`);
const random = seededByteSource(seed);
const blobOf = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]);

function client(node: SyncServer): Db<typeof app> {
  const db = createDb({ app, server: node.url, appId: 'f', backoff: { initialMs: 20, maxMs: 200 } });
  cleanups.push(() => db.close());
  return db;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );

const fileGone = (engine: Engine, id: string) => engine.getVisibleState(engine.table(FILES), id)?.deleted === true && partsOf(engine, id).length === 0;

async function nodes(url: string, n: number, opts: Parameters<typeof inProcessNodes>[2] = {}): Promise<SyncServer[]> {
  const started = await inProcessNodes(url, n, { dev: true, ...opts });
  for (const node of started) cleanups.push(() => node.close());
  return started;
}

/** Two nodes on a new database, the app published on the first, a client on each. */
async function twoNodes() {
  const url = await pgc.cluster.database();
  const [a, b] = (await nodes(url, 2)) as [SyncServer, SyncServer];
  await a.publish('f', app.$schema);
  await until(() => b.engineOf('f') !== undefined);
  return { url, a, b, onA: client(a), onB: client(b) };
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** The logged batches that hold a part (the parts here are 4000 bytes; the other batches are small). */
async function partBatches(url: string): Promise<number> {
  return Number((await sql<{ n: string }>(url, `SELECT count(*)::text AS n FROM jazz_batches WHERE app_id = 'f' AND length(versions) > 3000`))[0]!.n);
}

/** `partBatches` once it reached 0, or after 10 s (the parts leave the log after the deletion is applied). */
async function partBatchesOnceDone(url: string): Promise<number> {
  for (let waited = 0; (await partBatches(url)) > 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return partBatches(url);
}

/** jazz_batches' bytes (with TOAST and indexes) once VACUUM FULL gave the freed space back. */
async function logBytes(url: string): Promise<number> {
  await sql(url, 'VACUUM FULL jazz_batches');
  return Number((await sql<{ n: string }>(url, `SELECT pg_total_relation_size('jazz_batches')::text AS n`))[0]!.n);
}

/** The logged batches that delete a file record, decoded with `engine`. */
async function fileDeletions(url: string, engine: Engine): Promise<{ seq: number; batchId: string; files: string[] }[]> {
  const rows = await sql<{ seq: string; batch_id: string; versions: Buffer }>(url, `SELECT seq, batch_id, versions FROM jazz_batches WHERE app_id = 'f' ORDER BY seq`);
  return rows
    .map((r) => ({
      seq: Number(r.seq),
      batchId: r.batch_id,
      files: decodeItems(engine, new Uint8Array(r.versions))
        .filter((i) => i.table === FILES && i.version.deleted)
        .map((i) => i.version.rowId),
    }))
    .filter((b) => b.files.length > 0);
}

describe('collecting files on PostgreSQL', () => {
  it('the last referencing row deleted on node A: the file is deleted on both nodes, logged once, its parts leave the log, a new node replays the same state', async () => {
    const { url, a, b, onA, onB } = await twoNodes();
    const data = random(200_000);
    const id = await onA.createFileFromBlob(blobOf(data), { partSize: 4000, tier: 'global' });
    const doc = onA.insert(app.docs, { title: 'with a file', attachment: id });
    await doc.wait({ tier: 'global' });
    expect((await (await onB.loadFileAsBlob(id)).arrayBuffer()).byteLength).toBe(200_000);
    const before = await logBytes(url);

    await onA.delete(app.docs, doc.id).wait({ tier: 'global' });
    for (const n of [a, b]) await until(() => fileGone(n.engineOf('f')!, id), 10_000);
    // The clients of both nodes held the record (the writer, and the reader that loaded it): they
    // hear of the deletion and drop the parts.
    for (const db of [onA, onB]) await until(() => fileGone(db.engine, id));
    expect(await code(onA.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect(await code(onB.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    // The part batches leave the log once the deletion is logged: 50 parts, a few KB each.
    expect(await partBatchesOnceDone(url)).toBe(0);
    // Give node B's own proposal time to be judged (it finds the file gone).
    await new Promise((r) => setTimeout(r, 300));
    const deletions = await fileDeletions(url, a.engineOf('f')!);
    expect(deletions.map((d) => d.files)).toEqual([[id]]);
    const after = await logBytes(url);
    console.log(`files-collect.test: jazz_batches ${before} bytes before the collection, ${after} after (VACUUM FULL)`);
    expect(after).toBeLessThan(before - 150_000);

    // A node started now replays the log to the same state, without the parts.
    const [c] = await nodes(url, 1);
    const onC = c!.engineOf('f')!;
    const onAEngine = a.engineOf('f')!;
    expect(fileGone(onC, id)).toBe(true);
    expect(onC.rowDigest(FILES, id)).toBe(onAEngine.rowDigest(FILES, id));
    expect(onC.getRowById(onC.table('docs'), doc.id)).toBeUndefined();
    expect(await code(client(c!).loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect((await fileDeletions(url, onC)).length).toBe(1);
  }, 30_000);

  it("a client's deleteFile takes the file's parts out of the log too, and a new node replays it", async () => {
    const { url, b, onA } = await twoNodes();
    const id = await onA.createFileFromBlob(blobOf(random(40_000)), { partSize: 4000, tier: 'global' });
    await until(() => partsOf(b.engineOf('f')!, id).length === 10);
    expect(await partBatches(url)).toBe(10);
    await onA.deleteFile(id, { tier: 'global' });
    await until(() => fileGone(b.engineOf('f')!, id));
    expect(await partBatchesOnceDone(url)).toBe(0);
    const [c] = await nodes(url, 1);
    expect(fileGone(c!.engineOf('f')!, id)).toBe(true);
  }, 20_000);

  it('a row referencing the file again on node B, racing with the collection proposed on node A, keeps it whenever it is logged first', async () => {
    const { url, a, b, onA, onB } = await twoNodes();
    const next = rng(seed);
    const rounds = 6;
    let kept = 0;
    for (let round = 0; round < rounds; round++) {
      const id = await onA.createFileFromBlob(blobOf(random(3000)), { partSize: 1000, tier: 'global' });
      const doc = onA.insert(app.docs, { title: `round ${round}`, attachment: id });
      await doc.wait({ tier: 'global' });
      await until(() => b.engineOf('f')!.getRowById(b.engineOf('f')!.table('docs'), doc.id) !== undefined);
      // Node A's client removes the last reference while node B's references the file again: both
      // wait for the app's lock in PostgreSQL, so both are judged against the same state; the
      // removal is logged first, then node A's collection and node B's row race for the next seq.
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`SELECT pg_advisory_xact_lock(hashtext('jazz_batches f'))`);
      const removed = onA.delete(app.docs, doc.id).wait({ tier: 'global' });
      await new Promise((r) => setTimeout(r, 30 + Math.floor(next() * 20)));
      const again = onB.insert(app.docs, { title: `again ${round}`, attachment: id });
      await new Promise((r) => setTimeout(r, 30));
      await locker.query('COMMIT');
      await locker.end();
      await Promise.all([removed, again.wait({ tier: 'global' })]);
      await new Promise((r) => setTimeout(r, 150));
      const engine = a.engineOf('f')!;
      const deletion = (await fileDeletions(url, engine)).find((d) => d.files.includes(id));
      if (!deletion) {
        kept++;
        // Kept: whole, on both nodes, and readable from both.
        for (const n of [a, b]) expect(partsOf(n.engineOf('f')!, id).length).toBe(3);
        expect((await (await onA.loadFileAsBlob(id)).arrayBuffer()).byteLength).toBe(3000);
        expect((await (await onB.loadFileAsBlob(id)).arrayBuffer()).byteLength).toBe(3000);
        continue;
      }
      // Collected: only if the new reference was logged after the deletion was.
      const batchOfAgain = engine.history(engine.table('docs'), again.id)[0]!.batchId;
      const seqOfAgain = Number((await sql<{ seq: string }>(url, `SELECT seq::text FROM jazz_batches WHERE app_id = 'f' AND batch_id = $1`, [batchOfAgain]))[0]!.seq);
      expect(seqOfAgain).toBeGreaterThan(deletion.seq);
      for (const n of [a, b]) await until(() => fileGone(n.engineOf('f')!, id));
    }
    console.log(`files-collect.test: ${kept} of ${rounds} files kept by the racing reference (seed ${seed})`);
  }, 30_000);
});

describe.each(['files', 'postgres'] as const)('files no row references, on %s', (store) => {
  it('are collected after the grace period; a referenced file and a stream whose writer is connected are not', async () => {
    const server = await startSyncServer(
      store === 'postgres' ? { port: 0, log: () => {}, dev: true, postgres: await pgc.cluster.database(), fileGraceMs: 400 } : { port: 0, log: () => {}, dev: true, inMemory: true, fileGraceMs: 400 },
    );
    cleanups.push(() => server.close());
    await server.publish('f', app.$schema);
    const db = client(server);
    const lonely = await db.createFileFromBlob(blobOf(random(2500)), { partSize: 1000, tier: 'global' });
    const used = await db.createFileFromBlob(blobOf(random(2500)), { partSize: 1000, tier: 'global' });
    await db.insert(app.docs, { title: 'uses a file', attachment: used }).wait({ tier: 'global' });
    const stream = db.createStream({ mimeType: 'text/plain' });
    stream.write('still being written');
    const engine = server.engineOf('f')!;
    await until(() => engine.getRowById(engine.table(FILES), stream.id) !== undefined);
    await until(() => fileGone(engine, lonely), 5000);
    // Its writer held the record: it hears of the deletion and drops the parts too.
    await until(() => fileGone(db.engine, lonely));
    expect(await code(db.loadFileAsBlob(lonely))).toBe('FILE_NOT_FOUND');
    // Two more grace periods: the referenced file and the connected writer's stream stay.
    await new Promise((r) => setTimeout(r, 900));
    expect(partsOf(engine, used).length).toBe(3);
    expect(engine.getRowById(engine.table(FILES), stream.id)?.state).toBe('writing');
    await stream.close();
  }, 20_000);
});
