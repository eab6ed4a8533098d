/**
 * Refused writes never wedge a client: a batch the server cannot or will not apply is refused with
 * a typed reason, undone on the client, reported once, and every later batch goes through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, type SyncServer } from './index.ts';
import { todoApp as app } from '../src/testing/fixtures.ts';
import type { BatchRejection, Db } from '../src/db.ts';
import { failValuesContaining } from './testing/failing-store.ts';
import { until } from '../src/testing/until.ts';
const waitFor = (cond: () => boolean, ms = 10_000) => until(cond, ms);

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(extra: Record<string, unknown> = {}): Promise<SyncServer & { lines: string[] }> {
  const lines: string[] = [];
  const s = await startSyncServer({ port: 0, inMemory: true, dev: true, log: (l) => lines.push(l), ...extra });
  cleanups.push(() => s.close());
  return Object.assign(s, { lines });
}

function client(url: string, extra: Record<string, unknown> = {}): Db<typeof app> {
  const db = createDb({ app, server: url, appId: 'test', backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  cleanups.push(() => db.close());
  return db;
}

describe('refused writes never wedge a client', () => {
  it('a batch the server fails to store is refused (INTERNAL), undone, reported once; the 100 writes after it all arrive', async () => {
    const s = await server();
    const a = client(s.url);
    await a.insert(app.todos, { title: 'first' }).wait({ tier: 'global' });
    failValuesContaining(s.engineOf('test')!.store, 'POISON');
    const b = client(s.url);
    let seen: string[] = [];
    b.subscribeAll(app.todos.orderBy('title'), ({ all }) => (seen = all.map((r) => r.title as string)));
    const rejections: BatchRejection[] = [];
    a.onRejected((r) => rejections.push(r));

    const bad = a.insert(app.todos, { title: 'POISON pill' });
    const refused = bad.wait({ tier: 'global' }).then(
      () => 'accepted',
      (e) => e.code,
    );
    const titles = Array.from({ length: 100 }, (_, i) => `ok ${String(i).padStart(3, '0')}`);
    for (const t of titles) a.insert(app.todos, { title: t });
    await waitFor(() => seen.length === 101);
    expect(seen).toEqual(['first', ...titles]);
    expect(await refused).toBe('BATCH_REJECTED');
    expect(rejections).toEqual([expect.objectContaining({ code: 'INTERNAL', batchId: bad.batchId })]);
    expect(rejections[0]!.message).toContain('was not applied');
    // Undone on the writer, nowhere else.
    expect(a.engine.getRowById(a.engine.table('todos'), bad.id)).toBeUndefined();
    expect(await a.all(app.todos)).toHaveLength(101);
    await waitFor(() => a.syncStatus.pendingBatches === 0);
    expect(a.syncStatus.state).toBe('online');
    // The log: the refusal once, the failure's stack once; the connection was never closed for it.
    expect(s.lines.filter((l) => l.includes('batch refused'))).toHaveLength(1);
    expect(s.lines.filter((l) => l.includes('batch refused'))[0]).toContain('INTERNAL');
    expect(s.lines.filter((l) => /ERROR/.test(l))).toHaveLength(1);
    expect(s.lines.filter((l) => l.includes('connection closed'))).toHaveLength(0);
  });

  it('a write too large for the server’s frames fails when it is written, with TOO_LARGE, and changes nothing', async () => {
    const s = await server({ maxFrameBytes: 1 << 20 });
    const a = client(s.url);
    await a.insert(app.todos, { title: 'small' }).wait({ tier: 'global' });
    expect(a.syncStatus.state).toBe('online'); // the welcome told it the limit
    expect(() => a.insert(app.todos, { title: 'x'.repeat(2 << 20) })).toThrow(expect.objectContaining({ code: 'TOO_LARGE', message: expect.stringMatching(/2\.0 MiB.*1\.0 MiB/) }));
    expect(() =>
      a.batch((b) => {
        for (let i = 0; i < 5; i++) b.insert(app.todos, { title: 'y'.repeat(300_000) });
      }),
    ).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect((await a.all(app.todos)).map((r) => r.title)).toEqual(['small']);
    // Just under the limit goes through.
    const h = a.insert(app.todos, { title: 'z'.repeat((1 << 20) - 1000) });
    await h.wait({ tier: 'global' });
    expect(s.engineOf('test')!.getRowById(s.engineOf('test')!.table('todos'), h.id)?.title).toHaveLength((1 << 20) - 1000);
  });

  it('a batch written offline that a server with a smaller frame limit cannot take is refused here (TOO_LARGE); the rest go through', async () => {
    const probe = await server();
    const port = probe.port;
    await probe.close();
    const a = client(`ws://127.0.0.1:${port}`);
    const rejections: BatchRejection[] = [];
    a.onRejected((r) => rejections.push(r));
    // Offline: the client assumes 16 MiB, so 2 MiB is written.
    const big = a.insert(app.todos, { title: 'b'.repeat(2 << 20) });
    const after = Array.from({ length: 20 }, (_, i) => a.insert(app.todos, { title: `after ${i}` }));
    const s = await server({ port, maxFrameBytes: 1 << 20 });
    await Promise.all(after.map((h) => h.wait({ tier: 'global' })));
    await expect(big.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect(rejections).toEqual([expect.objectContaining({ code: 'TOO_LARGE', batchId: big.batchId })]);
    expect(s.engineOf('test')!.getRowById(s.engineOf('test')!.table('todos'), big.id)).toBeUndefined();
    expect(a.engine.getRowById(a.engine.table('todos'), big.id)).toBeUndefined();
    // It never reached the server, which never had to close the connection.
    expect(s.lines.filter((l) => l.includes('FRAME_TOO_LARGE'))).toEqual([]);
  });

  it('a query the server will not run fails its read instead of never settling', async () => {
    const s = await server({ maxSubscriptions: 1 });
    const a = client(s.url);
    const stop = a.subscribeAll(app.todos, () => {}, { tier: 'global' });
    await waitFor(() => a.syncStatus.state === 'online' && !a.syncStatus.syncing);
    await expect(a.all(app.projects, { tier: 'edge' })).rejects.toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.stringContaining('at most 1 subscriptions') });
    stop();
    await expect(a.all(app.projects, { tier: 'edge' })).resolves.toEqual([]);
  });

  it('a query the server fails to run fails that read, and the connection stays up', async () => {
    const s = await server();
    const a = client(s.url);
    await a.insert(app.projects, { name: 'p' }).wait({ tier: 'global' });
    const store = s.engineOf('test')!.store;
    const scan = store.scan.bind(store);
    let broken = true;
    store.scan = (range) => {
      if (broken) throw new Error('the index is unreadable');
      return scan(range);
    };
    await expect(a.all(app.projects, { tier: 'edge' })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('failed to run this query') });
    broken = false;
    await expect(a.all(app.projects, { tier: 'edge' })).resolves.toHaveLength(1);
    expect(s.lines.filter((l) => l.includes('connection closed'))).toEqual([]);
    expect(s.lines.filter((l) => /ERROR/.test(l))).toHaveLength(1);
  });
});
