/**
 * Branches through the server under main's permissions (server/branch-sync.ts): a branch never
 * shows a user a row they cannot read on main, nor a branch row whose state there they cannot
 * read; writes on a branch are judged by the write rules against the row as it reads there; one
 * name is one branch per app; a server that does not keep branches gets no branch versions.
 * Every value a user must not see carries a canary, and every frame their client receives is
 * scanned for it.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createDb, wsConnector, s, type SyncServer } from './index.ts';
import { startJwtServer } from './testing/jwt-server.ts';
import { definePermissions } from '../src/policy/define.ts';
import { decodeServerMessage, encodeMessage, type ServerMessage } from '../src/sync/protocol.ts';
import type { Db } from '../src/db.ts';
import type { Connector } from '../src/sync/transport.ts';
import { until } from '../src/testing/until.ts';
import { listBranches } from '../src/history/branches.ts';

const app = s.defineApp({
  tasks: s.table({ tenant: s.string(), title: s.string(), done: s.boolean().default(false) }),
});
type App = typeof app;

const permissions = definePermissions(app, ({ policy, session }) => {
  const sameTenant = { tenant: session.tenant };
  policy.tasks.allowRead.where(sameTenant);
  policy.tasks.allowInsert.where(sameTenant);
  policy.tasks.allowUpdate.whereOld(sameTenant).whereNew(sameTenant);
});

const SECRET = 'backend-secret-for-branch-sync';
const CANARY = 'CANARY-TENANT-A';
const canary = new TextEncoder().encode(CANARY);
let server: SyncServer;
let sign: (sub: string, tenant: string) => Promise<string>;
const open: Db<App>[] = [];
const closers: (() => unknown)[] = [];
let backend: Db<App>;
let appNo = 0;
let appId = '';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A user's client whose every received frame is scanned for the canary and kept. */
async function user(sub: string, tenant: string, url = server.url) {
  const frames: ServerMessage[] = [];
  const leaks: string[] = [];
  const connect: Connector = (u, events) =>
    wsConnector(u, {
      ...events,
      message: (d) => {
        if (contains(d, canary)) leaks.push(`${sub} received the canary`);
        frames.push(decodeServerMessage(d));
        events.message(d);
      },
    });
  const db = createDb({ app, server: url, appId, auth: { token: await sign(sub, tenant) }, connect, backoff: { initialMs: 20, maxMs: 100 } });
  open.push(db);
  return { db, frames, leaks };
}

const titles = (rows: readonly { title: unknown }[]) => rows.map((r) => r.title as string).sort();
const serverEngine = () => server.engineOf(appId)!;

beforeAll(async () => {
  const started = await startJwtServer(SECRET);
  server = started.server;
  sign = (sub, tenant) => started.sign(sub, { tenant });
});

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const db of open.splice(0)) await db.close();
});

afterAll(async () => {
  await server.close();
});

/** A fresh app on the server for each test, with the admin's client. */
function freshApp(): void {
  appId = `branch-sync-${++appNo}`;
  server.publish(appId, app.$schema, permissions);
  backend = createDb({ app, server: server.url, appId, auth: { secret: SECRET } });
  open.push(backend);
}

