/**
 * Migrations: defining and checking them, and an engine that reads and writes across versions —
 * a database upgraded (and downgraded) in place, old and new versions side by side on one engine,
 * chains of migrations, and the typed errors for everything that does not add up.
 */
import { describe, expect, it } from 'vitest';
import { s as schema } from '../schema/builder.ts';
import { migrationBuilder } from './builder.ts';
import { migrationFromJSON, type Migration } from './migration.ts';
import { createDb, type Db } from '../db.ts';
import { openDurableStore, type DurableStore } from '../store/durable-store.ts';
import { MemoryBlockFile } from '../store/blockfile.ts';
import type { KvStore } from '../store/types.ts';

const s = { ...schema, ...migrationBuilder };

const v1 = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ title: s.string(), priority: s.int(), projectId: s.ref('projects').optional() }),
  legacy: s.table({ note: s.string() }),
});
const v2 = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ name: s.string(), done: s.boolean().default(false), projectId: s.ref('projects').optional() }),
  tags: s.table({ label: s.string() }),
});
const m12 = s.defineMigration({
  from: v1,
  to: v2,
  migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: false }), priority: s.drop.int({ backwardsDefault: 0 }) } },
  createTables: { tags: true },
  dropTables: { legacy: true },
});
const v3 = s.defineApp({
  projects: s.table({ name: s.string() }),
  tasks: s.table({ name: s.string(), done: s.boolean().default(false), projectId: s.ref('projects').optional(), due: s.timestamp().optional() }),
  tags: s.table({ label: s.string() }),
});
const m23 = s.defineMigration({ from: v2, to: v3, renameTables: { tasks: s.renameTableFrom('todos') }, migrate: { tasks: { due: s.add.timestamp() } } });

/** A durable store on memory files that can be closed and opened again. */
function files() {
  let data = new MemoryBlockFile();
  let wal = new MemoryBlockFile();
  let store: DurableStore | undefined;
  return {
    open(): KvStore {
      store = openDurableStore({ data, wal, pageSize: 4096 });
      return store;
    },
    /** The same files, as a closed (or crashed) store left them. */
    reopen(): KvStore {
      data = MemoryBlockFile.fromImage(data.crashImage());
      wal = MemoryBlockFile.fromImage(wal.crashImage());
      return this.open();
    },
  };
}

async function settle(db: Db<any>): Promise<void> {
  await db.engine.store.flush();
}

