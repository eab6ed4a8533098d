/**
 * Transactions (issue 6): staged writes that the authority accepts only if nothing they read has
 * changed. Of concurrent conflicting transactions exactly one wins, the others leave nothing
 * behind, and every client ends with the same state. On both stores: in memory, and PostgreSQL
 * (where the server logs each batch before applying it, one batch of an app at a time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, s, type SyncServer, type SyncServerOptions } from './index.ts';
import type { Db } from '../src/db.ts';
import { usePostgres } from './testing/postgres.ts';

const pgc = usePostgres();
const STORES: Record<string, () => Promise<Pick<SyncServerOptions, 'inMemory' | 'postgres'>>> = {
  memory: async () => ({ inMemory: true }),
  postgres: async () => ({ postgres: await pgc.cluster.database() }),
};

const app = s.defineApp({ counters: s.table({ name: s.string(), value: s.int() }), log: s.table({ text: s.string() }) });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(n: number, kind: string): Promise<{ server: SyncServer; clients: Db<typeof app>[]; counter: string }> {
  const server = await startSyncServer({ port: 0, ...(await STORES[kind]!()), dev: true, log: () => {} });
  cleanups.push(() => server.close());
  const clients = Array.from({ length: n }, () => {
    const db = createDb({ app, server: server.url, appId: 'tx' });
    cleanups.push(() => db.close());
    return db;
  });
  const h = clients[0]!.insert(app.counters, { name: 'c', value: 0 });
  await h.wait({ tier: 'global' });
  // everyone holds the counter
  await Promise.all(clients.map((c) => c.all(app.counters, { tier: 'global' })));
  return { server, clients, counter: h.id };
}

const increment = (db: Db<typeof app>, id: string) =>
  db.transaction(async (tx) => {
    const c = await tx.one(app.counters.where({ id }));
    tx.update(app.counters, id, { value: (c!.value as number) + 1 });
    tx.insert(app.log, { text: `+1 by ${db.engine.clientId}` });
    return (c!.value as number) + 1;
  });

describe.each(Object.keys(STORES))('transactions (%s)', (kind) => {
  const setupOn = (n: number) => setup(n, kind);
  it('exactly one of several conflicting transactions is accepted; the rest leave nothing', async () => {
    const { server, clients, counter } = await setupOn(8);
    const outcomes = await Promise.allSettled(clients.map((db) => increment(db, counter)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const l of lost) expect(l.reason).toMatchObject({ code: 'TRANSACTION_CONFLICT' });
    const engine = server.engineOf('tx')!;
    expect(engine.getRowById(engine.table('counters'), counter)!.value).toBe(1);
    const logs = [...engine.rowIds('log')];
    expect(logs).toHaveLength(1);
    // Every client converges on the winner's state; losers never show their staged log row.
    for (const db of clients) {
      await expect.poll(async () => (await db.one(app.counters.where({ id: counter })))!.value).toBe(1);
    }
    for (const db of clients) expect((await db.all(app.log, { tier: 'global' })).length).toBe(1);
  });

  it('retried until accepted, no increment is lost (serialisable)', async () => {
    const { server, clients, counter } = await setupOn(6);
    const per = 4;
    await Promise.all(
      clients.map(async (db) => {
        for (let i = 0; i < per; i++) {
          for (;;) {
            try {
              await increment(db, counter);
              break;
            } catch (e) {
              if ((e as { code?: string }).code !== 'TRANSACTION_CONFLICT') throw e;
              await new Promise((r) => setTimeout(r, Math.random() * 20));
            }
          }
        }
      }),
    );
    const engine = server.engineOf('tx')!;
    expect(engine.getRowById(engine.table('counters'), counter)!.value).toBe(clients.length * per);
    for (const db of clients) {
      await expect.poll(async () => (await db.one(app.counters.where({ id: counter })))!.value).toBe(clients.length * per);
    }
  });

  it('a query result that changed is a conflict too (phantoms)', async () => {
    const { clients } = await setupOn(2);
    const [a, b] = clients as [Db<typeof app>, Db<typeof app>];
    const p = a.transaction(async (tx) => {
      const rows = await tx.all(app.log);
      await b.insert(app.log, { text: 'sneaked in' }).wait({ tier: 'global' });
      tx.insert(app.log, { text: `count was ${rows.length}` });
    });
    await expect(p).rejects.toMatchObject({ code: 'TRANSACTION_CONFLICT' });
  });

  it('needs a server', async () => {
    const db = createDb({ app });
    cleanups.push(() => db.close());
    await expect(db.transaction(() => {})).rejects.toMatchObject({ code: 'NO_SERVER' });
  });
});
