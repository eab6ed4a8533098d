/**
 * Authorship on the server (issue 13): the author of every version is the user the writer's
 * credentials name, and the server holds clients to it. A client claiming another author is
 * refused (AUTHOR_MISMATCH); a write made offline keeps its time and its true author; writes a
 * device made before it signed in are accepted from it afterwards; the backend writes for a user
 * only through `onBehalfOf`, recorded with `via`. Policies may use the system fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { createDb, startSyncServer, s, type SyncServer } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { BatchRejection, Db } from '../src/db.ts';

const app = s.defineApp({ notes: s.table({ text: s.string(), shared: s.boolean().default(false) }) });
type App = typeof app;

const permissions = definePermissions(app, ({ policy, session }) => {
  policy.notes.allowRead.where({ $or: [{ shared: true }, { $createdBy: session.userId }] });
  policy.notes.allowInsert.always();
  policy.notes.allowUpdate.where({ $createdBy: session.userId });
  policy.notes.allowDelete.where({ $createdBy: session.userId });
});

const SECRET = 'backend-secret-for-authorship';
let sign: (sub: string) => Promise<string>;
let jwtPublicKey: string;
const open: (Db<App> | SyncServer)[] = [];
const T_OFFLINE = Date.UTC(2026, 5, 1, 12);

async function server(port = 0): Promise<SyncServer> {
  const srv = await startSyncServer({ port, inMemory: true, dev: true, log: () => {}, auth: { jwtPublicKey, backendSecret: SECRET }, permissions });
  open.push(srv);
  return srv;
}

function client(url: string, auth?: { token: string } | { secret: string }, extra: { wall?: () => number } = {}): Db<App> {
  const db = createDb({ app, server: url, appId: 'authors', ...(auth ? { auth } : {}), ...extra });
  open.push(db);
  return db;
}

const row = (srv: SyncServer, id: string) => {
  const e = srv.engineOf('authors')!;
  return e.getRowById(e.table('notes'), id, true);
};

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  jwtPublicKey = await exportSPKI(publicKey);
  sign = (sub) => new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey);
});

afterAll(async () => {
  for (const x of open.reverse()) await x.close();
});

describe('authorship', () => {
  it('records the signed-in user, and a policy on $createdBy decides who reads and changes a row', async () => {
    const srv = await server();
    const alice = client(srv.url, { token: await sign('alice') });
    const bob = client(srv.url, { token: await sign('bob') });
    expect(alice.engine.author).toBe('alice');
    const mine = alice.insert(app.notes, { text: 'private' });
    const ours = alice.insert(app.notes, { text: 'shared', shared: true });
    await Promise.all([mine.wait({ tier: 'global' }), ours.wait({ tier: 'global' })]);
    expect(row(srv, mine.id)).toMatchObject({ $createdBy: 'alice', $updatedBy: 'alice' });

    // Bob sees the shared note with its author, never the private one.
    const seen = await bob.all(app.notes.select('*', '$createdBy'), { tier: 'global' });
    expect(seen).toEqual([expect.objectContaining({ id: ours.id, text: 'shared', $createdBy: 'alice' })]);

    // Bob may not change Alice's note; Alice may, and she is its last editor.
    const rejections: BatchRejection[] = [];
    bob.onRejected((r) => rejections.push(r));
    const edit = bob.update(app.notes, ours.id, { text: 'bob was here' });
    await expect(edit.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect(rejections).toEqual([expect.objectContaining({ code: 'PERMISSION_DENIED' })]);
    expect(row(srv, ours.id)!.text).toBe('shared');
    const fix = alice.update(app.notes, ours.id, { text: 'shared, edited' });
    await fix.wait({ tier: 'global' });
    expect(row(srv, ours.id)).toMatchObject({ text: 'shared, edited', $createdBy: 'alice', $updatedBy: 'alice' });
    await expect.poll(async () => (await bob.one(app.notes.where({ id: ours.id }).select('text', '$updatedBy')))?.text).toBe('shared, edited');
  });

  it("refuses a version whose author is not the session's user (AUTHOR_MISMATCH), and nothing of its batch is kept", async () => {
    const srv = await server();
    const mallory = client(srv.url, { token: await sign('mallory') });
    const rejections: BatchRejection[] = [];
    mallory.onRejected((r) => rejections.push(r));
    mallory.engine.setAuthor('alice'); // what a modified client could do
    const forged = mallory.batch((b) => {
      b.insert(app.notes, { text: 'from "alice"', shared: true });
      b.insert(app.notes, { text: 'second', shared: true });
    });
    await expect(forged.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect(rejections).toEqual([expect.objectContaining({ code: 'AUTHOR_MISMATCH', batchId: forged.batchId, message: expect.stringContaining('"mallory"') })]);
    expect([...srv.engineOf('authors')!.rowIds('notes')]).toEqual([]);
    // Honest again, the same client writes as itself.
    mallory.engine.setAuthor('mallory');
    const ok = mallory.insert(app.notes, { text: 'by mallory', shared: true });
    await ok.wait({ tier: 'global' });
    expect(row(srv, ok.id)!.$createdBy).toBe('mallory');
  });

  it('keeps the time and the author of a write made offline, and accepts what a device wrote before it signed in', async () => {
    const probe = await server();
    const port = probe.port;
    await probe.close();
    let now = T_OFFLINE;
    const device = client(`ws://127.0.0.1:${port}`, undefined, { wall: () => now });
    const anon = `anon:${device.engine.clientId}`;
    expect(device.engine.author).toBe(anon);
    const before = device.insert(app.notes, { text: 'written before signing in', shared: true });
    now += 60_000;
    device.setAuth({ token: await sign('carol') });
    expect(device.engine.author).toBe('carol');
    const after = device.insert(app.notes, { text: 'written offline, signed in', shared: true });
    now = Date.now();
    const srv = await server(port);
    await Promise.all([before.wait({ tier: 'global' }), after.wait({ tier: 'global' })]);
    expect(row(srv, before.id)).toMatchObject({ $createdBy: anon, $createdAt: T_OFFLINE });
    expect(row(srv, after.id)).toMatchObject({ $createdBy: 'carol', $createdAt: T_OFFLINE + 60_000 });
    // Another device of the anonymous kind may not claim that anonymous identity.
    const other = client(srv.url);
    const rejections: BatchRejection[] = [];
    other.onRejected((r) => rejections.push(r));
    other.engine.setAuthor(anon);
    const claim = other.insert(app.notes, { text: 'not mine' });
    await expect(claim.wait({ tier: 'global' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect(rejections).toEqual([expect.objectContaining({ code: 'AUTHOR_MISMATCH' })]);
  });

  it('lets the backend write on behalf of a user, recorded with via; nobody else may', async () => {
    const srv = await server();
    const backend = client(srv.url, { secret: SECRET });
    expect(backend.engine.author).toBe('admin');
    const own = backend.insert(app.notes, { text: 'by the backend', shared: true });
    const forDave = backend.onBehalfOf('dave').insert(app.notes, { text: 'for dave' });
    await Promise.all([own.wait({ tier: 'global' }), forDave.wait({ tier: 'global' })]);
    expect(row(srv, own.id)!.$createdBy).toBe('admin');
    expect(row(srv, forDave.id)!.$createdBy).toBe('dave');
    const e = srv.engineOf('authors')!;
    expect(e.history(e.table('notes'), forDave.id)).toEqual([expect.objectContaining({ author: 'dave', via: 'admin' })]);
    expect(e.history(e.table('notes'), own.id)[0]!.via).toBeUndefined();
    // Dave reads it as his (the policy says creators read their notes) and may change it.
    const dave = client(srv.url, { token: await sign('dave') });
    expect((await dave.all(app.notes.where({ shared: false }), { tier: 'global' })).map((r) => r.id)).toEqual([forDave.id]);
    const edit = dave.update(app.notes, forDave.id, { text: 'mine now' });
    await edit.wait({ tier: 'global' });
    expect(row(srv, forDave.id)).toMatchObject({ $createdBy: 'dave', $updatedBy: 'dave' });
    // A user's client cannot write on behalf of anyone, nor claim a via.
    expect(() => dave.onBehalfOf('erin')).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
    // And createDb no longer takes an author of its own.
    expect(() => createDb({ app, author: 'x' } as never)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
  });
});
