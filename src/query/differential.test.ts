/**
 * The randomised differential test of the incremental query engine: thousands of random writes
 * (inserts, updates, deletes, restores, batches, ref changes) against dozens of random live
 * queries (filters, or, not, sorts, limits, offsets, includes). After every write, each live
 * result must equal the same query evaluated from scratch over a plain model of the data, and the
 * engine's own one-shot read (which plans through the indexes) must agree too. Every other seed
 * gives the database indexes on several columns (engine/composite.ts), and a share of its queries
 * is shaped to walk them: equality on all of an index's columns but the last, sorted by the last.
 * Every third seed runs on the durable store (1 KiB pages, in memory), whose planner weighs
 * candidates by its tree's estimates instead of counting.
 *
 * Seeds: JAZZ_SEEDS (count, default 15) starting at JAZZ_SEED (default random); each is printed.
 * Every run draws new seeds, so the runs add up; a longer soak: JAZZ_SEEDS=500 npx vitest run
 * src/query/differential.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../db.ts';
import { MemoryBlockFile } from '../store/blockfile.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { todoApp as app, rng, seededBytes } from '../testing/fixtures.ts';
import { evaluate } from '../testing/reference.ts';
import type { QueryBuilder } from './builder.ts';
import type { QueryAst } from './ast.ts';

const SEEDS = Number(process.env.JAZZ_SEEDS ?? 15);
const FIRST = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));
const OPS = Number(process.env.JAZZ_OPS ?? 1200);
const QUERIES = 30;

type Model = Map<string, Map<string, Record<string, unknown>>>;

/** The indexes on several columns of the even seeds' databases. */
const COMPOSITES = [
  ['projectId', 'title'],
  ['done', 'priority'],
  ['done', 'projectId', 'due'],
  ['title', 'due'],
];

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

