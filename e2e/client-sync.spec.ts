/**
 * The browser runtime against a live reference server: the page's client (`worker/page/`), its
 * worker (sync client over the browser's WebSocket, `worker/ws-connector.ts`) and the reference
 * server (`server/sync-server.ts`, started in this Node process by `support/sync-server.ts`).
 *
 * Every test has two devices: two pages in two separate browser contexts (separate storage,
 * separate Web Locks: nothing shared but the server), on the same app of the same server.
 *
 * 1. Rows inserted, updated and deleted on one device appear, change and disappear in a live
 *    query on the other; `wait({ tier: 'edge' | 'global' })` resolves once the server confirmed.
 * 2. Two devices race a read-modify-write transaction on one counter: exactly one commits, the
 *    other rejects with `TRANSACTION_CONFLICT` and leaves nothing anywhere; both converge; the
 *    loser's retry commits.
 * 3. The server stops: both devices keep writing (seeded random writes: `SYNC_SEED=<n>` replays),
 *    their status says offline with batches pending; the server restarts on the same port and
 *    folder: both reconnect by themselves and end with the same rows as each other and the server.
 * 4. Back/forward cache: a page navigated away (its `pagehide` retires the worker, which closes
 *    the store and the connection) and back (`pageshow` with `persisted`: a real bfcache restore,
 *    the same document) rejoins, catches up with what the other device wrote meanwhile and keeps
 *    syncing both ways. Then the same handlers through synthetic events on a page that keeps
 *    running, which can write while retired (a real cached page is frozen).
 *
 * 5. Long values: a 5 MiB title and titles that share a 20 KB prefix reach the other device (OPFS
 *    on both) and order the same there.
 *
 * Timings (write to confirmation, to the other device, reconnects) are printed with `[sync]`.
 */
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { launchOptions } from './support/chromium.ts';
import { openClient, type OpenOptions } from './support/client-page.ts';
import { TestSyncServer } from './support/sync-server.ts';
import { newAppId, norm, serverRows, type Row } from './support/sync-rows.ts';
import { projectBatch } from './support/scenarios.ts';
import { mulberry32 } from '../src/util/random.ts';

// Playwright launches Chromium with --disable-back-forward-cache; test 4 needs the real cache.
test.use({ launchOptions: { ...launchOptions(), ignoreDefaultArgs: ['--disable-back-forward-cache'] } });

/** Fast reconnects: the sync client's backoff (250 ms doubling to 10 s by default). */
const BACKOFF = { initialMs: 50, maxMs: 400 };

/**
 * Device A's driver, and B's in the offline test (elsewhere B uses `memory`, so both kinds sync).
 * Durable, because only a durable database hands its storage on at `pagehide` and rejoins at
 * `pageshow` (memory databases are per tab), and offline writes should be kept for real.
 */
const DURABLE = 'opfs' as const;

/** How long a change may take to reach the other device in these tests. */
const SYNC_TIMEOUT = 10_000;

