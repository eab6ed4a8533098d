import { describe, expect, it } from 'vitest';
import { createDb, type SubscriptionUpdate } from './db.ts';
import { todoApp as app } from './testing/fixtures.ts';
import { JazzError } from './util/errors.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('db: writes and reads', () => {
  it('text comes back as written: a leading U+FEFF, lone surrogates as U+FFFD, long and short non-ASCII', async () => {
    const db = createDb({ app });
    const titles = ['\ufeffstarts with a BOM', '\ufeff', `\ufeff${'long '.repeat(100)}`, '日本語のタイトル ✓', `${'ünïcødé '.repeat(600)}end`, 'emoji 😀 and a lone \ud800 surrogate'];
    for (const title of titles) {
      const h = db.insert(app.todos, { title });
      await h.wait({ tier: 'local' });
      const row = await db.one(app.todos.where({ id: h.id }));
      expect(row?.title).toBe(title.replace('\ud800', '\ufffd'));
      expect((await db.all(app.todos.where({ title: row!.title }))).map((r) => r.id)).toEqual([h.id]);
    }
  });

  it('inserts, updates, deletes and restores rows', async () => {
    const db = createDb({ app, driver: { type: 'memory' } });
    const h = db.insert(app.todos, { title: 'write tests' });
    await h.wait({ tier: 'local' });
    expect(await db.one(app.todos.where({ id: h.id }))).toMatchObject({ id: h.id, title: 'write tests', done: false, priority: null });
    db.update(app.todos, h.id, { done: true });
    expect((await db.one(app.todos.where({ id: h.id })))!.done).toBe(true);
    db.delete(app.todos, h.id);
    expect(await db.all(app.todos)).toEqual([]);
    db.restore(app.todos, h.id);
    expect((await db.all(app.todos)).map((r) => r.id)).toEqual([h.id]);
    await db.close();
  });

  it('wait() resolves to the row as it reads after the write (null once deleted); restore takes values', async () => {
    const db = createDb({ app, driver: { type: 'memory' } });
    const h = db.insert(app.todos, { title: 'über ✓', priority: 3 });
    expect(await h.wait()).toMatchObject({ id: h.id, title: 'über ✓', priority: 3, done: false });
    expect(await db.update(app.todos, h.id, { done: true }).wait({ tier: 'local' })).toMatchObject({ id: h.id, done: true });
    expect(await db.delete(app.todos, h.id).wait()).toBeNull();
    // Restore with values: the row comes back with them, in one version.
    const back = db.restore(app.todos, h.id, { title: 'back', done: false });
    expect(await back.wait()).toMatchObject({ id: h.id, title: 'back', done: false, priority: 3 });
    expect((await db.history(app.todos, h.id)).length).toBe(4);
    // Restoring a live row with values is an update of those values; a bad value is refused.
    expect(await db.restore(app.todos, h.id, { priority: 1 }).wait()).toMatchObject({ title: 'back', priority: 1 });
    expect(() => db.restore(app.todos, h.id, { priority: 'high' } as never)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    // In a batch too.
    await db.delete(app.todos, h.id).wait();
    await db.batch((b) => void b.restore(app.todos, h.id, { title: 'batched' })).wait();
    expect(await db.one(app.todos.where({ id: h.id }))).toMatchObject({ title: 'batched' });
    await db.close();
  });

  it('insert takes a caller-chosen id, refuses one that is taken or not a UUID, and refuses options it does not take', async () => {
    const db = createDb({ app, driver: { type: 'memory' } });
    const id = '0190c6d2-5f3a-4c4e-9b1d-2a6f0e8c4b7a'; // a UUIDv4: any UUID will do
    const h = db.insert(app.todos, { title: 'mine' }, { id });
    expect(h.id).toBe(id);
    await h.wait();
    expect(await db.one(app.todos.where({ id }))).toMatchObject({ id, title: 'mine' });
    expect(() => db.insert(app.todos, { title: 'again' }, { id })).toThrow(expect.objectContaining({ code: 'ROW_EXISTS' }));
    expect(() => db.insert(app.todos, { title: 'x' }, { id: 'not-a-uuid' })).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => db.insert(app.todos, { title: 'x' }, { id: 42 } as never)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => db.insert(app.todos, { title: 'x' }, { ID: id } as never)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringContaining('"ID"') }));
    expect(() => db.insert(app.todos, { title: 'x' }, 'id' as never)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    // In a batch too; a deleted row's id may be inserted again (the row comes back with the new values).
    const other = '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7b';
    await db.batch((b) => void b.insert(app.todos, { title: 'batched' }, { id: other })).wait();
    await db.delete(app.todos, other).wait();
    await db.insert(app.todos, { title: 'back' }, { id: other }).wait();
    expect((await db.all(app.todos.orderBy('title'))).map((r) => [r.id, r.title])).toEqual([
      [other, 'back'],
      [id, 'mine'],
    ]);
    expect(db.allSync(app.todos).length).toBe(2);
    await db.close();
  });

  it('filters, sorts, limits and includes', async () => {
    const db = createDb({ app });
    const p = db.insert(app.projects, { name: 'p1' });
    const ids = ['c', 'a', 'b', 'd'].map((t, i) => db.insert(app.todos, { title: t, priority: i, projectId: p.id }).id);
    db.update(app.todos, ids[3]!, { done: true });
    const open = await db.all(app.todos.where({ done: false, priority: { gte: 1 } }).orderBy('title'));
    expect(open.map((r) => r.title)).toEqual(['a', 'b']);
    const limited = await db.all(app.todos.orderBy('title', 'desc').limit(2));
    expect(limited.map((r) => r.title)).toEqual(['d', 'c']);
    const withProject = await db.all(app.todos.where('title = "a"').include({ project: true }));
    expect((withProject[0] as any).project.name).toBe('p1');
    const projects = await db.all(app.projects.include({ todosViaProject: app.todos.where({ done: false }).orderBy('title') }));
    expect((projects[0] as any).todosViaProject.map((r: any) => r.title)).toEqual(['a', 'b', 'c']);
  });

  it('rejects bad writes and leaves nothing behind', async () => {
    const db = createDb({ app });
    expect(() => db.insert(app.todos, { title: 3 } as any)).toThrow(JazzError);
    expect(() => db.insert(app.todos, {} as any)).toThrow(/required/);
    expect(() => db.insert(app.todos, { title: 'x', nope: 1 } as any)).toThrow(/no column "nope"/);
    expect(() =>
      db.batch((b) => {
        b.insert(app.todos, { title: 'ok' });
        b.insert(app.todos, { title: 'bad', priority: 1.5 });
      }),
    ).toThrow(/32-bit integer/);
    expect(await db.all(app.todos)).toEqual([]);
  });

  it('delivers live deltas', async () => {
    const db = createDb({ app });
    const seen: any[] = [];
    db.subscribeAll(app.todos.where({ done: false }).orderBy('title').limit(2), (u) =>
      seen.push({ all: u.all.map((r) => r.title), added: u.delta.added.map((r) => r.title), removed: u.delta.removed.map((r) => r.title) }),
    );
    await tick();
    const a = db.insert(app.todos, { title: 'b' });
    db.insert(app.todos, { title: 'c' });
    await tick();
    db.insert(app.todos, { title: 'a' });
    await tick();
    db.update(app.todos, a.id, { done: true });
    await tick();
    expect(seen).toEqual([
      { all: [], added: [], removed: [] },
      { all: ['b', 'c'], added: ['b', 'c'], removed: [] },
      { all: ['a', 'b'], added: ['a'], removed: ['c'] },
      { all: ['a', 'c'], added: ['c'], removed: ['b'] },
    ]);
  });

  it('firstRows: a long result comes first as its first rows (partial), then whole, with exact deltas between them', async () => {
    const db = createDb({ app });
    const titles = Array.from({ length: 50 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const ids = db.batch((b) => {
      for (const t of [...titles].reverse()) b.insert(app.todos, { title: t, done: t.endsWith('7') });
    }).ids;
    await tick();
    const seen: { partial: boolean; total?: number; all: string[]; added: string[]; removed: string[]; changed: string[] }[] = [];
    const record = (u: SubscriptionUpdate<{ title: string }>) =>
      seen.push({
        partial: u.partial === true,
        ...(u.total !== undefined ? { total: u.total } : {}),
        all: u.all.map((r) => r.title),
        added: u.delta.added.map((r) => r.title),
        removed: u.delta.removed.map((r) => r.title),
        changed: u.delta.changed.map((r) => r.title),
      });
    // An index scan (order by title) and an index lookup (done = false): both give their first rows early.
    for (const [k, query] of [app.todos.orderBy('title'), app.todos.where({ done: false }).orderBy('title')].entries()) {
      seen.length = 0;
      const stop = db.subscribeAll(query, record, { firstRows: 10 });
      expect(seen).toHaveLength(1);
      const expected = (await db.all(query)).map((r) => r.title);
      // Every row of the table (the scan): the whole length comes with the first rows; a where's
      // (a lookup) is only known once read.
      const total = k === 0 ? { total: 50 } : {};
      expect(seen[0]).toEqual({ partial: true, ...total, all: expected.slice(0, 10), added: expected.slice(0, 10), removed: [], changed: [] });
      await tick();
      expect(seen[1]).toEqual({ partial: false, all: expected, added: expected.slice(10), removed: [], changed: [] });
      expect(seen).toHaveLength(2);
      stop();
    }

    // Writes between the first rows and the whole result are in the whole result's delta.
    seen.length = 0;
    db.subscribeAll(app.todos.orderBy('title'), record, { firstRows: 5 });
    expect(seen.map((u) => u.all)).toEqual([titles.slice(0, 5)]);
    db.update(app.todos, ids[48]!, { title: 't01 renamed' }); // inserted in reverse: t01 is the 49th
    db.delete(app.todos, ids[46]!); // t03
    await tick();
    const now = titles.filter((t) => t !== 't03').map((t) => (t === 't01' ? 't01 renamed' : t));
    expect(seen[1]).toEqual({ partial: false, all: now, added: now.filter((t) => !['t00', 't01 renamed', 't02', 't04'].includes(t)), removed: ['t03'], changed: ['t01 renamed'] });

    // The whole length counts live rows only (one deleted above), and is left out wherever rows
    // must be read to know it: a condition (here on a scan in title order), an offset.
    seen.length = 0;
    db.subscribeAll(app.todos.orderBy('title'), record, { firstRows: 5 })();
    expect(seen[0]).toMatchObject({ partial: true, total: 49 });
    for (const query of [app.todos.where({ title: { contains: 't' } }).orderBy('title'), app.todos.orderBy('title').offset(3)]) {
      seen.length = 0;
      db.subscribeAll(query, record, { firstRows: 5 })();
      expect(seen[0]!.partial).toBe(true);
      expect(seen[0]!.total).toBeUndefined();
    }

    // A result no longer than firstRows comes whole at once; a bad count is refused.
    seen.length = 0;
    db.subscribeAll(app.todos.orderBy('title').limit(8), record, { firstRows: 10 });
    await tick();
    expect(seen.map((u) => [u.partial, u.all.length])).toEqual([[false, 8]]);
    for (const bad of [0, 1.5, -1, '10', Number.NaN]) {
      expect(() => db.subscribeAll(app.todos, () => {}, { firstRows: bad as number }), String(bad)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    }
  });
});
