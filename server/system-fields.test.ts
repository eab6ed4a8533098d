/**
 * Authorship and system fields (issue 13): every row carries `$createdAt`, `$createdBy`,
 * `$updatedAt` and `$updatedBy`, derived from its versions; they are indexed and usable in `where`,
 * `orderBy`, `select` and live queries on every driver, and a store written before they existed is
 * upgraded when it is opened. The server-side half (who may claim to be the author) is in
 * server/authorship.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, s, type Db } from './index.ts';
import { rng } from '../src/testing/fixtures.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-sys-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ title: s.string(), done: s.boolean().default(false), projectId: s.ref('projects').optional() }),
});
type App = typeof app;
const T0 = Date.UTC(2026, 0, 1);

const drivers = {
  memory: () => ({ driver: { type: 'memory' as const } }),
  file: () => ({ driver: { type: 'file' as const, path: path.join(root, `db-${dirs++}`, 'app.db') } }),
};

/** A clock the test moves by hand, so creation and update times are known. */
function clock(): { wall: () => number; set: (t: number) => void } {
  let now = T0;
  return { wall: () => now, set: (t) => (now = t) };
}

describe.each(Object.keys(drivers) as (keyof typeof drivers)[])('system fields on %s', (driver) => {
  it('are the first and the latest version: time and author, selected, filtered and ordered', async () => {
    const c = clock();
    const db = createDb({ app, ...drivers[driver](), wall: c.wall });
    try {
      const author = db.engine.author;
      expect(author).toBe(`anon:${db.engine.clientId}`);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        c.set(T0 + i * 1000);
        ids.push(db.insert(app.todos, { title: `t${i}` }).id);
      }
      c.set(T0 + 60_000);
      db.update(app.todos, ids[3]!, { done: true });

      const rows = await db.all(app.todos.select('*', '$createdAt', '$updatedAt', '$createdBy', '$updatedBy').orderBy('title'));
      expect(rows).toHaveLength(10);
      for (const [i, r] of rows.entries()) {
        expect(r).toMatchObject({ title: `t${i}`, $createdAt: T0 + i * 1000, $createdBy: author, $updatedBy: author });
        expect(r.$updatedAt).toBe(i === 3 ? T0 + 60_000 : T0 + i * 1000);
      }
      // Not selected: not returned, though the query reads them.
      const plain = await db.all(app.todos.where({ $createdAt: { gte: T0 + 5000 } }).orderBy('$createdAt', 'desc'));
      expect(plain.map((r) => r.title)).toEqual(['t9', 't8', 't7', 't6', 't5']);
      expect(Object.keys(plain[0]!)).not.toContain('$createdAt');
      // The string grammar, Dates in the object form, and $updatedAt after the update.
      expect((await db.all(app.todos.where(`$updatedAt > ${T0 + 30_000}`))).map((r) => r.id)).toEqual([ids[3]]);
      expect((await db.all(app.todos.where({ $createdAt: { lt: new Date(T0 + 2000) } }).orderBy('title'))).map((r) => r.title)).toEqual(['t0', 't1']);
      expect(await db.all(app.todos.where({ $createdBy: author }))).toHaveLength(10);
      expect(await db.all(app.todos.where({ $createdBy: 'someone else' }))).toHaveLength(0);
      // Only system fields selected: id and those.
      const [one] = await db.all(app.todos.where({ id: ids[0]! }).select('$createdBy'));
      expect(one).toEqual({ id: ids[0], $createdBy: author });
    } finally {
      await db.close();
    }
  });

  it('move a live query ordered by $updatedAt when a row is updated, also to an equal value', async () => {
    const c = clock();
    const db = createDb({ app, ...drivers[driver](), wall: c.wall });
    try {
      const ids = [0, 1, 2].map((i) => {
        c.set(T0 + i);
        return db.insert(app.todos, { title: `t${i}` }).id;
      });
      const seen: string[][] = [];
      const off = db.subscribeAll(app.todos.orderBy('$updatedAt', 'desc').limit(2), (u) => seen.push(u.all.map((r) => r.title as string)));
      await expect.poll(() => seen.at(-1)).toEqual(['t2', 't1']);
      c.set(T0 + 100);
      db.update(app.todos, ids[0]!, { title: 't0' }); // same value: a new version all the same
      await expect.poll(() => seen.at(-1)).toEqual(['t0', 't2']);
      off();
    } finally {
      await db.close();
    }
  });

  it('agree with a model over random writes (randomised)', async () => {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    console.log(`system fields ${driver} seed ${seed}`);
    const r = rng(seed);
    const c = clock();
    const db = createDb({ app, ...drivers[driver](), wall: c.wall });
    try {
      const model = new Map<string, { created: number; updated: number }>();
      let now = T0;
      for (let step = 0; step < 400; step++) {
        now += 1 + Math.floor(r() * 5);
        c.set(now);
        const ids = [...model.keys()];
        const pick = r();
        if (ids.length === 0 || pick < 0.4) {
          const id = db.insert(app.todos, { title: `t${step}` }).id;
          model.set(id, { created: now, updated: now });
        } else if (pick < 0.85) {
          const id = ids[Math.floor(r() * ids.length)]!;
          db.update(app.todos, id, { done: r() < 0.5 });
          model.get(id)!.updated = now;
        } else {
          const id = ids[Math.floor(r() * ids.length)]!;
          db.delete(app.todos, id);
          model.delete(id);
        }
      }
      const lo = T0 + 200;
      const hi = T0 + 800;
      const want = [...model.entries()].filter(([, m]) => m.updated >= lo && m.updated < hi).sort((a, b) => b[1].updated - a[1].updated || (a[0] < b[0] ? -1 : 1));
      const got = await db.all(
        app.todos
          .where({ $updatedAt: { gte: lo, lt: hi } })
          .orderBy('$updatedAt', 'desc')
          .select('$createdAt', '$updatedAt'),
      );
      expect(got.map((x) => [x.id, x.$createdAt, x.$updatedAt])).toEqual(want.map(([id, m]) => [id, m.created, m.updated]));
    } finally {
      await db.close();
    }
  });
});