interface Device {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and console errors (the browser's own "WebSocket connection failed" lines aside). */
  readonly problems: string[];
}

/**
 * A device: a page in its own browser context with the database open and synced to `server`, and
 * a live query of every todo (`window.t.live`, `window.t.updates`) started before anything else.
 */
async function openDevice(browser: Browser, baseURL: string | undefined, name: string, opts: Omit<OpenOptions, 'dbName'> & { appId: string; server: string }): Promise<Device> {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`${name}: page error ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() !== 'error') return;
    // The browser logs each failed connection attempt while the server is down (test 3), and the
    // dev server has no favicon.
    if (/WebSocket connection to .* failed/.test(text) || m.location().url.endsWith('/favicon.ico')) return;
    problems.push(`${name}: console error ${text}`);
  });
  await openClient(page, { dbName: `${name}-${opts.appId}`, backoff: BACKOFF, ...opts });
  await page.evaluate(() => {
    const { app, db } = window.t;
    window.t.updates = [];
    window.t.stop = db.subscribeAll(
      app.todos,
      ({ all, delta }: any) => {
        window.t.live = all;
        const titles = (rows: any[]) => rows.map((r) => r.title).sort();
        window.t.updates.push({ added: titles(delta.added), removed: titles(delta.removed), changed: titles(delta.changed) });
      },
      { onError: (e: unknown) => console.error(`live query failed: ${String(e)}`) },
    );
  });
  await page.waitForFunction(() => window.t.live !== undefined);
  return { name, context, page, problems };
}

/** Waits until the device's live query satisfies `pred` (run on the page, over its rows). */
async function waitLive(d: Device, pred: string, what: string): Promise<void> {
  try {
    await d.page.waitForFunction(`(() => { const rows = window.t.live ?? []; return ${pred}; })()`, undefined, { timeout: SYNC_TIMEOUT, polling: 20 });
  } catch (e) {
    const rows = await d.page.evaluate(() => (window.t.live ?? []).map((r: any) => `${r.title}:${r.done}:${r.priority}`));
    throw new Error(`${d.name}: ${what} did not happen within ${SYNC_TIMEOUT} ms; its live query shows [${rows.join(', ')}]; status ${JSON.stringify(await syncStatus(d))}`, { cause: e });
  }
}

function syncStatus(d: Device): Promise<{ state: string; pendingBatches: number } | null> {
  return d.page.evaluate(() => window.t.db.status.sync);
}

async function closeAll(devices: Device[], server: TestSyncServer): Promise<void> {
  for (const d of devices) await d.context.close().catch(() => {});
  await server.dispose();
}

test('a row inserted, updated, deleted on one device appears, changes, disappears on the other; edge and global waits resolve', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('live');
  const devices: Device[] = [];
  try {
    const a = await openDevice(browser, baseURL, 'A', { server: server.url, appId, driver: DURABLE });
    devices.push(a);
    const b = await openDevice(browser, baseURL, 'B', { server: server.url, appId, driver: 'memory' });
    devices.push(b);

    // Insert on A: confirmed by the server, then in B's live query.
    const t0 = Date.now();
    const ins = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'buy milk', priority: 1 });
      const t = performance.now();
      await h.wait({ tier: 'local' });
      const local = performance.now() - t;
      await h.wait({ tier: 'edge' });
      await h.wait({ tier: 'global' });
      return { id: h.id, local, global: performance.now() - t, status: db.status.sync };
    });
    expect(ins.status).toMatchObject({ state: 'online' });
    // The status follows (it reaches the page on its own channel, and the sync client counts the
    // outbox again once the acknowledgement is recorded): no batch left waiting.
    await expect.poll(() => syncStatus(a)).toMatchObject({ state: 'online', pendingBatches: 0 });
    // `global` means the server has it (this server acknowledges once the batch is durable).
    expect(serverRows(server, appId)).toEqual([{ id: ins.id, title: 'buy milk', done: false, priority: 1, projectId: null }]);
    await waitLive(b, `rows.some((r) => r.title === 'buy milk' && r.priority === 1)`, 'the insert');
    const insertSeen = Date.now() - t0;

    // Update on A: B's row changes (a `changed` delta, not a remove and add).
    const t1 = Date.now();
    await a.page.evaluate(async (id) => {
      const { app, db } = window.t;
      await db.update(app.todos, id, { done: true, priority: 5 }).wait({ tier: 'global' });
    }, ins.id);
    await waitLive(b, `rows.length === 1 && rows[0].done === true && rows[0].priority === 5`, 'the update');
    const updateSeen = Date.now() - t1;

    // A batch written on B (a project and a todo that refers to it) reaches A whole.
    const batch = { ids: await b.page.evaluate(projectBatch) };
    await expect.poll(() => syncStatus(b)).toMatchObject({ state: 'online', pendingBatches: 0 });
    await waitLive(a, `rows.some((r) => r.title === 'eggs' && r.projectId === ${JSON.stringify(batch.ids[0])})`, "B's batch");
    // A subscribes to todos only, so it holds no project yet: a read at tier `global` settles the
    // query (include and all) with the server first.
    const withProject = await a.page.evaluate(async () => {
      const q = window.t.app.todos.where({ title: 'eggs' }).include({ project: true });
      const before = (await window.t.db.all(q)).map((r: any) => r.project?.name ?? null);
      const settled = (await window.t.db.all(q, { tier: 'global' })).map((r: any) => r.project?.name ?? null);
      return { before, settled };
    });
    expect(withProject).toEqual({ before: [null], settled: ['groceries'] });

    // Delete on A: the row leaves B's live query; the server keeps it as deleted.
    const t2 = Date.now();
    await a.page.evaluate(async (id) => {
      const { app, db } = window.t;
      await db.delete(app.todos, id).wait({ tier: 'global' });
    }, ins.id);
    await waitLive(b, `!rows.some((r) => r.title === 'buy milk')`, 'the delete');
    const deleteSeen = Date.now() - t2;

    // What B's callback saw, in order: its first (empty) result, then exactly these changes.
    const updates = await b.page.evaluate(() => window.t.updates);
    expect(updates).toEqual([
      { added: [], removed: [], changed: [] },
      { added: ['buy milk'], removed: [], changed: [] },
      { added: [], removed: [], changed: ['buy milk'] },
      { added: ['eggs'], removed: [], changed: [] },
      { added: [], removed: ['buy milk'], changed: [] },
    ]);
    const engine = server.engineOf(appId)!;
    expect(engine.getRowById(engine.table('todos'), ins.id)).toBeUndefined();
    expect(engine.getVisibleState(engine.table('todos'), ins.id)?.deleted).toBe(true);
    // Both devices and the server agree, and live queries equal fresh reads.
    const views = await Promise.all(devices.map((d) => d.page.evaluate(async () => ({ live: window.t.live, fresh: await window.t.db.all(window.t.app.todos) }))));
    for (const v of views) {
      expect(norm(v.live)).toEqual(norm(v.fresh));
      expect(norm(v.fresh)).toEqual(serverRows(server, appId));
    }
    console.log(`[sync] A's insert: local ${ins.local.toFixed(0)} ms, global ${ins.global.toFixed(0)} ms; seen on B after: insert ${insertSeen} ms, update ${updateSeen} ms, delete ${deleteSeen} ms`);
    expect(devices.flatMap((d) => d.problems)).toEqual([]);
  } finally {
    await closeAll(devices, server);
  }
});

