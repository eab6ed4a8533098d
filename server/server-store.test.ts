/**
 * The server store's contract (server-store.ts), over both stores: files under a data folder, and
 * a real PostgreSQL of this file's own (server/testing/postgres.ts). A server stopped and started
 * again on the same store has every acknowledged batch, its apps, their schemas and their
 * permissions, which are still enforced. Then what only PostgreSQL can do: a batch is not
 * acknowledged while the database is down and lands once it is back; an unreachable database
 * fails the start with its address.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, s as b, startSyncServer, type SyncServer, type SyncServerOptions } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import { canonicalSchemaJSON } from '../src/schema/schema.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';
import { buildGraph } from '../src/query/graph.ts';
import { listBranches } from '../src/history/branches.ts';
import { findPostgres, freePort, INSTALL_POSTGRES, usePostgres } from './testing/postgres.ts';

const pgc = usePostgres();
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tables = {
  projects: b.table({ name: b.string() }),
  todos: b.table({
    title: b.string(),
    done: b.boolean().default(false),
    priority: b.int().optional(),
    tags: b.array(b.string()).optional(),
    meta: b.json().optional(),
    projectId: b.ref('projects').optional(),
  }),
};
const app = b.defineApp(tables);
/** The next version: one more table (no migration needed). */
const v2 = b.defineApp({ ...tables, notes: b.table({ text: b.string() }) });

/** Inserts into todos only with the title "allowed"; everything else is allowed. */
const permissions = definePermissions(app, ({ policy }) => {
  policy.todos.allowRead.always();
  policy.todos.allowInsert.where({ title: 'allowed' });
  policy.todos.allowUpdate.always();
  policy.todos.allowDelete.always();
  policy.projects.allowRead.always();
  policy.projects.allowInsert.always();
});

/** Everything allowed, as published rules. */
const everything = definePermissions(app, ({ policy }) => {
  policy.todos.allowRead.always();
  policy.todos.allowInsert.always();
  policy.todos.allowUpdate.always();
  policy.todos.allowDelete.always();
  policy.projects.allowRead.always();
  policy.projects.allowInsert.always();
});

/** A place for a server's data that a second server can open: a new folder, or a new database. */
const STORES: Record<string, () => Promise<Pick<SyncServerOptions, 'dataDir' | 'postgres'>>> = {
  files: async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-store-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return { dataDir: dir };
  },
  postgres: async () => ({ postgres: await pgc.cluster.database() }),
};

async function server(store: Pick<SyncServerOptions, 'dataDir' | 'postgres'>, port = 0): Promise<SyncServer> {
  const s = await startSyncServer({ port, ...store, dev: true, adminSecret: 'adm', log: () => {} });
  cleanups.push(() => s.close());
  return s;
}

function client(s: SyncServer, appId = 'todo'): Db<typeof app> {
  const db = createDb({ app, server: s.url, appId, backoff: { initialMs: 20, maxMs: 200 } });
  cleanups.push(() => db.close());
  return db;
}

/** A sample's value in Prometheus text (NaN when absent). */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

/** The titles of the todos the server's engine holds, sorted. */
function titles(s: SyncServer, appId = 'todo'): string[] {
  const g = buildGraph(s.engineOf(appId)!, app.todos.toAst(), { attach: false, onChange: () => {} });
  const out = g.view.all.map((r) => r.title as string).sort();
  g.destroy();
  return out;
}

