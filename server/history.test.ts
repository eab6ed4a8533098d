/**
 * History people can use (issue 13): a row's versions with their authors (`db.history`, live with
 * `subscribeHistory`), revert and undo of a batch, concurrent edits that lost (`db.conflicts`), and
 * queries as they stood at a moment (`asOf`), against a model that replays the same writes up to
 * that moment into a fresh database, on every replica.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, s, type SyncServer } from './index.ts';
import type { Db } from '../src/db.ts';
import type { HistoryEntry } from '../src/index.ts';
import { rng } from '../src/testing/fixtures.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ title: s.string(), done: s.boolean().default(false), priority: s.int().optional(), projectId: s.ref('projects').optional() }),
});
type App = typeof app;
const T0 = Date.UTC(2026, 2, 1);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-history-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Waits until an async condition gives something truthy, and returns it. */
async function eventually<T>(cond: () => Promise<T>, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function local(wall: () => number): Db<App> {
  const db = createDb({ app, wall });
  cleanups.push(() => db.close());
  return db;
}

/** A client that follows both tables (a client holds the rows its live queries ask for). */
function client(url: string, wall: () => number): Db<App> {
  const db = createDb({ app, server: url, appId: 'hist', wall });
  const offs = [db.subscribeAll(app.projects, () => {}), db.subscribeAll(app.todos, () => {})];
  cleanups.push(async () => {
    for (const off of offs) off();
    await db.close();
  });
  return db;
}

describe('db.history', () => {
  it("lists a row's versions oldest first with author, time, changed fields, batch and tier; live with subscribeHistory", async () => {
    let now = T0;
    const db = local(() => now);
    const h = db.insert(app.todos, { title: 'Write', priority: 2 });
    const lists: HistoryEntry[][] = [];
    const off = db.subscribeHistory(app.todos, h.id, (e) => lists.push(e));
    await until(() => lists.length === 1);
    expect(lists[0]).toHaveLength(1);
    now += 1000;
    const u = db.update(app.todos, h.id, { title: 'Write the press release' });
    await until(() => lists.length === 2);
    now += 1000;
    db.delete(app.todos, h.id);
    await until(() => lists.length === 3);
    off();
    now += 1000;
    db.restore(app.todos, h.id);
    const all = await db.history(app.todos, h.id);
    expect(lists).toHaveLength(3); // stopped: no call for the restore
    expect(all.map((e) => [e.at.getTime(), e.deleted, e.changed])).toEqual([
      [T0, false, { title: 'Write', done: false, priority: 2, projectId: null }],
      [T0 + 1000, false, { title: 'Write the press release' }],
      [T0 + 2000, true, {}],
      [T0 + 3000, false, {}],
    ]);
    const author = `anon:${db.engine.clientId}`;
    for (const e of all) expect(e).toMatchObject({ author, tier: 'local' });
    expect(all[0]!.parents).toEqual([]);
    expect(all[1]!.parents).toEqual([all[0]!.versionId]);
    expect(all[1]!.batchId).toBe(u.batchId);
    expect(all[1]!.at).toBeInstanceOf(Date);
    // A row never seen is an empty history; a malformed id is an error that says so.
    expect(await db.history(app.todos, '019b0000-0000-7000-8000-000000000000')).toEqual([]);
    await expect(db.history(app.todos, 'nope')).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  });
});

describe('revert and undo', () => {
  it('revert puts a row back as it was at a version, also after a delete; the old versions stay', async () => {
    let now = T0;
    const db = local(() => now++);
    const id = db.insert(app.todos, { title: 'a', priority: 1 }).id;
    db.update(app.todos, id, { title: 'b' });
    db.update(app.todos, id, { priority: 3, done: true });
    const [v1] = await db.history(app.todos, id);
    await (await db.revert(app.todos, id, { to: v1!.versionId })).wait();
    expect(await db.one(app.todos.where({ id }))).toMatchObject({ title: 'a', priority: 1, done: false });
    expect(await db.history(app.todos, id)).toHaveLength(4);
    db.delete(app.todos, id);
    const h = await db.revert(app.todos, id, { to: v1!.versionId });
    expect(h.id).toBe(id);
    expect(await db.one(app.todos.where({ id }))).toMatchObject({ title: 'a' });
    await expect(db.revert(app.todos, id, { to: 'no-such-version' })).rejects.toMatchObject({ code: 'ROW_NOT_FOUND' });
  });

  it('revertBatch undoes a whole batch as one, and leaves alone a field changed again since', async () => {
    let now = T0;
    const db = local(() => now++);
    const keep = db.insert(app.todos, { title: 'keep', priority: 1 }).id;
    const gone = db.insert(app.todos, { title: 'gone' }).id;
    const b = db.batch((w) => {
      w.update(app.todos, keep, { title: 'changed', priority: 9 });
      w.delete(app.todos, gone);
      w.insert(app.todos, { title: 'new in batch' });
    });
    db.update(app.todos, keep, { priority: 5 }); // after the batch, by someone
    const undo = await db.revertBatch(b.batchId);
    await undo.wait();
    const rows = await db.all(app.todos.orderBy('title'));
    expect(rows.map((r) => [r.title, r.priority])).toEqual([
      ['gone', null],
      ['keep', 5],
    ]);
    // The undo is one batch of its own: undoing it brings the batch's effect back.
    await (await db.revertBatch(undo.batchId)).wait();
    expect((await db.all(app.todos.orderBy('title'))).map((r) => r.title)).toEqual(['changed', 'new in batch']);
    await expect(db.revertBatch('no-such-batch')).rejects.toMatchObject({ code: 'BATCH_NOT_FOUND' });
  });
});

describe('conflicts', () => {
  it('two offline devices edit one title: both list the same conflict, the loser picks their value back, all converge', async () => {
    const dataDir = path.join(root, 'conflicts');
    let srv: SyncServer = await startSyncServer({ port: 0, dataDir, dev: true, log: () => {} });
    const port = srv.port;
    const url = `ws://127.0.0.1:${port}`;
    let now = T0;
    const ann = client(url, () => now);
    const ben = client(url, () => now);
    const id = ann.insert(app.todos, { title: 'Plan', priority: 1 }).id;
    await ann.insert(app.todos, { title: 'other' }).wait({ tier: 'global' });
    await eventually(async () => (await ben.one(app.todos.where({ id }))) !== null);
    await srv.close();
    await until(() => ann.syncStatus.state !== 'online' && ben.syncStatus.state !== 'online');
    now += 60_000;
    ann.update(app.todos, id, { title: 'Plan the launch' });
    now += 60_000;
    ben.update(app.todos, id, { title: 'Plan the party', priority: 2 }); // later: wins the title
    // Ben's list marks rows with conflicts (on request), also when all that arrives is an edit that
    // lost (Ann's, older than his): his row does not change, its conflicts do.
    let shown: readonly Record<string, unknown>[] = [];
    const off = ben.subscribeAll(app.todos.where({ id }), ({ all }) => (shown = all), { conflicts: true });
    srv = await startSyncServer({ port, dataDir, dev: true, log: () => {} });
    cleanups.push(() => srv.close());
    await eventually(async () => (await ann.history(app.todos, id)).length === 3 && (await ben.history(app.todos, id)).length === 3);
    const seenByAnn = await ann.conflicts(app.todos, id);
    const seenByBen = await ben.conflicts(app.todos, id);
    expect(seenByAnn).toEqual(seenByBen);
    expect(seenByAnn).toEqual([
      {
        field: 'title',
        winner: { value: 'Plan the party', author: `anon:${ben.engine.clientId}`, at: new Date(T0 + 120_000), versionId: expect.any(String) },
        losers: [{ value: 'Plan the launch', author: `anon:${ann.engine.clientId}`, at: new Date(T0 + 60_000), versionId: expect.any(String) }],
      },
    ]);
    expect((await ann.one(app.todos.where({ id })))!.title).toBe('Plan the party');
    expect((await ann.all(app.todos.where({ id }), { conflicts: true }))[0]!.$conflicts).toEqual(seenByAnn);
    await eventually(async () => (shown[0]?.$conflicts as unknown[] | undefined)?.length === 1);
    expect(shown[0]!.$conflicts).toEqual(seenByAnn);
    // Ann picks her title back by reverting to her version; Ben's priority stays.
    now += 60_000;
    const mine = seenByAnn[0]!.losers[0]!.versionId;
    await (await ann.revert(app.todos, id, { to: mine })).wait({ tier: 'global' });
    for (const db of [ann, ben]) {
      await eventually(async () => (await db.one(app.todos.where({ id })))?.title === 'Plan the launch');
      // Written after seeing both sides: no longer a conflict anywhere.
      await eventually(async () => (await db.conflicts(app.todos, id)).length === 0);
    }
    await eventually(async () => (shown[0]?.$conflicts as unknown[] | undefined)?.length === 0);
    off();
    const e = srv.engineOf('hist')!;
    expect(e.getRowById(e.table('todos'), id)).toMatchObject({ title: 'Plan the launch', priority: 1 });
  });
});

describe('asOf', () => {
  it('answers random queries with includes as they stood at random moments, like a replay of the writes up to then, on every replica (randomised)', async () => {
    const seed = Number(process.env['SEED']) || (Math.random() * 2 ** 31) >>> 0;
    console.log(`asOf seed ${seed} (SEED=${seed} to run it again)`);
    const r = rng(seed);
    const srv = await startSyncServer({ port: 0, inMemory: true, dev: true, log: () => {} });
    cleanups.push(() => srv.close());
    let now = T0;
    const clients = [0, 1, 2].map(() => client(srv.url, () => now));
    type Op = { at: number; kind: 'insert' | 'update' | 'delete'; table: 'projects' | 'todos'; id: string; values?: Record<string, unknown> };
    const log: Op[] = [];
    const projects: string[] = [];
    const todos: string[] = [];
    for (let step = 0; step < 120; step++) {
      now += 1 + Math.floor(r() * 3);
      const db = clients[Math.floor(r() * clients.length)]!;
      const pick = r();
      if (projects.length === 0 || pick < 0.1) {
        const values = { name: `p${step}` };
        const id = db.insert(app.projects, values).id;
        projects.push(id);
        log.push({ at: now, kind: 'insert', table: 'projects', id, values });
      } else if (todos.length < 3 || pick < 0.45) {
        const values = { title: `t${Math.floor(r() * 50)}`, done: r() < 0.5, priority: r() < 0.2 ? null : Math.floor(r() * 5), projectId: projects[Math.floor(r() * projects.length)]! };
        const id = db.insert(app.todos, values).id;
        todos.push(id);
        log.push({ at: now, kind: 'insert', table: 'todos', id, values });
      } else if (pick < 0.9) {
        const id = todos[Math.floor(r() * todos.length)]!;
        const values = r() < 0.5 ? { done: r() < 0.5 } : { title: `t${Math.floor(r() * 50)}`, priority: Math.floor(r() * 5) };
        if (!(await db.one(app.todos.where({ id })))) continue; // not there yet, or deleted, on that client
        db.update(app.todos, id, values);
        log.push({ at: now, kind: 'update', table: 'todos', id, values });
      } else {
        const id = todos.splice(Math.floor(r() * todos.length), 1)[0]!;
        // A replica's past holds the rows it followed: let every client see the row before it goes.
        await eventually(async () => (await Promise.all(clients.map((c) => c.one(app.todos.where({ id }))))).every((x) => x !== null));
        db.delete(app.todos, id);
        log.push({ at: now, kind: 'delete', table: 'todos', id });
      }
      // Now and then, everyone catches up; in between, writes race.
      if (r() < 0.2) await Promise.all(clients.map((c) => c.all(app.todos, { tier: 'global' })));
    }
    // Everything everywhere.
    const total = await eventually(async () => {
      const counts = await Promise.all(clients.map(async (c) => JSON.stringify([await c.all(app.todos, { tier: 'global' }), await c.all(app.projects, { tier: 'global' })])));
      return counts.every((n) => n === counts[0]) && counts[0].length;
    });
    expect(total).toBeGreaterThan(0);

    const queries = [
      () =>
        app.todos
          .where({ done: r() < 0.5 })
          .orderBy('title')
          .orderBy('priority', 'desc'),
      () =>
        app.todos
          .where({ priority: { gte: Math.floor(r() * 4) } })
          .orderBy('priority')
          .limit(1 + Math.floor(r() * 8)),
      () =>
        app.todos
          .include({ project: true })
          .orderBy('title', 'desc')
          .offset(Math.floor(r() * 3)),
      () => app.projects.include({ todosViaProject: app.todos.where({ done: false }).orderBy('title') }).orderBy('name'),
      () => app.todos.select('title', 'done').where(`title contains "${Math.floor(r() * 5)}"`),
    ];
    for (let k = 0; k < 12; k++) {
      const at = T0 + Math.floor(r() * (now - T0 + 20));
      const q = queries[k % queries.length]!();
      // The model: a fresh database that saw only the writes made up to `at`, at their times.
      let replayNow = T0;
      const model = local(() => replayNow);
      for (const op of log) {
        if (op.at > at) break;
        replayNow = op.at;
        try {
          if (op.kind === 'insert') model.upsert(op.table === 'todos' ? app.todos : app.projects, op.values as never, { id: op.id });
          else if (op.kind === 'update') model.update(app.todos, op.id, op.values as never);
          else model.delete(app.todos, op.id);
        } catch {
          // The row had been deleted by then (an update that raced a delete changes nothing visible).
        }
      }
      const want = await model.all(q);
      for (const c of clients) expect(await c.all(q, { asOf: at }), `seed ${seed}, query ${k % queries.length} at +${at - T0} ms`).toEqual(want);
      expect(await clients[0]!.all(q, { asOf: new Date(at) })).toEqual(want);
    }
  });

  it('subscribeAll with asOf: the past as it was, changed only by versions from before that moment', async () => {
    let now = T0;
    const db = local(() => now);
    const id = db.insert(app.todos, { title: 'then' }).id;
    now += 10_000;
    db.update(app.todos, id, { title: 'now' });
    db.insert(app.todos, { title: 'later' });
    const seen: string[][] = [];
    const off = db.subscribeAll(app.todos.orderBy('title'), (u) => seen.push(u.all.map((t) => t.title as string)), { asOf: T0 + 5000 });
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual(['then']);
    expect(await db.all(app.todos.orderBy('title'), { asOf: T0 - 1 })).toEqual([]);
    now += 1000;
    db.insert(app.todos, { title: 'after' }); // after the moment: the past does not change
    await new Promise((res) => setTimeout(res, 20));
    expect(seen).toHaveLength(1);
    off();
    await expect(db.all(app.todos, { asOf: new Date(Number.NaN) })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
  });
});