test('long values sync between browsers: a 5 MiB title and titles sharing a 20 KB prefix, ordered the same on both', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('long');
  const devices: Device[] = [];
  try {
    const a = await openDevice(browser, baseURL, 'A', { server: server.url, appId, driver: DURABLE });
    devices.push(a);
    const b = await openDevice(browser, baseURL, 'B', { server: server.url, appId, driver: DURABLE });
    devices.push(b);
    const ids = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      const prefix = 'p'.repeat(20_000);
      const hs = [db.insert(app.todos, { title: 'é'.repeat((5 << 20) / 2) }), ...['b', 'a', 'c', ''].map((t, i) => db.insert(app.todos, { title: prefix + t, priority: i }))];
      await Promise.all(hs.map((h: any) => h.wait({ tier: 'global' })));
      return hs.map((h: any) => h.id);
    });
    await waitLive(b, 'rows.length === 5', 'the long rows');
    const ordered = (d: Device) =>
      d.page.evaluate(async () => {
        const { app, db } = window.t;
        const prefix = 'p'.repeat(20_000);
        const rows = await db.all(
          app.todos
            .where({ title: { gte: prefix, lt: 'q' } })
            .orderBy('title', 'desc')
            .limit(3),
        );
        const big = (await db.all(app.todos.where({ priority: { isNull: true } })))[0];
        return { order: rows.map((r: any) => r.title.slice(20_000)), big: [big.title.length, big.title.charCodeAt(0)] };
      });
    const onA = await ordered(a);
    expect(onA).toEqual({ order: ['c', 'b', 'a'], big: [(5 << 20) / 2, 0xe9] });
    expect(await ordered(b)).toEqual(onA);
    expect(
      serverRows(server, appId)
        .map((r) => r.id)
        .sort(),
    ).toEqual([...ids].sort());
    for (const d of devices) expect(d.problems).toEqual([]);
  } finally {
    await closeAll(devices, server);
  }
});

