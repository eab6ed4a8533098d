/**
 * Live streams (src/files/live.ts, server/live-streams.ts): readers get every chunk as it is
 * written, in order, locally and through the server; small writes are stored as a few parts; the
 * final file is what was written; an aborted stream errors its readers; a writer that goes away
 * leaves an unfinished stream, never a corrupt file; a user who may not read the stream gets none
 * of it. Prints the chunk latency through the server (p50/p95), without asserting it tight.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, wsConnector, s, type SyncServer } from './index.ts';
import { startJwtServer } from './testing/jwt-server.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { Db } from '../src/db.ts';
import type { Connector } from '../src/sync/transport.ts';
import { decodeServerMessage, encodeMessage } from '../src/sync/protocol.ts';
import { FILE_PARTS } from '../src/files/system-tables.ts';
import { partsOf } from '../src/files/files.ts';
import { until } from '../src/testing/until.ts';

const app = s.defineApp({
  chats: s.table({ owner: s.string(), shared: s.boolean().default(false), reply: s.file().optional() }),
});
type App = typeof app;

const permissions = definePermissions(app, ({ policy, session }) => {
  policy.chats.allowRead.where({ $or: [{ owner: session.userId }, { shared: true }] });
  policy.chats.allowInsert.where({ owner: session.userId });
  policy.chats.allowUpdate.where({ owner: session.userId });
  policy.chats.allowDelete.where({ owner: session.userId });
});

const CANARY = 'CANARY-LIVE-TOKEN-19c2';
let server: SyncServer;
let sign: (sub: string) => Promise<string>;
const open: Db<App>[] = [];
let appNo = 0;
let appId = '';
const decoder = new TextDecoder();

async function user(sub: string): Promise<{ db: Db<App>; leaks: () => number }> {
  let leaks = 0;
  const needle = new TextEncoder().encode(CANARY);
  const connect: Connector = (u, events) =>
    wsConnector(u, {
      ...events,
      message: (d) => {
        outer: for (let i = 0; i + needle.length <= d.length; i++) {
          for (let j = 0; j < needle.length; j++) if (d[i + j] !== needle[j]) continue outer;
          leaks++;
          break;
        }
        events.message(d);
      },
    });
  const db = createDb({ app, server: server.url, appId, auth: { token: await sign(sub) }, connect, backoff: { initialMs: 20, maxMs: 100 } });
  open.push(db);
  return { db, leaks: () => leaks };
}

beforeAll(async () => {
  const started = await startJwtServer('live-secret');
  server = started.server;
  sign = (sub) => started.sign(sub);
});

afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

afterAll(async () => {
  await server.close();
});

function freshApp(): void {
  appId = `live-${++appNo}`;
  server.publish(appId, app.$schema, permissions);
}

/** Reads a stream to its end, calling `onBytes(total)` as bytes arrive. */
async function drain(stream: ReadableStream<Uint8Array>, onBytes: (total: number) => void = () => {}): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
    onBytes(total);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

