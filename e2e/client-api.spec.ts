/**
 * The page's client (`worker/page/client.ts`) end to end in Chromium: a page opens a database
 * whose engine runs in the dedicated worker (`worker/worker.ts`) on OPFS, and uses the README's API:
 * writes, reads, live queries with deltas, includes, batches, typed errors, status.
 */
import { expect, test, type Page } from '@playwright/test';
import { openClient } from './support/client-page.ts';

async function open(page: Page, dbName: string): Promise<void> {
  await openClient(page, { dbName });
}

test('writes, reads and typed errors', async ({ page }) => {
  await open(page, `api-${Date.now()}`);
  const result = await page.evaluate(async () => {
    const { app, db } = window.t;
    const p = db.insert(app.projects, { name: 'home' });
    const h = db.insert(app.todos, { title: 'write tests', priority: 2, projectId: p.id });
    const idAtOnce = typeof h.id === 'string' && typeof h.batchId === 'string';
    await h.wait({ tier: 'local' });
    db.update(app.todos, h.id, { done: true });
    const afterUpdate = await db.one(app.todos.where({ id: h.id }));
    db.delete(app.todos, h.id);
    const afterDelete = await db.all(app.todos);
    db.restore(app.todos, h.id);
    const up = db.upsert(app.todos, { title: 'upserted' }, { id: h.id });
    await up.wait();
    const restored = await db.one(app.todos.where({ id: h.id }));
    const withProject = await db.all(app.todos.include({ project: true }));
    const projects = await db.all(app.projects.include({ todosViaProject: app.todos.where({ done: true }) }));
    let missing: unknown;
    try {
      await db.update(app.todos, '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a', { done: true }).wait();
    } catch (e) {
      missing = { code: (e as { code?: string }).code, isJazz: e instanceof window.jazz.JazzError };
    }
    let parse: unknown;
    try {
      await db.all(app.todos.where('done = '));
    } catch (e) {
      parse = { code: (e as { code?: string }).code };
    }
    let wrongType: unknown;
    try {
      await db.insert(app.todos, { title: 42 }).wait();
    } catch (e) {
      wrongType = (e as { code?: string }).code;
    }
    return {
      idAtOnce,
      afterUpdate,
      afterDelete: afterDelete.length,
      restored,
      withProject: withProject.map((r: any) => r.project?.name),
      projects: projects.map((r: any) => [r.name, r.todosViaProject.length]),
      missing,
      parse,
      wrongType,
      status: db.status,
      frozen: Object.isFrozen(restored),
    };
  });
  expect(result.idAtOnce).toBe(true);
  expect(result.afterUpdate).toMatchObject({ title: 'write tests', done: true, priority: 2 });
  expect(result.afterDelete).toBe(0);
  expect(result.restored).toMatchObject({ title: 'upserted', done: true });
  expect(result.frozen).toBe(true);
  expect(result.withProject).toEqual(['home']);
  expect(result.projects).toEqual([['home', 1]]);
  expect(result.missing).toEqual({ code: 'ROW_NOT_FOUND', isJazz: true });
  expect(result.parse).toEqual({ code: 'QUERY_PARSE' });
  expect(result.wrongType).toBe('TYPE_MISMATCH');
  expect(result.status).toMatchObject({
    ready: true,
    driver: { requested: 'opfs', used: 'opfs', persistent: true },
    persistent: true,
    sync: null,
    pendingWrites: 0,
    role: 'leader',
    error: null,
  });
});

