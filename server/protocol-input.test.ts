/**
 * Bad input on the sync socket: truncated, oversized, unknown and mistyped frames close that one
 * connection with an error code; the server keeps serving everyone else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDb, startSyncServer, type SyncServer } from './index.ts';
import { todoApp as app, rng } from '../src/testing/fixtures.ts';
import { decodeFrame, encodeFrame } from '../src/sync/codec.ts';
import { CloseCode, PROTOCOL_VERSION } from '../src/sync/protocol.ts';
import { canonicalSchemaJSON, schemaFromJSON, schemaHash } from '../src/schema/schema.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hello = () => encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, clientId: 'raw', schemaHash: app.$hash, schema: canonicalSchemaJSON(app.$schema), auth: {} });

/** Opens a raw socket, optionally says hello, sends `frames`, resolves with the close code. */
function exchange(url: string, frames: (Uint8Array | string)[], sayHello = true): Promise<{ code: number; messages: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/apps/test/ws`);
    let messages = 0;
    const timer = setTimeout(() => reject(new Error('the server did not close the connection')), 5000);
    ws.on('open', () => {
      if (sayHello) ws.send(hello());
      for (const f of frames) ws.send(f);
    });
    ws.on('message', () => messages++);
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, messages });
    });
    ws.on('error', () => {});
  });
}

describe('hostile frames', () => {
  it('closes only the offending connection, with a code', async () => {
    const s: SyncServer = await startSyncServer({ port: 0, inMemory: true, dev: true, maxFrameBytes: 64 * 1024, log: () => {} });
    cleanups.push(() => s.close());
    const good = createDb({ app, server: s.url, appId: 'test' });
    cleanups.push(() => good.close());
    await good.insert(app.todos, { title: 'alive' }).wait({ tier: 'global' });

    const valid = hello();
    expect((await exchange(s.url, [valid.subarray(0, valid.length - 3)], false)).code).toBe(CloseCode.protocolError); // truncated
    expect((await exchange(s.url, [new Uint8Array(100 * 1024)])).code).toBe(1009); // oversized
    expect((await exchange(s.url, [encodeFrame({ t: 'explode' })])).code).toBe(CloseCode.protocolError); // unknown type
    expect((await exchange(s.url, [encodeFrame({ t: 'sub', id: 'x', query: {}, tier: 'edge' })])).code).toBe(CloseCode.protocolError); // wrong types
    expect((await exchange(s.url, [encodeFrame({ t: 'push', batchId: 1, versions: 'no' })])).code).toBe(CloseCode.protocolError);
    expect((await exchange(s.url, ['text frame'])).code).toBe(CloseCode.protocolError);
    expect((await exchange(s.url, [encodeFrame({ t: 'sub', id: 1, query: {}, tier: 'edge' })], false)).code).toBe(CloseCode.protocolError); // no hello
    expect((await exchange(s.url, [encodeFrame({ ...Object.fromEntries([['t', 'hello']]), protocol: 99, clientId: 'x', schemaHash: 'x', schema: '{}', auth: {} })], false)).code).toBe(
      CloseCode.versionMismatch,
    );
    // A schema that does not match its hash is bad input; a well-formed version with no lens path to
    // the app's is a schema mismatch (even in dev mode, which adopts only versions it can connect).
    expect((await exchange(s.url, [encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, clientId: 'x', schemaHash: 'other', schema: '{"tables":{}}', auth: {} })], false)).code).toBe(
      CloseCode.protocolError,
    );
    const unrelated = schemaFromJSON({ tables: { notes: { body: 'string' } } });
    expect(
      (await exchange(s.url, [encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, clientId: 'x', schemaHash: schemaHash(unrelated), schema: canonicalSchemaJSON(unrelated), auth: {} })], false))
        .code,
    ).toBe(CloseCode.schemaMismatch);

    // A push whose values do not fit the schema is rejected whole, and the connection stays.
    const bad = await new Promise<{ t: string }>((resolve) => {
      const ws = new WebSocket(`${s.url}/apps/test/ws`);
      ws.on('open', () => {
        ws.send(hello());
        ws.send(
          encodeFrame({
            t: 'push',
            batchId: 'b1',
            versions: [
              {
                table: 'todos',
                rowId: '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a',
                versionId: 'v1',
                parents: [],
                ts: 1,
                author: 'x',
                batchId: 'b1',
                deleted: false,
                changed: ['title'],
                values: { title: 42 },
              },
            ],
          }),
        );
      });
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(JSON.stringify(decode(d)));
        if (m.t === 'reject') {
          resolve(m);
          ws.close();
        }
      });
    });
    expect(bad.t).toBe('reject');

    // Random garbage: the server survives it and the good client still syncs.
    const seed = Math.floor(Math.random() * 1e9);
    console.log(`fuzz seed ${seed}`);
    const r = rng(seed);
    for (let i = 0; i < 200; i++) {
      const n = 1 + Math.floor(r() * 300);
      const frame = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      const { code } = await exchange(s.url, [frame]);
      expect([CloseCode.protocolError, CloseCode.schemaMismatch, CloseCode.serverError]).toContain(code);
    }
    const h = good.insert(app.todos, { title: 'still alive' });
    await h.wait({ tier: 'global' });
    expect(s.stats().connections).toBe(1);
  });
});

function decode(d: Buffer) {
  return decodeFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}