test('two devices race a read-modify-write transaction: one commits, the other gets TRANSACTION_CONFLICT, both converge, the retry commits', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('tx');
  const devices: Device[] = [];
  try {
    const a = await openDevice(browser, baseURL, 'A', { server: server.url, appId, driver: DURABLE });
    const b = await openDevice(browser, baseURL, 'B', { server: server.url, appId, driver: 'memory' });
    devices.push(a, b);
    // The counter is a todo; its priority is the count.
    const counter = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'counter', priority: 0 });
      await h.wait({ tier: 'global' });
      return h.id;
    });
    await waitLive(b, `rows.some((r) => r.title === 'counter')`, 'the counter');

    // Each device reads the counter inside a transaction, then waits at a barrier the test opens
    // once both have read: both increments are based on the same value, so they conflict.
    for (const d of devices) {
      await d.page.evaluate(
        ([id, who]) => {
          const { app, db } = window.t;
          let open!: () => void;
          window.t.barrier = new Promise<void>((r) => (open = r));
          window.t.openBarrier = open;
          window.t.outcome = db
            .transaction(async (tx: any) => {
              const c = await tx.one(app.todos.where({ id }));
              window.t.read = c.priority;
              await window.t.barrier;
              tx.update(app.todos, id, { priority: c.priority + 1 });
              tx.insert(app.projects, { name: `incremented by ${who}` });
              return c.priority + 1;
            })
            .then(
              (value: number) => ({ value }),
              (e: any) => ({ code: e?.code, jazz: e instanceof window.jazz.JazzError, message: String(e?.message) }),
            );
        },
        [counter, d.name] as const,
      );
    }
    for (const d of devices) await d.page.waitForFunction(() => window.t.read !== undefined);
    expect(await Promise.all(devices.map((d) => d.page.evaluate(() => window.t.read)))).toEqual([0, 0]);
    await Promise.all(devices.map((d) => d.page.evaluate(() => window.t.openBarrier())));
    const outcomes = await Promise.all(devices.map((d) => d.page.evaluate(() => window.t.outcome)));
    const winners = outcomes.flatMap((o, i) => ('value' in o ? [devices[i]!] : []));
    const losers = outcomes.flatMap((o, i) => ('value' in o ? [] : [devices[i]!]));
    expect(winners, `outcomes ${JSON.stringify(outcomes)}`).toHaveLength(1);
    const winner = winners[0]!;
    const loser = losers[0]!;
    expect(outcomes[devices.indexOf(winner)]).toEqual({ value: 1 });
    expect(outcomes[devices.indexOf(loser)]).toMatchObject({ code: 'TRANSACTION_CONFLICT', jazz: true });
    console.log(`[sync] transaction race: ${winner.name} committed, ${loser.name} rejected: ${(outcomes[devices.indexOf(loser)] as { message: string }).message}`);

    // Both converge on the winner's write; the loser's staged project exists nowhere.
    // Neither device subscribes to projects: a read at tier `global` asks the server.
    const projects = async (d: Device): Promise<string[]> => d.page.evaluate(async () => (await window.t.db.all(window.t.app.projects, { tier: 'global' })).map((p: any) => p.name).sort());
    for (const d of devices) {
      await waitLive(d, `rows.some((r) => r.title === 'counter' && r.priority === 1)`, 'the winning increment');
      await expect.poll(() => projects(d), { timeout: SYNC_TIMEOUT }).toEqual([`incremented by ${winner.name}`]);
    }
    const engine = server.engineOf(appId)!;
    expect(engine.getRowById(engine.table('todos'), counter)?.['priority']).toBe(1);
    expect([...engine.rowIds('projects')]).toHaveLength(1);

    // The loser runs it again: now it reads 1 and commits 2.
    const retried = await loser.page.evaluate(
      async ([id, who]) => {
        const { app, db } = window.t;
        return db.transaction(async (tx: any) => {
          const c = await tx.one(app.todos.where({ id }));
          tx.update(app.todos, id, { priority: c.priority + 1 });
          tx.insert(app.projects, { name: `incremented by ${who}` });
          return c.priority + 1;
        });
      },
      [counter, loser.name] as const,
    );
    expect(retried).toBe(2);
    const both = [`incremented by ${winner.name}`, `incremented by ${loser.name}`].sort();
    for (const d of devices) {
      await waitLive(d, `rows.some((r) => r.title === 'counter' && r.priority === 2)`, 'the retried increment');
      await expect.poll(() => projects(d), { timeout: SYNC_TIMEOUT }).toEqual(both);
    }
    expect(engine.getRowById(engine.table('todos'), counter)?.['priority']).toBe(2);
    expect([...engine.rowIds('projects')]).toHaveLength(2);
    for (const d of devices) await expect.poll(() => syncStatus(d)).toMatchObject({ state: 'online', pendingBatches: 0 });
    expect(devices.flatMap((d) => d.problems)).toEqual([]);
  } finally {
    await closeAll(devices, server);
  }
});

