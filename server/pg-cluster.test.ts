/**
 * Three server nodes on one PostgreSQL are one authority (issue 15), proved three ways:
 *
 * - R5 across nodes: three real server processes (`server/cli.ts --postgres`), five clients each
 *   connecting to a random node at every (re)connection, random writes on shared rows, random
 *   network cuts, and nodes killed with SIGKILL (or stopped with SIGTERM, a drain) and started again
 *   while the clients write. At the end every client equals the database (read by a fresh node
 *   opened on it) and every version acknowledged at `global` is in it. Seeded: JAZZ_SEED replays.
 * - Transactions: conflicting transactions sent to the three nodes at once, several rounds and two
 *   conflicting sets per round: exactly one winner per set, and the counters count the winners.
 * - S1 across nodes: two tenants' users spread over the nodes, every value carrying its tenant's
 *   canary; users write (and try to write into the other tenant), a backend moves rows between
 *   tenants; every frame each user receives is scanned for the other tenant's canary: none.
 *
 * About 30 s in all on the 2-core development machine (mostly starting node processes).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, s, wsConnector, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import { todoApp, rng } from '../src/testing/fixtures.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';
import { usePostgres } from './testing/postgres.ts';
import { inProcessNodes, processCluster, publishOver, servedBy } from './testing/cluster.ts';
import { cuttable, expectConverged, randomWrite, watchTodos, type Acked } from './testing/convergence.ts';
import { jwtKeys } from './testing/jwt-server.ts';

const pgc = usePostgres();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'admin-secret-for-the-cluster';

describe('three nodes on one PostgreSQL', () => {
  it('R5: five clients on random nodes, nodes killed and restarted while they write: every client equals the database, nothing acknowledged is lost', async () => {
    const seed = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));
    console.log(`[pg cluster R5] seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const url = await pgc.cluster.database();
    const cluster = await processCluster(3, ['--postgres', url, '--dev', '--admin-secret', SECRET]);
    cleanups.push(() => cluster.destroy());
    await publishOver(cluster.nodes[0]!.url, 'r5', todoApp.$schema, SECRET);
    for (const n of cluster.nodes) await servedBy(n!.url, 'r5', todoApp.$hash, SECRET);

    // The network's own randomness: a node per connection, seeded apart from the writes.
    const routing = rng(seed + 1);
    const clients = Array.from({ length: 5 }, () => {
      const net = cuttable((u) => cluster.route(u, routing));
      const db = createDb({ app: todoApp, server: 'ws://unused.invalid', appId: 'r5', connect: net.connect, backoff: { initialMs: 10, maxMs: 100 } });
      cleanups.push(() => db.close());
      return { db, net };
    });
    const dbs = clients.map((c) => c.db);
    const views = watchTodos(dbs);
    const acked: Acked[] = [];
    const ids: string[] = [];
    const OPS = 400;
    // Four node failures at seeded moments, each restarted while the writes go on.
    const failures = new Map(Array.from({ length: 4 }, (_, k) => [Math.floor(((k + r()) * OPS) / 5), { node: r(), graceful: r() < 0.25 }]));
    const restarts: Promise<void>[] = [];
    let killed = 0;
    for (let step = 0; step < OPS; step++) {
      randomWrite(pick(clients).db, r, ids, acked);
      if (r() < 0.01) pick(clients).net.cut();
      const f = failures.get(step);
      if (f) {
        // Two nodes stay up: on a slow machine the last one killed may still be starting.
        const up = () => [0, 1, 2].filter((i) => cluster.nodes[i]);
        while (up().length < 3) await Promise.race([...restarts.slice(-1), sleep(50)]);
        const node = up()[Math.floor(f.node * 3)]!;
        killed++;
        restarts.push(cluster.stop(node, f.graceful).then(() => cluster.restart(node)));
      }
      await sleep(Math.floor(r() * 12));
    }
    await Promise.all(restarts);
    expect(killed).toBe(4);
    // The database: what a node opened now reads from PostgreSQL.
    const [fresh] = await inProcessNodes(url, 1, { dev: true });
    cleanups.push(() => fresh!.close());
    await expectConverged(dbs, views, () => fresh!.engineOf('r5')!, acked, `seed ${seed}`);
    expect(acked.length).toBeGreaterThan(OPS / 2);
    console.log(`[pg cluster R5] ${acked.length} batches acknowledged over ${killed} node failures, none lost (seed ${seed})`);
  }, 60_000);

  it('conflicting transactions sent to the three nodes at once: exactly one winner per conflicting set, round after round', async () => {
    const app = s.defineApp({ counters: s.table({ name: s.string(), value: s.int() }) });
    const nodes = await inProcessNodes(await pgc.cluster.database(), 3, { dev: true });
    cleanups.push(() => Promise.all(nodes.map((n) => n.close())));
    await nodes[0]!.publish('tx', app.$schema);
    await until(() => nodes.every((n) => n.engineOf('tx') !== undefined));
    const clients = Array.from({ length: 9 }, (_, i) => {
      const db = createDb({ app, server: nodes[i % 3]!.url, appId: 'tx', backoff: { initialMs: 20, maxMs: 200 } });
      cleanups.push(() => db.close());
      return db;
    });
    // Every client follows the counters, so it reads the latest value before each round.
    for (const db of clients) db.subscribeAll(app.counters, () => {}, { tier: 'global' });
    const a = clients[0]!.insert(app.counters, { name: 'a', value: 0 });
    const b = clients[1]!.insert(app.counters, { name: 'b', value: 0 });
    await Promise.all([a.wait({ tier: 'global' }), b.wait({ tier: 'global' })]);
    // Two conflicting sets: clients 0..4 increment a, 5..8 increment b; each set spans the three nodes.
    const counterOf = (i: number) => (i < 5 ? a.id : b.id);
    const valueIn = (db: Db<typeof app>, id: string) => db.engine.getRowById(db.engine.table('counters'), id)?.value;
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      // Everyone holds the current value first, or nobody could win.
      await until(() => clients.every((db, i) => valueIn(db, counterOf(i)) === round), 15_000, `round ${round}: every client holds the current counters`);
      const outcomes = await Promise.allSettled(
        clients.map((db, i) =>
          db.transaction(async (tx) => {
            const c = await tx.one(app.counters.where({ id: counterOf(i) }));
            tx.update(app.counters, counterOf(i), { value: (c!.value as number) + 1 });
          }),
        ),
      );
      for (const [from, to] of [
        [0, 5],
        [5, 9],
      ] as const) {
        const set = outcomes.slice(from, to);
        expect(
          set.filter((o) => o.status === 'fulfilled'),
          `round ${round}, clients ${from}..${to - 1}`,
        ).toHaveLength(1);
        for (const o of set) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'TRANSACTION_CONFLICT' });
      }
    }
    const onNode = (n: SyncServer, id: string) => {
      const e = n.engineOf('tx')!;
      return e.getRowById(e.table('counters'), id)?.value;
    };
    await until(() => nodes.every((n) => onNode(n, a.id) === ROUNDS && onNode(n, b.id) === ROUNDS));
    await sleep(100);
    expect(nodes.map((n) => [onNode(n, a.id), onNode(n, b.id)])).toEqual([
      [ROUNDS, ROUNDS],
      [ROUNDS, ROUNDS],
      [ROUNDS, ROUNDS],
    ]);
  }, 30_000);

  it("S1: users of two tenants spread over the nodes never receive the other tenant's canary", async () => {
    const app = s.defineApp({ tasks: s.table({ tenant: s.string(), title: s.string(), body: s.string().optional() }) });
    const permissions = definePermissions(app, ({ policy, session }) => {
      const sameTenant = { tenant: session.tenant };
      policy.tasks.allowRead.where(sameTenant);
      policy.tasks.allowInsert.where(sameTenant);
      policy.tasks.allowUpdate.whereOld(sameTenant).whereNew(sameTenant);
    });
    const keys = await jwtKeys();
    const nodes = await inProcessNodes(await pgc.cluster.database(), 3, { auth: { jwtPublicKey: keys.publicKey, backendSecret: SECRET } });
    cleanups.push(() => Promise.all(nodes.map((n) => n.close())));
    await nodes[0]!.publish('s1', app.$schema, permissions);
    await until(() => nodes.every((n) => n.engineOf('s1') !== undefined));
    const canary = (tenant: string) => `CANARY-TENANT-${tenant}`;
    const bytes = (text: string) => new TextEncoder().encode(text);
    const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(Buffer.from(needle));

    const users = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const tenant = i % 2 === 0 ? 'A' : 'B';
        const other = bytes(canary(tenant === 'A' ? 'B' : 'A'));
        const seen = { frames: 0, leaks: [] as string[] };
        const node = nodes[i % 3]!;
        const db = createDb({
          app,
          server: node.url,
          appId: 's1',
          auth: { token: await keys.sign(`user${i}`, { tenant }) },
          connect: (url, events) =>
            wsConnector(url, {
              ...events,
              message: (d) => {
                seen.frames++;
                if (contains(d, other)) seen.leaks.push(`user${i} (tenant ${tenant}, on node ${i % 3}) received the other tenant's canary`);
                events.message(d);
              },
            }),
          backoff: { initialMs: 20, maxMs: 200 },
        });
        cleanups.push(() => db.close());
        db.subscribeAll(app.tasks, () => {});
        return { db, tenant, seen };
      }),
    );
    const backend = createDb({ app, server: nodes[2]!.url, appId: 's1', auth: { secret: SECRET }, backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => backend.close());

    // Everyone writes at once, on their own node; each also tries to write into the other tenant.
    const mine: string[] = [];
    const forbidden: string[] = [];
    await Promise.all(
      users.map(async ({ db, tenant }, i) => {
        for (let k = 0; k < 5; k++) {
          const h = db.insert(app.tasks, { tenant, title: `${canary(tenant)} ${i}.${k}`, body: `${canary(tenant)} body` });
          mine.push(h.id);
          await h.wait({ tier: 'global' });
        }
        const bad = db.insert(app.tasks, { tenant: tenant === 'A' ? 'B' : 'A', title: `${canary(tenant)} pushed into the other tenant` });
        forbidden.push(bad.id);
        await expect(bad.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
      }),
    );
    // The backend moves some rows to the other tenant, rewriting every value with that tenant's canary.
    const moved = mine.filter((_, k) => k % 4 === 0);
    for (const id of moved) {
      const row = await backend.one(app.tasks.where({ id }), { tier: 'global' });
      const to = row!.tenant === 'A' ? 'B' : 'A';
      await backend.update(app.tasks, id, { tenant: to, title: `${canary(to)} moved`, body: `${canary(to)} body` }).wait({ tier: 'global' });
    }
    // Every user ends with exactly their tenant's rows, written on any node.
    const rowsOn = (n: SyncServer) => {
      const e = n.engineOf('s1')!;
      return [...e.rowIds('tasks')].map((id) => e.getRowById(e.table('tasks'), id)).filter((t) => t !== undefined);
    };
    await until(() => nodes.every((n) => rowsOn(n).length === mine.length), 10_000, 'every node to hold every accepted row');
    const expected = (tenant: string) => rowsOn(nodes[0]!).filter((t) => t.tenant === tenant).length;
    await until(() => users.every((u) => u.db.allSync(app.tasks).length === expected(u.tenant)), 10_000, 'every user to hold their tenant’s rows');
    for (const u of users) {
      expect(u.db.allSync(app.tasks).every((t) => t.tenant === u.tenant)).toBe(true);
      expect(u.seen.frames).toBeGreaterThan(10);
      expect(u.seen.leaks).toEqual([]);
    }
    expect(expected('A') + expected('B')).toBe(mine.length);
    // No forbidden write was applied on any node.
    for (const n of nodes) {
      const e = n.engineOf('s1')!;
      for (const id of forbidden) expect(e.getRowById(e.table('tasks'), id)).toBeUndefined();
    }
  }, 30_000);
});
