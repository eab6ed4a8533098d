/**
 * The browser bench page (bench/browser/index.html): the engine's page client (worker/page, from
 * source, opfs driver), Dexie, SQLite-WASM (in its worker, sqlite-client.ts) and TanStack DB (in
 * memory, tanstack.ts) side by side. bench/browser.ts drives the functions on
 * `window.bench` through `page.evaluate`; every timing is taken here, on the page.
 */
import Dexie, { liveQuery } from 'dexie';
import { createDb } from '../../worker/page/index.ts';

import { benchApp as app, upgradeTo } from '../todo-app.ts';
import { DUE0, DUE_SPAN, makeRows, rand, reseed, word } from '../rows.ts';
import { LIMIT, QUERIES } from './queries.ts';
import { SqliteClient } from './sqlite-client.ts';
import { openTanstack } from './tanstack.ts';

/** The systems whose live queries bench.live measures. */
type System = 'engine' | 'dexie' | 'sqlite' | 'tanstack';

/** The worker script: `?worker=<url>` (bench/browser.ts passes the built jazz-worker.js), else from source. */
const workerParam = new URLSearchParams(location.search).get('worker');
const workerOpt = workerParam ? { workerUrl: new URL(workerParam, location.href) } : {};
/** The indexes on two columns Dexie has too (openDexie: [projectId+title], [priority+title]). */
const INDEXES = {
  todos: [
    ['projectId', 'title'],
    ['priority', 'title'],
  ],
};
/** The engine's driver: `?driver=idb` (bench/engines.ts, for WebKitGTK, which has no OPFS), else opfs. */
const driverType = (new URLSearchParams(location.search).get('driver') ?? 'opfs') as 'opfs' | 'idb';
/** The engine's page cache: `?cacheBytes=` (bench/browser.ts `CACHE_MB`), else the driver's default. */
const cacheBytes = Number(new URLSearchParams(location.search).get('cacheBytes')) || undefined;
const engineDriver = { type: driverType, dbName: 'bench', ...(cacheBytes ? { cacheBytes } : {}) };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function uuid(): string {
  return crypto.randomUUID();
}

const st: any = {};

/** The 20 queries of queries.ts for the engine. */
function engineQueries(projects: string[]) {
  return QUERIES.map((q) => {
    const where =
      q.kind === 'project'
        ? app.todos.where({ projectId: projects[q.project]!, done: false })
        : q.kind === 'priorityAtLeast'
          ? app.todos.where({ priority: { gte: q.min } })
          : app.todos.where({ done: q.done, priority: q.priority });
    return (q.kind === 'priorityAtLeast' ? where.orderBy('due', 'desc') : where.orderBy('title')).limit(LIMIT).include({ project: true });
  });
}

/** Drops SQLite-WASM after a failure (closed, its reason kept in `sqlFailure`): the later measures go on without it. */
async function dropSql(e: unknown): Promise<void> {
  const sql = st.sql;
  st.sql = undefined;
  st.sqlFailure = String((e as Error)?.message ?? e).split('\n')[0];
  await sql?.close().catch(() => {});
}

/**
 * A call to SQLite-WASM inside a measure: when it fails (its 'opfs' VFS has failed writes here),
 * SQLite is dropped for the rest of the run, its figures of that measure with it; the other
 * systems go on.
 */
async function sqlCall(msg: unknown): Promise<any> {
  try {
    return await st.sql.call(msg);
  } catch (e) {
    await dropSql(e);
    return undefined;
  }
}

/** The same 20 queries for Dexie, each fetching its rows' projects (the include). */
function dexieQueries(dx: any, projects: string[]) {
  const withProject = async (rows: any[]) => {
    const ps = await dx.projects.bulkGet(rows.map((r) => r.projectId));
    return rows.map((r, i) => ({ ...r, project: ps[i] }));
  };
  return QUERIES.map((q) => async () => {
    const rows =
      q.kind === 'project'
        ? dx.todos
            .where('[projectId+title]')
            .between([projects[q.project], Dexie.minKey], [projects[q.project], Dexie.maxKey])
            .filter((r: any) => !r.done)
        : q.kind === 'priorityAtLeast'
          ? dx.todos
              .orderBy('due')
              .reverse()
              .filter((r: any) => r.priority >= q.min)
          : dx.todos
              .where('[priority+title]')
              .between([q.priority, Dexie.minKey], [q.priority, Dexie.maxKey])
              .filter((r: any) => r.done === q.done);
    return withProject(await rows.limit(LIMIT).toArray());
  });
}

