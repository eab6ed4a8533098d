/**
 * Several server nodes on one PostgreSQL are one authority (server/pg-store.ts): an app published
 * on one is served by the others, a write on one reaches the subscriptions on the others (carried
 * by LISTEN/NOTIFY), and transactions are decided across nodes by PostgreSQL's locking: of
 * conflicting transactions sent to different nodes exactly one wins, and retried increments lose
 * nothing. Two nodes in this process, on a real PostgreSQL of this file's own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, s, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { Db } from '../src/db.ts';
import { until } from '../src/testing/until.ts';
import { usePostgres } from './testing/postgres.ts';
import { inProcessNodes } from './testing/cluster.ts';

const pgc = usePostgres();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tables = { counters: s.table({ name: s.string(), value: s.int() }), notes: s.table({ text: s.string() }) };
const app = s.defineApp(tables);
/** The next version: one more table. */
const v2 = s.defineApp({ ...tables, tags: s.table({ label: s.string() }) });
/** Another next version, with another table in the same place. */
const v2b = s.defineApp({ ...tables, labels: s.table({ text: s.string(), weight: s.int() }) });
const permissions = definePermissions(app, ({ policy }) => {
  policy.counters.allowRead.always();
  policy.counters.allowInsert.always();
  policy.counters.allowUpdate.always();
  policy.notes.allowRead.always();
  policy.notes.allowInsert.where({ text: 'allowed' });
});

/** Two nodes on one new database, the app published on the first. */
async function twoNodes(): Promise<[SyncServer, SyncServer]> {
  const nodes = await inProcessNodes(await pgc.cluster.database(), 2, { dev: true, adminSecret: 'adm' });
  for (const n of nodes) cleanups.push(() => n.close());
  await nodes[0]!.publish('c', app.$schema);
  // The second node hears of the app (its row changed) and opens it.
  await until(() => nodes[1]!.engineOf('c') !== undefined);
  return nodes as [SyncServer, SyncServer];
}

function client(node: SyncServer): Db<typeof app> {
  const db = createDb({ app, server: node.url, appId: 'c', backoff: { initialMs: 20, maxMs: 200 } });
  cleanups.push(() => db.close());
  return db;
}

const increment = (db: Db<typeof app>, id: string) =>
  db.transaction(async (tx) => {
    const c = await tx.one(app.counters.where({ id }));
    tx.update(app.counters, id, { value: (c!.value as number) + 1 });
  });

const valueOn = (node: SyncServer, id: string) => {
  const engine = node.engineOf('c')!;
  return engine.getRowById(engine.table('counters'), id)?.value;
};

