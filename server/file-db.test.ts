/**
 * The whole engine on Node files (issue 3): rows, history, indexes, clock, client id, batch fates,
 * the outbox and rejected batches survive close and reopen exactly. The store's own contract,
 * crash and fault suites live in src/store and server/fs-store.test.ts; this file proves the layer
 * above, through `createDb({ driver: { type: 'file', path } })`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, s, type Db } from './index.ts';
import { todoApp, rng, seededBytes } from '../src/testing/fixtures.ts';
import { evaluate, type Tables } from '../src/testing/reference.ts';
import type { QueryBuilder } from '../src/query/builder.ts';
import type { QueryAst } from '../src/query/ast.ts';
import { planQuery } from '../src/query/plan.ts';
import type { DurableStore } from '../src/store/durable-store.ts';
import type { RandomSource } from '../src/rows/ids.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-file-db-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newPath = (name: string) => path.join(root, `${name}-${dirs++}`, 'app.db');

/** Every column type, optional and not, and a ref for includes. */
const app = s.defineApp({
  projects: s.table({ name: s.string(), code: s.enum('a', 'b', 'c').optional() }),
  items: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    n: s.int().optional(),
    score: s.float().optional(),
    due: s.timestamp().optional(),
    blob: s.bytes().optional(),
    meta: s.json().optional(),
    kind: s.enum('low', 'mid', 'high').default('low'),
    tags: s.array(s.string()).optional(),
    projectId: s.ref('projects').optional(),
  }),
});
type App = typeof app;
const TABLES = ['projects', 'items'] as const;

type FileOpts = { pageSize?: number; checkpointWalBytes?: number; cacheBytes?: number };
function open(file: string, extra: { wall?: () => number; random?: RandomSource; file?: FileOpts } = {}): Db<App> {
  return createDb({ app, driver: { type: 'file', path: file, ...extra.file }, ...(extra.wall ? { wall: extra.wall } : {}), ...(extra.random ? { random: extra.random } : {}) });
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** The queries every comparison runs: orders, limits, includes, and a `where` on every column. */
function queries(projectIds: readonly string[], blob: Uint8Array): Record<string, QueryBuilder<any, any>> {
  const p0 = projectIds[0] ?? '00000000-0000-7000-8000-000000000000';
  return {
    byTitle: app.items.orderBy('title').limit(20),
    byTitleDescOffset: app.items.orderBy('title', 'desc').offset(3).limit(10),
    openByDue: app.items.where({ done: false }).orderBy('due', 'desc').limit(15).include({ project: true }),
    byScoreThenTitle: app.items.orderBy('score').orderBy('title').limit(25),
    projectsWithItems: app.projects.orderBy('name').include({ itemsViaProject: app.items.where({ done: false }).orderBy('n', 'desc').limit(5) }),
    // Index-backed: one condition per column type.
    titleEq: app.items.where({ title: 'alpha' }),
    titleRange: app.items.where({ title: { gte: 'b', lt: 'd' } }).orderBy('title'),
    doneEq: app.items.where({ done: true }),
    intRange: app.items.where({ n: { gte: 3 } }).orderBy('n'),
    intNull: app.items.where({ n: null }),
    floatRange: app.items.where({ score: { lt: 0.5 } }),
    timestampRange: app.items.where({ due: { gt: 1_700_000_500_000 } }).orderBy('due'),
    bytesEq: app.items.where({ blob }),
    jsonEq: app.items.where({ meta: { eq: { k: 1, list: [1, 2] } } }),
    enumIn: app.items.where({ kind: { in: ['mid', 'high'] } }),
    arrayContains: app.items.where({ tags: { contains: 'red' } }).orderBy('title'),
    refEq: app.items.where({ projectId: p0 }).include({ project: true }),
    projectEnum: app.projects.where({ code: 'b' }),
  };
}

/** Plain rows of every table, keyed by id: the reference evaluator's input. */
function model(db: Db<App>): Tables {
  const t = new Map<string, Map<string, Record<string, unknown>>>();
  for (const name of TABLES) t.set(name, new Map(db.allSync(app[name]).map((r) => [r.id, { ...r }])));
  return t;
}

/** Everything the engine holds, read through its public surface. */
function dump(db: Db<App>) {
  const e = db.engine;
  const tables: Record<string, unknown> = {};
  const batches = new Set<string>();
  for (const name of TABLES) {
    const t = e.table(name);
    const ids = [...e.rowIds(name)];
    const versions = [...e.versions(name)];
    for (const v of versions) batches.add(v.batchId);
    tables[name] = {
      rows: db.allSync(app[name]),
      versions,
      ids,
      visible: ids.map((id) => e.visibleBytes(t, id)),
      history: ids.map((id) => e.history(t, id)),
      liveCount: t.liveCount,
    };
  }
  return {
    clientId: e.clientId,
    tables,
    batches: [...batches].sort().map((b) => [b, e.batchRecord(b)]),
    outbox: e.outbox(),
    catalogue: e.catalogue.json,
  };
}

function queryResults(db: Db<App>, qs: Record<string, QueryBuilder<any, any>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, q] of Object.entries(qs)) out[k] = db.allSync(q);
  return out;
}