function openDexie(name: string, durability: string) {
  const dx: any = new Dexie(name, { chromeTransactionDurability: durability as any });
  dx.version(1).stores({ projects: 'id', todos: 'id, title, due, priority, projectId, [projectId+title], [priority+title]' });
  return dx;
}

const bench = {
  async p1(mib: number, flushWrites: number) {
    const w = new Worker(new URL('./opfs.worker.ts', import.meta.url), { type: 'module' });
    const r = await new Promise<any>((resolve) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => resolve({ ok: false, error: e.message });
      w.postMessage({ mib, flushWrites });
    });
    w.terminate();
    if (!r.ok) throw new Error(r.error);
    return r;
  },

  async setup(n: number, durability: string, withSqlite = true, withDexie = true) {
    st.engine = createDb({ app, driver: engineDriver, indexes: INDEXES, ...workerOpt });
    await st.engine.ready;
    st.status = st.engine.status;
    await Dexie.delete('bench-dexie');
    if (withDexie) {
      st.dx = openDexie('bench-dexie', durability);
      await st.dx.open();
    }
    // Projects: 100, same ids on both sides.
    const h = st.engine.batch((b: any) => {
      for (let i = 0; i < 100; i++) b.insert(app.projects, { name: `project ${i}` });
    });
    await h.wait({ tier: 'local' });
    st.projects = h.ids;
    await st.dx?.projects.bulkAdd(st.projects.map((id: string, i: number) => ({ id, name: `project ${i}` })));
    st.rows = makeRows(n, st.projects);
    // SQLite-WASM: a failure leaves its column empty and the others run.
    let sqlite: unknown;
    let sqliteError: string | undefined;
    // SKIP=sqlite: not opened, so no measure reads it.
    if (withSqlite)
      try {
        st.sql = new SqliteClient();
        sqlite = await st.sql.call({ op: 'open', fresh: true });
        await st.sql.call({ op: 'projects', projects: st.projects.map((id: string, i: number) => ({ id, name: `project ${i}` })) });
      } catch (e) {
        sqliteError = String((e as Error)?.message ?? e);
        await st.sql?.close();
        st.sql = undefined;
      }
    return { driver: st.engine.status?.driver, bytesPerRow: JSON.stringify({ id: uuid(), ...st.rows[0] }).length, isolated: crossOriginIsolated, sqlite, sqliteError };
  },

  /** P2 for SQLite: one message and one transaction per 1k rows, each awaited (after loadEngine: the same ids). */
  async loadSqlite() {
    const rows = st.rows.map((r: any, i: number) => ({ id: st.ids[i], ...r }));
    const t0 = performance.now();
    try {
      for (let i = 0; i < rows.length; i += 1000) await st.sql.call({ op: 'insert', rows: rows.slice(i, i + 1000) });
    } catch (e) {
      // Its column stays empty: the later measures must not read a half-loaded database.
      await dropSql(e);
      throw e;
    }
    return { ms: performance.now() - t0 };
  },

  /** TanStack DB, in memory, over the rows as they are now (after P3): its 20 live queries' first results. */
  async openTanstack() {
    const t0 = performance.now();
    st.ts = await openTanstack(
      st.dxRows.map((r: any) => ({ ...r })),
      st.projects.map((id: string, i: number) => ({ id, name: `project ${i}` })),
    );
    return { ms: performance.now() - t0 };
  },

  async loadEngine() {
    const rows = st.rows;
    const ids: string[] = [];
    /** Rows per second of each tenth of the load (whole batches): whether a row costs more as the table grows. */
    const tenths: number[] = [];
    const step = Math.max(1000, Math.round(rows.length / 10_000) * 1000);
    const t0 = performance.now();
    let mark = t0;
    let from = 0;
    for (let i = 0; i < rows.length; i += 1000) {
      if (i > 0 && i % step === 0) {
        const now = performance.now();
        tenths.push((i - from) / ((now - mark) / 1000));
        mark = now;
        from = i;
      }
      const h = st.engine.batch((b: any) => {
        for (let j = i; j < Math.min(rows.length, i + 1000); j++) b.insert(app.todos, rows[j]);
      });
      ids.push(...h.ids);
      await h.wait({ tier: 'local' });
    }
    const end = performance.now();
    tenths.push((rows.length - from) / ((end - mark) / 1000));
    st.ids = ids;
    return { ms: end - t0, tenths };
  },

  async loadDexie() {
    const rows = st.rows.map((r: any, i: number) => ({ id: st.ids[i], ...r }));
    st.dxRows = rows;
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await st.dx.transaction('rw', st.dx.todos, () => st.dx.todos.bulkAdd(chunk));
    }
    return { ms: performance.now() - t0 };
  },

  async updates(n: number) {
    reseed(7);
    const picks = Array.from({ length: n }, () => Math.floor(rand() * st.ids.length));
    const eng: number[] = [];
    const dex: number[] = [];
    const sql: number[] = [];
    // Interleaved in blocks so all see the same machine noise.
    for (let k = 0; k < n; k += 100) {
      for (let j = k; j < Math.min(n, k + 100); j++) {
        const t0 = performance.now();
        await st.engine.update(app.todos, st.ids[picks[j]!], { priority: j % 10 }).wait({ tier: 'local' });
        eng.push(performance.now() - t0);
      }
      for (let j = k; st.dx && j < Math.min(n, k + 100); j++) {
        const row = st.dxRows[picks[j]!];
        row.priority = j % 10;
        const t0 = performance.now();
        await st.dx.todos.put(row);
        dex.push(performance.now() - t0);
      }
      for (let j = k; st.sql && j < Math.min(n, k + 100); j++) {
        const t0 = performance.now();
        await sqlCall({ op: 'update', updates: [{ id: st.ids[picks[j]!], set: { priority: j % 10 } }], requery: false });
        sql.push(performance.now() - t0);
      }
    }
    return { eng, dex, sql: st.sql ? sql : [], sqlFailure: st.sqlFailure };
  },

  async reads(n: number) {
    reseed(9);
    const picks = Array.from({ length: n }, () => st.ids[Math.floor(rand() * st.ids.length)]);
    // Warm-up.
    for (let i = 0; i < Math.min(50, n); i++) {
      await st.engine.one(app.todos.where({ id: picks[i] }));
      await st.dx?.todos.get(picks[i]);
    }
    for (let i = 0; st.sql && i < Math.min(50, n); i++) await sqlCall({ op: 'get', id: picks[i] });
    const eng: number[] = [];
    const dex: number[] = [];
    const sql: number[] = [];
    for (const id of picks) {
      let t0 = performance.now();
      const a = await st.engine.one(app.todos.where({ id }));
      eng.push(performance.now() - t0);
      if (!a) throw new Error(`point read missed ${id}`);
      if (st.dx) {
        t0 = performance.now();
        const b = await st.dx.todos.get(id);
        dex.push(performance.now() - t0);
        if (!b) throw new Error(`Dexie point read missed ${id}`);
      }
      if (st.sql) {
        t0 = performance.now();
        const c = await sqlCall({ op: 'get', id });
        sql.push(performance.now() - t0);
        if (st.sql && !c) throw new Error(`SQLite point read missed ${id}`);
      }
    }
    // Indexed range of ~3,000 rows on `due`.
    const width = Math.round((DUE_SPAN * 3000) / st.ids.length);
    const rEng: number[] = [];
    const rDex: number[] = [];
    const rSql: number[] = [];
    const counts: number[] = [];
    for (let k = 0; k < 12; k++) {
      const lo = DUE0 + Math.floor(rand() * (DUE_SPAN - width));
      let t0 = performance.now();
      const a = await st.engine.all(app.todos.where({ due: { gte: lo, lt: lo + width } }));
      const ea = performance.now() - t0;
      t0 = performance.now();
      const b = st.dx
        ? await st.dx.todos
            .where('due')
            .between(lo, lo + width, true, false)
            .toArray()
        : a;
      const db = performance.now() - t0;
      t0 = performance.now();
      const c = st.sql ? await sqlCall({ op: 'range', lo, hi: lo + width }) : a.length;
      const sc = performance.now() - t0;
      if (k >= 2) {
        rEng.push(ea);
        if (st.dx) rDex.push(db);
        if (st.sql) rSql.push(sc);
        counts.push(a.length);
      }
      if (a.length !== b.length || (st.sql && a.length !== c)) throw new Error(`range counts differ: engine ${a.length}, dexie ${b.length}, SQLite ${c}`);
    }
    return { eng, dex, sql: st.sql ? sql : [], rEng, rDex, rSql: st.sql ? rSql : [], counts, sqlFailure: st.sqlFailure };
  },

  /**
   * P4 (`mode` 'one': one row shown by query k % 10 gets a new title) and the transaction scenario
   * (`mode` 'tx': one row shown by each of the 20 queries gets a new title, all in one transaction
   * or batch): the time from the write call to the last callback it causes (quiet for `quietMs`
   * after). SQLite has no live queries: its time is the write's transaction and a re-run of all 20
   * queries, in one round trip to its worker.
   */
  async live(n: number, which: System, quietMs: number, mode: 'one' | 'tx', seed: number) {
    let last = 0;
    let calls = 0;
    let windows: any[][] = [];
    let stops: (() => void)[] = [];
    const t0s = performance.now();
    if (which === 'engine') {
      const qs = engineQueries(st.projects);
      stops = qs.map((q, i) =>
        st.engine.subscribeAll(q, ({ all }: any) => {
          windows[i] = all;
          last = performance.now();
          calls++;
        }),
      );
    } else if (which === 'dexie') {
      const qs = dexieQueries(st.dx, st.projects);
      stops = qs.map((q, i) => {
        const sub = liveQuery(q).subscribe({
          next: (all: any[]) => {
            windows[i] = all;
            last = performance.now();
            calls++;
          },
          error: (e: unknown) => console.error(e),
        });
        return () => sub.unsubscribe();
      });
    } else if (which === 'tanstack') {
      stops = st.ts.live.map((l: any) => {
        // With its initial state: without it, TanStack DB 0.15 sends no update or delete for a row
        // the subscription was not sent first, and some of the 20 lists' callbacks never came.
        const sub = l.subscribeChanges(
          () => {
            last = performance.now();
            calls++;
          },
          { includeInitialState: true },
        );
        return () => sub.unsubscribe();
      });
      windows = st.ts.live.map((l: any) => l.toArray);
    } else windows = await st.sql.call({ op: 'queries' });
    // Waits for a first callback after `before` (up to 10 s: a slow write must not end the wait and
    // then land in the next write's timing), then until no callback came for `quietMs`.
    const settle = async (before: number) => {
      for (const t = performance.now(); calls === before && performance.now() - t < 10_000; ) await sleep(1);
      for (;;) {
        const c = calls;
        await sleep(quietMs);
        if (c === calls) return;
      }
    };
    while (windows.filter(Boolean).length < 20) await sleep(5);
    // The 20 first results: the callback that completed them (the engine's and Dexie's come one by
    // one; TanStack DB's live queries hold theirs already, SQLite's come in one answer).
    const firstMs = which === 'engine' || which === 'dexie' ? last - t0s : performance.now() - t0s;
    if (which !== 'sqlite') await settle(-1);
    reseed(seed);
    const times: number[] = [];
    let missed = 0;
    for (let k = 0; k < n; k++) {
      const pick = (w: any[]) => w[Math.floor(rand() * w.length)];
      const rows = mode === 'one' ? [pick(windows[k % 10]!)] : windows.map(pick);
      const updates = [...new Map(rows.map((r) => [r.id as string, { id: r.id as string, set: { title: `${word()} ${word()} ${word()}` } }])).values()];
      const before = calls;
      const t0 = performance.now();
      if (which === 'sqlite') {
        windows = await st.sql.call({ op: 'update', updates, requery: true });
        times.push(performance.now() - t0);
        continue;
      }
      if (which === 'engine') {
        if (mode === 'one') st.engine.update(app.todos, updates[0]!.id, updates[0]!.set);
        else st.engine.batch((b: any) => updates.forEach((u) => b.update(app.todos, u.id, u.set)));
      } else if (which === 'dexie') {
        if (mode === 'one') st.dx.todos.update(updates[0]!.id, updates[0]!.set);
        else st.dx.transaction('rw', st.dx.todos, async () => Promise.all(updates.map((u) => st.dx.todos.update(u.id, u.set))));
      } else {
        if (mode === 'one') st.ts.todos.update(updates[0]!.id, (d: any) => Object.assign(d, updates[0]!.set));
        else st.ts.transaction(updates);
      }
      await settle(before);
      if (which === 'tanstack') windows = st.ts.live.map((l: any) => l.toArray);
      if (calls === before) {
        missed++;
        continue;
      }
      times.push(last - t0);
    }
    for (const s of stops) s();
    return { times, missed, firstMs };
  },

  async close() {
    await st.engine?.close();
    st.dx?.close();
    await st.sql?.close();
  },

  /**
   * P5: after a browser restart, from opening to the first 50 rows by title. `engine-warm`: the
   * engine with `warmStart` (the last visit's rows, kept in localStorage, shown before the worker
   * answers); `freshMs` is when the database's own result came. It stays open 1.5 s after, so the
   * result is kept for the next restart.
   */
  async cold(which: 'engine' | 'engine-warm' | 'dexie' | 'sqlite') {
    const t0 = performance.now();
    if (which === 'sqlite') {
      st.sql = new SqliteClient();
      await st.sql.call({ op: 'open', fresh: false });
      const first = await st.sql.call({ op: 'first50' });
      if (first.length !== 50) throw new Error(`SQLite cold open: ${first.length} rows`);
      const at = performance.now();
      return { ms: at - t0, sinceNavigation: at };
    }
    if (which === 'engine' || which === 'engine-warm') {
      const warm = which === 'engine-warm';
      const db = createDb({ app, driver: engineDriver, indexes: INDEXES, ...(warm ? { warmStart: true } : {}), ...workerOpt });
      // The first 50 rows shown (with warmStart: kept from the last visit), and the database's own.
      let first = 0;
      let stale = false;
      const fresh = await new Promise<number>((resolve) => {
        const stop = db.subscribeAll(app.todos.orderBy('title').limit(50), ({ all, stale: s }: any) => {
          if (all.length !== 50) return;
          if (!first) (first = performance.now()), (stale = !!s);
          if (s) return;
          resolve(performance.now());
          if (!warm) queueMicrotask(() => stop());
        });
      });
      st.engine = db;
      if (!warm) return { ms: first - t0, sinceNavigation: first };
      await sleep(1500);
      return { ms: first - t0, sinceNavigation: first, freshMs: fresh - t0, stale };
    }
    const dx = openDexie('bench-dexie', st.durability ?? 'strict');
    const first = await new Promise<number>((resolve) => {
      const sub = liveQuery(() => dx.todos.orderBy('title').limit(50).toArray()).subscribe({
        next: (all: any[]) => {
          if (all.length === 50) {
            resolve(performance.now());
            queueMicrotask(() => sub.unsubscribe());
          }
        },
      });
    });
    st.dx = dx;
    return { ms: first - t0, sinceNavigation: first };
  },

  /**
   * P5u: after a browser restart, open the database as schema version `k + 1` (k ≥ 1; see
   * upgradeTo in bench/todo-app.ts) → first 50 rows by the renamed column. The first such open of a
   * version is the upgrade; bench/browser.ts opens the same version again for the comparison.
   */
  async coldVersion(k: number) {
    const { app: vk, migrations } = upgradeTo(k);
    const t0 = performance.now();
    // The same indexes: `title` is `label` from version 1 on (a rename keeps them).
    const db = createDb({
      app: vk,
      migrations,
      driver: engineDriver,
      indexes: {
        todos: [
          ['projectId', 'label'],
          ['priority', 'label'],
        ],
      },
      ...workerOpt,
    });
    const first = await new Promise<number>((resolve, reject) => {
      const stop = db.subscribeAll(vk.todos.orderBy('label').limit(50), ({ all }: any) => {
        if (all.length === 50) {
          resolve(performance.now());
          queueMicrotask(() => stop());
        }
      });
      db.ready.catch(reject);
    });
    st.engine = db;
    const sample = await db.all(vk.todos.orderBy('label').limit(1));
    if (typeof sample[0]?.label !== 'string' || sample[0]?.[`tag${k}`] !== '') throw new Error(`the upgraded row is not in v${k + 1}'s shape: ${JSON.stringify(sample[0])}`);
    return { ms: first - t0 };
  },
};

(window as any).bench = bench;
document.documentElement.dataset['ready'] = 'yes';

/**
 * `?auto=<rows>,<updates>,<live>&report=<url>`: runs setup, both loads, P3 and P4 by itself and
 * posts the timings to `report` (bench/engines.ts: a browser it cannot drive, such as MiniBrowser
 * on a disk-backed profile outside WebDriver, runs the page this way).
 */
const auto = new URLSearchParams(location.search).get('auto');
if (auto) {
  const [rows, updates, live] = auto.split(',').map(Number) as [number, number, number];
  const report = (body: unknown) => fetch(new URLSearchParams(location.search).get('report')!, { method: 'POST', mode: 'no-cors', body: JSON.stringify(body) });
  (async () => {
    const setup = await bench.setup(rows, 'strict');
    await bench.loadEngine();
    await bench.loadDexie();
    const p3 = await bench.updates(updates);
    const p4engine = await bench.live(live, 'engine', 150, 'one', 11);
    const p4dexie = await bench.live(live, 'dexie', 150, 'one', 11);
    await bench.close();
    return { userAgent: navigator.userAgent, driver: setup.driver, p3, p4engine, p4dexie };
  })().then(report, (e: unknown) => report({ failed: String(e) }));
}