async function runSeed(seed: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  let fakeNow = 1_700_000_000_000;
  const composites = seed % 2 === 0 ? COMPOSITES : [];
  const store = seed % 3 === 0 ? { store: openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: 1024, idleCheckpointMs: Infinity }) } : {};
  const db: Db<typeof app> = createDb({ app, wall: () => (fakeNow += Math.floor(r() * 3)), random: seededBytes(r), ...store, ...(composites.length ? { indexes: { todos: composites } } : {}) });
  const model: Model = new Map([
    ['projects', new Map()],
    ['todos', new Map()],
  ]);
  const deleted: Model = new Map([
    ['projects', new Map()],
    ['todos', new Map()],
  ]);
  const TITLES = ['a', 'b', 'c', 'd', 'ab', 'ba', 'x y', 'Z', 'é', '😀'];
  const TAGS = ['red', 'green', 'blue'];
  const projectIds = () => [...model.get('projects')!.keys()];
  const anyProjectIds = () => [...model.get('projects')!.keys(), ...deleted.get('projects')!.keys()];

  const randomTodoValues = (partial: boolean): Record<string, unknown> => {
    const v: Record<string, unknown> = {};
    const set = (k: string, f: () => unknown) => {
      if (!partial || chance(0.4)) v[k] = f();
    };
    set('title', () => pick(TITLES));
    set('done', () => chance(0.5));
    set('priority', () => (chance(0.2) ? null : Math.floor(r() * 5)));
    set('due', () => (chance(0.3) ? null : 1000 + Math.floor(r() * 10)));
    set('tags', () => (chance(0.3) ? null : TAGS.filter(() => chance(0.4))));
    set('projectId', () => (chance(0.2) || anyProjectIds().length === 0 ? null : pick(anyProjectIds())));
    if (partial && Object.keys(v).length === 0) v.title = pick(TITLES);
    return v;
  };
  const fullTodo = (v: Record<string, unknown>) => ({ title: null, done: false, priority: null, due: null, tags: null, meta: null, projectId: null, ...v });

  const randomWhere = (table: 'todos' | 'projects', depth = 0): Record<string, unknown> | string => {
    if (table === 'projects') return pick([{}, { name: pick(['p0', 'p1', 'p2']) }, { name: { in: ['p1', 'p2'] } }, 'name > "p0"']);
    const leaf = (): Record<string, unknown> => {
      switch (Math.floor(r() * 13)) {
        case 11:
          return { priority: { gte: Math.floor(r() * 5), lt: Math.floor(r() * 5) } };
        case 12:
          return { due: { gt: 1000 + Math.floor(r() * 10), lte: 1000 + Math.floor(r() * 10) } };
        case 0:
          return { done: chance(0.5) };
        case 1:
          return { priority: { gte: Math.floor(r() * 5) } };
        case 2:
          return { priority: { lt: Math.floor(r() * 5) } };
        case 3:
          return { priority: { in: [0, 2, 4] } };
        case 4:
          return { priority: { isNull: chance(0.5) } };
        case 5:
          return { title: { contains: pick(['a', 'b', ' ']) } };
        case 6:
          return { title: pick(TITLES) };
        case 7:
          return { tags: { contains: pick(TAGS) } };
        case 8:
          return { projectId: projectIds().length && chance(0.7) ? pick(projectIds()) : null };
        case 9:
          return { due: { gt: 1000 + Math.floor(r() * 10) } };
        default:
          return { title: { ne: pick(TITLES) } };
      }
    };
    if (depth < 2 && chance(0.2)) return { $or: [randomWhere(table, depth + 1), randomWhere(table, depth + 1)].map((w) => (typeof w === 'string' ? leaf() : w)) } as Record<string, unknown>;
    if (depth < 2 && chance(0.1)) return { $not: leaf() };
    if (depth === 0 && chance(0.1)) return pick(['done = false and (priority > 2 or title contains "a")', 'not (title = "a") and priority is not null', 'tags contains "red" or done = true']);
    return chance(0.3) ? { ...leaf(), ...leaf() } : leaf();
  };

  /** A value of a todos column for an equality, from the values the writes use. */
  const randomValue = (col: string): unknown => {
    switch (col) {
      case 'done':
        return chance(0.5);
      case 'title':
        return pick(TITLES);
      case 'priority':
        return Math.floor(r() * 5);
      case 'due':
        return 1000 + Math.floor(r() * 10);
      default:
        return projectIds().length ? pick(projectIds()) : null;
    }
  };

  /** Equality on an index's columns but the last, sorted by the last: the walk of that index. */
  const compositeQuery = (): QueryBuilder<any, any> => {
    const cols = pick(composites);
    const where: Record<string, unknown> = {};
    for (const c of cols.slice(0, -1)) where[c] = randomValue(c);
    const more = chance(0.3) ? randomWhere('todos') : {};
    if (typeof more === 'object') Object.assign(where, more);
    let q: QueryBuilder<any, any> = app.todos.where(where as any).orderBy(cols[cols.length - 1] as any, chance(0.5) ? 'asc' : 'desc');
    if (chance(0.3)) q = q.orderBy(pick(['id', 'title', 'due']) as any, chance(0.5) ? 'asc' : 'desc');
    if (chance(0.8)) q = q.limit(pick([1, 2, 3, 5, 8]));
    if (chance(0.2)) q = q.offset(pick([1, 2]));
    if (chance(0.3)) q = q.include({ project: true });
    return q;
  };

  const randomQuery = (): QueryBuilder<any, any> => {
    if (composites.length && chance(0.3)) return compositeQuery();
    const table = chance(0.75) ? 'todos' : 'projects';
    let q: QueryBuilder<any, any> = (app as any)[table];
    q = q.where(randomWhere(table) as any);
    const cols = table === 'todos' ? ['title', 'priority', 'due', 'done', 'id', 'projectId'] : ['name', 'id'];
    const nOrder = Math.floor(r() * 3);
    for (let i = 0; i < nOrder; i++) q = q.orderBy(pick(cols) as any, chance(0.5) ? 'asc' : 'desc');
    if (chance(0.6)) q = q.limit(pick([0, 1, 2, 3, 5, 8]));
    if (chance(0.25)) q = q.offset(pick([1, 2, 4]));
    if (table === 'todos' && chance(0.3)) q = q.include({ project: true });
    if (table === 'projects' && chance(0.6)) {
      let child: QueryBuilder<any, any> = app.todos.where(randomWhere('todos') as any);
      if (chance(0.5)) child = child.orderBy(pick(['title', 'priority']) as any, chance(0.5) ? 'asc' : 'desc');
      if (chance(0.4)) child = child.limit(pick([1, 2, 3]));
      if (chance(0.3)) child = child.include({ project: true });
      q = q.include({ todosViaProject: child });
    }
    if (chance(0.15)) q = q.select(...((table === 'todos' ? ['title', 'done'] : ['name']) as any));
    return q;
  };

  // Each live result is kept as its JSON text, taken when the callback runs (later writes cannot
  // change it), and compared as text with the reference's: the same check as a deep equality of
  // plain values, without building them again after every write.
  const subs: { q: QueryAst; latest: string; stop: () => void }[] = [];
  const addQuery = () => {
    const q = randomQuery();
    const entry = { q: q.ast, latest: '', stop: () => {} };
    entry.stop = db.subscribeAll(q, ({ all }) => (entry.latest = JSON.stringify(all)));
    subs.push(entry);
  };
  for (let i = 0; i < QUERIES / 2; i++) addQuery();

  const randomOp = (b: { insert: any; update: any; delete: any; restore: any; upsert: any }) => {
    const todos = [...model.get('todos')!.keys()];
    const gone = [...deleted.get('todos')!.keys()];
    const k = r();
    if (k < 0.08 || projectIds().length === 0) {
      const name = pick(['p0', 'p1', 'p2']);
      const { id } = b.insert(app.projects, { name });
      model.get('projects')!.set(id, { id, name });
    } else if (k < 0.35 || todos.length === 0) {
      const v = randomTodoValues(false);
      const { id } = b.insert(app.todos, v);
      model.get('todos')!.set(id, { id, ...fullTodo(v) });
    } else if (k < 0.7) {
      const id = pick(todos);
      const v = randomTodoValues(true);
      b.update(app.todos, id, v);
      Object.assign(model.get('todos')!.get(id)!, v);
    } else if (k < 0.8) {
      const id = pick(todos);
      b.delete(app.todos, id);
      deleted.get('todos')!.set(id, model.get('todos')!.get(id)!);
      model.get('todos')!.delete(id);
    } else if (k < 0.87 && gone.length) {
      const id = pick(gone);
      b.restore(app.todos, id);
      model.get('todos')!.set(id, deleted.get('todos')!.get(id)!);
      deleted.get('todos')!.delete(id);
    } else if (k < 0.92) {
      const id = pick(projectIds());
      const name = pick(['p0', 'p1', 'p2']);
      b.update(app.projects, id, { name });
      model.get('projects')!.get(id)!.name = name;
    } else if (k < 0.95) {
      const id = pick(projectIds());
      b.delete(app.projects, id);
      deleted.get('projects')!.set(id, model.get('projects')!.get(id)!);
      model.get('projects')!.delete(id);
    } else {
      // upsert an existing row or a deleted one
      const id = chance(0.5) || gone.length === 0 ? pick(todos) : pick(gone);
      const v = randomTodoValues(false);
      b.upsert(app.todos, v, { id });
      if (model.get('todos')!.has(id)) Object.assign(model.get('todos')!.get(id)!, v);
      else {
        model.get('todos')!.set(id, { id, ...fullTodo(v) });
        deleted.get('todos')!.delete(id);
      }
    }
  };

  const check = (step: number) => {
    for (const s of subs) {
      const expected = JSON.stringify(evaluate(model, s.q));
      if (s.latest !== expected) {
        console.log(`mismatch at step ${step} for query ${JSON.stringify(s.q)}`);
        expect({ step, seed, query: s.q, live: JSON.parse(s.latest) }).toEqual({ step, seed, query: s.q, live: JSON.parse(expected) });
      }
    }
  };

  await Promise.resolve();
  check(-1);
  for (let step = 0; step < OPS; step++) {
    if (chance(0.1)) {
      db.batch((b) => {
        const n = 1 + Math.floor(r() * 4);
        for (let i = 0; i < n; i++) randomOp(b);
      });
    } else {
      randomOp(db);
    }
    if (chance(0.02)) addQuery();
    if (chance(0.01) && subs.length > 5) subs.splice(Math.floor(r() * subs.length), 1)[0]!.stop();
    await Promise.resolve();
    check(step);
    if (step % 97 === 0) {
      const s = pick(subs);
      expect(plain(db.allSync(s.q))).toEqual(plain(evaluate(model, s.q)));
    }
  }
  await db.close();
}

describe('incremental queries: differential against a from-scratch evaluation', () => {
  for (let i = 0; i < SEEDS; i++) {
    const seed = FIRST + i;
    it(`seed ${seed}`, async () => {
      console.log(`differential seed ${seed} (replay: JAZZ_SEED=${seed} JAZZ_SEEDS=1)`);
      await runSeed(seed);
    });
  }
});
