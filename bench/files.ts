/**
 * Files and live streams (issue 14), in real Chromium (two persistent profiles: two devices) and
 * the reference server on loopback in this process, beside raw OPFS writes and raw WebSocket
 * transfers of the same bytes in the same run:
 *
 * - raw OPFS: 256 KiB sync-access-handle writes in a dedicated worker, one flush at the end;
 * - raw WebSocket: 256 KiB binary messages page → Node (16 unanswered at most) and Node → page;
 * - store: `createFileFromBlob` on a database with no server (tier `local`: every part durable);
 * - upload: `createFileFromBlob(blob, { tier: 'edge' })` on device A (stored, then acknowledged
 *   by the server part by part);
 * - download: `loadFileAsBlob` on device B, which has none of it (its SHA-256 checked);
 * - live stream: 1,000 small chunks from a Node writer to a reader on device B, and from device A
 *   to device B; each chunk's latency (writer's clock → reader's, same machine) p50/p95.
 * - the proof at full size: device A's upload through a proxy that cuts every socket twice and
 *   reloads the page twice at random points; no part acknowledged before a kill is sent after
 *   it, and device B reads the same bytes. Exits 1 if a check fails.
 * - memory: the peak resident memory of a device's pages and workers (its renderer processes)
 *   above their level before, while uploading (run 1) and while a fresh device streams the file.
 *
 *   npx tsx bench/files.ts            (npm run bench -- files; 100 MiB, 3 runs)
 *   MIB=20 RUNS=1 npx tsx bench/files.ts     quick check
 *
 * Pages are served cross-origin isolated (COOP/COEP), so `performance.now()` is not coarsened.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { createServer } from 'vite';
import { WebSocketServer } from 'ws';
import { launchOptions } from '../e2e/support/chromium.ts';
import { openClient } from '../e2e/support/client-page.ts';
import { TestSyncServer } from '../e2e/support/sync-server.ts';
import { partsProxy } from '../e2e/support/ws-proxy.ts';
import { createDb, s } from '../server/index.ts';
import { mulberry32 } from '../src/util/random.ts';
import { fmt, percentile, summary, table } from './stats.ts';
import { crossOriginIsolation } from './vite-server.ts';

const MiB = 1 << 20;
const SIZE = Number(process.env['MIB'] ?? 100) * MiB;
const RUNS = Number(process.env['RUNS'] ?? 3);
const CHUNKS = 1000;
const SCHEMA = { tables: { posts: { title: 'string', image: { type: 'file', optional: true } } } };
const root = fileURLToPath(new URL('..', import.meta.url));
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  console.log(`  ${ok ? '✓' : '✗'} ${what}`);
};

// ─── the page server (cross-origin isolated), the sync server, a raw WebSocket peer ─────────────

const vite = await createServer({ configFile: `${root}e2e/vite.config.ts`, plugins: [crossOriginIsolation], server: { port: 0, strictPort: false } });
await vite.listen();
const address = vite.httpServer!.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const sync = await TestSyncServer.start();

/** Raw WebSocket peer: answers each message with one byte; on "down N" sends N bytes in 256 KiB messages. */
const raw = new WebSocketServer({ host: '127.0.0.1', port: 0 });
raw.on('connection', (ws) => {
  ws.on('message', (d, binary) => {
    if (!binary && String(d).startsWith('down ')) {
      const n = Number(String(d).slice(5));
      const chunk = Buffer.alloc(256 * 1024, 7);
      let sent = 0;
      const more = () => {
        while (sent < n && ws.bufferedAmount < 4 * MiB) {
          ws.send(chunk.subarray(0, Math.min(chunk.length, n - sent)));
          sent += chunk.length;
        }
        if (sent < n) setTimeout(more, 1);
      };
      more();
    } else ws.send(Buffer.of(1));
  });
});
await new Promise<void>((r) => raw.once('listening', () => r()));
const rawUrl = `ws://127.0.0.1:${(raw.address() as { port: number }).port}`;

const profiles: string[] = [];
async function device(name: string): Promise<{ ctx: BrowserContext; page: Page; profile: string }> {
  const profile = `${root}.tmp/bench-files-${name}-${process.pid}`;
  rmSync(profile, { recursive: true, force: true });
  mkdirSync(profile, { recursive: true });
  profiles.push(profile);
  // `gc()` in the page, so memory is measured from a collected heap.
  const opts = launchOptions();
  const ctx = await chromium.launchPersistentContext(profile, { ...opts, args: [...opts.args, '--js-flags=--expose-gc'], headless: true, baseURL: base });
  // tsx compiles this file keeping function names (`__name(fn, "name")` calls), which then reach
  // the page inside the functions given to page.evaluate: give the page that helper.
  await ctx.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error(`[${name} page error]`, e.message));
  return { ctx, page, profile };
}