describe('live streams', () => {
  it('on one database: readers from the start and from midway get every byte in order, stored as a few parts', async () => {
    const db = createDb({ app });
    open.push(db as Db<App>);
    const w = db.createStream({ mimeType: 'text/plain', flushMs: 20 });
    const early = drain(await db.loadFileAsStream(w.id));
    let text = '';
    let late: Promise<Uint8Array> | undefined;
    for (let i = 0; i < 300; i++) {
      const t = `tök${i} `;
      text += t;
      w.write(i % 2 ? t : new TextEncoder().encode(t));
      if (i % 50 === 49) await sleep(25); // parts get stored meanwhile
      if (i === 120) late = db.loadFileAsStream(w.id).then((st) => drain(st));
    }
    await w.close();
    expect(decoder.decode(await early)).toBe(text);
    expect(decoder.decode(await late!)).toBe(text);
    expect(decoder.decode(await (await db.loadFileAsBlob(w.id)).arrayBuffer())).toBe(text);
    const info = await db.fileInfo(w.id);
    expect(info.state).toBe('complete');
    expect(info.partSizes.length).toBeLessThanOrEqual(8); // 300 writes, a part per pause and the rest
    expect(() => w.write('more')).toThrow(/closed/);
    // Bad options and chunks are typed errors.
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'returned';
    };
    expect(codeOf(() => db.createStream({ mimetype: 'text/plain' } as never))).toBe('OPTION_INVALID');
    expect(codeOf(() => db.createStream({ partSize: 2 * 1024 * 1024 }))).toBe('OPTION_INVALID');
    expect(codeOf(() => db.createStream({ flushMs: -1 }))).toBe('OPTION_INVALID');
    expect(codeOf(() => db.createStream({ name: 'x'.repeat(2000) }))).toBe('OPTION_INVALID');
    const w2 = db.createStream();
    expect(codeOf(() => w2.write(42 as never))).toBe('TYPE_MISMATCH');
    await w2.abort();
    expect(codeOf(() => w2.write('late'))).toBe('CLOSED');
  });

  it('through the server: 1,000 small writes reach another user in order; the stored file equals them', async () => {
    freshApp();
    const alice = await user('alice');
    const bob = await user('bob');
    const w = alice.db.createStream({ mimeType: 'text/plain' });
    await alice.db.insert(app.chats, { owner: 'alice', shared: true, reply: w.id }).wait({ tier: 'edge' });
    const writtenAt: number[] = [];
    const ends: number[] = [];
    const arrivedAt: number[] = [];
    let next = 0;
    const reading = drain(await bob.db.loadFileAsStream(w.id), (total) => {
      const now = performance.now();
      while (next < ends.length && ends[next]! <= total) arrivedAt[next++] = now;
    });
    let text = '';
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const t = `token${i} `;
      text += t;
      ends.push(new TextEncoder().encode(text).length);
      writtenAt.push(performance.now());
      w.write(t);
      if (i % 10 === 9) await sleep(1);
    }
    await w.close();
    const got = decoder.decode(await reading);
    const seconds = (performance.now() - t0) / 1000;
    expect(got).toBe(text);
    const latency = arrivedAt.map((t, i) => t - writtenAt[i]!);
    expect(latency.length).toBe(1000);
    const info = await alice.db.fileInfo(w.id);
    console.log(
      `live-streams.test: 1000 writes in ${seconds.toFixed(2)} s, stored as ${info.partSizes.length} parts; chunk latency p50 ${percentile(latency, 50).toFixed(1)} ms, p95 ${percentile(latency, 95).toFixed(1)} ms`,
    );
    // Coalesced: a handful of parts per second, not a version per write.
    expect(info.partSizes.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 2);
    expect(decoder.decode(await (await bob.db.loadFileAsBlob(w.id)).arrayBuffer())).toBe(text);
  });

  it('a user who may not read a stream gets none of its chunks, even watching it', async () => {
    freshApp();
    const alice = await user('alice');
    const secret = alice.db.createStream({ mimeType: 'text/plain' });
    const open_ = alice.db.createStream({ mimeType: 'text/plain' });
    await alice.db.insert(app.chats, { owner: 'alice', reply: secret.id }).wait({ tier: 'edge' });
    await alice.db.insert(app.chats, { owner: 'alice', shared: true, reply: open_.id }).wait({ tier: 'edge' });
    // Carol's client sends watches for both ids itself, as any client could, and counts chunk bytes.
    const chunks = new Map<string, number>();
    let leaks = 0;
    const needle = new TextEncoder().encode(CANARY);
    const connect: Connector = (u, events) => {
      const t = wsConnector(u, {
        ...events,
        message: (d) => {
          const m = decodeServerMessage(d);
          if (m.t === 'chunk') chunks.set(m.file, (chunks.get(m.file) ?? 0) + m.data.length);
          if (d.some((_, i) => needle.every((b, j) => d[i + j] === b))) leaks++;
          events.message(d);
          if (m.t === 'welcome') for (const file of [secret.id, open_.id]) t.send(encodeMessage({ t: 'watch', file }));
        },
      });
      return t;
    };
    const carol = createDb({ app, server: server.url, appId, auth: { token: await sign('carol') }, connect });
    open.push(carol);
    await carol.all(app.chats, { tier: 'edge' });
    let visible = '';
    for (let i = 0; i < 50; i++) {
      secret.write(`${CANARY} ${i} `);
      open_.write(`visible ${i} `);
      visible += `visible ${i} `;
      if (i % 10 === 9) await sleep(2);
    }
    await secret.close();
    await open_.close();
    await until(() => (chunks.get(open_.id) ?? 0) >= visible.length);
    await carol.all({ table: FILE_PARTS, where: { op: 'true' }, orderBy: [] } as never, { tier: 'edge' });
    expect(chunks.get(secret.id) ?? 0).toBe(0);
    expect(leaks).toBe(0);
    expect([...carol.engine.rowIds(FILE_PARTS)].length).toBeGreaterThan(0); // the shared stream's parts
    expect(partsOf(carol.engine, secret.id)).toEqual([]);
  });

  it('an aborted stream errors its readers; a writer that goes away leaves an unfinished stream', async () => {
    freshApp();
    const alice = await user('alice');
    const bob = await user('bob');
    const w = alice.db.createStream({ flushMs: 10 });
    await alice.db.insert(app.chats, { owner: 'alice', shared: true, reply: w.id }).wait({ tier: 'edge' });
    const reading = drain(await bob.db.loadFileAsStream(w.id));
    w.write('partial ');
    await sleep(50);
    await w.abort();
    expect(await code(reading)).toBe('FILE_INCOMPLETE');
    expect(await code(bob.db.loadFileAsBlob(w.id))).toBe('FILE_NOT_FOUND');
    await sleep(50);
    expect(partsOf(server.engineOf(appId)!, w.id)).toEqual([]);

    const gone = alice.db.createStream({ flushMs: 10 });
    await alice.db.insert(app.chats, { owner: 'alice', shared: true, reply: gone.id }).wait({ tier: 'edge' });
    gone.write('half a sentence');
    await sleep(60); // stored as a part and pushed
    await alice.db.close(); // never closed
    const info = await bob.db.fileInfo(gone.id);
    expect(info.state).toBe('writing');
    expect(await code(bob.db.loadFileAsBlob(gone.id))).toBe('FILE_INCOMPLETE');
  });
});
