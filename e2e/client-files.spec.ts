/**
 * Files through the page's client (worker/page/files.ts, loaded on first use as its own module,
 * over the worker's FileCalls): in Chromium, on OPFS.
 *
 * 1. One tab: a 20 MiB Blob stored with progress events (growing, the last one the whole size),
 *    read back as a Blob and as a stream with the SHA-256 it had (crypto.subtle on both sides);
 *    the record; FILE_NOT_FOUND for a made-up id, OPTION_INVALID for an unknown option; an
 *    aborted upload rejects with the signal's reason; a deleted file is not found. A second tab
 *    of the same database (a follower, reaching the leader's worker) reads it too and stores one
 *    the leader reads back.
 * 2. Through a server: stored on page A (tier `edge`) and referenced by a row, read on page B in
 *    another browser context (its own storage) with the same SHA-256.
 * 3. Live streams through a server: 1,000 chunks from a Node writer reach page B in order (each
 *    chunk's latency printed: p50/p95); a stream page A writes reaches page B while it is written;
 *    `createStream`'s typed errors; `createFileFromStream` with strings and bytes.
 */
import { expect, test, type Page } from '@playwright/test';
import { openClient } from './support/client-page.ts';
import { TestSyncServer } from './support/sync-server.ts';
import { newAppId } from './support/sync-rows.ts';
import { createDb, s } from '../server/index.ts';

const SCHEMA = { tables: { posts: { title: 'string', image: { type: 'file', optional: true } } } };
const MiB = 1 << 20;

/** Makes a random Blob of `size` bytes in the page as `window.t.blob`; resolves to its SHA-256. */
function makeBlob(page: Page, size: number): Promise<string> {
  return page.evaluate(async (size) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    window.t.blob = new Blob([bytes], { type: 'application/x-test' });
    window.t.hex = async (b: Blob) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', await b.arrayBuffer()))].map((x) => x.toString(16).padStart(2, '0')).join('');
    return window.t.hex(window.t.blob);
  }, size);
}

/** The error code a call in the page rejects with (or "resolved"). */
const code = (page: Page, js: string): Promise<string> =>
  page.evaluate(`(async () => { const { db } = window.t; try { await (${js}); return 'resolved'; } catch (e) { return e.code ?? e.name; } })()`);

test('a 20 MiB Blob stored with progress, read back whole and as a stream, also in a follower tab; typed errors', async ({ page, context }) => {
  const dbName = `files-${Date.now()}`;
  await openClient(page, { dbName, schema: SCHEMA });
  const hash = await makeBlob(page, 20 * MiB);
  const t0 = Date.now();
  const stored = await page.evaluate(async () => {
    const progress: { loaded: number; total: number }[] = [];
    const id = await window.t.db.createFileFromBlob(window.t.blob, { name: 'big.bin', onProgress: (p: { loaded: number; total: number }) => progress.push(p) });
    window.t.id = id;
    return { id, progress };
  });
  console.log(`[files] 20 MiB stored in ${Date.now() - t0} ms, ${stored.progress.length} progress events`);
  const loaded = stored.progress.map((p) => p.loaded);
  expect(loaded.length).toBeGreaterThanOrEqual(80); // 256 KiB parts
  expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
  expect(stored.progress.at(-1)).toEqual({ loaded: 20 * MiB, total: 20 * MiB });

  const read = await page.evaluate(async () => {
    const { db, id, hex } = window.t;
    const blob: Blob = await db.loadFileAsBlob(id);
    const stream: ReadableStream<Uint8Array> = await db.loadFileAsStream(id);
    const chunks: Uint8Array[] = [];
    for (const reader = stream.getReader(); ; ) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    return { blob: await hex(blob), type: blob.type, size: blob.size, stream: await hex(new Blob(chunks as BlobPart[])), chunks: chunks.length, info: await db.fileInfo(id) };
  });
  expect(read).toMatchObject({ blob: hash, stream: hash, type: 'application/x-test', size: 20 * MiB, chunks: 80 });
  expect(read.info).toMatchObject({ id: stored.id, name: 'big.bin', mimeType: 'application/x-test', size: 20 * MiB, hash, state: 'complete' });

  // Typed errors, as the Node Db's.
  const madeUp = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  expect(await code(page, `db.loadFileAsBlob('${madeUp}')`)).toBe('FILE_NOT_FOUND');
  expect(await code(page, `db.loadFileAsStream('${madeUp}')`)).toBe('FILE_NOT_FOUND');
  expect(await code(page, `db.fileInfo('${madeUp}')`)).toBe('FILE_NOT_FOUND');
  expect(await code(page, `db.deleteFile('${madeUp}')`)).toBe('FILE_NOT_FOUND');
  expect(await code(page, `db.createFileFromBlob(new Blob(['x']), { colour: 'red' })`)).toBe('OPTION_INVALID');
  expect(await code(page, `db.createFileFromBlob(new Blob(['x']), { partSize: 2 << 20 })`)).toBe('OPTION_INVALID');
  expect(await code(page, `db.loadFileAsBlob(window.t.id, { tier: 'local', x: 1 })`)).toBe('OPTION_INVALID');
  expect(await code(page, `db.createFileFromBlob(new Blob(['x']), { mimeType: 'not a type' })`)).toBe('OPTION_INVALID');
  expect(await code(page, `db.createFileFromBlob('not a blob')`)).toBe('TYPE_MISMATCH');
  // An empty Blob is a file of no bytes, with one progress event.
  const empty = await page.evaluate(async () => {
    const progress: unknown[] = [];
    const id = await window.t.db.createFileFromBlob(new Blob([]), { onProgress: (p: unknown) => progress.push(p) });
    return { size: (await window.t.db.loadFileAsBlob(id)).size, progress };
  });
  expect(empty).toEqual({ size: 0, progress: [{ loaded: 0, total: 0 }] });
  // An upload aborted halfway rejects with the signal's reason.
  const aborted = await page.evaluate(async () => {
    const c = new AbortController();
    try {
      await window.t.db.createFileFromBlob(window.t.blob, { signal: c.signal, onProgress: (p: { loaded: number }) => p.loaded >= 4 << 20 && c.abort(new Error('enough')) });
      return 'resolved';
    } catch (e) {
      return (e as Error).message;
    }
  });
  expect(aborted).toBe('enough');

  // A follower tab of the same database reads the file through the leader, and stores one.
  const follower = await context.newPage();
  await openClient(follower, { dbName, schema: SCHEMA });
  expect(await follower.evaluate(() => window.t.db.status.role)).toBe('follower');
  await makeBlob(follower, 1);
  const fromFollower = await follower.evaluate(async (id) => {
    const { db, hex } = window.t;
    const small = new Blob(['hello from the follower'], { type: 'text/plain' });
    return { hash: await hex(await db.loadFileAsBlob(id)), small: await db.createFileFromBlob(small) };
  }, stored.id);
  expect(fromFollower.hash).toBe(hash);
  expect(await page.evaluate(async (id) => (await window.t.db.loadFileAsBlob(id)).text(), fromFollower.small)).toBe('hello from the follower');

  // Deleted: not found any more.
  expect(await code(page, 'db.deleteFile(window.t.id)')).toBe('resolved');
  expect(await code(page, 'db.loadFileAsBlob(window.t.id)')).toBe('FILE_NOT_FOUND');
  await follower.close();
});