/** Subscribes to every query and returns its first delivered result (what a live query shows). */
async function liveResults(db: Db<App>, qs: Record<string, QueryBuilder<any, any>>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const stops = Object.entries(qs).map(([k, q]) => db.subscribeAll(q, ({ all }) => (out[k] = all)));
  await tick();
  for (const stop of stops) stop();
  return out;
}

/** Every query equals a from-scratch evaluation over all rows (indexes agree with visible rows). */
function expectConsistent(db: Db<App>, qs: Record<string, QueryBuilder<any, any>>, label: string): void {
  const m = model(db);
  for (const [k, q] of Object.entries(qs)) {
    expect(db.allSync(q), `${label}: ${k}`).toEqual(evaluate(m, q.ast as QueryAst));
  }
  for (const name of TABLES) expect(db.engine.table(name).liveCount, `${label}: count of ${name}`).toBe(m.get(name)!.size);
}

const BLOB = new Uint8Array([1, 2, 3, 250]);

describe('the engine on files: close and reopen give back the same database', () => {
  it('keeps rows of every type, history, indexes, clock, client id, batch fates, outbox and rejections', async () => {
    const file = newPath('full');
    // First session runs an hour ahead; the second at real time, so only a persisted clock keeps
    // new timestamps above the old ones.
    const ahead = Date.now() + 3_600_000;
    let db = open(file, { wall: () => ahead + (Date.now() % 1000) });
    const p1 = db.insert(app.projects, { name: 'home', code: 'a' });
    const p2 = db.insert(app.projects, { name: 'work', code: 'b' });
    const full = db.insert(app.items, {
      title: 'alpha',
      done: false,
      n: 7,
      score: 0.25,
      due: new Date(1_700_000_600_000),
      blob: BLOB,
      meta: { k: 1, list: [1, 2] },
      kind: 'mid',
      tags: ['red', 'green', 'red'],
      projectId: p1.id,
    });
    const bare = db.insert(app.items, { title: 'bravo' }); // defaults and nulls
    const ids: string[] = [full.id, bare.id];
    for (let i = 0; i < 40; i++) {
      ids.push(
        db.insert(app.items, {
          title: `${'abcdef'[i % 6]}-${String(i).padStart(2, '0')}`,
          done: i % 3 === 0,
          n: i % 5 === 0 ? null : i,
          score: (i * 0.37) % 1,
          due: 1_700_000_000_000 + i * 37_000,
          blob: i % 4 === 0 ? BLOB : new Uint8Array([i]),
          meta: i % 2 ? { i } : null,
          kind: (['low', 'mid', 'high'] as const)[i % 3]!,
          tags: i % 2 ? ['red'] : ['blue', `t${i}`],
          projectId: i % 3 === 2 ? null : i % 2 ? p1.id : p2.id,
        }).id,
      );
    }
    db.update(app.items, bare.id, { n: 3, tags: ['red'], meta: { k: 1, list: [1, 2] } });
    db.update(app.items, ids[5]!, { title: 'charlie', done: true });
    db.update(app.items, ids[5]!, { score: 0.1 });
    db.delete(app.items, ids[6]!);
    db.delete(app.items, ids[7]!);
    db.restore(app.items, ids[7]!);
    db.delete(app.projects, p2.id);
    db.restore(app.projects, p2.id);
    db.upsert(app.items, { title: 'upserted', kind: 'high' }, { id: db.engine.newRowId() });
    const okBatch = db.batch((b) => {
      const p = b.insert(app.projects, { name: 'garden', code: 'c' });
      b.insert(app.items, { title: 'dig', projectId: p.id, tags: ['soil'] });
      b.update(app.items, ids[8]!, { title: 'delta', n: 99 });
      b.delete(app.items, ids[9]!);
    });
    // A batch the server turns down: its insert disappears and its update of ids[10] is undone.
    const before10 = db.allSync(app.items.where({ id: ids[10]! }))[0];
    const badBatch = db.batch((b) => {
      b.insert(app.items, { title: 'rejected row' });
      b.update(app.items, ids[10]!, { title: 'rejected title', n: -1 });
    });
    await okBatch.wait({ tier: 'local' });
    await db.engine.rejectBatch(badBatch.batchId, 'policy says no');
    expect(db.allSync(app.items.where({ id: ids[10]! }))[0]).toEqual(before10);
    expect(db.allSync(app.items.where({ title: 'rejected row' }))).toEqual([]);
    // One batch accepted by a server: out of the outbox, tier edge.
    await db.engine.confirmBatch(okBatch.batchId, 'edge');
    await db.insert(app.items, { title: 'last' }).wait({ tier: 'local' });

    const qs = queries([p1.id, p2.id], BLOB);
    expectConsistent(db, qs, 'before close');
    const before = dump(db);
    const results = queryResults(db, qs);
    for (const [k, rows] of Object.entries(results)) expect((rows as unknown[]).length, `${k} finds rows`).toBeGreaterThan(0);
    // The conditions on single columns are answered from their index, not by a scan.
    for (const k of ['titleEq', 'intNull', 'bytesEq', 'jsonEq', 'arrayContains', 'refEq', 'projectEnum']) {
      const q = qs[k]!.ast as QueryAst;
      expect(planQuery(db.engine, db.engine.table(q.table), q).kind, k).toBe('lookup');
    }
    const live = await liveResults(db, qs);
    expect(live).toEqual(results);
    const clientId = db.engine.clientId;
    const clockBefore = db.engine.clock.last;
    const maxTs = Math.max(...TABLES.flatMap((t) => [...db.engine.versions(t)].map((v) => v.ts)));
    expect(db.engine.batchRecord(badBatch.batchId)).toMatchObject({ s: 'rejected', reason: 'policy says no' });
    expect(db.engine.batchRecord(okBatch.batchId)).toMatchObject({ s: 'accepted', tier: 'edge' });
    expect(db.engine.outbox()).not.toContain(okBatch.batchId);
    expect(db.engine.outbox()).not.toContain(badBatch.batchId);
    expect(db.engine.outbox().length).toBeGreaterThan(40);
    await db.close();

    db = open(file); // real time: an hour behind the first session's clock
    expect(db.engine.clientId).toBe(clientId);
    expect(db.engine.clock.last).toBeGreaterThanOrEqual(clockBefore);
    expect(dump(db)).toEqual(before);
    expect(queryResults(db, qs)).toEqual(results);
    expect(await liveResults(db, qs)).toEqual(results);
    expectConsistent(db, qs, 'after reopen');
    expect(db.engine.history(db.engine.table('items'), ids[5]!).map((v) => v.values['title'])).toEqual(['d-03', 'charlie', 'charlie']);
    (db.engine.store as DurableStore).checkIntegrity();

    // New writes follow the persisted clock, not the (earlier) wall clock.
    const h = db.update(app.items, ids[5]!, { n: 1234 });
    await h.wait({ tier: 'local' });
    const newest = db.engine.history(db.engine.table('items'), ids[5]!).find((v) => v.values['n'] === 1234)!;
    expect(newest.ts).toBeGreaterThan(maxTs);
    expect(newest.ts).toBeGreaterThan(clockBefore);

    // The rejected batch stays rejected: recomputing ids[10] after rejecting another batch must
    // leave out the first rejected batch's version too (only the persisted rejection says so).
    const again = db.batch((b) => b.update(app.items, ids[10]!, { score: 0.999 }));
    await db.engine.rejectBatch(again.batchId, 'no again');
    expect(db.allSync(app.items.where({ id: ids[10]! }))[0]).toEqual(before10);
    const refused = db.engine.applyVersions(db.engine.batchVersions(badBatch.batchId));
    expect(refused.applied).toBe(0);
    expect(db.allSync(app.items.where({ title: 'rejected row' }))).toEqual([]);
    expectConsistent(db, qs, 'after writes in the second session');
    const second = dump(db);
    await db.close();

    db = open(file);
    expect(dump(db)).toEqual(second);
    expect(db.engine.batchRecord(again.batchId)).toMatchObject({ s: 'rejected', reason: 'no again' });
    await db.close();
  });

  it('a live query opened on the reopened database keeps up with new writes', async () => {
    const file = newPath('live');
    let db = createDb({ app: todoApp, driver: { type: 'file', path: file } });
    const p = db.insert(todoApp.projects, { name: 'p' });
    for (const t of ['d', 'b', 'a', 'c']) db.insert(todoApp.todos, { title: t, projectId: p.id });
    await db.close();
    db = createDb({ app: todoApp, driver: { type: 'file', path: file } });
    let seen: readonly { title: string; project: unknown }[] = [];
    const q = todoApp.todos.where({ done: false }).orderBy('title').limit(3).include({ project: true });
    const stop = db.subscribeAll(q, ({ all }) => (seen = all as any));
    await tick();
    expect(seen.map((r) => r.title)).toEqual(['a', 'b', 'c']);
    expect(seen[0]!.project).toMatchObject({ id: p.id, name: 'p' });
    const a = (await db.one(todoApp.todos.where({ title: 'a' })))!;
    db.update(todoApp.todos, a.id, { done: true });
    db.insert(todoApp.todos, { title: 'aa' });
    await tick();
    expect(seen.map((r) => r.title)).toEqual(['aa', 'b', 'c']);
    stop();
    await db.close();
  });
});