/** An integer in [0, n) from a seeded generator. */
function rng(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
}

/** A write a device makes offline; rows are named by index (`shared` rows exist on both, `own` rows are the device's inserts). */
type Ref = { readonly shared: number } | { readonly own: number };
type PlannedOp =
  | { readonly kind: 'insert'; readonly title: string; readonly priority: number }
  | { readonly kind: 'update'; readonly ref: Ref; readonly values: Record<string, unknown> }
  | { readonly kind: 'delete' | 'restore'; readonly ref: Ref }
  | { readonly kind: 'batch'; readonly title: string; readonly ref: Ref; readonly values: Record<string, unknown> };

/**
 * `count` random writes for one device, each of which changes something on that device as it is
 * offline (no delete of a deleted row, no update of one: those are no-ops or errors). Also says
 * which shared rows it touched.
 */
function planOffline(name: string, rnd: (n: number) => number, shared: number, count: number): { ops: PlannedOp[]; touched: Set<number> } {
  const live = new Set(Array.from({ length: shared }, (_, i) => i));
  const touched = new Set<number>();
  const ops: PlannedOp[] = [];
  let own = 0;
  const values = (k: number): Record<string, unknown> => (rnd(3) === 0 ? { title: `${name}-edit-${k}` } : { done: rnd(2) === 0, priority: rnd(10) });
  const liveShared = (): number | undefined => [...live][rnd(live.size)];
  for (let k = 0; k < count; k++) {
    const pick = rnd(6);
    const deleted = [...Array(shared).keys()].filter((i) => !live.has(i));
    if (pick === 0 || (pick === 1 && own === 0)) {
      ops.push({ kind: 'insert', title: `${name}-new-${k}`, priority: rnd(10) });
      own++;
    } else if (pick === 1) {
      ops.push({ kind: 'update', ref: { own: rnd(own) }, values: values(k) });
    } else if (pick === 2 && live.size > 2) {
      const i = liveShared()!;
      live.delete(i);
      touched.add(i);
      ops.push({ kind: 'delete', ref: { shared: i } });
    } else if (pick === 3 && deleted.length > 0) {
      const i = deleted[rnd(deleted.length)]!;
      live.add(i);
      touched.add(i);
      ops.push({ kind: 'restore', ref: { shared: i } });
    } else if (pick === 4) {
      const i = liveShared()!;
      touched.add(i);
      ops.push({ kind: 'batch', title: `${name}-batch-${k}`, ref: { shared: i }, values: values(k) });
      own++;
    } else {
      const i = liveShared()!;
      touched.add(i);
      ops.push({ kind: 'update', ref: { shared: i }, values: values(k) });
    }
  }
  return { ops, touched };
}