test('a file stored on page A through a server is read on page B with the same bytes', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('files');
  const contexts = [await browser.newContext(baseURL ? { baseURL } : {}), await browser.newContext(baseURL ? { baseURL } : {})];
  try {
    const [a, b] = await Promise.all(contexts.map((c) => c.newPage()));
    await openClient(a!, { dbName: `A-${appId}`, schema: SCHEMA, server: server.url, appId });
    await openClient(b!, { dbName: `B-${appId}`, schema: SCHEMA, server: server.url, appId });
    const hash = await makeBlob(a!, 8 * MiB);
    const t0 = Date.now();
    const id = await a!.evaluate(async () => {
      const { app, db, blob } = window.t;
      const id = await db.createFileFromBlob(blob, { tier: 'edge', name: 'photo.bin' });
      await db.insert(app.posts, { title: 'with a file', image: id }).wait({ tier: 'edge' });
      return id;
    });
    const onB = await b!.evaluate(async (id) => {
      const bytes = new Uint8Array(await (await window.t.db.loadFileAsBlob(id)).arrayBuffer());
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
    }, id);
    console.log(`[files] 8 MiB from A to B through the server in ${Date.now() - t0} ms`);
    expect(onB).toBe(hash);
    expect(await b!.evaluate(async (id) => (await window.t.db.fileInfo(id)).name, id)).toBe('photo.bin');
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await server.dispose();
  }
});