describe('several nodes on one PostgreSQL', () => {
  it("a write on one node reaches the other node's subscriptions, both ways", async () => {
    const [a, b] = await twoNodes();
    const onA = client(a);
    const onB = client(b);
    let seenOnB: string[] = [];
    let seenOnA: string[] = [];
    onB.subscribeAll(app.notes.orderBy('text'), ({ all }) => (seenOnB = all.map((r) => r.text as string)), { tier: 'global' });
    onA.subscribeAll(app.notes.orderBy('text'), ({ all }) => (seenOnA = all.map((r) => r.text as string)), { tier: 'global' });
    await onA.insert(app.notes, { text: 'from a' }).wait({ tier: 'global' });
    await until(() => seenOnB.includes('from a'));
    const h = onB.insert(app.notes, { text: 'from b' });
    await h.wait({ tier: 'global' });
    await until(() => seenOnA.includes('from b'));
    // An update of a row the other node's client holds reaches it too.
    await onB.update(app.notes, h.id, { text: 'from b, edited' }).wait({ tier: 'global' });
    await until(() => seenOnA.includes('from b, edited'));
    expect(seenOnA).toEqual(['from a', 'from b, edited']);
  });

  it('of conflicting transactions sent to different nodes exactly one wins', async () => {
    const [a, b] = await twoNodes();
    const clients = [client(a), client(b), client(a), client(b), client(a), client(b)];
    const h = clients[0]!.insert(app.counters, { name: 'n', value: 0 });
    await h.wait({ tier: 'global' });
    await until(() => valueOn(b, h.id) === 0);
    await Promise.all(clients.map((db) => db.all(app.counters, { tier: 'global' })));
    const outcomes = await Promise.allSettled(clients.map((db) => increment(db, h.id)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'TRANSACTION_CONFLICT' });
    // The winner's node has it at once, the other as soon as it heard of it; never more than one increment.
    await until(() => valueOn(a, h.id) === 1 && valueOn(b, h.id) === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect([valueOn(a, h.id), valueOn(b, h.id)]).toEqual([1, 1]);
  });

  it('increments retried until accepted, on both nodes at once, lose nothing', async () => {
    const [a, b] = await twoNodes();
    const clients = [client(a), client(b), client(a), client(b)];
    const h = clients[0]!.insert(app.counters, { name: 'n', value: 0 });
    await h.wait({ tier: 'global' });
    await until(() => valueOn(b, h.id) === 0);
    await Promise.all(clients.map((db) => db.all(app.counters, { tier: 'global' })));
    const per = 3;
    await Promise.all(
      clients.map(async (db) => {
        for (let i = 0; i < per; i++) {
          for (;;) {
            try {
              await increment(db, h.id);
              break;
            } catch (e) {
              if ((e as { code?: string }).code !== 'TRANSACTION_CONFLICT') throw e;
              await new Promise((r) => setTimeout(r, Math.random() * 20));
            }
          }
        }
      }),
    );
    await until(() => valueOn(a, h.id) === clients.length * per && valueOn(b, h.id) === clients.length * per);
    await new Promise((r) => setTimeout(r, 100));
    expect([valueOn(a, h.id), valueOn(b, h.id)]).toEqual([clients.length * per, clients.length * per]);
  });

  it('permissions published on one node are enforced on the other', async () => {
    const [a, b] = await twoNodes();
    await a.publish('c', app.$schema, permissions);
    const onB = client(b);
    // The other node takes the rules from the store: its admin route serves them.
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${b.port}/apps/c/admin/permissions`, { headers: { authorization: 'Bearer adm' } })).status, { timeout: 5000 }).toBe(200);
    await expect(onB.insert(app.notes, { text: 'forbidden' }).wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    await onB.insert(app.notes, { text: 'allowed' }).wait({ tier: 'global' });
  });

  it('a schema version published on one node is served by the other, and what is written in it right away reaches the other', async () => {
    const [a, b] = await twoNodes();
    const onA = client(a);
    await onA.insert(app.notes, { text: 'in v1' }).wait({ tier: 'global' });
    await a.publish('c', v2.$schema);
    // Written on the first node at once: the other must take the new version before it can read the batch.
    const v2OnA = createDb({ app: v2, server: a.url, appId: 'c', backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => v2OnA.close());
    const t = v2OnA.insert(v2.tags, { label: 'new table' });
    await t.wait({ tier: 'global' });
    await until(() => b.engineOf('c')?.catalogue.current === v2.$hash);
    const tagOn = (node: SyncServer) => {
      const e = node.engineOf('c')!;
      return e.getRowById(e.table('tags'), t.id)?.label;
    };
    await until(() => tagOn(b) === 'new table');
    // A v2 client of the other node reads both versions' rows, and writes back.
    const v2OnB = createDb({ app: v2, server: b.url, appId: 'c', backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => v2OnB.close());
    expect((await v2OnB.all(v2.notes, { tier: 'global' })).map((r) => r.text)).toEqual(['in v1']);
    const back = v2OnB.insert(v2.tags, { label: 'from b' });
    await back.wait({ tier: 'global' });
    await until(() => {
      const e = a.engineOf('c')!;
      return e.getRowById(e.table('tags'), back.id)?.label === 'from b';
    });
  });

  it('after PostgreSQL restarts, the nodes follow each other again (what was logged meanwhile included)', async () => {
    const [a, b] = await twoNodes();
    const onA = client(a);
    const onB = client(b);
    let seenOnB: string[] = [];
    onB.subscribeAll(app.notes.orderBy('text'), ({ all }) => (seenOnB = all.map((r) => r.text as string)), { tier: 'global' });
    await onA.insert(app.notes, { text: 'before' }).wait({ tier: 'global' });
    await until(() => seenOnB.includes('before'));
    pgc.cluster.stop();
    pgc.cluster.start();
    // Logged by the first node as soon as the database is back: the second hears of it, or catches up on reconnecting.
    await onA.insert(app.notes, { text: 'after the restart' }).wait({ tier: 'global' });
    await until(() => seenOnB.includes('after the restart'), 15_000);
    await onB.insert(app.notes, { text: 'from b' }).wait({ tier: 'global' });
    await until(() => {
      const e = a.engineOf('c')!;
      return [...e.tables.values()].find((t) => t.name === 'notes')!.liveCount === 3;
    }, 15_000);
  });

  it('two nodes publishing different versions at the same moment: the first stored wins everywhere, the other is withdrawn and says so', async () => {
    const [a, b] = await twoNodes();
    // Both published before either node heard of the other's.
    const results = await Promise.allSettled([a.publish('c', v2.$schema), b.publish('c', v2b.$schema)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason.message).toMatch(/was changed on another node meanwhile .* this publication was not stored and is withdrawn here: publish again/);
    const winner = results[0]!.status === 'fulfilled' ? v2 : v2b;
    await until(() => a.engineOf('c')?.catalogue.current === winner.$hash && b.engineOf('c')?.catalogue.current === winner.$hash);
    // One catalogue: what a client of the winning version writes on either node reads the same on both.
    const onA = createDb({ app: winner, server: a.url, appId: 'c', backoff: { initialMs: 20, maxMs: 200 } });
    const onB = createDb({ app: winner, server: b.url, appId: 'c', backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(
      () => onA.close(),
      () => onB.close(),
    );
    const table = winner === v2 ? 'tags' : 'labels';
    const values = winner === v2 ? { label: 'x' } : { text: 'x', weight: 2 };
    const h1 = (onA as Db<typeof v2>).insert((winner as typeof v2)[table as 'tags'], values as never);
    const h2 = (onB as Db<typeof v2>).insert((winner as typeof v2)[table as 'tags'], values as never);
    await Promise.all([h1.wait({ tier: 'global' }), h2.wait({ tier: 'global' })]);
    for (const node of [a, b]) {
      await until(() => {
        const e = node.engineOf('c')!;
        return [h1.id, h2.id].every((id) => JSON.stringify(e.getRowById(e.table(table), id) ?? null).includes('"x"'));
      });
      const e = node.engineOf('c')!;
      for (const id of [h1.id, h2.id]) expect(e.getRowById(e.table(table), id)).toMatchObject(values);
    }
  });
});