test('with the server down both devices keep writing and say so; after a restart they reconnect by themselves and converge with nothing lost', async ({ browser, baseURL }) => {
  const seed = Number(process.env['SYNC_SEED']) || Math.floor(Math.random() * 2 ** 31);
  console.log(`[sync] offline writes: seed ${seed} (replay with SYNC_SEED=${seed})`);
  const rnd = rng(seed);
  const server = await TestSyncServer.start({ persistent: true });
  const appId = newAppId('offline');
  const devices: Device[] = [];
  try {
    const a = await openDevice(browser, baseURL, 'A', { server: server.url, appId, driver: DURABLE });
    const b = await openDevice(browser, baseURL, 'B', { server: server.url, appId, driver: DURABLE });
    devices.push(a, b);
    for (const d of devices) {
      await d.page.evaluate(() => {
        window.t.states = [];
        window.t.db.onStatus((s: any) => {
          const state = s.sync?.state;
          if (state && window.t.states.at(-1) !== state) window.t.states.push(state);
        });
      });
    }
    const SHARED = 6;
    const sharedIds = await a.page.evaluate(async (n) => {
      const { app, db } = window.t;
      const hs = Array.from({ length: n }, (_, i) => db.insert(app.todos, { title: `shared-${i}`, priority: i }));
      await Promise.all(hs.map((h: any) => h.wait({ tier: 'global' })));
      return hs.map((h: any) => h.id as string);
    }, SHARED);
    await waitLive(b, `rows.length === ${SHARED}`, 'the shared rows');

    await server.stop();
    const stoppedAt = Date.now();
    for (const d of devices) await expect.poll(async () => (await syncStatus(d))?.state, { timeout: SYNC_TIMEOUT }).not.toBe('online');

    // Offline writes on both, each confirmed at `local` at once; their `global` waits pend.
    const plans = new Map(devices.map((d) => [d, planOffline(d.name, rnd, SHARED, 12)]));
    const own = new Map<Device, string[]>();
    for (const d of devices) {
      const out = await d.page.evaluate(
        async ([ops, shared]) => {
          const { app, db } = window.t;
          const own: string[] = [];
          const id = (ref: any): string => ('shared' in ref ? shared[ref.shared] : own[ref.own])!;
          window.t.globals = [];
          let slowest = 0;
          for (const op of ops as any[]) {
            let h: any;
            if (op.kind === 'insert') {
              h = db.insert(app.todos, { title: op.title, priority: op.priority });
              own.push(h.id);
            } else if (op.kind === 'update') h = db.update(app.todos, id(op.ref), op.values);
            else if (op.kind === 'delete') h = db.delete(app.todos, id(op.ref));
            else if (op.kind === 'restore') h = db.restore(app.todos, id(op.ref));
            else {
              h = db.batch((w: any) => {
                own.push(w.insert(app.todos, { title: op.title }).id);
                w.update(app.todos, id(op.ref), op.values);
              });
            }
            const t = performance.now();
            await h.wait({ tier: 'local' });
            slowest = Math.max(slowest, performance.now() - t);
            window.t.globals.push(h.wait({ tier: 'global' }).then(() => performance.now()));
          }
          return { own, slowest, status: db.status, rows: await db.all(app.todos) };
        },
        [plans.get(d)!.ops, sharedIds] as const,
      );
      own.set(d, out.own);
      console.log(
        `[sync] ${d.name} wrote ${plans.get(d)!.ops.length} batches offline (${plans
          .get(d)!
          .ops.map((o) => o.kind)
          .join(' ')}), slowest local confirmation ${out.slowest.toFixed(0)} ms`,
      );
      expect(out.status.pendingWrites).toBe(0);
      expect(out.status.sync.state).not.toBe('online');
      expect(out.status.sync.pendingBatches).toBeGreaterThan(0);
    }
    // Each device's own view before the server hears of it: what must survive for rows only it touched.
    const before = new Map<Device, Row[]>();
    for (const d of devices) before.set(d, norm(await d.page.evaluate(() => window.t.live)));
    for (const d of devices) expect(norm(await d.page.evaluate(() => window.t.db.all(window.t.app.todos)))).toEqual(before.get(d));

    // Keep the server down a little longer: the clients retry (and fail) meanwhile.
    await a.page.waitForTimeout(Math.max(0, 800 - (Date.now() - stoppedAt)));
    await server.start();
    const restartedAt = Date.now();
    const reconnect: number[] = [];
    for (const d of devices) {
      await expect.poll(() => syncStatus(d), { timeout: SYNC_TIMEOUT, intervals: [20] }).toMatchObject({ state: 'online', pendingBatches: 0 });
      reconnect.push(Date.now() - restartedAt);
    }
    // Every offline write's `global` wait resolves.
    for (const d of devices) {
      const n = await d.page.evaluate(async () => (await Promise.all(window.t.globals)).length);
      expect(n).toBe(plans.get(d)!.ops.length);
    }

    // Converged: both live queries, both fresh reads and the server hold the same rows.
    let views: { live: Row[]; fresh: Row[] }[] = [];
    await expect
      .poll(
        async () => {
          views = await Promise.all(
            devices.map(async (d) => {
              const v = await d.page.evaluate(async () => ({ live: window.t.live, fresh: await window.t.db.all(window.t.app.todos) }));
              return { live: norm(v.live), fresh: norm(v.fresh) };
            }),
          );
          const s = JSON.stringify(serverRows(server, appId));
          return views.every((v) => JSON.stringify(v.live) === s && JSON.stringify(v.fresh) === s);
        },
        { timeout: SYNC_TIMEOUT, message: 'the devices and the server converge' },
      )
      .toBe(true);
    const converged = Date.now() - restartedAt;
    const final = serverRows(server, appId);
    const byId = new Map(final.map((r) => [r.id, r]));

    // Nothing lost: every device's inserts are there, and a row only one device touched offline
    // is exactly as that device left it (shared rows nobody touched are as they were).
    for (const d of devices) for (const id of own.get(d)!) expect(byId.has(id), `${d.name}'s insert ${id}`).toBe(true);
    for (let i = 0; i < SHARED; i++) {
      const by = devices.filter((d) => plans.get(d)!.touched.has(i));
      const id = sharedIds[i]!;
      if (by.length === 1) expect(byId.get(id), `shared-${i}, touched by ${by[0]!.name} only`).toEqual(before.get(by[0]!)!.find((r) => r.id === id));
      if (by.length === 0) expect(byId.get(id)).toEqual({ id, title: `shared-${i}`, done: false, priority: i, projectId: null });
    }
    for (const d of devices) for (const r of before.get(d)!) if (own.get(d)!.includes(r.id)) expect(byId.get(r.id), `${d.name}'s row ${r.title}`).toEqual(r);
    // The status went offline and came back by itself.
    for (const d of devices) {
      const states = await d.page.evaluate(() => window.t.states);
      expect(states.at(-1)).toBe('online');
      expect(states).toContain('offline');
    }
    console.log(`[sync] server down ${restartedAt - stoppedAt} ms; reconnected (online, nothing pending) after ${reconnect.join(' / ')} ms; converged on ${final.length} rows after ${converged} ms`);
    expect(devices.flatMap((d) => d.problems)).toEqual([]);
  } finally {
    await closeAll(devices, server);
  }
});

