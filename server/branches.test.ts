/**
 * Branches (issue 13): a branch starts from main (or another branch) at a moment; reads on it see
 * that state plus its own writes, which stay on it; a preview lists what a merge would change and
 * where both sides changed a field; the merge is one batch on the target that syncs like any write.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, s } from './index.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({ title: s.string(), done: s.boolean().default(false), priority: s.int().optional(), projectId: s.ref('projects').optional() }),
});
type App = typeof app;
const T0 = Date.UTC(2026, 4, 1);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-branches-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function open(extra: Partial<Parameters<typeof createDb<App>>[0]> = {}, wall?: () => number): Db<App> {
  const db = createDb({ app, ...(wall ? { wall } : {}), ...extra });
  cleanups.push(() => db.close());
  return db;
}

const titles = async (db: Db<App>) => (await db.all(app.todos.orderBy('title'))).map((r) => r.title);

describe('branches', () => {
  it('fork, edits on both sides, a preview of exactly the overlapping fields, a merge onto main', async () => {
    let now = T0;
    const main = open({}, () => now++);
    const a = main.insert(app.todos, { title: 'a', priority: 1 }).id;
    const b = main.insert(app.todos, { title: 'b', priority: 1 }).id;
    const c = main.insert(app.todos, { title: 'c' }).id;
    const draft = main.branch('draft');
    expect(draft.currentBranch).toBe('draft');
    expect(main.branches()).toEqual([{ name: 'draft', from: 'main', at: expect.any(Number) }]);

    // The draft: edit a's title and b's priority, delete c, add d.
    draft.update(app.todos, a, { title: 'a (draft)' });
    draft.update(app.todos, b, { priority: 5 });
    draft.delete(app.todos, c);
    draft.insert(app.todos, { title: 'd' });
    // Main meanwhile: b's priority too (a conflict), and a's done (no conflict with the title).
    main.update(app.todos, b, { priority: 3 });
    main.update(app.todos, a, { done: true });

    expect(await titles(draft)).toEqual(['a (draft)', 'b', 'd']);
    expect(await titles(main)).toEqual(['a', 'b', 'c']);
    expect((await draft.one(app.todos.where({ id: a })))!.done).toBe(false); // main's later edit is not on the draft
    expect(await main.history(app.todos, a)).toHaveLength(2); // the draft's version is not main's

    const preview = await main.mergePreview('draft');
    const key = (x: { table: string; id: string; field: string }) => `${x.table}:${x.id === a ? 'a' : x.id === b ? 'b' : x.id === c ? 'c' : 'd'}:${x.field}`;
    expect(preview.map((p) => [key(p), p.from, p.into, p.conflict]).sort()).toEqual(
      [
        ['todos:a:title', 'a (draft)', 'a', false],
        ['todos:b:priority', 5, 3, true],
        ['todos:c:$deleted', true, false, false],
        ['todos:d:$deleted', false, true, false], // created on the draft: absent on main
        ['todos:d:title', 'd', null, false],
        ['todos:d:done', false, null, false],
        ['todos:d:priority', null, null, false],
        ['todos:d:projectId', null, null, false],
      ].sort(),
    );

    // Merge: conflicts keep main's value by default; a function may decide each.
    const h = await main.merge('draft', 'main', { resolve: (conflict) => (conflict.field === 'priority' ? 'from' : 'into') });
    await h.wait();
    const rows = await main.all(app.todos.orderBy('title'));
    expect(rows.map((r) => [r.title, r.done, r.priority])).toEqual([
      ['a (draft)', true, 1],
      ['b', false, 5],
      ['d', false, null],
    ]);
    expect((await main.mergePreview('draft')).length).toBe(0); // nothing left to bring over

    await main.deleteBranch('draft');
    expect(main.branches()).toEqual([]);
    expect((await main.history(app.todos, a)).map((e) => e.changed)).toEqual([expect.objectContaining({ title: 'a' }), { done: true }, { title: 'a (draft)' }]);
  });

  it("a live query on a branch follows the branch's writes, not main's; a branch of a branch sees its parent at its fork", async () => {
    let now = T0;
    const main = open({}, () => (now += 10));
    main.insert(app.todos, { title: 'one' });
    const review = main.branch('review');
    const seen: string[][] = [];
    const off = review.subscribeAll(app.todos.orderBy('title'), ({ all }) => seen.push(all.map((r) => r.title as string)));
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual(['one']);
    review.insert(app.todos, { title: 'two' });
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual(['one', 'two']);
    main.insert(app.todos, { title: 'main only' });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(2);
    off();

    const deeper = review.branch('deeper');
    expect(main.branches().find((b) => b.name === 'deeper')!.from).toBe('review');
    review.insert(app.todos, { title: 'three' }); // after deeper's fork
    deeper.insert(app.todos, { title: 'four' });
    expect(await titles(deeper)).toEqual(['four', 'one', 'two']);
    expect(await titles(review)).toEqual(['one', 'three', 'two']);
    await expect(main.deleteBranch('review')).rejects.toMatchObject({ code: 'BRANCH_CONFLICT', message: expect.stringContaining('"deeper" started from "review"') });
    // Merging deeper into review brings only what deeper wrote.
    await (await main.merge('deeper', 'review')).wait();
    expect(await titles(review)).toEqual(['four', 'one', 'three', 'two']);
    expect(await titles(main)).toEqual(['main only', 'one']);
  });

  it("branch writes sync through the server to the branch's readers, never onto main; the merge reaches everyone like any write", async () => {
    const srv = await startSyncServer({ port: 0, inMemory: true, dev: true, log: () => {} });
    cleanups.push(() => srv.close());
    const alice = open({ server: srv.url, appId: 'br' });
    const bob = open({ server: srv.url, appId: 'br' });
    const seenByBob: string[][] = [];
    const off = bob.subscribeAll(app.todos.orderBy('title'), ({ all }) => seenByBob.push(all.map((r) => r.title as string)));
    const t = alice.insert(app.todos, { title: 'shared' });
    await t.wait({ tier: 'global' });
    const draft = alice.branch('draft');
    const w = draft.update(app.todos, t.id, { title: 'shared, reworded' });
    const n = draft.insert(app.todos, { title: 'new on draft' });
    await w.wait({ tier: 'global' });
    await n.wait({ tier: 'global' });
    const e = srv.engineOf('br')!;
    // The server keeps the branch's versions beside main's, and its record; main is unchanged.
    expect(e.getRowById(e.table('todos'), t.id)!.title).toBe('shared');
    expect(e.getRowById(e.table('todos'), n.id)).toBeUndefined();
    expect(e.history(e.table('todos'), t.id)).toHaveLength(2);
    // Bob reads the branch: the server sends it (his replica had no record of it).
    const bobDraft = bob.branch('draft');
    const onDraft: string[][] = [];
    const offDraft = bobDraft.subscribeAll(app.todos.orderBy('title'), ({ all }) => onDraft.push(all.map((r) => r.title as string)), { tier: 'global' });
    await until(() => JSON.stringify(onDraft.at(-1)) === JSON.stringify(['new on draft', 'shared, reworded']));
    expect(bob.branches().map((b) => b.name)).toEqual(['draft']);
    // Live: a later branch write reaches the reader.
    await draft.update(app.todos, n.id, { title: 'newer on draft' }).wait({ tier: 'global' });
    await until(() => JSON.stringify(onDraft.at(-1)) === JSON.stringify(['newer on draft', 'shared, reworded']));
    // Bob writes on the branch too; Alice's branch sees it once she reads the branch from the server.
    await bobDraft.insert(app.todos, { title: 'bob on draft' }).wait({ tier: 'global' });
    expect((await draft.all(app.todos.orderBy('title'), { tier: 'global' })).map((r) => r.title)).toEqual(['bob on draft', 'newer on draft', 'shared, reworded']);
    // Main never showed a branch row.
    expect(seenByBob.every((list) => list.every((x) => x === 'shared'))).toBe(true);
    expect(await titles(bob)).toEqual(['shared']);
    await alice.insert(app.todos, { title: 'other' }).wait({ tier: 'global' });
    await (await alice.merge('draft')).wait({ tier: 'global' });
    expect(e.getRowById(e.table('todos'), t.id)!.title).toBe('shared, reworded');
    await until(() => JSON.stringify(seenByBob.at(-1)) === JSON.stringify(['bob on draft', 'newer on draft', 'other', 'shared, reworded']));
    off();
    offDraft();
    await expect(draft.transaction(() => 1)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('survives a reopen, with createDb({ branch }); names and sources are checked', async () => {
    const file = path.join(root, 'persist', 'app.db');
    let db = open({ driver: { type: 'file', path: file } });
    const id = db.insert(app.todos, { title: 'kept' }).id;
    const wip = db.branch('wip ✏️');
    await wip.update(app.todos, id, { title: 'kept, on wip' }).wait();
    await db.close();
    db = open({ driver: { type: 'file', path: file }, branch: 'wip ✏️' });
    expect(db.currentBranch).toBe('wip ✏️');
    expect(await titles(db)).toEqual(['kept, on wip']);
    expect(await titles(db.branch('main'))).toEqual(['kept']);
    expect(() => db.branch('')).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    expect(() => db.branch('x'.repeat(101))).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    expect(() => db.branch('nl\nname')).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    expect(() => db.branch('orphan', { from: 'nowhere' })).toThrow(expect.objectContaining({ code: 'BRANCH_NOT_FOUND', message: expect.stringContaining('no branch "nowhere"') }));
    expect(db.branches().map((b) => b.name)).toEqual(['wip ✏️']);
    // A branch from a moment in the past: main as it stood then.
    const past = db.branch('main').branch('before', { at: 0 });
    expect(await titles(past)).toEqual([]);
    await expect(db.mergePreview('nope')).rejects.toMatchObject({ code: 'BRANCH_NOT_FOUND' });
    await expect(db.all(app.todos, { asOf: Date.now() })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});
