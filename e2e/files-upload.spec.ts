/**
 * A file's upload from one browser to another through the server survives being cut: page A
 * stores a file of random bytes (OPFS), references it from a row, and its parts go up from the
 * durable outbox while the connection is cut (every socket through a proxy closed) and the page
 * is reloaded, at seeded random points; page B, in another browser context, then reads the same
 * bytes (SHA-256). A WebSocket proxy (support/ws-proxy.ts) reads every frame: no part the server
 * acknowledged before a kill is sent again after it, every part is sent, and what goes twice is
 * bounded by the parts in flight at a kill (their acknowledgement was lost with the socket). `npm run bench -- files` runs the same with 100 MiB and measures
 * memory; `FILE_MIB` changes the size here.
 */
import { expect, test, type Page } from '@playwright/test';
import { openClient } from './support/client-page.ts';
import { TestSyncServer } from './support/sync-server.ts';
import { newAppId } from './support/sync-rows.ts';
import { partsProxy } from './support/ws-proxy.ts';
import { mulberry32 } from '../src/util/random.ts';

const SCHEMA = { tables: { posts: { title: 'string', image: { type: 'file', optional: true } } } };
const MiB = 1 << 20;
const SIZE = Number(process.env['FILE_MIB'] ?? 12) * MiB;
const PART = 256 * 1024;
/** How long after its ack was handed to the socket a part counts as acknowledged by the page. */
const SETTLED_MS = 300;

const hex = (page: Page, id: string) =>
  page.evaluate(async (id) => {
    const blob: Blob = await window.t.db.loadFileAsBlob(id);
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()))].map((x) => x.toString(16).padStart(2, '0')).join('');
  }, id);

test('an upload cut and reloaded at random points reaches another browser whole, without resending acknowledged parts', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const seed = Number(process.env['SEED'] ?? Date.now() % 100_000);
  console.log(`[files-upload] seed ${seed} (SEED=${seed} to repeat), ${SIZE / MiB} MiB`);
  const random = mulberry32(seed);
  const server = await TestSyncServer.start();
  const proxy = await partsProxy(server.url);
  const appId = newAppId('upload');
  const contexts = [await browser.newContext(baseURL ? { baseURL } : {}), await browser.newContext(baseURL ? { baseURL } : {})];
  try {
    const [a, b] = await Promise.all(contexts.map((c) => c.newPage()));
    const openA = () => openClient(a!, { dbName: `A-${appId}`, schema: SCHEMA, server: proxy.url, appId, backoff: { initialMs: 50, maxMs: 200 } });
    await openA();
    const { id, hash } = await a!.evaluate(async (size) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
      const { app, db } = window.t;
      const id = await db.createFileFromBlob(new Blob([bytes]), { name: 'big.bin' });
      await db.insert(app.posts, { title: 'big', image: id }).wait();
      return { id: id as string, hash };
    }, SIZE);
    const parts = Math.ceil(SIZE / PART);

    // Kills at random points of the upload: a cut (every socket closed) or a reload of page A.
    const kills: { kind: 'cut' | 'reload'; acked: number; before: Set<string>; sends: Map<string, number> }[] = [];
    /** When each kill began and ended (a reload ends when the page has its database again). */
    const killed: [number, number][] = [];
    const plan = (['cut', 'reload', 'cut', 'reload', 'cut'] as const).map((kind, i) => ({ kind, at: Math.floor(((i + 0.5 + random() * 0.8) / 6) * parts) }));
    for (const { kind, at } of plan) {
      await expect.poll(() => proxy.acked.size, { timeout: 60_000, intervals: [20] }).toBeGreaterThanOrEqual(at);
      // Acknowledged for sure: acks handed to the page's socket a while before this kill and not
      // during an earlier one or just before it (such an ack may be lost with the socket or the
      // leaving page, and its part is in flight until it is acknowledged again).
      const now = performance.now();
      const before = proxy.settled(now, killed, SETTLED_MS);
      const sends = new Map(proxy.sends);
      if (kind === 'cut') proxy.cut();
      else {
        await a!.reload();
        await openA();
      }
      killed.push([now, performance.now()]);
      kills.push({ kind, acked: proxy.acked.size, before, sends });
    }
    await expect.poll(() => proxy.acked.size, { timeout: 120_000 }).toBe(parts);
    const sent = [...proxy.sends.values()].reduce((n, c) => n + c, 0);
    const twice = [...proxy.sends.entries()].filter(([, c]) => c > 1).map(([p]) => p);
    console.log(`[files-upload] ${parts} parts, ${sent} part sends (${twice.length} sent again) over kills ${kills.map((k) => `${k.kind}@${k.acked}`).join(', ')}`);
    expect(proxy.sends.size).toBe(parts);
    // Nothing the server acknowledged before a kill goes up again after it.
    for (const k of kills) for (const p of k.before) expect(proxy.sends.get(p), `part acknowledged before the ${k.kind} at ${k.acked}`).toBe(k.sends.get(p));
    // What goes twice is what was in flight at a kill (the client's window is 4 MiB: 16 parts).
    expect(twice.length).toBeLessThanOrEqual(kills.length * 16);

    await openClient(b!, { dbName: `B-${appId}`, schema: SCHEMA, server: server.url, appId });
    expect(await hex(b!, id)).toBe(hash);
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await proxy.close();
    await server.dispose();
  }
});