describe.each(Object.keys(STORES))('the server store contract: %s', (kind) => {
  it('a server started again on the same store has every acknowledged batch, its apps, schemas and permissions, still enforced', async () => {
    const store = await STORES[kind]!();
    let s = await server(store);
    await s.publish('todo', app.$schema, permissions);
    await s.publish('other', app.$schema);
    const a = client(s);
    const acked = [];
    for (let i = 0; i < 20; i++) acked.push(a.insert(app.todos, { title: 'allowed', priority: i }));
    const p = a.insert(app.projects, { name: 'p' });
    const h = a.insert(app.todos, { title: 'allowed', projectId: p.id });
    await Promise.all([...acked, p, h].map((x) => x.wait({ tier: 'global' })));
    await a.update(app.todos, h.id, { done: true, tags: ['x', 'y'], meta: { k: [1, 2] } }).wait({ tier: 'global' });
    await a.delete(app.todos, acked[0]!.id).wait({ tier: 'global' });
    // Refused by the rules: never stored.
    const refused = a.insert(app.todos, { title: 'forbidden' });
    await expect(refused.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    const before = titles(s);
    expect(before).toHaveLength(20);
    // GET /metrics counts what happened: 24 batches acknowledged, 1 refused, one connection, the store's bytes.
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metric(metrics, 'jazz_batches_total{result="accepted"}')).toBe(24);
    expect(metric(metrics, 'jazz_batches_total{result="rejected"}')).toBe(1);
    expect(metric(metrics, 'jazz_batches_total{result="failed"}')).toBe(0);
    expect(metric(metrics, 'jazz_fanout_seconds_count')).toBe(24);
    expect(metric(metrics, 'jazz_connections')).toBe(1);
    expect(metric(metrics, 'jazz_store_bytes')).toBeGreaterThan(1000);
    expect(await (await fetch(`http://127.0.0.1:${s.port}/health`)).json()).toEqual({ ok: true, apps: 2, connections: 1 });
    await a.close();
    await s.close();

    s = await server(store);
    expect(titles(s)).toEqual(before);
    const engine = s.engineOf('todo')!;
    const row = engine.getRowById(engine.table('todos'), h.id)!;
    expect(row).toMatchObject({ title: 'allowed', done: true, tags: ['x', 'y'], meta: { k: [1, 2] }, projectId: p.id });
    expect(engine.getRowById(engine.table('todos'), acked[0]!.id)).toBeUndefined();
    expect(s.engineOf('other')?.catalogue.current).toBe(app.$hash);
    const res = await fetch(`http://127.0.0.1:${s.port}/apps/todo/admin/permissions`, { headers: { authorization: 'Bearer adm' } });
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(permissions)));
    // The rules are in force after the restart: a new client's forbidden insert is refused, an allowed one lands.
    const b = client(s);
    await expect(b.insert(app.todos, { title: 'forbidden' }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    await b.insert(app.todos, { title: 'allowed' }).wait({ tier: 'global' });
    const seen = await b.all(app.todos, { tier: 'global' });
    expect(seen).toHaveLength(21);
  });

  it('branches survive a restart: their records and their rows, apart from main', async () => {
    const store = await STORES[kind]!();
    let s = await server(store);
    await s.publish('todo', app.$schema);
    const a = client(s);
    const h = a.insert(app.todos, { title: 'on main' });
    await h.wait({ tier: 'global' });
    const plan = a.branch('plan');
    await plan.update(app.todos, h.id, { title: 'edited on plan' }).wait({ tier: 'global' });
    await plan.insert(app.todos, { title: 'new on plan' }).wait({ tier: 'global' });
    await a.close();
    await s.close();
    s = await server(store);
    expect(titles(s)).toEqual(['on main']);
    const b = client(s);
    const onPlan = await b.branch('plan').all(app.todos, { tier: 'global' });
    expect(onPlan.map((r) => r.title).sort()).toEqual(['edited on plan', 'new on plan']);
    // The branch's record came back too.
    expect(listBranches(s.engineOf('todo')!).map((x) => ({ name: x.name, from: x.from }))).toEqual([{ name: 'plan', from: 'main' }]);
  });

  it('a new schema version and its migrations survive a restart', async () => {
    const store = await STORES[kind]!();
    let s = await server(store);
    await s.publish('todo', app.$schema);
    const a = client(s);
    const h = a.insert(app.todos, { title: 'one' });
    await h.wait({ tier: 'global' });
    await a.close();
    await s.publish('todo', v2.$schema);
    await s.close();
    s = await server(store);
    const engine = s.engineOf('todo')!;
    expect(engine.catalogue.current).toBe(v2.$hash);
    expect(engine.catalogue.knows(app.$hash)).toBe(true);
    expect(engine.getRowById(engine.table('todos'), h.id)).toMatchObject({ title: 'one' });
  });
});