test('live streams: a Node writer’s 1,000 chunks reach a page in order (latency measured); a page’s stream reaches another page; a stream stored as a file', async ({ browser, baseURL }) => {
  const server = await TestSyncServer.start();
  const appId = newAppId('streams');
  const writer = createDb({ app: s.fromJSON(SCHEMA as never), server: server.url, appId, backoff: { initialMs: 20, maxMs: 100 } });
  const contexts = [await browser.newContext(baseURL ? { baseURL } : {}), await browser.newContext(baseURL ? { baseURL } : {})];
  try {
    const [a, b] = await Promise.all(contexts.map((c) => c.newPage()));
    await openClient(a!, { dbName: `A-${appId}`, schema: SCHEMA, server: server.url, appId });
    await openClient(b!, { dbName: `B-${appId}`, schema: SCHEMA, server: server.url, appId });

    // 1. Node writes 1,000 small chunks (each says its number and when it was written); page B reads live.
    const stream = writer.createStream({ mimeType: 'text/plain' });
    await writer.insert(writer.app.posts as never, { title: 'an answer', image: stream.id } as never).wait({ tier: 'global' });
    await b!.evaluate(async (id) => {
      const reader = (await window.t.db.loadFileAsStream(id)).getReader();
      const decoder = new TextDecoder();
      window.t.live = { text: '', arrivals: [] as [string, number][] };
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return void (window.t.live.done = true);
          const at = performance.timeOrigin + performance.now();
          const text = decoder.decode(value, { stream: true });
          window.t.live.text += text;
          for (const m of text.matchAll(/<(\d+)@([\d.]+)>/g)) window.t.live.arrivals.push([m[1]!, at - Number(m[2])]);
        }
      })();
    }, stream.id);
    let expected = '';
    for (let i = 0; i < 1000; i++) {
      const chunk = `<${i}@${(performance.timeOrigin + performance.now()).toFixed(3)}>`;
      stream.write(chunk);
      expected += chunk;
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    await stream.close();
    await expect.poll(() => b!.evaluate(() => window.t.live.done === true), { timeout: 20_000 }).toBe(true);
    const live = await b!.evaluate(() => window.t.live as { text: string; arrivals: [string, number][] });
    expect(live.text).toBe(expected);
    expect(live.arrivals.map(([n]) => Number(n))).toEqual([...Array(1000).keys()]);
    const ms = live.arrivals.map(([, d]) => d).sort((x, y) => x - y);
    const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
    console.log(`[streams] Node writer → server → page, 1,000 chunks: latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms`);
    expect(await b!.evaluate(async (id) => (await window.t.db.loadFileAsBlob(id)).text(), stream.id)).toBe(expected);

    // 2. Page A writes a stream (strings and bytes); page B reads it live, then whole.
    const id = await a!.evaluate(async () => {
      const s = await window.t.db.createStream({ mimeType: 'text/plain', name: 'answer.txt' });
      window.t.stream = s;
      return s.id as string;
    });
    await b!.evaluate(async (id) => {
      window.t.got = '';
      const reader = (await window.t.db.loadFileAsStream(id)).getReader();
      const decoder = new TextDecoder();
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return void (window.t.gotDone = true);
          window.t.got += decoder.decode(value, { stream: true });
        }
      })();
    }, id);
    await a!.evaluate(async () => {
      const s = window.t.stream;
      s.write('Grüße ');
      await new Promise((r) => setTimeout(r, 50));
      s.write(new TextEncoder().encode('aus 東京 '));
      for (let i = 0; i < 100; i++) s.write(`${i} `);
    });
    // Live: B has the chunks before A closes the stream.
    await expect.poll(() => b!.evaluate(() => window.t.got as string), { timeout: 10_000 }).toContain('99 ');
    expect(await b!.evaluate(() => window.t.gotDone === true)).toBe(false);
    await a!.evaluate(() => window.t.stream.close());
    await expect.poll(() => b!.evaluate(() => window.t.gotDone === true), { timeout: 10_000 }).toBe(true);
    const words = `Grüße aus 東京 ${[...Array(100).keys()].map((i) => `${i} `).join('')}`;
    expect(await b!.evaluate(() => window.t.got)).toBe(words);
    expect(await b!.evaluate(async (id) => (await window.t.db.fileInfo(id)).state, id)).toBe('complete');
    // A closed stream takes no more writes; an aborted one is gone.
    expect(await code(a!, 'window.t.stream.close()')).toBe('CLOSED');
    expect(await code(a!, `db.createStream({ colour: 'red' })`)).toBe('OPTION_INVALID');
    expect(
      await a!.evaluate(async () => {
        const s = await window.t.db.createStream();
        s.write('gone');
        await s.abort();
        try {
          await window.t.db.loadFileAsBlob(s.id);
          return 'found';
        } catch (e) {
          return (e as { code: string }).code;
        }
      }),
    ).toBe('FILE_NOT_FOUND');

    // 3. createFileFromStream: strings and bytes as one file; progress has no total until the end.
    const fromStream = await a!.evaluate(async () => {
      const progress: { loaded: number; total?: number }[] = [];
      const big = new Uint8Array(3 << 20).fill(97);
      const source = new ReadableStream<Uint8Array | string>({
        start(c) {
          c.enqueue('héllo ');
          c.enqueue(big);
          c.enqueue(' wörld');
          c.close();
        },
      });
      const id = await window.t.db.createFileFromStream(source, { name: 'joined.txt', mimeType: 'text/plain', onProgress: (p: { loaded: number; total?: number }) => progress.push(p) });
      const text = await (await window.t.db.loadFileAsBlob(id)).text();
      return { length: text.length, head: text.slice(0, 6), tail: text.slice(-6), progress: progress.length, last: progress.at(-1), totals: [...new Set(progress.map((p) => p.total))] };
    });
    expect(fromStream).toMatchObject({ length: 6 + (3 << 20) + 6, head: 'héllo ', tail: ' wörld', last: { loaded: (3 << 20) + 14 }, totals: [undefined] });
    expect(fromStream.progress).toBeGreaterThanOrEqual(12);
    expect(await code(a!, `db.createFileFromStream('text')`)).toBe('TYPE_MISMATCH');
  } finally {
    await writer.close();
    for (const c of contexts) await c.close().catch(() => {});
    await server.dispose();
  }
});