describe('defining migrations', () => {
  it('turns the jazz-tools shape into checked lens operations, and its JSON form loads back', () => {
    expect(m12.from).toBe(v1.$hash);
    expect(m12.to).toBe(v2.$hash);
    expect(m12.ops.map((o) => o.op)).toEqual(['renameColumn', 'addColumn', 'dropColumn', 'addTable', 'dropTable']);
    const back = migrationFromJSON(JSON.parse(JSON.stringify(m12)));
    expect(back.ops).toEqual(m12.ops);
  });

  it('refuses what does not add up, naming the table and column (MIGRATION_INVALID)', () => {
    const bad = (def: Parameters<typeof s.defineMigration>[0], message: RegExp) =>
      expect(() => s.defineMigration(def)).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringMatching(message) }));
    // A column that is new and not accounted for.
    bad(
      { from: v1, to: v2, migrate: { todos: { name: s.renameFrom('title'), priority: s.drop.int({ backwardsDefault: 0 }) } }, createTables: { tags: true }, dropTables: { legacy: true } },
      /todos\.done is not accounted for/,
    );
    // A column that is gone and not accounted for.
    bad(
      { from: v1, to: v2, migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean() } }, createTables: { tags: true }, dropTables: { legacy: true } },
      /todos\.priority is not accounted for/,
    );
    // Tables.
    bad({ from: v1, to: v2, migrate: m12Migrate(), dropTables: { legacy: true } }, /table "tags" of the new schema is not accounted for/);
    bad({ from: v1, to: v2, migrate: m12Migrate(), createTables: { tags: true } }, /table "legacy" of the old schema is not accounted for/);
    // A type change without a drop and an add.
    const v1b = s.defineApp({ todos: s.table({ title: s.string(), priority: s.string() }) });
    const v1a = s.defineApp({ todos: s.table({ title: s.string(), priority: s.int() }) });
    bad({ from: v1a, to: v1b }, /todos\.priority changes its type \(int → string\)/);
    bad({ from: v1a, to: v1b, migrate: { todos: { priority: s.add.string({ default: 'x' }) } } }, /adding todos\.priority: the column exists already/);
    // A required column added without a default.
    const v1c = s.defineApp({ todos: s.table({ title: s.string(), priority: s.int(), owner: s.string() }) });
    bad({ from: v1a, to: v1c, migrate: { todos: { owner: s.add.string() } } }, /todos\.owner is required: give it a default/);
    // A rename whose type changes, and one from a column that does not exist.
    bad({ from: v1a, to: s.defineApp({ todos: s.table({ label: s.int(), priority: s.int() }) }), migrate: { todos: { label: s.renameFrom('title') } } }, /renamed from "title" but its type changes/);
    bad(
      { from: v1a, to: s.defineApp({ todos: s.table({ label: s.string(), priority: s.int() }) }), migrate: { todos: { label: s.renameFrom('nope') } } },
      /renamed from "nope", which the old table does not have/,
    );
    // Stated types must be the schema's.
    bad({ from: v1a, to: v1c, migrate: { todos: { owner: s.add.int({ default: 1 }) } } }, /added as int, but the new schema has it as string/);
  });

  it('refuses a draft, a forged hash, a cycle and a second migration between two versions', () => {
    expect(() => migrationFromJSON({ ...m12, draft: ['is todos.name a rename of todos.title?'] })).toThrow(
      expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringContaining('is a draft: is todos.name a rename of todos.title?') }),
    );
    expect(() => migrationFromJSON({ ...m12, from: '0123456789abcdef' })).toThrow(
      expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringContaining('is not the hash of its fromSchema') }),
    );
    const m31 = s.defineMigration({
      from: v3,
      to: v1,
      renameTables: { todos: s.renameTableFrom('tasks') },
      migrate: { todos: { title: s.renameFrom('name'), priority: s.add.int({ default: 0 }), done: s.drop.boolean({ backwardsDefault: false }), due: s.drop.timestamp() } },
      createTables: { legacy: true },
      dropTables: { tags: true },
    });
    expect(() => createDb({ app: v3, migrations: [m12, m23, m31] })).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringContaining('closes a cycle') }));
    const other = s.defineMigration({
      from: v1,
      to: v2,
      migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: true }), priority: s.drop.int({ backwardsDefault: 5 }) } },
      createTables: { tags: true },
      dropTables: { legacy: true },
    });
    expect(() => createDb({ app: v2, migrations: [m12, other] })).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringContaining('two different migrations') }));
    // The same migration twice is fine.
    createDb({ app: v2, migrations: [m12, JSON.stringify(m12)] });
  });
});

function m12Migrate() {
  return { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: false }), priority: s.drop.int({ backwardsDefault: 0 }) } };
}