describe('a store written before system fields existed', () => {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'row-format-1', 'app.db');
  /** What make.ts wrote (its output when it ran). */
  const written = { clientId: '045a4730ab174205', todos: 20 };

  it('is upgraded on open: every row gets its fields from its history, and they are indexed', async () => {
    const file = path.join(root, `old-${dirs++}`, 'app.db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(fixture, file);
    let db: Db<App> = createDb({ app, driver: { type: 'file', path: file } });
    try {
      const rows = await db.all(app.todos.select('*', '$createdAt', '$updatedAt', '$createdBy', '$updatedBy').orderBy('$createdAt'));
      expect(rows).toHaveLength(written.todos - 1); // one was deleted
      for (const row of rows) {
        const i = Number(/^todo (\d+)/.exec(row.title as string)![1]);
        expect(row.$createdAt).toBe(T0 + (i + 1) * 60_000);
        expect(row.$createdBy).toBe(written.clientId); // authors were client ids then
        expect(row.$updatedBy).toBe(written.clientId);
        // Rows 0, 3, 6, … were updated in that order after the inserts, and row 1 renamed.
        const updates = [0, 3, 6, 9, 12, 15, 18];
        const expected = updates.includes(i) ? T0 + 21 * 60_000 + updates.indexOf(i) * 60_000 : i === 1 ? T0 + 28 * 60_000 : row.$createdAt;
        expect(row.$updatedAt, row.title as string).toBe(expected);
        expect(row.done).toBe(updates.includes(i));
      }
      await db.close();
      // Opened again: nothing to upgrade, same answers, through the system-field indexes.
      db = createDb({ app, driver: { type: 'file', path: file } });
      const recent = await db.all(app.todos.where({ $updatedAt: { gt: T0 + 20 * 60_000 } }).orderBy('$updatedAt', 'desc'));
      expect(recent.map((r) => r.title)).toEqual(['todo 1, renamed', 'todo 18', 'todo 15', 'todo 12', 'todo 9', 'todo 6', 'todo 3', 'todo 0']);
      // New writes carry today's authors beside the old ones.
      const id = db.insert(app.todos, { title: 'new' }).id;
      const [mine] = await db.all(app.todos.where({ id }).select('$createdBy'));
      expect(mine!.$createdBy).toBe(`anon:${db.engine.clientId}`);
      expect(await db.all(app.todos.where({ $createdBy: written.clientId }))).toHaveLength(written.todos - 1);
    } finally {
      await db.close();
    }
  });
});
