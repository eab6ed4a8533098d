/**
 * No row reaches a user who may not read it, whatever the client sends: one test per path by
 * which the server sends versions to a connection (server/read-gate.ts), each with the row leaving
 * (or entering) the user's scope in between. Every value written while a row was outside Bob's
 * scope carries a canary, and every frame Bob's client receives is scanned for it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { createDb, startSyncServer, wsConnector, s, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import { decodeServerMessage, type ServerMessage } from '../src/sync/protocol.ts';
import type { Db } from '../src/db.ts';
import type { Connector } from '../src/sync/transport.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  members: s.table({ projectId: s.ref('projects'), userId: s.string() }),
  tasks: s.table({ tenant: s.string(), title: s.string(), body: s.string().optional(), projectId: s.ref('projects').optional(), count: s.int().default(0) }),
});

const permissions = definePermissions(app, ({ policy, session, row, exists, anyOf }) => {
  const sameTenant = { tenant: session.tenant };
  policy.tasks.allowRead.where(anyOf([sameTenant, exists(app.members.where({ projectId: row.projectId, userId: session.userId }))]));
  policy.tasks.allowInsert.where(sameTenant);
  policy.tasks.allowUpdate.whereOld(sameTenant).whereNew(sameTenant);
  policy.projects.allowRead.always();
  policy.members.allowRead.where({ userId: session.userId });
});

const SECRET = 'backend-secret-for-read-scope';
const CANARY = 'CANARY-OTHER-TENANT';
const canary = new TextEncoder().encode(CANARY);
let server: SyncServer;
let sign: (sub: string, tenant: string) => Promise<string>;
const open: Db<typeof app>[] = [];
let backend: Db<typeof app>;

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A user's client whose every received frame is scanned (and kept); `dropAcks` loses acknowledgements. */
async function user(sub: string, tenant: string) {
  const frames: ServerMessage[] = [];
  const leaks: string[] = [];
  const control = { dropAcks: false };
  const connect: Connector = (url, events) =>
    wsConnector(url, {
      ...events,
      message: (d) => {
        if (contains(d, canary)) leaks.push(`${sub} received the canary`);
        const m = decodeServerMessage(d);
        frames.push(m);
        if (control.dropAcks && m.t === 'ack') return; // the acknowledgement is lost on the way
        events.message(d);
      },
    });
  const token = await sign(sub, tenant);
  const db = createDb({ app, server: server.url, appId: 'scope', auth: { token }, connect, backoff: { initialMs: 20, maxMs: 100 } });
  open.push(db);
  /** Closes the connection; the client reconnects by itself (and replays its outbox and subscriptions). */
  const reconnect = () => db.setAuth({ token });
  return { db, frames, leaks, control, reconnect };
}

const settle = () => new Promise((r) => setTimeout(r, 150));
const versionsOf = (frames: ServerMessage[], rowId: string) => frames.flatMap((m) => (m.t === 'versions' ? m.versions.filter((v) => v.rowId === rowId) : []));
const dropped = (frames: ServerMessage[], rowId: string) => frames.some((m) => m.t === 'drop' && m.rows.some(([, id]) => id === rowId));
const serverEngine = () => server.engineOf('scope')!;
const local = (db: Db<typeof app>, id: string) => db.engine.getRowById(db.engine.table('tasks'), id);

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  sign = (sub, tenant) => new SignJWT({ tenant }).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  server = await startSyncServer({ port: 0, inMemory: true, log: () => {}, auth: { jwtPublicKey: await exportSPKI(publicKey), backendSecret: SECRET } });
  server.publish('scope', app.$schema, permissions);
  backend = createDb({ app, server: server.url, appId: 'scope', auth: { secret: SECRET } });
  open.push(backend);
});

afterAll(async () => {
  for (const db of open) await db.close();
  await server.close();
});

let bob: Awaited<ReturnType<typeof user>>;
afterEach(() => {
  expect(bob.leaks).toEqual([]);
});