describe('on PostgreSQL only', () => {
  it('a batch is not acknowledged while PostgreSQL is down; the client keeps it and it lands once the database is back', async () => {
    const url = await pgc.cluster.database();
    let s = await server({ postgres: url });
    await s.publish('todo', app.$schema);
    const a = client(s);
    await a.insert(app.todos, { title: 'before' }).wait({ tier: 'global' });
    pgc.cluster.stop();
    let restarted = false;
    try {
      const h = a.insert(app.todos, { title: 'while down' });
      let acked = false;
      void h.wait({ tier: 'global' }).then(() => (acked = true));
      // The server cannot log it: it closes the connection (STORAGE) and the client retries.
      await until(() => a.syncStatus.lastError?.code === 'STORAGE' || a.syncStatus.state !== 'online', 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(acked).toBe(false);
      expect(titles(s)).toEqual(['before']);
      // GET /health says the store does not answer, and why.
      const health = await fetch(`http://127.0.0.1:${s.port}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, error: 'STORAGE_IO', reason: expect.stringContaining(`PostgreSQL at 127.0.0.1:${pgc.cluster.port}/`) });
      expect(metric(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text(), 'jazz_batches_total{result="failed"}')).toBeGreaterThanOrEqual(1);
      // A publication the store cannot keep: in force here, answered 503, written with the next batch.
      const published = await fetch(`http://127.0.0.1:${s.port}/apps/todo/admin/permissions`, { method: 'POST', headers: { authorization: 'Bearer adm' }, body: JSON.stringify(everything) });
      expect(published.status).toBe(503);
      expect(await published.json()).toMatchObject({ error: 'STORAGE_IO', message: expect.stringMatching(/^in force on this server but not stored yet: PostgreSQL at /) });
      pgc.cluster.start();
      restarted = true;
      await h.wait({ tier: 'global' });
      expect(titles(s)).toEqual(['before', 'while down']);
      expect((await fetch(`http://127.0.0.1:${s.port}/health`)).status).toBe(200);
    } finally {
      if (!restarted) pgc.cluster.start();
    }
    await a.close();
    await s.close();
    s = await server({ postgres: url });
    expect(titles(s)).toEqual(['before', 'while down']);
    const rules = await fetch(`http://127.0.0.1:${s.port}/apps/todo/admin/permissions`, { headers: { authorization: 'Bearer adm' } });
    expect(await rules.json()).toEqual(JSON.parse(JSON.stringify(everything)));
  });

  it('creates its tables in the database it is given, and logs each accepted batch once', async () => {
    const url = await pgc.cluster.database();
    const s = await server({ postgres: url });
    await s.publish('todo', app.$schema, permissions);
    const a = client(s);
    const h = a.insert(app.todos, { title: 'allowed' });
    await h.wait({ tier: 'global' });
    await expect(a.insert(app.todos, { title: 'forbidden' }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const apps = await c.query('SELECT app_id, hash, permissions FROM jazz_apps');
      expect(apps.rows).toEqual([{ app_id: 'todo', hash: app.$hash, permissions: JSON.parse(JSON.stringify(permissions)) }]);
      const batches = await c.query('SELECT app_id, version_count FROM jazz_batches');
      expect(batches.rows).toEqual([{ app_id: 'todo', version_count: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('the tests find PostgreSQL on PATH or under /usr/lib/postgresql/<version>/bin, and without it fail saying what to install', () => {
    const found = findPostgres();
    expect(fs.existsSync(found.initdb) && fs.existsSync(found.pgCtl)).toBe(true);
    expect(findPostgres('', path.dirname(path.dirname(found.bin))).bin).toBe(found.bin);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-no-pg-'));
    cleanups.push(() => fs.rmSync(empty, { recursive: true, force: true }));
    expect(() => findPostgres(empty, path.join(empty, 'none'))).toThrow(
      `PostgreSQL is not installed (no initdb with pg_ctl on PATH or under ${path.join(empty, 'none')}/*/bin); the PostgreSQL tests need it. Install it: ${INSTALL_POSTGRES}`,
    );
  });

  it('npm run server with JAZZ_POSTGRES: the banner names the database, a published app and its rows are there after a restart', async () => {
    const url = await pgc.cluster.database();
    const dbName = new URL(url).pathname.slice(1);
    const cli = async () => {
      const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JAZZ_'))), JAZZ_POSTGRES: url, JAZZ_ADMIN_SECRET: 'adm' };
      const proc = spawn(process.execPath, ['--import', TSX, CLI, '--port', '0', '--dev', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
      cleanups.push(() => (proc.exitCode === null ? (proc.kill('SIGKILL'), exited) : undefined));
      await until(() => /listening on ws:\/\/\S+:\d+\n[\s\S]*log:/.test(out) || proc.exitCode !== null, 30_000);
      const port = Number(/listening on ws:\/\/\S+:(\d+)/.exec(out)?.[1]);
      if (!port) throw new Error(`the CLI did not start:\n${out}`);
      return { port, banner: out, stop: () => (proc.kill('SIGTERM'), exited) };
    };
    const first = await cli();
    expect(first.banner).toContain(`storage:     PostgreSQL at 127.0.0.1:${pgc.cluster.port}/${dbName} (tables jazz_*`);
    expect(first.banner).toMatch(/apps: +none yet/);
    const res = await fetch(`http://127.0.0.1:${first.port}/apps/todo/admin/schema`, { method: 'POST', headers: { authorization: 'Bearer adm' }, body: canonicalSchemaJSON(app.$schema) });
    expect(res.status).toBe(200);
    const a = createDb({ app, server: `ws://127.0.0.1:${first.port}`, appId: 'todo', backoff: { initialMs: 20, maxMs: 200 } });
    await a.insert(app.todos, { title: 'through the CLI' }).wait({ tier: 'global' });
    await a.close();
    expect(await first.stop()).toBe(0);
    const second = await cli();
    expect(second.banner).toMatch(new RegExp(`apps: +todo +schema ${app.$hash}; no rules`));
    const b = createDb({ app, server: `ws://127.0.0.1:${second.port}`, appId: 'todo', backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => b.close());
    expect((await b.all(app.todos, { tier: 'global' })).map((r) => r.title)).toEqual(['through the CLI']);
    await b.close();
    expect(await second.stop()).toBe(0);
  });

  it('an unreachable database fails the start with its address, and nothing listens', async () => {
    const port = await freePort();
    await expect(startSyncServer({ port: 0, postgres: `postgres://nobody@127.0.0.1:${port}/nothing`, log: () => {} })).rejects.toThrow(
      `cannot reach PostgreSQL at 127.0.0.1:${port} (database "nothing")`,
    );
    await expect(startSyncServer({ port: 0, postgres: 'postgres://x@127.0.0.1/db', inMemory: true, log: () => {} })).rejects.toThrow(/postgres excludes dataDir and inMemory/);
  });
});
