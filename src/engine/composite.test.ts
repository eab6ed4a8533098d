/**
 * Indexes on several columns (composite.ts): which plan a query gets, how many rows it reads,
 * answers equal to a from-scratch evaluation, long values, building one on a database that has
 * rows, dropping one, and refusing bad definitions. (The differential query test runs random
 * queries and writes over them too: src/query/differential.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../db.ts';
import { todoApp as app } from '../testing/fixtures.ts';
import { evaluate } from '../testing/reference.ts';
import { planQuery } from '../query/plan.ts';
import type { QueryBuilder } from '../query/builder.ts';
import { openDurableStore, type DurableStore } from '../store/durable-store.ts';
import { MemoryBlockFile } from '../store/blockfile.ts';
import { prefixEnd } from '../store/keys.ts';
import { metaKey } from './keyspace.ts';
import { s } from '../schema/builder.ts';
import { migrationBuilder as m } from '../lens/builder.ts';

const INDEXES = {
  todos: [
    ['projectId', 'title'],
    ['done', 'priority', 'due'],
  ],
};

function files() {
  let data = new MemoryBlockFile();
  let wal = new MemoryBlockFile();
  return {
    open: (): DurableStore => openDurableStore({ data, wal, idleCheckpointMs: Infinity }),
    reopen(): DurableStore {
      data = MemoryBlockFile.fromImage(data.crashImage());
      wal = MemoryBlockFile.fromImage(wal.crashImage());
      return this.open();
    },
  };
}

/** `count` projects × `perProject` todos, titles and priorities spread out. */
function fill(db: Db<typeof app>, perProject: number, count = 3): string[] {
  const projects: string[] = [];
  db.batch((b) => {
    for (let p = 0; p < count; p++) projects.push(b.insert(app.projects, { name: `p${p}` }).id);
    for (let i = 0; i < perProject * count; i++) {
      b.insert(app.todos, { title: `t${String((i * 7919) % 100_000).padStart(5, '0')}`, projectId: projects[i % count]!, done: i % 4 === 0, priority: i % 5, due: 1000 + (i % 7) });
    }
  });
  return projects;
}

/** The rows as a plain model (id → row), for the reference evaluation. */
async function model(db: Db<typeof app>): Promise<Map<string, Map<string, Record<string, unknown>>>> {
  const todos = (await db.all(app.todos)) as Record<string, unknown>[];
  const projects = (await db.all(app.projects)) as Record<string, unknown>[];
  return new Map([
    ['todos', new Map(todos.map((r) => [r.id as string, r]))],
    ['projects', new Map(projects.map((r) => [r.id as string, r]))],
  ]);
}

/** Counts the rows the engine reads while `fn` runs. */
function rowsRead(db: Db<typeof app>, fn: () => unknown): number {
  const engine = db.engine;
  const getRow = engine.getRow.bind(engine);
  let n = 0;
  engine.getRow = ((...args: Parameters<typeof getRow>) => (n++, getRow(...args))) as typeof getRow;
  try {
    fn();
  } finally {
    engine.getRow = getRow;
  }
  return n;
}

function planOf(db: Db<typeof app>, q: QueryBuilder<any, any>) {
  return planQuery(db.engine, db.engine.table('todos'), q.ast);
}