describe('every path that sends versions asks the read rule at that moment', () => {
  it('the history after a push: a batch sent again after its acknowledgement was lost, the row moved out and edited meanwhile → ack and drop, nothing else', async () => {
    bob = await user('bob', 'A');
    const task = backend.insert(app.tasks, { tenant: 'A', title: 'shared' });
    await task.wait({ tier: 'global' });
    bob.db.subscribeAll(app.tasks, () => {});
    await until(() => !!local(bob.db, task.id));
    bob.control.dropAcks = true;
    const mine = bob.db.update(app.tasks, task.id, { count: 1 });
    await until(() => serverEngine().getRowById(serverEngine().table('tasks'), task.id)?.count === 1);
    await settle(); // Bob's acknowledgement went missing, and then his connection: his batch stays in his outbox
    expect(bob.db.syncStatus.pendingBatches).toBe(1);
    bob.db.setAuth({});
    await until(() => bob.db.syncStatus.state !== 'online');
    // Meanwhile the row moves to the other tenant and gets its data.
    await backend.update(app.tasks, task.id, { tenant: 'B', title: `moved ${CANARY}`, body: `${CANARY} body` }).wait({ tier: 'global' });
    bob.control.dropAcks = false;
    const before = bob.frames.length;
    bob.reconnect(); // re-pushes the outbox
    await mine.wait({ tier: 'global' }); // acknowledged: it had been applied
    await settle();
    const after = bob.frames.slice(before);
    expect(versionsOf(after, task.id)).toEqual([]);
    expect(local(bob.db, task.id)).toBeUndefined();
    expect(bob.db.engine.history(bob.db.engine.table('tasks'), task.id)).toEqual([]);
  });

  it('subscription results: a row that left the scope before the subscription is not sent; one in scope is', async () => {
    bob = await user('bob', 'A');
    const gone = backend.insert(app.tasks, { tenant: 'A', title: 'was ours' });
    const stays = backend.insert(app.tasks, { tenant: 'A', title: 'ours' });
    await backend.update(app.tasks, gone.id, { tenant: 'B', title: `theirs ${CANARY}` }).wait({ tier: 'global' });
    await stays.wait({ tier: 'global' });
    const rows = await bob.db.all(app.tasks, { tier: 'global' });
    expect(rows.map((r) => r.id)).toContain(stays.id);
    expect(rows.map((r) => r.id)).not.toContain(gone.id);
    expect(versionsOf(bob.frames, gone.id)).toEqual([]);
  });

  it('digest resends: a held row that left the scope while the client was away is dropped on return, not resent', async () => {
    bob = await user('bob', 'A');
    const task = backend.insert(app.tasks, { tenant: 'A', title: 'before' });
    await task.wait({ tier: 'global' });
    bob.db.subscribeAll(app.tasks, () => {});
    await until(() => !!local(bob.db, task.id));
    bob.db.setAuth({}); // signs out: no connection (4401) while the row changes
    await until(() => bob.db.syncStatus.state !== 'online');
    await backend.update(app.tasks, task.id, { tenant: 'B', title: `after ${CANARY}` }).wait({ tier: 'global' });
    const before = bob.frames.length;
    bob.reconnect(); // the subscription's have holds the row with an old digest
    await until(() => dropped(bob.frames.slice(before), task.id));
    await settle();
    expect(versionsOf(bob.frames.slice(before), task.id)).toEqual([]);
    await until(() => !local(bob.db, task.id));
  });

  it('forwarding: a held row edited and moved out in one batch is dropped; the new version is not sent', async () => {
    bob = await user('bob', 'A');
    const task = backend.insert(app.tasks, { tenant: 'A', title: 'ours' });
    await task.wait({ tier: 'global' });
    bob.db.subscribeAll(app.tasks, () => {});
    await until(() => !!local(bob.db, task.id));
    const before = bob.frames.length;
    await backend.update(app.tasks, task.id, { tenant: 'B', title: `theirs ${CANARY}` }).wait({ tier: 'global' });
    await until(() => dropped(bob.frames.slice(before), task.id));
    await settle();
    expect(versionsOf(bob.frames.slice(before), task.id)).toEqual([]);
  });

  it('transactions: one sent again after it was applied (its answer lost), the row moved out meanwhile → accepted, dropped, nothing else', async () => {
    bob = await user('bob', 'A');
    const task = backend.insert(app.tasks, { tenant: 'A', title: 'counter' });
    await task.wait({ tier: 'global' });
    bob.db.subscribeAll(app.tasks, () => {});
    await until(() => !!local(bob.db, task.id));
    bob.control.dropAcks = true;
    const txn = bob.db.transaction(async (tx) => {
      const row = await tx.one(app.tasks.where({ id: task.id }));
      tx.update(app.tasks, task.id, { count: (row!.count as number) + 1 });
    });
    await until(() => serverEngine().getRowById(serverEngine().table('tasks'), task.id)?.count === 1);
    bob.db.setAuth({}); // and the connection is lost too
    await until(() => bob.db.syncStatus.state !== 'online');
    await backend.update(app.tasks, task.id, { tenant: 'B', body: `${CANARY} body` }).wait({ tier: 'global' });
    bob.control.dropAcks = false;
    const before = bob.frames.length;
    bob.reconnect(); // the undecided transaction is sent again
    await txn;
    await settle();
    expect(versionsOf(bob.frames.slice(before), task.id)).toEqual([]);
    expect(local(bob.db, task.id)).toBeUndefined();
  });

  it('drops through another table: losing the membership a rule needs drops the row, and its later edits never arrive', async () => {
    bob = await user('bob', 'A');
    const project = backend.insert(app.projects, { name: 'joint' });
    const member = backend.insert(app.members, { projectId: project.id, userId: 'bob' });
    const task = backend.insert(app.tasks, { tenant: 'B', title: 'joint work', projectId: project.id });
    await task.wait({ tier: 'global' });
    bob.db.subscribeAll(app.tasks, () => {});
    await until(() => !!local(bob.db, task.id));
    await backend.delete(app.members, member.id).wait({ tier: 'global' });
    await until(() => dropped(bob.frames, task.id));
    const before = bob.frames.length;
    await backend.update(app.tasks, task.id, { title: `joint ${CANARY}` }).wait({ tier: 'global' });
    await settle();
    expect(versionsOf(bob.frames.slice(before), task.id)).toEqual([]);
    expect(local(bob.db, task.id)).toBeUndefined();
  });

  it('a row moving into the scope brings its current state, not what was written while it belonged to someone else', async () => {
    bob = await user('bob', 'A');
    let titles: string[] = [];
    bob.db.subscribeAll(app.tasks.orderBy('title'), ({ all }) => (titles = all.map((r) => r.title as string)));
    const task = backend.insert(app.tasks, { tenant: 'B', title: `secret ${CANARY}`, body: `${CANARY} notes` });
    await backend.update(app.tasks, task.id, { body: 'public notes' }).wait({ tier: 'global' });
    await backend.update(app.tasks, task.id, { count: 7 }).wait({ tier: 'global' });
    await backend.update(app.tasks, task.id, { tenant: 'A', title: 'welcome' }).wait({ tier: 'global' });
    await until(() => titles.includes('welcome'));
    const mine = local(bob.db, task.id)!;
    const theirs = serverEngine().getRowById(serverEngine().table('tasks'), task.id)!;
    expect({ ...mine }).toEqual({ ...theirs });
    expect(mine).toMatchObject({ tenant: 'A', title: 'welcome', body: 'public notes', count: 7 });
    // Every version is there (so digests and heads agree, and a return resends nothing) ...
    const ids = (db: { history(t: unknown, id: string): { versionId: string }[]; table(n: string): unknown }) =>
      db
        .history(db.table('tasks'), task.id)
        .map((v) => v.versionId)
        .sort();
    expect(ids(bob.db.engine as never)).toEqual(ids(serverEngine() as never));
    expect(bob.db.engine.rowDigest('tasks', task.id)).toBe(serverEngine().rowDigest('tasks', task.id));
    expect(bob.db.engine.visibleBytes(bob.db.engine.table('tasks'), task.id)).toEqual(serverEngine().visibleBytes(serverEngine().table('tasks'), task.id));
    // ... but the versions written in tenant B carry only what still shows in the row.
    const history = bob.db.engine.history(bob.db.engine.table('tasks'), task.id);
    expect(history.some((v) => JSON.stringify(v.values).includes(CANARY))).toBe(false);
    const before = bob.frames.length;
    bob.reconnect();
    await until(() => bob.db.syncStatus.state === 'online' && !bob.db.syncStatus.syncing);
    await settle();
    expect(versionsOf(bob.frames.slice(before), task.id)).toEqual([]);
    // And it keeps converging: an edit from Bob reaches the server on top of that history.
    await bob.db.update(app.tasks, task.id, { count: 8 }).wait({ tier: 'global' });
    expect(serverEngine().getRowById(serverEngine().table('tasks'), task.id)!.count).toBe(8);
  });
});