describe('branches through the server', () => {
  it('a branch never shows a row its reader cannot read on main, nor a branch row they cannot read there (canary scan of every frame)', async () => {
    freshApp();
    const alice = await user('alice', 'A');
    const bob = await user('bob', 'B');
    // Main: one row of each tenant, and one of B's that the branch will move to A.
    const a1 = alice.db.insert(app.tasks, { tenant: 'A', title: `${CANARY} on main` });
    const b1 = bob.db.insert(app.tasks, { tenant: 'B', title: 'bob on main' });
    const b3 = bob.db.insert(app.tasks, { tenant: 'B', title: 'bob, leaves on the branch' });
    await Promise.all([a1.wait({ tier: 'global' }), b1.wait({ tier: 'global' }), b3.wait({ tier: 'global' })]);

    // Alice works on branch "plan": an edit of her row and a new one, both tenant A.
    const alicePlan = alice.db.branch('plan');
    await alicePlan.update(app.tasks, a1.id, { title: `${CANARY} edited on plan` }).wait({ tier: 'global' });
    await alicePlan.insert(app.tasks, { tenant: 'A', title: `${CANARY} new on plan` }).wait({ tier: 'global' });
    // The admin, on the same branch: A's row made B's there (it stays A's on main), and B's row made A's there.
    const adminPlan = backend.branch('plan');
    await adminPlan.all(app.tasks, { tier: 'global' }); // the server's "plan"
    await adminPlan.update(app.tasks, a1.id, { tenant: 'B', title: `${CANARY} moved to B on plan only` }).wait({ tier: 'global' });
    await adminPlan.update(app.tasks, b3.id, { tenant: 'A', title: `${CANARY} moved to A on plan` }).wait({ tier: 'global' });

    // Bob reads "plan": his rows, his own writes there, and nothing of tenant A's, on main or on the branch.
    const bobPlan = bob.db.branch('plan');
    let seen: string[] = [];
    const off = bobPlan.subscribeAll(app.tasks, ({ all }) => (seen = titles(all)), { tier: 'global' });
    await bobPlan.insert(app.tasks, { tenant: 'B', title: 'bob new on plan' }).wait({ tier: 'global' });
    await bobPlan.update(app.tasks, b1.id, { title: 'bob edited on plan' }).wait({ tier: 'global' });
    await until(() => seen.includes('bob new on plan') && seen.includes('bob edited on plan'));
    // b3 left Bob's scope on the branch: he never gets its branch versions, so he reads it as main had it.
    expect(seen).toEqual(['bob edited on plan', 'bob new on plan', 'bob, leaves on the branch']);
    expect(titles(await bob.db.all(app.tasks))).toEqual(['bob on main', 'bob, leaves on the branch']);
    // Nor did any version of a1 reach him: it is A's on main, whatever it is on the branch.
    expect(bob.frames.some((m) => m.t === 'versions' && m.versions.some((v) => v.rowId === a1.id))).toBe(false);
    off();

    // Alice on "plan": not b3 (A's on the branch, but B's on main), and not the admin's move of a1
    // (B's on the branch): she reads a1 as her own edit left it.
    const aliceSees = titles(await alicePlan.all(app.tasks, { tier: 'global' }));
    expect(aliceSees).toEqual([`${CANARY} edited on plan`, `${CANARY} new on plan`]);
    expect(alice.frames.some((m) => m.t === 'versions' && m.versions.some((v) => v.rowId === b3.id))).toBe(false);
    expect(bob.leaks).toEqual([]);
  });

  it('writes on a branch are judged against the row as it reads there; a refused one is undone and later ones go through', async () => {
    freshApp();
    const bob = await user('bob', 'B');
    const plan = bob.db.branch('plan');
    const rejected: string[] = [];
    bob.db.onRejected((r) => rejected.push(r.code));
    const mine = plan.insert(app.tasks, { tenant: 'B', title: 'fine' });
    await mine.wait({ tier: 'global' });
    const bad = plan.insert(app.tasks, { tenant: 'A', title: 'not my tenant' });
    await expect(bad.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED', details: { reason: 'PERMISSION_DENIED' } });
    // An update that moves his branch row to another tenant: refused by whereNew.
    await expect(plan.update(app.tasks, mine.id, { tenant: 'A' }).wait({ tier: 'global' })).rejects.toMatchObject({ details: { reason: 'PERMISSION_DENIED' } });
    await plan.update(app.tasks, mine.id, { title: 'fine, edited' }).wait({ tier: 'global' });
    expect(rejected).toEqual(['PERMISSION_DENIED', 'PERMISSION_DENIED']);
    expect(titles(await plan.all(app.tasks))).toEqual(['fine, edited']);
    const e = serverEngine();
    expect(e.history(e.table('tasks'), mine.id).map((v) => v.branch)).toEqual(['plan', 'plan']);
    expect(e.getRowById(e.table('tasks'), mine.id)).toBeUndefined(); // never on main
  });

  it("one name is one branch per app: the same name from another line is refused (BRANCH_CONFLICT); from the same line at another moment it joins the server's", async () => {
    freshApp();
    const one = await user('one', 'A');
    const two = await user('two', 'A');
    const three = await user('three', 'A');
    const first = Date.now() - 60_000;
    await one.db.branch('draft', { at: first }).insert(app.tasks, { tenant: 'A', title: 'first draft' }).wait({ tier: 'global' });
    // Two made its own "draft", from another branch, and wrote on it before hearing of the server's.
    const other = two.db.branch('elsewhere').branch('draft');
    const w = other.insert(app.tasks, { tenant: 'A', title: 'second draft' });
    await expect(w.wait({ tier: 'global' })).rejects.toMatchObject({ details: { reason: 'BRANCH_CONFLICT' }, message: expect.stringContaining('name it differently') });
    // A new name goes through.
    await two.db.branch('draft-2', { from: 'elsewhere' }).insert(app.tasks, { tenant: 'A', title: 'second draft' }).wait({ tier: 'global' });
    expect(
      listBranches(serverEngine())
        .map((b) => b.name)
        .sort(),
    ).toEqual(['draft', 'draft-2', 'elsewhere']);
    // Three opened "draft" from main too, later: its write joins the server's branch, and its record takes the server's start.
    const joined = three.db.branch('draft');
    await joined.insert(app.tasks, { tenant: 'A', title: 'third, joined' }).wait({ tier: 'global' });
    await until(() => three.db.branches().find((b) => b.name === 'draft')?.at === first);
    expect(titles(await joined.all(app.tasks, { tier: 'global' }))).toEqual(['first draft', 'third, joined']);
    expect(titles(await one.db.branch('draft').all(app.tasks, { tier: 'global' }))).toEqual(['first draft', 'third, joined']);
  });

  it("a branch of a branch syncs with its whole line; a reader of the child gets the parent's versions up to the fork", async () => {
    freshApp();
    const one = await user('one', 'A');
    const two = await user('two', 'A');
    const base = one.db.insert(app.tasks, { tenant: 'A', title: 'base' });
    await base.wait({ tier: 'global' });
    await one.db.branch('parent').update(app.tasks, base.id, { title: 'parent edit' }).wait({ tier: 'global' });
    await new Promise((r) => setTimeout(r, 5));
    const child = one.db.branch('parent').branch('child');
    await child.insert(app.tasks, { tenant: 'A', title: 'child row' }).wait({ tier: 'global' });
    await new Promise((r) => setTimeout(r, 5));
    await one.db.branch('parent').insert(app.tasks, { tenant: 'A', title: 'parent, after the fork' }).wait({ tier: 'global' });
    const onChild = titles(await two.db.branch('child').all(app.tasks, { tier: 'global' }));
    expect(onChild).toEqual(['child row', 'parent edit']);
    expect(titles(await two.db.branch('parent').all(app.tasks, { tier: 'global' }))).toEqual(['parent edit', 'parent, after the fork']);
    expect(titles(await two.db.all(app.tasks, { tier: 'global' }))).toEqual(['base']);
  });

  it('a server that does not keep branches (older) gets no branch versions: they wait on the client, main goes on', async () => {
    freshApp();
    // A proxy that speaks for an older server: its welcome does not say `branches`.
    const wss = new WebSocketServer({ port: 0 });
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => r());
        }),
    );
    const target = server.url.replace(/^http/, 'ws');
    const upstreamFrames: string[] = [];
    wss.on('connection', (down, req) => {
      const up = new WebSocket(`${target}${req.url}`);
      const queued: Buffer[] = [];
      up.on('open', () => queued.splice(0).forEach((d) => up.send(d)));
      down.on('message', (d: Buffer) => {
        upstreamFrames.push(Buffer.from(d).toString('latin1'));
        if (up.readyState === up.OPEN) up.send(d);
        else queued.push(d);
      });
      up.on('message', (d: Buffer) => {
        const m = decodeServerMessage(new Uint8Array(d));
        if (m.t === 'welcome') {
          const { branches: _b, ...old } = m;
          down.send(encodeMessage(old));
        } else down.send(d);
      });
      up.on('close', () => down.close());
      down.on('close', () => up.close());
    });
    const port = (wss.address() as AddressInfo).port;
    const carol = await user('carol', 'A', `ws://127.0.0.1:${port}`);
    const t = carol.db.insert(app.tasks, { tenant: 'A', title: 'main row' });
    await t.wait({ tier: 'global' });
    const plan = carol.db.branch('plan');
    const w = plan.update(app.tasks, t.id, { title: 'on plan, held back' });
    await w.wait({ tier: 'local' });
    await expect(w.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'NO_SERVER', message: expect.stringContaining('does not keep branches') });
    await carol.db.insert(app.tasks, { tenant: 'A', title: 'main goes on' }).wait({ tier: 'global' });
    const e = serverEngine();
    expect(e.history(e.table('tasks'), t.id)).toHaveLength(1);
    expect(e.getRowById(e.table('tasks'), t.id)!.title).toBe('main row');
    expect(upstreamFrames.some((f) => f.includes('held back'))).toBe(false);
    expect(carol.db.syncStatus.pendingBatches).toBe(1); // kept for a server that keeps branches
    expect(titles(await plan.all(app.tasks))).toEqual(['on plan, held back']); // main as it stood at the fork, plus the branch
  });
});
