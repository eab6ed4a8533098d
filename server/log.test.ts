/**
 * The server's log (server/log.ts): records through a real pino logger, the rate limit on repeats,
 * the human line format, and the records a running server writes for connections and sign-in
 * failures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateKeyPair, exportSPKI } from 'jose';
import { createLogger, formatRecord, lineLogger, RepeatLimiter, serverLog } from './log.ts';
import { createDb, startSyncServer } from './index.ts';
import { todoApp as app } from '../src/testing/fixtures.ts';
import { encodeFrame } from '../src/sync/codec.ts';
import { CloseCode, PROTOCOL_VERSION } from '../src/sync/protocol.ts';
import { canonicalSchemaJSON } from '../src/schema/schema.ts';

type Rec = Record<string, unknown> & { level: number; msg: string };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real pino logger whose JSON lines are collected, parsed. */
function collecting(level: 'debug' | 'info' | 'warn' = 'debug') {
  const records: Rec[] = [];
  const logger = createLogger({ level, write: (text) => records.push(JSON.parse(text) as Rec) });
  return { logger, records };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RepeatLimiter', () => {
  it('logs a key once per interval, then one record counting the repeats, without the stack', async () => {
    const { logger, records } = collecting();
    const limiter = new RepeatLimiter(logger, { intervalMs: 80, burst: 1 });
    for (let i = 0; i < 50; i++) limiter.log('error', 'push:SERVER', { event: 'message-failed', err: new Error(`boom ${i}`) }, 'failed');
    limiter.log('error', 'other', { event: 'message-failed' }, 'another failure');
    expect(records.map((r) => r.msg)).toEqual(['failed', 'another failure']);
    expect((records[0]!.err as { stack: string }).stack).toMatch(/boom 0/);
    await sleep(200);
    expect(records).toHaveLength(3);
    const summary = records[2]!;
    expect(summary).toMatchObject({ event: 'message-failed', repeats: 49, lastError: 'boom 49', level: 50 });
    expect(summary.err).toBeUndefined();
    expect(summary.msg).toMatch(/49 more like this/);
    // The window is over: the next one is logged in full again.
    limiter.log('error', 'push:SERVER', { event: 'message-failed', err: new Error('again') }, 'failed');
    expect(records).toHaveLength(4);
    limiter.close();
  });

  it('lets a burst through per key, bounds the number of keys, and close() reports what it held', () => {
    const { logger, records } = collecting();
    const limiter = new RepeatLimiter(logger, { intervalMs: 60_000, burst: 3, maxKeys: 2 });
    for (let i = 0; i < 10; i++) limiter.log('warn', 'a', { n: i }, 'a');
    // b0 takes the second key; b1..b9 share the one window for keys beyond the limit.
    for (let i = 0; i < 10; i++) limiter.log('warn', `b${i}`, { n: i }, 'b');
    expect(records.filter((r) => r.msg === 'a')).toHaveLength(3);
    expect(records.filter((r) => r.msg === 'b').map((r) => r.n)).toEqual([0, 1, 2, 3]);
    limiter.close();
    const summaries = records.filter((r) => typeof r.repeats === 'number');
    expect(summaries.map((r) => r.repeats).sort()).toEqual([6, 7]);
    expect(records).toHaveLength(9);
  });
});

describe('formatRecord', () => {
  it('one line: time, level, message, fields; control characters escaped', () => {
    const line = formatRecord({ level: 40, time: '2030-01-02T03:04:05.678Z', pid: 1, msg: 'batch refused', event: 'batch-rejected', client: 'c\u001b[2J', reason: 'insert denied', n: 3 });
    expect(line).toBe('03:04:05.678 WARN  batch refused event=batch-rejected client="c\\u001b[2J" reason="insert denied" n=3');
    expect(line).not.toContain('\u001b');
  });
});