test('a page that goes into the back/forward cache and returns rejoins and keeps syncing', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('bfcache');
  const devices: Device[] = [];
  try {
    // A has a durable driver: only those hand the storage on at `pagehide` (memory databases are per tab).
    const a = await openDevice(browser, baseURL, 'A', { server: server.url, appId, driver: DURABLE });
    const b = await openDevice(browser, baseURL, 'B', { server: server.url, appId, driver: 'memory' });
    devices.push(a, b);
    const first = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      window.t.transitions = [];
      for (const type of ['pagehide', 'pageshow'] as const) addEventListener(type, (e) => window.t.transitions.push(`${type}:${(e as PageTransitionEvent).persisted}`));
      const h = db.insert(app.todos, { title: 'before', priority: 1 });
      await h.wait({ tier: 'global' });
      return h.id;
    });
    await waitLive(b, `rows.some((r) => r.title === 'before')`, "A's first row");
    expect(server.connections()).toBe(2);

    // A real round trip through the back/forward cache (Playwright's --disable-back-forward-cache
    // is dropped for this file). `pagehide` retires A's worker: it closes the store and the
    // connection, so the server sees one client left while A is away.
    await a.page.goto('/e2e/index.html');
    await expect.poll(() => server.connections(), { timeout: SYNC_TIMEOUT, message: "A's worker closed its connection on pagehide" }).toBe(1);
    const away = await b.page.evaluate(async (id) => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'written while A was away' });
      const u = db.update(app.todos, id, { priority: 7 });
      await Promise.all([h.wait({ tier: 'global' }), u.wait({ tier: 'global' })]);
      return h.id;
    }, first);
    // A navigation restored from the cache fires no load event: wait for the commit only.
    const back = Date.now();
    await a.page.goBack({ waitUntil: 'commit' });
    // The same document, not a reload: its state (window.t) survived and `pageshow` said persisted.
    await a.page.waitForFunction(() => window.t?.transitions?.includes('pageshow:true'), undefined, { timeout: SYNC_TIMEOUT });
    expect(await a.page.evaluate(() => window.t.transitions)).toEqual(['pagehide:true', 'pageshow:true']);
    // Rejoined: its live query (the same subscription) catches up with what B wrote meanwhile.
    await waitLive(a, `rows.some((r) => r.id === ${JSON.stringify(away)}) && rows.some((r) => r.title === 'before' && r.priority === 7)`, "B's writes made while A was away");
    const caughtUp = Date.now() - back;
    await expect.poll(() => server.connections()).toBe(2);
    const after = await a.page.evaluate(async () => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'after the return' });
      await h.wait({ tier: 'global' });
      return { role: db.status.role, state: db.status.sync?.state };
    });
    expect(after).toEqual({ role: 'leader', state: 'online' });
    await waitLive(b, `rows.some((r) => r.title === 'after the return')`, "A's write after its return");

    // The same handlers once more with synthetic events on a page that keeps running (a real
    // cached page is frozen, so it cannot write while away): a write made while retired waits for
    // the worker to rejoin, then is confirmed and synced.
    await a.page.evaluate(() => dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    await expect.poll(() => server.connections(), { timeout: SYNC_TIMEOUT }).toBe(1);
    await a.page.evaluate(() => {
      const { app, db } = window.t;
      const h = db.insert(app.todos, { title: 'written while retired' });
      window.t.retiredLocal = false;
      window.t.retiredWrite = h
        .wait({ tier: 'local' })
        .then(() => (window.t.retiredLocal = true))
        .then(() => h.wait({ tier: 'global' }));
    });
    await b.page.evaluate(async () => {
      const { app, db } = window.t;
      await db.insert(app.todos, { title: 'written while A was retired' }).wait({ tier: 'global' });
    });
    // Nothing holds A's storage while it is retired, so its write is not confirmed yet.
    await a.page.waitForTimeout(200);
    expect(await a.page.evaluate(() => window.t.retiredLocal)).toBe(false);
    await a.page.evaluate(() => dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
    await a.page.evaluate(() => window.t.retiredWrite);
    await waitLive(a, `rows.some((r) => r.title === 'written while A was retired')`, "B's write made while A was retired");
    await waitLive(b, `rows.some((r) => r.title === 'written while retired')`, "A's write made while retired");

    const views = await Promise.all(devices.map((d) => d.page.evaluate(async () => ({ live: window.t.live, fresh: await window.t.db.all(window.t.app.todos) }))));
    for (const v of views) {
      expect(norm(v.live)).toEqual(norm(v.fresh));
      expect(norm(v.fresh)).toEqual(serverRows(server, appId));
    }
    expect(serverRows(server, appId)).toHaveLength(5);
    console.log(`[sync] bfcache: A caught up ${caughtUp} ms after going back`);
    expect(devices.flatMap((d) => d.problems)).toEqual([]);
  } finally {
    await closeAll(devices, server);
  }
});
