/**
 * Schema versions through the server: clients of different versions of one app side by side, each
 * served in its own shape; a chain of versions published while a client is away; the current
 * version's permissions judging an old client; adoption in development mode; and the errors a
 * client with no path to the app's versions gets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { createDb, startSyncServer, wsConnector, s, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';

const v1 = s.defineApp({ todos: s.table({ title: s.string(), priority: s.int(), owner: s.string().optional() }) });
const v2 = s.defineApp({ todos: s.table({ name: s.string(), done: s.boolean().default(false), owner: s.string().optional() }) });
const m12 = s.defineMigration({ from: v1, to: v2, migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: false }), priority: s.drop.int({ backwardsDefault: 0 }) } } });
const v3 = s.defineApp({ tasks: s.table({ name: s.string(), done: s.boolean().default(false), owner: s.string().optional(), note: s.string().optional() }) });
const m23 = s.defineMigration({ from: v2, to: v3, renameTables: { tasks: s.renameTableFrom('todos') }, migrate: { tasks: { note: s.add.string() } } });

const dir = mkdtempSync(join(tmpdir(), 'jazz-versions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(extra: Record<string, unknown> = {}): Promise<SyncServer & { lines: string[] }> {
  const lines: string[] = [];
  const srv = await startSyncServer({ port: 0, inMemory: true, dev: true, log: (l) => lines.push(l), ...extra });
  cleanups.push(() => srv.close());
  return Object.assign(srv, { lines });
}

function client<A extends { readonly $schema: any }>(url: string, app: A, extra: Record<string, unknown> = {}): Db<A> {
  const db = createDb({ app, server: url, appId: 'versions', backoff: { initialMs: 20, maxMs: 100 }, ...extra });
  cleanups.push(() => db.close());
  return db;
}

describe('schema versions through the server', () => {
  it('v1 and v2 clients write to the same rows at once; each sees every row in its shape, renamed columns edited from either side, and they converge', async () => {
    const srv = await server();
    srv.publish('versions', v1.$schema);
    srv.publish('versions', v2.$schema, undefined, [m12]);
    const c1 = client(srv.url, v1);
    const c2 = client(srv.url, v2);
    let rows1: Record<string, unknown>[] = [];
    let rows2: Record<string, unknown>[] = [];
    c1.subscribeAll(v1.todos.orderBy('title'), ({ all }) => (rows1 = all.map((r) => ({ ...r }))));
    c2.subscribeAll(v2.todos.orderBy('name'), ({ all }) => (rows2 = all.map((r) => ({ ...r }))));
    const a = c1.insert(v1.todos, { title: 'a', priority: 3 });
    const b = c2.insert(v2.todos, { name: 'b', done: true });
    await until(() => rows1.length === 2 && rows2.length === 2);
    expect(rows1.map((r) => [r.title, r.priority])).toEqual([
      ['a', 3],
      ['b', 0],
    ]);
    expect(rows2.map((r) => [r.name, r.done])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    // Each renames the other's row through its own name for the column.
    c2.update(v2.todos, a.id, { name: 'a2' });
    c1.update(v1.todos, b.id, { title: 'b2', priority: 7 });
    await until(() => rows1.some((r) => r.title === 'a2') && rows2.some((r) => r.name === 'b2'));
    expect(rows1.find((r) => r.id === b.id)).toMatchObject({ title: 'b2', priority: 7 });
    expect(Object.keys(rows2.find((r) => r.id === b.id)!).sort()).toEqual(['done', 'id', 'name', 'owner']);
    // Concurrent edits of the renamed column, from both sides, in the same tick: last writer wins everywhere.
    for (let i = 0; i < 10; i++) {
      c1.update(v1.todos, a.id, { title: `one ${i}` });
      c2.update(v2.todos, a.id, { name: `two ${i}` });
    }
    await until(() => c1.syncStatus.pendingBatches === 0 && c2.syncStatus.pendingBatches === 0);
    const engine = srv.engineOf('versions')!;
    await until(() => {
      const onServer = engine.getRowById(engine.table('todos'), a.id)!.name;
      return rows1.find((r) => r.id === a.id)!.title === onServer && rows2.find((r) => r.id === a.id)!.name === onServer;
    });
    // Both equal the server, each in its shape, with the same versions. The shown values can agree
    // before a client has received the other's losing versions, which change no value: wait for
    // those too (they arrive, or `until` times out and the expectations below say which differ).
    const same = (c: { engine: typeof engine }, id: string) => c.engine.rowDigest('todos', id) === engine.rowDigest('todos', id);
    await until(() => [a.id, b.id].every((id) => same(c1, id) && same(c2, id))).catch(() => {});
    for (const id of [a.id, b.id]) expect(c1.engine.rowDigest('todos', id)).toBe(engine.rowDigest('todos', id));
    for (const id of [a.id, b.id]) expect(c2.engine.rowDigest('todos', id)).toBe(engine.rowDigest('todos', id));
  });

  it('a v1 client away while v2 and then v3 are published comes back and syncs both ways', async () => {
    const data = join(dir, 'chain');
    let srv = await startSyncServer({ port: 0, dataDir: data, dev: true, log: () => {} });
    const port = srv.port;
    const url = `ws://127.0.0.1:${port}`;
    srv.publish('versions', v1.$schema);
    const file = join(dir, 'chain-client.db');
    let old = createDb({ app: v1, driver: { type: 'file', path: file }, server: url, appId: 'versions', backoff: { initialMs: 20, maxMs: 100 } });
    await old.insert(v1.todos, { title: 'written by v1', priority: 4 }).wait({ tier: 'global' });
    await old.close();
    // While it is away: v2, then v3 (the server restarts in between).
    srv.publish('versions', v2.$schema, undefined, [m12]);
    await srv.close();
    srv = await startSyncServer({ port, dataDir: data, dev: true, log: () => {} });
    cleanups.push(() => srv.close());
    srv.publish('versions', v3.$schema, undefined, [m23]);
    const fresh = client(url, v3);
    const t = fresh.insert(v3.tasks, { name: 'written by v3', note: 'only v3 has notes' });
    await t.wait({ tier: 'global' });
    expect((await fresh.all(v3.tasks.orderBy('name'), { tier: 'global' })).map((r) => r.name)).toEqual(['written by v1', 'written by v3']);
    // The v1 client returns: the server knows v1 through v2 and v3.
    old = createDb({ app: v1, driver: { type: 'file', path: file }, server: url, appId: 'versions', backoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => old.close());
    const rows = await old.all(v1.todos.orderBy('title'), { tier: 'global' });
    expect(rows.map((r) => [r.title, r.priority])).toEqual([
      ['written by v1', 4],
      ['written by v3', 0],
    ]);
    await old.update(v1.todos, t.id, { title: 'edited by v1', priority: 2 }).wait({ tier: 'global' });
    await until(() => fresh.engine.getRowById(fresh.engine.table('tasks'), t.id)?.name === 'edited by v1');
    expect(fresh.engine.getRowById(fresh.engine.table('tasks'), t.id)).toMatchObject({ name: 'edited by v1', note: 'only v3 has notes' });
  });

  it('an old client is judged by the current version’s permissions, and never receives another tenant’s row', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const sign = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const rules = definePermissions(v2, ({ policy, session }) => {
      policy.todos.allowRead.where({ owner: session.userId });
      policy.todos.allowInsert.where({ owner: session.userId });
      policy.todos.allowUpdate.whereOld({ owner: session.userId }).whereNew({ owner: session.userId });
    });
    const srv = await server({ dev: false, auth: { jwtPublicKey: await exportSPKI(publicKey) } });
    srv.publish('versions', v1.$schema);
    srv.publish('versions', v2.$schema, rules, [m12]);
    const canary = 'CANARY-ALICE';
    const frames: Uint8Array[] = [];
    const alice = client(srv.url, v2, { auth: { token: await sign('alice') } });
    const secret = alice.insert(v2.todos, { name: canary, owner: 'alice' });
    await secret.wait({ tier: 'global' });
    const bob = client(srv.url, v1, {
      auth: { token: await sign('bob') },
      connect: (u: string, events: Parameters<typeof wsConnector>[1]) => wsConnector(u, { ...events, message: (d) => (frames.push(d.slice()), events.message(d)) }),
    });
    await bob.insert(v1.todos, { title: 'mine', priority: 1, owner: 'bob' }).wait({ tier: 'global' });
    await expect(bob.insert(v1.todos, { title: 'for alice', priority: 1, owner: 'alice' }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    await expect(bob.upsert(v1.todos, { title: 'taken', priority: 1, owner: 'bob' }, { id: secret.id }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect((await bob.all(v1.todos, { tier: 'global' })).map((r) => r.title)).toEqual(['mine']);
    const needle = new TextEncoder().encode(canary);
    const has = (f: Uint8Array) => f.some((_, i) => needle.every((x, j) => f[i + j] === x));
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.filter(has)).toEqual([]);
    expect(srv.engineOf('versions')!.getRowById(srv.engineOf('versions')!.table('todos'), secret.id)!.name).toBe(canary);
  });

  it('in development mode the server adopts a newer version a client brings, and the older clients keep working', async () => {
    const srv = await server();
    const c1 = client(srv.url, v1);
    await c1.insert(v1.todos, { title: 'first', priority: 1 }).wait({ tier: 'global' });
    const c2 = client(srv.url, v2, { migrations: [m12] });
    const rows = await c2.all(v2.todos, { tier: 'global' });
    expect(rows.map((r) => [r.name, r.done])).toEqual([['first', false]]);
    expect(srv.engineOf('versions')!.catalogue.current).toBe(v2.$hash);
    // The v1 client was moved to the new engine (it reconnected) and still reads and writes in v1.
    await c1.insert(v1.todos, { title: 'second', priority: 2 }).wait({ tier: 'global' });
    expect((await c2.all(v2.todos.orderBy('name'), { tier: 'global' })).map((r) => r.name)).toEqual(['first', 'second']);
    expect(srv.lines.some((l) => l.includes('adopted schema version'))).toBe(true);
  });

  it('a client with no path to the app’s versions is told what to do', async () => {
    const srv = await server({ dev: false });
    srv.publish('versions', v1.$schema);
    // An older client the server never knew: the app needs an update.
    const stray = s.defineApp({ todos: s.table({ title: s.string() }) });
    const c = client(srv.url, stray);
    await until(() => c.syncStatus.lastError !== undefined);
    expect(c.syncStatus.lastError).toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining('this app needs an update') });
    // A newer client whose version was not published yet: the server needs it published.
    const d = client(srv.url, v2, { migrations: [m12] });
    await until(() => d.syncStatus.lastError !== undefined);
    expect(d.syncStatus.lastError).toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining('publish it with its migrations') });
  });
});