describe('a running server logs', () => {
  const hello = (clientId: string, auth: Record<string, unknown>) =>
    encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, clientId, schemaHash: app.$hash, schema: canonicalSchemaJSON(app.$schema), auth });
  const closeOf = (url: string, frame: Uint8Array) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${url}/apps/logged/ws`);
      ws.on('open', () => ws.send(frame));
      ws.on('close', (code) => resolve(code));
      ws.on('error', reject);
    });

  it('one record per connection opened and closed, with app, client and user', async () => {
    const { logger, records } = collecting('info');
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, logger });
    cleanups.push(() => s.close());
    const db = createDb({ app, server: s.url, appId: 'logged' });
    await db.insert(app.todos, { title: 'x' }).wait({ tier: 'global' });
    const opened = records.filter((r) => r.event === 'connection-opened');
    expect(opened).toHaveLength(1);
    const clientId = opened[0]!.client as string;
    expect(clientId).toMatch(/.{8}/);
    expect(records.some((r) => r.event === 'connection-closed')).toBe(false);
    await db.close();
    await expect.poll(() => records.filter((r) => r.event === 'connection-closed').length, { timeout: 10_000 }).toBe(1);
    expect(opened[0]).toMatchObject({ level: 30, app: 'logged', client: clientId, user: `anon:${clientId}`, role: 'user', remote: '127.0.0.1' });
    const closed = records.find((r) => r.event === 'connection-closed')!;
    expect(closed).toMatchObject({ app: 'logged', client: clientId, user: `anon:${clientId}` });
    expect(typeof closed.code).toBe('number');
    expect(typeof closed.seconds).toBe('number');
  });

  it('sign-in failures: one warn record each with the reason code, at most 20 a minute per code, then a count', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const { logger, records } = collecting('info');
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, logger, auth: { jwtPublicKey: await exportSPKI(publicKey) } });
    let closed = false;
    cleanups.push(() => (closed ? undefined : s.close()));
    for (let i = 0; i < 25; i++) expect(await closeOf(s.url, hello(`bad-${i}`, { token: 'not.a.token' }))).toBe(CloseCode.unauthorized);
    const failed = records.filter((r) => r.event === 'sign-in-failed');
    expect(failed).toHaveLength(20);
    expect(failed[0]).toMatchObject({ level: 40, app: 'logged', client: 'bad-0', code: 'UNAUTHORIZED', remote: '127.0.0.1' });
    expect(JSON.stringify(records)).not.toContain('not.a.token');
    // Every refused connection still has its close record, with the code the server sent.
    await expect.poll(() => records.filter((r) => r.event === 'connection-closed').length, { timeout: 10_000 }).toBe(25);
    expect(records.find((r) => r.event === 'connection-closed')).toMatchObject({ code: CloseCode.unauthorized, cause: 'UNAUTHORIZED' });
    await s.close();
    closed = true;
    const summary = records.filter((r) => r.event === 'sign-in-failed' && r.repeats !== undefined);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ repeats: 5, code: 'UNAUTHORIZED' });
  });

  it('the older log option still gets one human line per record', async () => {
    const lines: string[] = [];
    const s = await startSyncServer({ port: 0, inMemory: true, dev: true, log: (l) => lines.push(l) });
    cleanups.push(() => s.close());
    expect(await closeOf(s.url, encodeFrame({ t: 'ping' }))).toBe(CloseCode.protocolError);
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}connection closed event=connection-closed app=logged code=4\d{3} cause=PROTOCOL seconds=/);
  });

  it('lineLogger honours its level', () => {
    const lines: string[] = [];
    const l = lineLogger((x) => lines.push(x), 'warn');
    l.info({ a: 1 }, 'quiet');
    l.warn({ a: 2 }, 'loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN {2}loud a=2$/);
  });
});

describe('serverLog', () => {
  it('refused batches: warn, but info for a lost transaction race', () => {
    const { logger, records } = collecting();
    const events = serverLog(logger);
    events.batchRejected({ app: 'a', client: 'c', user: 'u', batchId: 'b1', code: 'PERMISSION_DENIED', reason: 'todos: insert denied' });
    events.batchRejected({ app: 'a', client: 'c', user: 'u', batchId: 'b2', code: 'TRANSACTION_CONFLICT', reason: 'changed' });
    events.close();
    expect(records.map((r) => [r.event, r.level, r.batchId, r.code])).toEqual([
      ['batch-rejected', 40, 'b1', 'PERMISSION_DENIED'],
      ['batch-rejected', 30, 'b2', 'TRANSACTION_CONFLICT'],
    ]);
  });
});
