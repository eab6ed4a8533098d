/**
 * Connection limits and credentials over time (issue 6): the Origin allowlist at the handshake,
 * the subscription and message-rate limits, and a token that expires while connected — the client
 * is told, refreshes it with setAuth and loses none of the writes it made meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import { createDb, startSyncServer } from './index.ts';
import { todoApp as app } from '../src/testing/fixtures.ts';
import { encodeFrame } from '../src/sync/codec.ts';
import { CloseCode, PROTOCOL_VERSION } from '../src/sync/protocol.ts';
import { canonicalSchemaJSON } from '../src/schema/schema.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hello = encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, clientId: 'c1', schemaHash: app.$hash, schema: canonicalSchemaJSON(app.$schema), auth: {} });

function raw(url: string, origin?: string): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/apps/lim/ws`, origin ? { origin } : {});
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.on('error', () => {});
  });
}

const closed = (ws: WebSocket) => new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));

describe('limits', () => {
  it('rejects an Origin outside the allowlist at the handshake', async () => {
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, allowedOrigins: ['https://good.example'], log: () => {} });
    cleanups.push(() => s.close());
    expect((await raw(s.url, 'https://evil.example')).status).toBe(403);
    const ok = await raw(s.url, 'https://good.example');
    expect(ok.status).toBeUndefined();
    ok.ws.close();
  });

  it('limits subscriptions per connection and messages per second', async () => {
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, maxSubscriptions: 3, maxMessagesPerSecond: 50, log: () => {} });
    cleanups.push(() => s.close());
    const { ws } = await raw(s.url);
    const errors: string[] = [];
    ws.on('message', (d: Buffer) => {
      if (d.includes('TOO_MANY_SUBSCRIPTIONS')) errors.push('too many');
    });
    ws.send(hello);
    const q = { table: 'todos', where: { op: 'true' }, orderBy: [] };
    for (let i = 1; i <= 4; i++) ws.send(encodeFrame({ t: 'sub', id: i, query: q, tier: 'local', have: [] }));
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual(['too many']);
    const done = closed(ws);
    for (let i = 0; i < 1000; i++) ws.send(encodeFrame({ t: 'ping' }));
    expect(await done).toBe(CloseCode.rateLimited);
  });
});

describe('credentials over time', () => {
  it('an expired token closes the socket with a clear code; setAuth resumes and nothing is lost', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const token = (seconds: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('ursula')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
        .sign(privateKey);
    const s = await startSyncServer({ port: 0, inMemory: true, log: () => {}, auth: { jwtPublicKey: await exportSPKI(publicKey) } });
    cleanups.push(() => s.close());
    // Without --dev the app needs a published schema: publish it through the engine's route.
    const admin = await fetch(`http://127.0.0.1:${s.port}/apps/lim/admin/schema`, { method: 'POST', body: canonicalSchemaJSON(app.$schema) });
    expect(admin.status).toBe(401); // no admin secret configured: the route is closed
    const s2 = await startSyncServer({ port: 0, inMemory: true, log: () => {}, adminSecret: 'adm', auth: { jwtPublicKey: await exportSPKI(publicKey) } });
    cleanups.push(() => s2.close());
    const pub = await fetch(`http://127.0.0.1:${s2.port}/apps/lim/admin/schema`, { method: 'POST', headers: { authorization: 'Bearer adm' }, body: canonicalSchemaJSON(app.$schema) });
    expect(pub.status).toBe(200);

    const db = createDb({ app, server: s2.url, appId: 'lim', auth: { token: await token(2) }, backoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => db.close());
    await db.insert(app.todos, { title: 'before expiry' }).wait({ tier: 'global' });
    await expect.poll(() => db.syncStatus.lastError?.code, { timeout: 5000 }).toBe('TOKEN_EXPIRED');
    // The server sends its error frame, then closes: the state follows the close a moment later.
    await expect.poll(() => db.syncStatus.state, { timeout: 2000 }).toBe('offline');
    const pending = db.insert(app.todos, { title: 'while expired' });
    expect(db.syncStatus.pendingBatches).toBe(1);
    db.setAuth({ token: await token(60) });
    await pending.wait({ tier: 'global' });
    const engine = s2.engineOf('lim')!;
    expect([...engine.rowIds('todos')].map((id) => engine.getRowById(engine.table('todos'), id)!.title).sort()).toEqual(['before expiry', 'while expired']);
  });

  it('a bad token is refused with 4401 and the client waits for new credentials', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, log: () => {}, auth: { jwtPublicKey: await exportSPKI(publicKey) } });
    cleanups.push(() => s.close());
    const db = createDb({ app, server: s.url, appId: 'lim2', auth: { token: 'not.a.token' }, backoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => db.close());
    await expect.poll(() => db.syncStatus.lastError?.code, { timeout: 5000 }).toBe('UNAUTHORIZED');
    await new Promise((r) => setTimeout(r, 300));
    expect(db.syncStatus.state).toBe('offline'); // no reconnect storm with the same bad token
  });
});
