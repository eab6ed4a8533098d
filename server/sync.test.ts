/**
 * Sync through the reference server, over its stores: in memory, and PostgreSQL (a real one of this
 * file's own, server/testing/postgres.ts; a new database per test).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, type SyncServer, type SyncServerOptions } from './index.ts';
import { todoApp as app } from '../src/testing/fixtures.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';
import { usePostgres } from './testing/postgres.ts';

const pgc = usePostgres();

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Store = Pick<SyncServerOptions, 'inMemory' | 'postgres'>;
/** Where each test's server keeps its data: a place of its own, which a restarted server opens again. */
const STORES: Record<string, () => Promise<Store>> = {
  memory: async () => ({ inMemory: true }),
  postgres: async () => ({ postgres: await pgc.cluster.database() }),
};

function client(s: SyncServer | string, extra: Record<string, unknown> = {}): Db<typeof app> {
  const db = createDb({ app, server: typeof s === 'string' ? s : s.url, appId: 'test', backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  cleanups.push(() => db.close());
  return db;
}

describe.each(Object.keys(STORES))('sync through the reference server (%s)', (kind) => {
  let store: Store;
  beforeEach(async () => {
    store = await STORES[kind]!();
  });
  async function server(): Promise<SyncServer> {
    const s = await startSyncServer({ port: 0, ...store, dev: true, log: () => {} });
    cleanups.push(() => s.close());
    return s;
  }

  it('a write on one client reaches another client’s live query; tiers resolve', async () => {
    const s = await server();
    const a = client(s);
    const b = client(s);
    let seen: string[] = [];
    b.subscribeAll(app.todos.where({ done: false }).orderBy('title'), ({ all }) => (seen = all.map((r) => r.title as string)));
    const h = a.insert(app.todos, { title: 'from a' });
    expect(await h.wait({ tier: 'global' })).toMatchObject({ id: h.id, title: 'from a' }); // wait() gives the row once the server has it
    await until(() => seen.includes('from a'));
    a.update(app.todos, h.id, { title: 'renamed' });
    await until(() => seen.includes('renamed') && !seen.includes('from a'));
    a.update(app.todos, h.id, { done: true });
    await until(() => seen.length === 0);
    expect(a.syncStatus).toMatchObject({ state: 'online' });
    await until(() => !a.syncStatus.syncing && a.syncStatus.pendingBatches === 0);
    a.update(app.todos, h.id, { title: 'once more' });
    expect(a.syncStatus).toMatchObject({ syncing: true, pendingBatches: 1 });
    await until(() => !a.syncStatus.syncing);
  });

  it('a write that changes nothing resolves at every tier (it has nothing to push)', async () => {
    const s = await server();
    const a = client(s);
    const h = a.insert(app.todos, { title: 'short-lived' });
    await a.delete(app.todos, h.id).wait({ tier: 'global' });
    const again = a.delete(app.todos, h.id); // already deleted: writes nothing
    const settled = await Promise.race([again.wait({ tier: 'global' }).then(() => 'resolved'), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
    expect(settled).toBe('resolved');
    await again.wait({ tier: 'edge' });
  });

  it('holds the first result until the query settled at the asked tier', async () => {
    const s = await server();
    const a = client(s);
    await a.insert(app.todos, { title: 'already there' }).wait({ tier: 'global' });
    const b = client(s);
    const rows = await b.all(app.todos, { tier: 'edge' });
    expect(rows.map((r) => r.title)).toEqual(['already there']);
    const first: string[][] = [];
    const c = client(s);
    c.subscribeAll(app.todos, ({ all }) => first.push(all.map((r) => r.title as string)), { tier: 'global' });
    await until(() => first.length > 0);
    expect(first[0]).toEqual(['already there']);
  });

  it('includes bring their related rows along', async () => {
    const s = await server();
    const a = client(s);
    const p = a.insert(app.projects, { name: 'proj' });
    await a.insert(app.todos, { title: 't', projectId: p.id }).wait({ tier: 'global' });
    const b = client(s);
    const rows = await b.all(app.todos.include({ project: true }), { tier: 'global' });
    expect((rows[0] as any).project.name).toBe('proj');
  });

  it('writes made offline reach the others when the server is back', async () => {
    let s = await startSyncServer({ port: 0, ...store, dev: true, log: () => {} });
    const port = s.port;
    const a = client(s);
    const b = client(s);
    let seen: string[] = [];
    b.subscribeAll(app.todos.orderBy('title'), ({ all }) => (seen = all.map((r) => r.title as string)));
    await a.insert(app.todos, { title: 'before' }).wait({ tier: 'global' });
    await until(() => seen.length === 1);
    await s.close();
    await until(() => a.syncStatus.state !== 'online');
    const h = a.insert(app.todos, { title: 'while down' });
    expect(a.syncStatus.pendingBatches).toBeGreaterThan(0);
    s = await startSyncServer({ port, ...store, dev: true, log: () => {} });
    cleanups.push(() => s.close());
    await h.wait({ tier: 'global' });
    await until(() => seen.includes('while down'));
    // b kept 'before' locally; 'while down' came from the outbox.
    expect(seen).toEqual(['before', 'while down']);
    // A new client learns from the server what it kept: an in-memory server forgot 'before' on restart.
    const c = client(s);
    const rows = await c.all(app.todos.orderBy('title'), { tier: 'global' });
    expect(rows.map((r) => r.title)).toEqual(kind === 'memory' ? ['while down'] : ['before', 'while down']);
  });
});

describe('a server that cannot take this client', () => {
  it('says that the app is unknown, and how to create it, instead of "unreachable"', async () => {
    const s = await startSyncServer({ port: 0, inMemory: true, dev: false, log: () => {} });
    cleanups.push(() => s.close());
    const a = client(s);
    await until(() => a.syncStatus.lastError !== undefined);
    expect(a.syncStatus.lastError).toMatchObject({ code: 'UNKNOWN_APP' });
    expect(a.syncStatus.lastError!.message).toMatch(/no app "test".*publish its schema.*--dev/);
    expect(a.syncStatus.state).not.toBe('online');
    // The made-up app id left nothing behind on the server.
    await until(() => s.stats().connections === 0);
    expect(s.stats().apps).toBe(0);
  });
});