describe('indexes on several columns', () => {
  it('walk the rows of one project in title order: ~the window read instead of the project, same answers', async () => {
    const withIndex = createDb({ app, indexes: INDEXES });
    const without = createDb({ app });
    const projects = fill(withIndex, 400, 25);
    const theirs = fill(without, 400, 25);
    const q = (p: string) => app.todos.where({ projectId: p, done: false }).orderBy('title').limit(30);
    const plan = planOf(withIndex, q(projects[1]!));
    expect(plan.kind).toBe('scan');
    expect(plan.kind === 'scan' && plan.prefix !== undefined && plan.column?.name === 'title').toBe(true);
    // Without it: a lookup of the project's 1,000 rows (or a walk of the title index through all).
    expect(planOf(without, q(theirs[1]!)).kind).toBe('lookup');
    const m = await model(withIndex);
    for (const [i, p] of projects.slice(0, 5).entries()) {
      const expected = evaluate(m, q(p).ast);
      expect(expected).toHaveLength(30);
      expect(JSON.stringify(withIndex.allSync(q(p).ast))).toBe(JSON.stringify(expected));
      expect(rowsRead(withIndex, () => withIndex.allSync(q(p).ast))).toBeLessThan(60);
      expect(rowsRead(without, () => without.allSync(q(theirs[i]!).ast))).toBeGreaterThanOrEqual(400);
    }
    // Descending, and with a second sort term.
    const desc = app.todos.where({ projectId: projects[2]! }).orderBy('title', 'desc').orderBy('id').limit(7);
    expect(JSON.stringify(withIndex.allSync(desc.ast))).toBe(JSON.stringify(evaluate(m, desc.ast)));
    // Conditions on the walked column bound the walk within the project: it starts at t50000
    // instead of reading the project's titles before it (~200 rows), and stops at t60000.
    for (const d of ['asc', 'desc'] as const) {
      const bounded = app.todos.where('title >= "t50000" and title < "t60000" and done = false').where({ projectId: projects[3]! }).orderBy('title', d).limit(5);
      expect(planOf(withIndex, bounded)).toMatchObject({ kind: 'scan', prefix: expect.any(Uint8Array), lo: expect.any(Uint8Array), hi: expect.any(Uint8Array) });
      const expected = evaluate(m, bounded.ast);
      expect(expected).toHaveLength(5);
      expect(JSON.stringify(withIndex.allSync(bounded.ast))).toBe(JSON.stringify(expected));
      expect(rowsRead(withIndex, () => withIndex.allSync(bounded.ast))).toBeLessThan(15);
    }
    await withIndex.close();
    await without.close();
  });

  it('leave a query to a small lookup when another condition names fewer rows than the walk would read', async () => {
    const db = createDb({ app, indexes: INDEXES });
    const projects = fill(db, 400, 25);
    // 60 rows (more than the window) whose titles sort after the project's 400 others: walking the
    // project in title order would read all 400 before them.
    for (let i = 59; i >= 0; i--) db.insert(app.todos, { title: `z${String(i).padStart(2, '0')}`, projectId: projects[4]!, due: 5000 });
    const q = app.todos.where({ projectId: projects[4]!, due: 5000 }).orderBy('title').limit(30);
    const plan = planOf(db, q);
    expect(plan.kind === 'lookup' && plan.estimate).toBe(60);
    expect(rowsRead(db, () => db.allSync(q.ast))).toBe(60);
    expect((db.allSync(q.ast) as { title: string }[]).map((r) => r.title)).toEqual(Array.from({ length: 30 }, (_, i) => `z${String(i).padStart(2, '0')}`));
    // Without the rare condition, the same project is walked.
    expect(planOf(db, app.todos.where({ projectId: projects[4]!, done: false }).orderBy('title').limit(30)).kind).toBe('scan');
    await db.close();
  });

  it('plan a walk reading few index entries: the others are counted only as far as they could beat it', () => {
    const db = createDb({ app, indexes: INDEXES });
    const [p0] = fill(db, 1000);
    const store = db.engine.store;
    const scan = store.scan.bind(store);
    let read = 0;
    store.scan = function* (range) {
      for (const e of scan(range)) {
        read++;
        yield e;
      }
    };
    const plan = planOf(db, app.todos.where({ projectId: p0!, done: false }).orderBy('title').limit(30));
    store.scan = scan;
    expect(plan).toMatchObject({ kind: 'scan', column: { name: 'title' }, prefix: expect.any(Uint8Array) });
    // The walk's prefix (capped at √(30 × 3,000) + 1 = 301), then three other candidates (projectId,
    // done, and the done-led index) up to √(30 × 301) + 1 = 96 each: 589. Counting each of them up
    // to the cap, as before, read 1,204.
    expect(read).toBeLessThanOrEqual(301 + 3 * 96);
    expect(read).toBeGreaterThan(301);
  });

  it('serve equality on a leading run of columns as a lookup, and three columns as a walk of the third', async () => {
    const db = createDb({ app, indexes: INDEXES });
    fill(db, 300);
    const m = await model(db);
    const lookup = app.todos.where({ done: true, priority: 2 });
    const plan = planOf(db, lookup);
    expect(plan.kind).toBe('lookup');
    expect(plan.kind === 'lookup' && plan.conjunct.op).toBe('and');
    expect(JSON.stringify(db.allSync(lookup.ast))).toBe(JSON.stringify(evaluate(m, lookup.ast)));
    const walk = app.todos.where({ done: false, priority: 3 }).orderBy('due', 'desc').orderBy('title').limit(12);
    const wp = planOf(db, walk);
    expect(wp.kind === 'scan' && wp.column?.name).toBe('due');
    expect(JSON.stringify(db.allSync(walk.ast))).toBe(JSON.stringify(evaluate(m, walk.ast)));
    // A small lookup still wins over a walk of another column's index: one title, by due. (By
    // title, the walk of the title index would read only that title's rows: plan.ts's bounds.)
    const one = app.todos.where({ projectId: m.get('projects')!.keys().next().value as string, title: 't00000' }).orderBy('due');
    expect(planOf(db, one).kind).toBe('lookup');
    expect(JSON.stringify(db.allSync(one.ast))).toBe(JSON.stringify(evaluate(m, one.ast)));
    await db.close();
  });

  it('keep live results right as rows move between groups, and order long values by their whole text', async () => {
    const db = createDb({ app, indexes: INDEXES });
    const [p0, p1] = fill(db, 50);
    const long = (s: string) => `${'~'.repeat(400)}${s}`; // after every 't…' title, cut in the index
    const ids = ['c', 'a', 'b', 'e', 'd'].map((x) => db.insert(app.todos, { title: long(x), projectId: p0! }).id);
    const q = app.todos.where({ projectId: p0! }).orderBy('title', 'desc').limit(3);
    let live = '';
    const stop = db.subscribeAll(q, ({ all }) => (live = all.map((r) => r.title.slice(400)).join()));
    await Promise.resolve();
    expect(live).toBe('e,d,c');
    db.update(app.todos, ids[3]!, { projectId: p1! }); // 'e' leaves the project
    await Promise.resolve();
    expect(live).toBe('d,c,b');
    db.update(app.todos, ids[1]!, { title: long('z') }); // 'a' becomes the first
    await Promise.resolve();
    expect(live).toBe('z,d,c');
    db.delete(app.todos, ids[4]!);
    await Promise.resolve();
    expect(live).toBe('z,c,b');
    const m = await model(db);
    expect(JSON.stringify(db.allSync(q.ast))).toBe(JSON.stringify(evaluate(m, q.ast)));
    stop();
    await db.close();
  });

  it('are built in the background when added to a database with rows, and deleted when left out', async () => {
    const f = files();
    const db1 = createDb({ app, store: f.open() });
    const projects = fill(db1, 2000);
    await db1.engine.store.flush();
    await db1.close();
    const db2 = createDb({ app, store: f.reopen(), indexes: INDEXES });
    const t = db2.engine.table('todos');
    expect([...t.pendingIndexes].sort()).toEqual(['done,priority,due', 'projectId,title']);
    const q = app.todos.where({ projectId: projects[0]!, done: false }).orderBy('title').limit(5);
    // Meanwhile: answered without it.
    const meanwhile = planOf(db2, q);
    expect(meanwhile.kind === 'scan' && meanwhile.prefix).toBeFalsy();
    const before = JSON.stringify(db2.allSync(q.ast));
    db2.insert(app.todos, { title: 'a first', projectId: projects[0]! });
    for (let i = 0; i < 400 && t.pendingIndexes.size; i++) await new Promise((r) => setTimeout(r, 5));
    expect([...t.pendingIndexes]).toEqual([]);
    expect(planOf(db2, q).kind).toBe('scan');
    const after = db2.allSync(q.ast) as { title: string }[];
    expect(after[0]!.title).toBe('a first');
    expect(JSON.stringify(after.slice(1))).toBe(JSON.stringify(JSON.parse(before).slice(0, 4)));
    const ci = t.composites.find((c) => c.name === 'projectId,title')!;
    let entries = 0;
    for (const _ of db2.engine.store.scan({ gte: ci.prefix, lt: prefixEnd(ci.prefix) })) entries++;
    expect(entries).toBe(6001);
    await db2.engine.store.flush();
    await db2.close();
    // Opened without one of them: its entries and its record go; the other stays.
    const db3 = createDb({ app, store: f.reopen(), indexes: { todos: [['done', 'priority', 'due']] } });
    entries = 0;
    for (const _ of db3.engine.store.scan({ gte: ci.prefix, lt: prefixEnd(ci.prefix) })) entries++;
    expect(entries).toBe(0);
    const recorded = [...db3.engine.store.scan({ gte: metaKey('composite'), lt: prefixEnd(metaKey('composite')) })];
    expect(recorded).toHaveLength(1);
    expect(db3.engine.table('todos').composites.map((c) => c.name)).toEqual(['done,priority,due']);
    const plan3 = planOf(db3, q);
    expect(plan3.kind === 'scan' && plan3.prefix).toBeFalsy();
    await db3.close();
  });

  it('survive a column renamed by a schema version: named by its new name, kept without a rebuild', async () => {
    const v1 = s.defineApp({ todos: s.table({ title: s.string(), projectId: s.string() }) });
    const v2 = s.defineApp({ todos: s.table({ label: s.string(), projectId: s.string() }) });
    const m12 = m.defineMigration({ from: v1, to: v2, migrate: { todos: { label: m.renameFrom('title') } } });
    const f = files();
    const db1 = createDb({ app: v1, store: f.open(), indexes: { todos: [['projectId', 'title']] } });
    db1.batch((b) => {
      for (let i = 0; i < 300; i++) b.insert(v1.todos, { title: `t${(i * 37) % 300}`, projectId: `p${i % 3}` });
    });
    await db1.engine.store.flush();
    await db1.close();
    const db2 = createDb({ app: v2, migrations: [m12], store: f.reopen(), indexes: { todos: [['projectId', 'label']] } });
    const t = db2.engine.table('todos');
    expect([...t.pendingIndexes]).toEqual([]);
    const q = v2.todos.where({ projectId: 'p1' }).orderBy('label').limit(3);
    const plan = planQuery(db2.engine, t, db2.view.query(q.ast));
    expect(plan.kind === 'scan' && plan.prefix !== undefined && plan.column?.name).toBe('label');
    expect((await db2.all(q)).map((r) => r.label)).toEqual(['t1', 't10', 't100']);
    await db2.close();
  });

  it('refuse definitions that do not fit the schema (OPTION_INVALID), naming what is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [[['title', 'done']], /object of table name/],
      [{ nope: [['a', 'b']] }, /no table "nope"/],
      [{ todos: [['title']] }, /two or more column names/],
      [{ todos: ['title'] }, /two or more column names/],
      [{ todos: [['title', 'title']] }, /names a column twice/],
      [{ todos: [['title', 'colour']] }, /no column "colour"/],
      [{ todos: [['id', 'title']] }, /id and the system fields/],
      [{ todos: [['tags', 'title']] }, /is an array/],
      [
        {
          todos: [
            ['done', 'title'],
            ['done', 'title'],
          ],
        },
        /twice/,
      ],
      [{ todos: 'done,title' }, /takes a list of indexes/],
    ];
    for (const [indexes, message] of cases) {
      expect(() => createDb({ app, indexes: indexes as never }), JSON.stringify(indexes)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringMatching(message) }));
    }
  });
});