/**
 * Resident memory (KiB) of the renderer processes (pages and their workers) of the browser started
 * with `profile`; the browser process, which holds Blob data, is left out.
 */
function rendererRssKiB(profile: string): number {
  let total = 0;
  const out = execFileSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8', maxBuffer: 64 * MiB });
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2]!.includes(profile) && m[2]!.includes('--type=renderer')) total += Number(m[1]);
  }
  return total;
}

/** Samples `fn` every 100 ms until `stop` is called; resolves to the peak. */
function sampler(fn: () => number): { stop: () => number } {
  let peak = fn();
  const timer = setInterval(() => (peak = Math.max(peak, fn())), 100);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, fn());
    },
  };
}

const mibs = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const rate = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} MiB/s (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;

/** In the page: a random Blob of `size` bytes as `window.t.blob`, its SHA-256 as `window.t.hash`. */
function makeBlob(size: number): Promise<string> {
  return (async () => {
    let bytes: Uint8Array<ArrayBuffer> | undefined = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
    window.t.blob = new Blob([bytes]);
    bytes = undefined;
    (globalThis as { gc?: () => void }).gc?.();
    return (window.t.hash = hash);
  })();
}

const A = await device('a');
const B = await device('b');
const load = loadavg();
console.log(`files bench: ${SIZE / MiB} MiB, ${RUNS} runs, Chromium ${A.ctx.browser()?.version() ?? ''}, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
const rows: (string | number)[][] = [['measure', 'jazz-elements', 'baseline', 'jazz/baseline']];
try {
  const appId = `files-bench-${Date.now()}`;
  await openClient(A.page, { url: '/e2e/client.html', dbName: `bench-A-${appId}`, schema: SCHEMA, server: sync.url, appId });
  await openClient(B.page, { url: '/e2e/client.html', dbName: `bench-B-${appId}`, schema: SCHEMA, server: sync.url, appId });
  check(await A.page.evaluate(() => crossOriginIsolated), 'the bench pages are cross-origin isolated');
  await A.page.evaluate(makeBlob, SIZE);

  // Raw OPFS writes and raw WebSocket transfers of the same size.
  const opfs: number[] = [];
  const wsUp: number[] = [];
  const wsDown: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    opfs.push(
      await A.page.evaluate(async (size) => {
        const code = `onmessage = async (e) => {
          const root = await navigator.storage.getDirectory();
          const file = await root.getFileHandle('raw-' + Math.random(), { create: true });
          const h = await file.createSyncAccessHandle();
          const chunk = new Uint8Array(256 * 1024).fill(3);
          const t0 = performance.now();
          for (let at = 0; at < e.data; at += chunk.length) h.write(chunk, { at });
          h.flush();
          const ms = performance.now() - t0;
          h.close();
          await root.removeEntry(file.name);
          postMessage(ms);
        }`;
        const w = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
        const ms = await new Promise<number>((r) => {
          w.onmessage = (e) => r(e.data);
          w.postMessage(size);
        });
        w.terminate();
        return size / 1048576 / (ms / 1000);
      }, SIZE),
    );
    const [up, down] = await A.page.evaluate(
      async ([url, size]) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        await new Promise((r) => (ws.onopen = r));
        const chunk = new Uint8Array(256 * 1024).fill(5);
        const n = Math.ceil(size / chunk.length);
        let answered = 0;
        let t0 = performance.now();
        await new Promise<void>((done) => {
          let sent = 0;
          const pump = () => {
            while (sent < n && sent - answered < 16) ws.send(chunk), sent++;
          };
          ws.onmessage = () => (++answered === n ? done() : pump());
          pump();
        });
        const up = size / 1048576 / ((performance.now() - t0) / 1000);
        let got = 0;
        t0 = performance.now();
        await new Promise<void>((done) => {
          ws.onmessage = (e) => {
            got += (e.data as ArrayBuffer).byteLength;
            if (got >= size) done();
          };
          ws.send(`down ${size}`);
        });
        const down = size / 1048576 / ((performance.now() - t0) / 1000);
        ws.close();
        return [up, down];
      },
      [rawUrl, SIZE] as const,
    );
    wsUp.push(up);
    wsDown.push(down);
  }

  // The engine: stored locally, uploaded through the server, downloaded by the other device.
  const store: number[] = [];
  const upload: number[] = [];
  const memory: [string, number][] = [];
  const download: number[] = [];
  await A.page.evaluate(async () => {
    window.t.local = window.jazz.createDb({ app: window.t.app, driver: { type: 'opfs', dbName: `bench-local-${Date.now()}` } });
    await window.t.local.ready;
  });
  for (let run = 0; run < RUNS; run++) {
    const ms = await A.page.evaluate(async () => {
      const t0 = performance.now();
      const id = await window.t.local.createFileFromBlob(window.t.blob);
      const ms = performance.now() - t0;
      await window.t.local.deleteFile(id);
      return ms;
    });
    store.push(mibs(SIZE, ms));
    const rssA = rendererRssKiB(A.profile);
    const peakA = sampler(() => rendererRssKiB(A.profile));
    const up = await A.page.evaluate(async () => {
      const t0 = performance.now();
      const id = await window.t.db.createFileFromBlob(window.t.blob, { tier: 'edge' });
      return { id: id as string, ms: performance.now() - t0 };
    });
    const grew = peakA.stop() - rssA;
    if (run === 0) memory.push(['upload (device A)', grew]);
    upload.push(mibs(SIZE, up.ms));
    const down = await B.page.evaluate(async (id) => {
      const t0 = performance.now();
      const blob: Blob = await window.t.db.loadFileAsBlob(id);
      const ms = performance.now() - t0;
      const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()))].map((x) => x.toString(16).padStart(2, '0')).join('');
      return { ms, hash };
    }, up.id);
    download.push(mibs(SIZE, down.ms));
    if (run === 0) {
      // Memory while another fresh device streams it (what an app that saves a download does).
      await B.page.evaluate(
        async ([server, appId]) => {
          window.t.db2 = window.jazz.createDb({ app: window.t.app, driver: { type: 'opfs', dbName: `bench-B2-${Date.now()}` }, server, appId });
          await window.t.db2.ready;
          (globalThis as { gc?: () => void }).gc?.();
        },
        [sync.url, appId] as const,
      );
      const rssB = rendererRssKiB(B.profile);
      const peakB = sampler(() => rendererRssKiB(B.profile));
      const n = await B.page.evaluate(async (id) => {
        let n = 0;
        for (const reader = (await window.t.db2.loadFileAsStream(id)).getReader(); ; ) {
          const { done, value } = await reader.read();
          if (done) return n;
          n += value.length;
        }
      }, up.id);
      memory.push(['download as a stream (a fresh device B)', peakB.stop() - rssB]);
      check(n === SIZE, `a fresh device streamed all ${SIZE / MiB} MiB (${n} bytes)`);
      await B.page.evaluate(() => window.t.db2.close());
    }
    if (run === 0) check(down.hash === (await A.page.evaluate(() => window.t.hash)), `device B read the ${SIZE / MiB} MiB file with the SHA-256 device A stored`);
    await A.page.evaluate((id) => window.t.db.deleteFile(id, { tier: 'edge' }), up.id);
  }
  const ratio = (a: number[], b: number[]) => `${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}×`;
  rows.push([`store ${SIZE / MiB} MiB on the device (tier local)`, rate(store), `raw OPFS ${rate(opfs)}`, ratio(store, opfs)]);
  rows.push([`upload ${SIZE / MiB} MiB (tier edge: stored, then acked by the server)`, rate(upload), `raw WebSocket up ${rate(wsUp)}`, ratio(upload, wsUp)]);
  rows.push([`download ${SIZE / MiB} MiB on another device (loadFileAsBlob)`, rate(download), `raw WebSocket down ${rate(wsDown)}`, ratio(download, wsDown)]);
  for (const [what, kib] of memory) rows.push([`peak memory of the pages and workers above their start: ${what}`, `${(kib / 1024).toFixed(0)} MiB`, `file ${SIZE / MiB} MiB`, '']);

  // Live streams: a Node writer, and device A, to a reader on device B.
  /** Starts a reader of `id` on device B, runs the writer (`CHUNKS` chunks `<time>`, 2 ms apart, then the end), and returns each chunk's latency. */
  const latency = async (id: string, write: () => Promise<void>): Promise<number[]> => {
    await B.page.evaluate(async (id) => {
      const reader = (await window.t.db.loadFileAsStream(id)).getReader();
      const decoder = new TextDecoder();
      window.t.lat = { ms: [] as number[], done: false };
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return void (window.t.lat.done = true);
          const at = performance.timeOrigin + performance.now();
          for (const m of decoder.decode(value, { stream: true }).matchAll(/<([\d.]+)>/g)) window.t.lat.ms.push(at - Number(m[1]));
        }
      })();
    }, id);
    await new Promise((r) => setTimeout(r, 200));
    await write();
    const t0 = Date.now();
    while (!(await B.page.evaluate(() => window.t.lat.done)) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
    return B.page.evaluate(() => window.t.lat.ms as number[]);
  };
  const writer = createDb({ app: s.fromJSON(SCHEMA as never), server: sync.url, appId });
  const nodeStream = writer.createStream({ mimeType: 'text/plain' });
  await writer.insert(writer.app['posts'] as never, { title: 'stream', image: nodeStream.id } as never).wait({ tier: 'global' });
  const fromNode = await latency(nodeStream.id, async () => {
    for (let i = 0; i < CHUNKS; i++) {
      nodeStream.write(`<${(performance.timeOrigin + performance.now()).toFixed(3)}>`);
      await new Promise((r) => setTimeout(r, 2));
    }
    await nodeStream.close();
  });
  await writer.close();
  const pageId = await A.page.evaluate(async () => {
    window.t.stream = await window.t.db.createStream({ mimeType: 'text/plain' });
    return window.t.stream.id as string;
  });
  // Both clocks are this machine's (performance.timeOrigin + now), to well under a millisecond.
  const fromPage = await latency(pageId, () =>
    A.page.evaluate(async (n) => {
      for (let i = 0; i < n; i++) {
        window.t.stream.write(`<${(performance.timeOrigin + performance.now()).toFixed(3)}>`);
        await new Promise((r) => setTimeout(r, 2));
      }
      await window.t.stream.close();
    }, CHUNKS),
  );
  for (const [who, ms] of [
    ['Node writer', fromNode],
    ['device A', fromPage],
  ] as const) {
    const l = summary(ms);
    check(ms.length === CHUNKS, `${who} → device B: all ${CHUNKS} chunks arrived (${ms.length})`);
    rows.push([`live stream chunk, ${who} → server → device B (${CHUNKS} chunks)`, `p50 ${fmt(l.p50)}, p95 ${fmt(l.p95)}`, 'target p95 ≤ 20 ms', '']);
  }

  // The proof at full size: cuts and reloads during the upload; memory.
  const seed = Number(process.env['SEED'] ?? Date.now() % 100_000);
  const random = mulberry32(seed);
  const proxy = await partsProxy(sync.url);
  const proofApp = `${appId}-proof`;
  const openA = () => openClient(A.page, { url: '/e2e/client.html', dbName: `bench-A-${proofApp}`, schema: SCHEMA, server: proxy.url, appId: proofApp, backoff: { initialMs: 50, maxMs: 200 } });
  await openA();
  await A.page.evaluate(makeBlob, SIZE);
  const stored = await A.page.evaluate(async () => {
    const id = await window.t.db.createFileFromBlob(window.t.blob, { name: 'proof.bin' });
    await window.t.db.insert(window.t.app.posts, { title: 'proof', image: id }).wait();
    return { id: id as string, hash: window.t.hash as string };
  });
  const parts = Math.ceil(SIZE / (256 * 1024));
  const kills: { kind: string; before: Set<string>; sends: Map<string, number> }[] = [];
  const killed: [number, number][] = [];
  for (const [i, kind] of (['cut', 'reload', 'cut', 'reload'] as const).entries()) {
    const at = Math.floor(((i + 0.5 + random() * 0.8) / 5) * parts);
    while (proxy.acked.size < at) await new Promise((r) => setTimeout(r, 20));
    // Acknowledged for sure: acks handed to the page's socket 300 ms or more before this kill and
    // not during or just before an earlier one (as e2e/files-upload.spec.ts says).
    const now = performance.now();
    const before = proxy.settled(now, killed, 300);
    kills.push({ kind: `${kind}@${proxy.acked.size}`, before, sends: new Map(proxy.sends) });
    if (kind === 'cut') proxy.cut();
    else {
      await A.page.reload();
      await openA();
    }
    killed.push([now, performance.now()]);
  }
  const t0 = Date.now();
  while (proxy.acked.size < parts && Date.now() - t0 < 300_000) await new Promise((r) => setTimeout(r, 50));
  // Device B, a fresh database of the proof's app, reads it.
  await openClient(B.page, { url: '/e2e/client.html', dbName: `bench-B-${proofApp}`, schema: SCHEMA, server: sync.url, appId: proofApp });
  const readOnB = await B.page.evaluate(async (id) => {
    const blob: Blob = await window.t.db.loadFileAsBlob(id);
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()))].map((x) => x.toString(16).padStart(2, '0')).join('');
  }, stored.id);
  const sends = [...proxy.sends.values()].reduce((n, c) => n + c, 0);
  console.log(`  proof: seed ${seed}; kills ${kills.map((k) => k.kind).join(', ')}; ${parts} parts, ${sends} part sends`);
  check(proxy.sends.size === parts && proxy.acked.size === parts, `every part of the ${SIZE / MiB} MiB file reached the server (${proxy.acked.size}/${parts})`);
  check(
    kills.every((k) => [...k.before].every((p) => proxy.sends.get(p) === k.sends.get(p))),
    'no part acknowledged before a kill was sent after it',
  );
  check(readOnB === stored.hash, 'device B read the same bytes (SHA-256) after the cuts and reloads');
  await proxy.close();
} finally {
  await A.ctx.close().catch(() => {});
  await B.ctx.close().catch(() => {});
  await sync.dispose();
  raw.close();
  await vite.close();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
}
console.log(`\n${table(rows)}\n`);
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
if (failures.length) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
process.exit(0);