describe('an engine across schema versions', () => {
  it('upgrades a database in place: old rows in the new shape, indexed, nothing rewritten; old readers keep what old writers wrote', async () => {
    const f = files();
    const db1 = createDb({ app: v1, store: f.open() });
    const p = db1.insert(v1.projects, { name: 'p' });
    const a = db1.insert(v1.todos, { title: 'alpha', priority: 3, projectId: p.id });
    db1.insert(v1.todos, { title: 'beta', priority: 5 });
    db1.insert(v1.legacy, { note: 'kept' });
    await settle(db1);
    await db1.close();

    const db2 = createDb({ app: v2, migrations: [m12], store: f.reopen() });
    expect((await db2.all(v2.todos.orderBy('name'))).map((r) => ({ ...r, id: undefined }))).toEqual([
      { id: undefined, name: 'alpha', done: false, projectId: p.id },
      { id: undefined, name: 'beta', done: false, projectId: null },
    ]);
    // The renamed and the added column are indexed and queried.
    expect((await db2.all(v2.todos.where({ done: false }).orderBy('name', 'desc'))).map((r) => r.name)).toEqual(['beta', 'alpha']);
    expect((await db2.all(v2.todos.where({ name: { gte: 'b' } }))).map((r) => r.name)).toEqual(['beta']);
    expect((await db2.all(v2.todos.where({ name: 'alpha' }).include({ project: true })))[0]!['project']).toMatchObject({ name: 'p' });
    // Writes in v2; a v2 row read through v1 gets the dropped column's backwards default.
    db2.update(v2.todos, a.id, { name: 'alpha 2', done: true });
    const c = db2.insert(v2.todos, { name: 'gamma' });
    db2.insert(v2.tags, { label: 'red' });
    const old = db2.as(v1);
    expect((await old.all(v1.todos.orderBy('title'))).map((r) => [r.title, r.priority])).toEqual([
      ['alpha 2', 3],
      ['beta', 5],
      ['gamma', 0],
    ]);
    expect((await old.all(v1.legacy)).map((r) => r.note)).toEqual(['kept']);
    // A v1 write of the dropped column: v1 readers see it, v2 readers never do.
    old.update(v1.todos, c.id, { priority: 9 });
    old.update(v1.todos, a.id, { title: 'alpha 3' });
    expect((await old.one(v1.todos.where({ id: c.id })))!.priority).toBe(9);
    expect(await db2.one(v2.todos.where({ id: c.id }))).toEqual({ id: c.id, name: 'gamma', done: false, projectId: null });
    expect((await db2.one(v2.todos.where({ id: a.id })))!.name).toBe('alpha 3');
    // An old view's query on the old names, and live queries in both shapes.
    expect((await old.all(v1.todos.where({ priority: { gte: 5 } }).orderBy('priority'))).map((r) => r.title)).toEqual(['beta', 'gamma']);
    let live1: unknown[] = [];
    let live2: unknown[] = [];
    const stop1 = old.subscribeAll(v1.todos.where({ priority: 0 }).orderBy('title'), ({ all }) => (live1 = all.map((r) => r.title)));
    const stop2 = db2.subscribeAll(v2.todos.where({ done: true }), ({ all }) => (live2 = all.map((r) => r.name)));
    await Promise.resolve();
    db2.insert(v2.todos, { name: 'delta', done: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(live1).toEqual(['delta']);
    expect(live2).toEqual(['alpha 3', 'delta']);
    stop1();
    stop2();
    await settle(db2);
    await db2.close();

    // Opened by the old app again (a tab that has not updated): the store knows both versions.
    const back = createDb({ app: v1, store: f.reopen() });
    expect((await back.all(v1.todos.orderBy('title'))).map((r) => [r.title, r.priority])).toEqual([
      ['alpha 3', 3],
      ['beta', 5],
      ['delta', 0],
      ['gamma', 9],
    ]);
    const newer = back.as(v2);
    expect((await newer.all(v2.todos.where({ done: true }).orderBy('name'))).map((r) => r.name)).toEqual(['alpha 3', 'delta']);
    expect((await newer.all(v2.tags)).map((r) => r.label)).toEqual(['red']);
    await back.close();
  });

  it('builds the index of an added column in the background: queries read around it meanwhile, writes keep it, a close resumes it', async () => {
    const f = files();
    const db1 = createDb({ app: v1, store: f.open() });
    const ids: string[] = [];
    for (let n = 0; n < 5000; n += 500) {
      db1.batch((b) => {
        for (let i = 0; i < 500; i++) ids.push(b.insert(v1.todos, { title: `t${String(n + i).padStart(5, '0')}`, priority: i % 3 }).id);
      });
    }
    await settle(db1);
    await db1.close();
    const db2 = createDb({ app: v2, migrations: [m12], store: f.reopen() });
    const todos = db2.engine.table('todos');
    expect([...todos.pendingIndexes]).toEqual(['done']);
    // Before the build: right answers without the index, ordered by the column too.
    db2.update(v2.todos, ids[10]!, { done: true });
    db2.update(v2.todos, ids[4000]!, { done: true });
    expect((await db2.all(v2.todos.where({ done: true }))).map((r) => r.id)).toEqual([ids[10], ids[4000]]);
    expect((await db2.all(v2.todos.orderBy('done', 'desc').limit(2))).map((r) => r.id)).toEqual([ids[4000], ids[10]]);
    // Closed before it finished: the next open goes on from where it was.
    await settle(db2);
    await db2.close();
    const db3 = createDb({ app: v2, migrations: [m12], store: f.reopen() });
    const t3 = db3.engine.table('todos');
    for (let i = 0; i < 200 && t3.pendingIndexes.size; i++) await new Promise((r) => setTimeout(r, 5));
    expect([...t3.pendingIndexes]).toEqual([]);
    const entries = (value: boolean) => {
      const p = t3.indexPrefixes.get('done')!;
      let n = 0;
      for (const e of db3.engine.store.scan({ gte: p, lt: new Uint8Array([...p, 0xff]) })) if (e.key[p.length] === (value ? 0x03 : 0x02)) n++;
      return n;
    };
    expect(entries(true)).toBe(2);
    expect(entries(false)).toBe(4998);
    expect((await db3.all(v2.todos.where({ done: true }).orderBy('name'))).map((r) => r.id)).toEqual([ids[10], ids[4000]]);
    expect(await db3.all(v2.todos.where({ done: false }))).toHaveLength(4998);
    await db3.close();
  });

  it('follows a chain of migrations (v1 → v2 → v3) either way, with a renamed table', async () => {
    const f = files();
    const db1 = createDb({ app: v1, store: f.open() });
    db1.insert(v1.todos, { title: 'from v1', priority: 2 });
    await settle(db1);
    await db1.close();
    const db3 = createDb({ app: v3, migrations: [m12, m23], store: f.reopen() });
    expect((await db3.all(v3.tasks)).map((r) => ({ name: r.name, done: r.done, due: r.due }))).toEqual([{ name: 'from v1', done: false, due: null }]);
    const t = db3.insert(v3.tasks, { name: 'from v3', due: new Date(1_800_000_000_000) });
    const v1view = db3.as(v1);
    expect((await v1view.all(v1.todos.orderBy('title'))).map((r) => [r.title, r.priority])).toEqual([
      ['from v1', 2],
      ['from v3', 0],
    ]);
    v1view.update(v1.todos, t.id, { title: 'renamed in v1' });
    expect(await db3.one(v3.tasks.where({ id: t.id }))).toMatchObject({ name: 'renamed in v1', due: 1_800_000_000_000 });
    expect((await db3.as(v2).all(v2.todos.orderBy('name'))).map((r) => r.name)).toEqual(['from v1', 'renamed in v1']);
    await db3.close();
  });

  it('adds tables and optional columns without a migration; anything else needs one', async () => {
    const f = files();
    const a = s.defineApp({ notes: s.table({ text: s.string() }) });
    const db = createDb({ app: a, store: f.open() });
    db.insert(a.notes, { text: 'hello' });
    await settle(db);
    await db.close();
    const b = s.defineApp({ notes: s.table({ text: s.string(), pinned: s.boolean().default(false), tag: s.string().optional() }), links: s.table({ url: s.string() }) });
    const db2 = createDb({ app: b, store: f.reopen() });
    expect((await db2.all(b.notes.where({ pinned: false }))).map((r) => ({ text: r.text, pinned: r.pinned, tag: r.tag }))).toEqual([{ text: 'hello', pinned: false, tag: null }]);
    await db2.close();
    const c = s.defineApp({ notes: s.table({ body: s.string().optional() }) });
    expect(() => createDb({ app: c, store: f.reopen() })).toThrow(
      expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringMatching(/drops or renames notes\.text; pass a migration/) }),
    );
  });

  it('refuses a version it has no path to, and leaves the database as it was', async () => {
    const f = files();
    const db = createDb({ app: v1, store: f.open() });
    db.insert(v1.todos, { title: 'x', priority: 1 });
    await settle(db);
    await db.close();
    expect(() => createDb({ app: v3, migrations: [m23], store: f.reopen() })).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID' }));
    const again = createDb({ app: v1, store: f.reopen() });
    expect((await again.all(v1.todos)).map((r) => r.title)).toEqual(['x']);
    expect(() => again.as(v3)).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID', message: expect.stringContaining('not known here') }));
  });
});

export type { Migration };