test('insert with a caller-chosen id from a page: the row has it, a taken one is ROW_EXISTS and a bad one TYPE_MISMATCH from wait, an unknown option throws at once', async ({ page }) => {
  await open(page, `api-id-${Date.now()}`);
  const result = await page.evaluate(async () => {
    const { app, db } = window.t;
    const code = async (f: () => unknown) => {
      try {
        await f();
        return 'no error';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    const id = '0190c6d2-5f3a-4c4e-9b1d-2a6f0e8c4b7a';
    const h = db.insert(app.todos, { title: 'mine' }, { id });
    await h.wait();
    const batched = db.batch((b: any) => void b.insert(app.todos, { title: 'batched' }, { id: '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7b' }));
    await batched.wait();
    return {
      id: h.id,
      row: (await db.one(app.todos.where({ id })))?.title,
      taken: await code(() => db.insert(app.todos, { title: 'again' }, { id }).wait()),
      notUuid: await code(() => db.insert(app.todos, { title: 'x' }, { id: 'nope' }).wait()),
      unknown: await code(() => db.insert(app.todos, { title: 'x' }, { ID: id })),
      createDbUnknown: await code(() => window.jazz.createDb({ app, userBranch: 'draft' } as never)),
      titles: (await db.all(app.todos.orderBy('title'))).map((r: { title: string }) => r.title),
    };
  });
  expect(result).toEqual({
    id: '0190c6d2-5f3a-4c4e-9b1d-2a6f0e8c4b7a',
    row: 'mine',
    taken: 'ROW_EXISTS',
    notUuid: 'TYPE_MISMATCH',
    unknown: 'OPTION_INVALID',
    createDbUnknown: 'OPTION_INVALID',
    titles: ['batched', 'mine'],
  });
});

test('wait() resolves to the row from a page (null once deleted), a tier it cannot reach rejects; restore takes values', async ({ page }) => {
  await open(page, `api-wait-${Date.now()}`);
  const result = await page.evaluate(async () => {
    const { app, db } = window.t;
    const h = db.insert(app.todos, { title: 'ünïcödé ✓', priority: 2 });
    const inserted = await h.wait();
    const updated = await db.update(app.todos, h.id, { done: true }).wait({ tier: 'local' });
    const deleted = await db.delete(app.todos, h.id).wait();
    const restored = await db.restore(app.todos, h.id, { title: 'back', done: false }).wait();
    let noServer: unknown;
    try {
      await db.update(app.todos, h.id, { priority: 5 }).wait({ tier: 'global' });
    } catch (e) {
      noServer = (e as { code?: string }).code;
    }
    return {
      inserted: [inserted.title, inserted.priority, Object.isFrozen(inserted)],
      updated: updated.done,
      deleted,
      restored: [restored.title, restored.done, restored.priority],
      noServer,
    };
  });
  expect(result).toEqual({ inserted: ['ünïcödé ✓', 2, true], updated: true, deleted: null, restored: ['back', false, 2], noServer: 'NO_SERVER' });
});

test('live queries get deltas, in order, through limit windows and includes', async ({ page }) => {
  await open(page, `live-${Date.now()}`);
  const updates = await page.evaluate(async () => {
    const { app, db } = window.t;
    const seen: { all: string[]; added: string[]; removed: string[]; changed: string[] }[] = [];
    const q = app.todos.where({ done: false }).orderBy('priority', 'desc').limit(3).include({ project: true });
    let resolveNext: (() => void) | undefined;
    const next = () => new Promise<void>((r) => (resolveNext = r));
    let wait = next();
    const stop = db.subscribeAll(q, ({ all, delta }: any) => {
      const t = (r: any) => `${r.title}${r.project ? `@${r.project.name}` : ''}`;
      // A delta's rows come in no particular order; `all` is the ordered result.
      const sorted = (rows: any[]) => rows.map(t).sort();
      seen.push({ all: all.map(t), added: sorted(delta.added), removed: sorted(delta.removed), changed: sorted(delta.changed) });
      resolveNext?.();
    });
    await wait; // the first (empty) result
    wait = next();
    const p = db.insert(app.projects, { name: 'p' });
    const ids: string[] = [];
    db.batch((b: any) => {
      for (const [title, priority] of [
        ['a', 1],
        ['b', 5],
        ['c', 3],
        ['d', 4],
      ] as const)
        ids.push(b.insert(app.todos, { title, priority }).id);
    });
    await wait; // b d c
    wait = next();
    db.update(app.todos, ids[0], { priority: 9 }); // a enters at the top, c leaves
    await wait;
    wait = next();
    db.update(app.todos, ids[1], { done: true }); // b leaves, c comes back
    await wait;
    wait = next();
    db.update(app.todos, ids[3], { projectId: p.id }); // d's include changes
    await wait;
    stop();
    const after = db.insert(app.todos, { title: 'z', priority: 100 });
    await after.wait();
    await new Promise((r) => setTimeout(r, 50));
    return seen;
  });
  expect(updates).toEqual([
    { all: [], added: [], removed: [], changed: [] },
    { all: ['b', 'd', 'c'], added: ['b', 'c', 'd'], removed: [], changed: [] },
    { all: ['a', 'b', 'd'], added: ['a'], removed: ['c'], changed: [] },
    { all: ['a', 'd', 'c'], added: ['c'], removed: ['b'], changed: [] },
    { all: ['a', 'd@p', 'c'], added: [], removed: [], changed: ['d@p'] },
  ]);
});

test('many live queries stay equal to a fresh read through random writes', async ({ page }) => {
  await open(page, `random-${Date.now()}`);
  const mismatches = await page.evaluate(async () => {
    const { app, db } = window.t;
    let seed = 12345;
    const rnd = (n: number) => {
      // Exact 32-bit arithmetic (a float product loses its low bits and falls into a short cycle), high bits.
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const queries = [
      app.todos.orderBy('title'),
      app.todos.where({ done: false }).orderBy('priority').limit(5),
      app.todos.where('priority >= 3').orderBy('priority', 'desc').orderBy('title').limit(4).offset(2),
      app.todos.select('title').orderBy('priority'),
      app.todos.where({ done: true }),
    ];
    const latest: unknown[][] = queries.map(() => []);
    const stops = queries.map((q, i) => db.subscribeAll(q, ({ all }: any) => (latest[i] = all)));
    const ids: string[] = [];
    for (let round = 0; round < 30; round++) {
      for (let k = 0; k < 5; k++) {
        const op = rnd(4);
        if (op === 0 || ids.length === 0) ids.push(db.insert(app.todos, { title: `t${rnd(20)}`, priority: rnd(6) }).id);
        else if (op === 1) db.update(app.todos, ids[rnd(ids.length)], { priority: rnd(6), done: rnd(2) === 0 });
        else if (op === 2) db.delete(app.todos, ids[rnd(ids.length)]);
        else db.restore(app.todos, ids[rnd(ids.length)]);
      }
      await db.insert(app.projects, { name: 'sync point' }).wait();
    }
    await new Promise((r) => setTimeout(r, 100));
    const out: string[] = [];
    for (let i = 0; i < queries.length; i++) {
      const fresh = await db.all(queries[i]);
      if (JSON.stringify(fresh) !== JSON.stringify(latest[i])) out.push(`query ${i}: live ${JSON.stringify(latest[i])} fresh ${JSON.stringify(fresh)}`);
    }
    stops.forEach((s) => s());
    return out;
  });
  expect(mismatches).toEqual([]);
});

test('transactions without a server fail with NO_SERVER; close ends the worker', async ({ page }) => {
  await open(page, `tx-${Date.now()}`);
  const r = await page.evaluate(async () => {
    const { app, db } = window.t;
    let tx: unknown;
    try {
      await db.transaction(async (t: any) => {
        await t.all(app.todos);
        t.insert(app.todos, { title: 'x' });
      });
    } catch (e) {
      tx = (e as { code?: string }).code;
    }
    await db.close();
    let closed: unknown;
    try {
      await db.all(app.todos);
    } catch (e) {
      closed = (e as { code?: string }).code;
    }
    return { tx, closed };
  });
  expect(r).toEqual({ tx: 'NO_SERVER', closed: 'CLOSED' });
});

test('a second tab on the same opfs database follows the first: one writer, shared data', async ({ context }) => {
  // Leader election (worker/election.ts): the first tab's worker holds the files; the second's
  // forwards its calls. Takeovers are e2e/client-tabs.spec.ts.
  const dbName = `follower-${Date.now()}`;
  const first = await context.newPage();
  await openClient(first, { dbName });
  const second = await context.newPage();
  await openClient(second, { dbName });
  const r = await second.evaluate(async () => {
    const { app, db } = window.t;
    const h = db.insert(app.todos, { title: 'from the follower' });
    await h.wait({ tier: 'local' });
    let missing: unknown;
    try {
      await db.update(app.todos, '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a', { done: true }).wait();
    } catch (e) {
      missing = (e as { code?: string }).code;
    }
    return { role: db.status.role, driver: db.status.driver, rows: (await db.all(app.todos)).map((x: any) => x.title), missing };
  });
  expect(r).toEqual({ role: 'follower', driver: { requested: 'opfs', used: 'opfs', persistent: true, cacheBytes: 32 * 2 ** 20 }, rows: ['from the follower'], missing: 'ROW_NOT_FOUND' });
  const seen = await first.evaluate(async () => ({ role: window.t.db.status.role, rows: (await window.t.db.all(window.t.app.todos)).map((x: any) => x.title) }));
  expect(seen).toEqual({ role: 'leader', rows: ['from the follower'] });
  // A long result through the leader: its first rows (partial, with the whole length: every row of
  // the table), then the whole, with the rest as added.
  const updates = await second.evaluate(async () => {
    const { app, db } = window.t;
    await db.batch((b: any) => Array.from({ length: 500 }, (_, i) => b.insert(app.todos, { title: `row ${String(i).padStart(3, '0')}` }))).wait({ tier: 'local' });
    return new Promise<{ partial: boolean; total?: number; all: number; added: number; first: string }[]>((resolve) => {
      const seen: { partial: boolean; total?: number; all: number; added: number; first: string }[] = [];
      const stop = db.subscribeAll(
        app.todos.orderBy('title'),
        ({ all, delta, partial, total }: any) => {
          seen.push({ partial: partial === true, ...(total !== undefined ? { total } : {}), all: all.length, added: delta.added.length, first: (all[0] as any).title });
          if (!partial) stop(), resolve(seen);
        },
        { firstRows: 50 },
      );
    });
  });
  expect(updates).toEqual([
    { partial: true, total: 501, all: 50, added: 50, first: 'from the follower' },
    { partial: false, all: 501, added: 451, first: 'from the follower' },
  ]);
  // A count that is not one is refused, through the leader too.
  const refused = await second.evaluate(() => new Promise((resolve) => window.t.db.subscribeAll(window.t.app.todos, () => resolve('called'), { firstRows: 0, onError: (e: any) => resolve(e.code) })));
  expect(refused).toBe('OPTION_INVALID');
});

test('indexes on several columns from a page: built in the worker when a database with rows opens with them, the same answers; a bad one fails the open with OPTION_INVALID', async ({ page }) => {
  const dbName = `api-indexes-${Date.now()}`;
  await open(page, dbName);
  const result = await page.evaluate(async (dbName) => {
    const { app, db } = window.t;
    const projects: string[] = [];
    await db
      .batch((b: any) => {
        for (let p = 0; p < 20; p++) projects.push(b.insert(app.projects, { name: `p${p}` }).id);
        for (let i = 0; i < 2000; i++) b.insert(app.todos, { title: `t${(i * 7919) % 10_000}`, projectId: projects[i % 20], done: i % 3 === 0 });
      })
      .wait();
    const q = () => app.todos.where({ projectId: projects[7], done: false }).orderBy('title', 'desc').limit(5);
    const before = (await db.all(q())).map((r: { title: string }) => r.title);
    await db.close();
    const { createDb } = window.jazz;
    const indexed = createDb({ app, driver: { type: 'opfs', dbName }, indexes: { todos: [['projectId', 'title']] } });
    await indexed.ready;
    const after = (await indexed.all(q())).map((r: any) => r.title);
    let live: string[] = [];
    const stop = indexed.subscribeAll(q(), ({ all }: any) => (live = all.map((r: { title: string }) => r.title)));
    await indexed.insert(app.todos, { title: 'zzz', projectId: projects[7] }).wait();
    await new Promise((r) => setTimeout(r, 50));
    stop();
    await indexed.close();
    const bad = createDb({ app, driver: { type: 'opfs', dbName }, indexes: { todos: [['projectId', 'colour']] } });
    const refused = await bad.ready.then(
      () => 'opened',
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
    await bad.close().catch(() => {});
    return { before, after, live, refused };
  }, dbName);
  expect(result.before).toHaveLength(5);
  expect(result.after).toEqual(result.before);
  expect(result.live).toEqual(['zzz', ...result.before.slice(0, 4)]);
  expect(result.refused).toMatch(/^OPTION_INVALID: .*"todos" has no column "colour"/);
});

test('a mistyped driver fails the open with OPTION_INVALID instead of opening a database that keeps nothing', async ({ page }) => {
  await open(page, `api-driver-${Date.now()}`);
  const result = await page.evaluate(async () => {
    const { app } = window.t;
    const { createDb } = window.jazz;
    const db = createDb({ app, driver: { type: 'opfz' as never, dbName: `typo-${Date.now()}` } });
    const opened = await db.ready.then(
      () => 'opened',
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
    const write = await db
      .insert(app.todos, { title: 'kept?' })
      .wait()
      .then(
        () => 'written',
        (e: { code?: string }) => e.code,
      );
    await db.close().catch(() => {});
    return { opened, write };
  });
  expect(result.opened).toBe('OPTION_INVALID: unknown driver "opfz"');
  expect(result.write).toBe('OPTION_INVALID');
});

test("the opfs driver's page cache: cacheBytes sets it (status shows it), and a bad value, another driver's or an unknown driver option fails the open", async ({ page }) => {
  await open(page, `api-cache-${Date.now()}`);
  const result = await page.evaluate(async () => {
    const { app } = window.t;
    const { createDb } = window.jazz;
    const name = `cache-${Date.now()}`;
    const tryOpen = async (driver: object) => {
      const db = createDb({ app, driver: driver as never });
      const out = await db.ready.then(
        async () => {
          await db.insert(app.todos, { title: 'ü 😀' }).wait();
          return `opened ${db.status.driver?.used} ${db.status.driver?.cacheBytes}`;
        },
        (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
      );
      await db.close().catch(() => {});
      return out;
    };
    return {
      default: await tryOpen({ type: 'opfs', dbName: `${name}-a` }),
      big: await tryOpen({ type: 'opfs', dbName: `${name}-b`, cacheBytes: 64 * 2 ** 20 }),
      small: await tryOpen({ type: 'opfs', dbName: `${name}-c`, cacheBytes: 1000 }),
      text: await tryOpen({ type: 'opfs', dbName: `${name}-d`, cacheBytes: 'lots' }),
      memory: await tryOpen({ type: 'memory', cacheBytes: 64 * 2 ** 20 }),
      unknown: await tryOpen({ type: 'opfs', dbName: `${name}-e`, path: './app.db' }),
      string: await tryOpen('opfs' as never),
    };
  });
  expect(result.default).toBe(`opened opfs ${32 * 2 ** 20}`);
  expect(result.big).toBe(`opened opfs ${64 * 2 ** 20}`);
  expect(result.small).toBe('OPTION_INVALID: cacheBytes is a number of bytes, at least 1 MiB (1048576), got 1000');
  expect(result.text).toBe('OPTION_INVALID: cacheBytes is a number of bytes, at least 1 MiB (1048576), got lots');
  expect(result.memory).toBe("OPTION_INVALID: cacheBytes is the opfs driver's; the memory driver holds the whole database in memory");
  expect(result.unknown).toBe('OPTION_INVALID: the driver has no option "path"; it takes type, dbName, cacheBytes');
  expect(result.string).toBe("OPTION_INVALID: the driver is an object such as { type: 'opfs', dbName: 'todos' }, got opfs");
});