describe('the engine on files: randomised writes with periodic reopen', () => {
  it('equals an in-memory model after every reopen', async () => {
    const seed = Number(process.env['JAZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[file-db random] seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const next = rng(seed);
    const random = seededBytes(rng(seed ^ 0x5bd1e995));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const file = newPath('random');
    // Small pages and an early checkpoint so the run splits pages and checkpoints many times.
    const fileOpts: FileOpts = { pageSize: 4096, checkpointWalBytes: 96 * 1024, cacheBytes: 256 * 1024 };
    let db = open(file, { random, file: fileOpts });

    type Row = Record<string, unknown> & { id: string };
    const live = new Map<string, Map<string, Row>>(TABLES.map((t) => [t, new Map()]));
    const deleted = new Map<string, Map<string, Row>>(TABLES.map((t) => [t, new Map()]));
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'b', 'c'];
    const projectValues = () => ({ name: pick(words), code: pick(['a', 'b', 'c', null]) });
    const itemValues = (): Record<string, unknown> => ({
      title: pick(words) + (next() < 0.5 ? '' : String(Math.floor(next() * 50))),
      done: next() < 0.4,
      n: next() < 0.2 ? null : Math.floor(next() * 20) - 5,
      score: next() < 0.2 ? null : Math.round(next() * 1000) / 1000,
      due: next() < 0.2 ? null : 1_700_000_000_000 + Math.floor(next() * 1_000_000),
      blob: next() < 0.3 ? null : next() < 0.3 ? BLOB : new Uint8Array([Math.floor(next() * 4)]),
      meta: next() < 0.3 ? null : next() < 0.3 ? { k: 1, list: [1, 2] } : { x: Math.floor(next() * 5), s: pick(words) },
      kind: pick(['low', 'mid', 'high']),
      tags: next() < 0.2 ? null : Array.from({ length: Math.floor(next() * 4) }, () => pick(['red', 'green', 'blue'])),
      projectId: next() < 0.3 || live.get('projects')!.size === 0 ? null : pick([...live.get('projects')!.keys()]),
    });
    const valuesFor = (t: string) => (t === 'items' ? itemValues() : projectValues());
    const patchFor = (t: string) => {
      const all: Record<string, unknown> = valuesFor(t);
      const keys = Object.keys(all).filter(() => next() < 0.4);
      return Object.fromEntries((keys.length ? keys : [Object.keys(all)[0]!]).map((k) => [k, all[k]]));
    };

    /** Applies one write to the model, given the id the engine wrote. */
    type Op = { kind: 'insert' | 'update' | 'delete' | 'restore' | 'upsert'; table: string; id?: string; values?: Record<string, unknown> };
    const applyModel = (op: Op, id: string) => {
      const l = live.get(op.table)!;
      const d = deleted.get(op.table)!;
      switch (op.kind) {
        case 'insert':
          l.set(id, { id, ...op.values! });
          break;
        case 'upsert':
          if (l.has(id)) l.set(id, { ...l.get(id)!, ...op.values! });
          else {
            d.delete(id);
            l.set(id, { id, ...op.values! });
          }
          break;
        case 'update':
          l.set(id, { ...l.get(id)!, ...op.values! });
          break;
        case 'delete':
          if (l.has(id)) {
            d.set(id, l.get(id)!);
            l.delete(id);
          }
          break;
        case 'restore':
          if (d.has(id)) {
            l.set(id, d.get(id)!);
            d.delete(id);
          }
          break;
      }
    };
    const cloneModel = () => [new Map([...live].map(([k, v]) => [k, new Map(v)])), new Map([...deleted].map(([k, v]) => [k, new Map(v)]))] as const;
    /** A random valid op against the model as it is now (ops of a batch see earlier ones). */
    const randomOp = (): Op => {
      const table = next() < 0.15 ? 'projects' : 'items';
      const l = live.get(table)!;
      const d = deleted.get(table)!;
      const r = next();
      if (r < 0.35 || l.size === 0) return { kind: 'insert', table, values: valuesFor(table) };
      if (r < 0.7) return { kind: 'update', table, id: pick([...l.keys()]), values: patchFor(table) };
      if (r < 0.8) return { kind: 'delete', table, id: pick([...l.keys()]) };
      if (r < 0.9 && d.size > 0) return { kind: 'restore', table, id: pick([...d.keys()]) };
      const target = next() < 0.5 && d.size > 0 ? pick([...d.keys()]) : next() < 0.5 ? pick([...l.keys()]) : db.engine.newRowId();
      return { kind: 'upsert', table, id: target, values: valuesFor(table) };
    };
    const writeOne = (op: Op) => {
      const t = app[op.table as 'items'];
      switch (op.kind) {
        case 'insert':
          return db.insert(t, op.values as any);
        case 'update':
          return db.update(t, op.id!, op.values as any);
        case 'delete':
          return db.delete(t, op.id!);
        case 'restore':
          return db.restore(t, op.id!);
        case 'upsert':
          return db.upsert(t, op.values as any, { id: op.id! });
      }
    };

    const checkModel = (label: string) => {
      for (const name of TABLES) {
        const expected = [...live.get(name)!.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(db.allSync(app[name as 'items']), `${label}: rows of ${name} (seed ${seed})`).toEqual(expected);
        const t = db.engine.table(name);
        for (const [id, row] of deleted.get(name)!) {
          const st = db.engine.getVisibleState(t, id);
          expect(st?.deleted, `${label}: ${name} ${id} deleted (seed ${seed})`).toBe(true);
          expect({ id, ...st!.values }, `${label}: ${name} ${id} (seed ${seed})`).toEqual(row);
        }
      }
    };

    const OPS = Number(process.env['JAZZ_FILE_DB_OPS'] ?? 3000);
    let pending: Promise<unknown>[] = [];
    let reopens = 0;
    let rejections = 0;
    let nextReopen = 150 + Math.floor(next() * 300);
    for (let i = 0; i < OPS; i++) {
      const r = next();
      if (r < 0.7) {
        const op = randomOp();
        const h = writeOne(op);
        applyModel(op, h.id);
        pending.push(h.wait({ tier: 'local' }));
      } else {
        // A batch of 2-5 ops; now and then the server rejects it (right away, so the model
        // simply goes back to what it was before the batch).
        const saved = cloneModel();
        const ops: Op[] = [];
        const handle = db.batch((b) => {
          const n = 2 + Math.floor(next() * 4);
          for (let k = 0; k < n; k++) {
            const op = randomOp();
            const t = op.table;
            const w =
              op.kind === 'insert'
                ? b.insert(t, op.values!)
                : op.kind === 'update'
                  ? b.update(t, op.id!, op.values!)
                  : op.kind === 'delete'
                    ? b.delete(t, op.id!)
                    : op.kind === 'restore'
                      ? b.restore(t, op.id!)
                      : b.upsert(t, op.values!, { id: op.id! });
            applyModel(op, w.id);
            ops.push(op);
          }
        });
        pending.push(handle.wait({ tier: 'local' }));
        if (r > 0.95) {
          rejections++;
          pending.push(db.engine.rejectBatch(handle.batchId, 'random rejection'));
          live.clear();
          deleted.clear();
          for (const [k, v] of saved[0]) live.set(k, v);
          for (const [k, v] of saved[1]) deleted.set(k, v);
        }
      }
      if (i % 50 === 0) {
        await Promise.all(pending);
        pending = [];
      }
      if (i === nextReopen || i === OPS - 1) {
        nextReopen = i + 150 + Math.floor(next() * 400);
        // Half of the time close with writes still in flight: close makes them durable.
        if (next() < 0.5) await Promise.all(pending);
        pending = [];
        checkModel(`before reopen ${reopens}`);
        const before = dump(db);
        const clock = db.engine.clock.last;
        await db.close();
        db = open(file, { random, file: fileOpts });
        reopens++;
        expect(db.engine.clock.last).toBeGreaterThanOrEqual(clock);
        expect(dump(db), `dump after reopen ${reopens} (seed ${seed})`).toEqual(before);
        checkModel(`after reopen ${reopens}`);
        expectConsistent(db, queries([...live.get('projects')!.keys()], BLOB), `after reopen ${reopens} (seed ${seed})`);
        (db.engine.store as DurableStore).checkIntegrity();
      }
    }
    await db.close();
    console.log(`[file-db random] ${OPS} ops, ${reopens} reopens, ${rejections} rejected batches (seed ${seed})`);
    expect(reopens).toBeGreaterThan(3);
  }, 120_000);
});

describe('the engine on files: typed errors', () => {
  it('refuses a database already open elsewhere with STORAGE_LOCKED', async () => {
    const file = newPath('locked');
    const db = createDb({ app: todoApp, driver: { type: 'file', path: file } });
    expect(() => createDb({ app: todoApp, driver: { type: 'file', path: file } })).toThrow(expect.objectContaining({ code: 'STORAGE_LOCKED' }));
    await db.close();
    const again = createDb({ app: todoApp, driver: { type: 'file', path: file } });
    await again.close();
  });

  it('refuses a file that is not a database with STORAGE_FORMAT and leaves it alone', () => {
    const file = newPath('garbage');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const garbage = new Uint8Array(40_000);
    seededBytes(rng(7))(garbage);
    fs.writeFileSync(file, garbage);
    expect(() => createDb({ app: todoApp, driver: { type: 'file', path: file } })).toThrow(expect.objectContaining({ code: 'STORAGE_FORMAT' }));
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(garbage);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('a missing path, an unknown driver or an option nobody reads is a typed error, not a crash nor ignored', () => {
    expect(() => createDb({ app: todoApp, driver: { type: 'file', path: '' } })).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    expect(() => createDb({ app: todoApp, driver: { type: 'disk' } as never })).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    expect(() => createDb({ app: todoApp, driver: { type: 'file', path: 'x.db', pagesize: 4096 } as never })).toThrow(
      expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringContaining('"pagesize"') }),
    );
    // jazz-tools' names for things this API does otherwise are refused, not ignored.
    expect(() => createDb({ app: todoApp, env: 'dev' } as never)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringContaining('"env"') }));
    expect(() => createDb({ app: todoApp, userBranch: 'draft' } as never)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringContaining('branch') }));
    expect(fs.existsSync('x.db')).toBe(false);
  });
});
