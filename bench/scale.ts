/**
 * P13: many clients over several server nodes, on loopback. `npm run bench -- scale`.
 *
 * In one run, three set-ups: one node on files, one node on PostgreSQL, three nodes on one
 * PostgreSQL (each node a real `server/cli.ts` process; PostgreSQL a cluster of the bench's own,
 * fsync on, from Debian's `postgresql`). For each:
 *
 * - CLIENTS (2,000) light subscribers spread over the nodes: a WebSocket each speaking the sync
 *   protocol itself (hello, then `sub`s at tier global, decoding every frame), so that thousands
 *   fit in this process; each follows 3 of ROOMS (200) chat rooms, and the first FANOUT (1,000) also
 *   the fan-out room. One real client (`createDb`) per node writes.
 * - write → subscribers: WRITES (200) messages written at RATE (50) a second to random rooms, by
 *   the writers of every node in turn; the time from the write to each subscriber's frame (p50,
 *   p95), and to the last subscriber of its room.
 * - fan-out: ROUNDS (20) messages to the fan-out room, one after another: the time until all of its
 *   FANOUT subscribers have it (p50, p95; target p95 ≤ 100 ms).
 * - accepted batches per second: every writer pushes BURST (300) single-row batches at once; each
 *   node's rate is its writer's batches over the time to its last acknowledgement. One app: on
 *   PostgreSQL its batches are logged one at a time across all nodes (docs/sync.md).
 *
 * Subscribers and writers share this process (and its clock) with the bench's bookkeeping, and
 * the nodes share the machine's cores with it: the load average is printed beside the figures.
 * Smaller runs: CLIENTS=200 FANOUT=100 npm run bench -- scale.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { createDb, s } from '../server/index.ts';
import { canonicalSchemaJSON } from '../src/schema/schema.ts';
import { PROTOCOL_VERSION, decodeServerMessage, encodeMessage, type ClientMessage } from '../src/sync/protocol.ts';
import { startPostgres } from '../server/testing/postgres.ts';
import { processCluster, publishOver, servedBy } from '../server/testing/cluster.ts';
import { fmt, summary, table } from './stats.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const CLIENTS = env('CLIENTS', 2000);
const FANOUT = Math.min(CLIENTS, env('FANOUT', 1000));
const ROOMS = env('ROOMS', 200);
const WRITES = env('WRITES', 200);
const RATE = env('RATE', 50);
const ROUNDS = env('ROUNDS', 20);
const BURST = env('BURST', 300);
const FAN_ROOM = -1;
const SECRET = 'bench-admin-secret';

const app = s.defineApp({ messages: s.table({ room: s.int(), text: s.string() }) });
const schemaJSON = canonicalSchemaJSON(app.$schema);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When each message was written, and when each subscriber received it (ms after the write). */
const sentAt = new Map<string, number>();
const arrivals = new Map<string, number[]>();

/** A subscriber speaking the protocol itself: hello, one `sub` per room, then it only listens. */
function subscriber(url: string, rooms: readonly number[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/apps/scale/ws`, { perMessageDeflate: false });
    const send = (m: ClientMessage) => ws.send(encodeMessage(m));
    let unsettled = rooms.length;
    ws.on('open', () => send({ t: 'hello', protocol: PROTOCOL_VERSION, clientId: randomUUID(), schemaHash: app.$hash, schema: schemaJSON, auth: {} }));
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const m = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.t === 'welcome') rooms.forEach((room, id) => send({ t: 'sub', id, query: app.messages.where({ room }).ast, tier: 'global', have: [] }));
      else if (m.t === 'settled' && --unsettled === 0) resolve(ws);
      else if (m.t === 'versions') {
        for (const v of m.versions) {
          const t0 = sentAt.get(v.rowId);
          if (t0 !== undefined) arrivals.get(v.rowId)!.push(now - t0);
        }
      } else if (m.t === 'error') reject(new Error(`${m.code}: ${m.message}`));
    });
    ws.on('error', reject);
  });
}

interface Figures {
  readonly each: ReturnType<typeof summary>;
  readonly all: ReturnType<typeof summary>;
  readonly fan: ReturnType<typeof summary>;
  readonly perNode: number[];
  readonly connectS: number;
  readonly load: string;
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) return false;
    await sleep(1);
  }
  return true;
}

async function scenario(name: string, nodes: number, storeArgs: readonly string[]): Promise<Figures> {
  sentAt.clear();
  arrivals.clear();
  const cluster = await processCluster(nodes, [...storeArgs, '--dev', '--admin-secret', SECRET]);
  const urls = cluster.nodes.map((n) => n!.url);
  const sockets: WebSocket[] = [];
  const writers: ReturnType<typeof createDb<typeof app>>[] = [];
  try {
    // Published before any client connects: in dev mode a node would adopt a client's schema itself.
    await publishOver(urls[0]!, 'scale', app.$schema, SECRET);
    for (const url of urls) await servedBy(url, 'scale', app.$hash, SECRET);
    for (const url of urls) writers.push(createDb({ app, server: url, appId: 'scale' }));
    // Subscribers: client i on node i mod n, rooms chosen by a fixed rule so every run is alike.
    const subscribersOf = new Map<number, number>();
    const t0 = Date.now();
    for (let from = 0; from < CLIENTS; from += 50) {
      const wave = [];
      for (let i = from; i < Math.min(CLIENTS, from + 50); i++) {
        const rooms = [(i * 7) % ROOMS, (i * 13 + 5) % ROOMS, (i * 31 + 11) % ROOMS].filter((r, k, rs) => rs.indexOf(r) === k);
        if (i < FANOUT) rooms.push(FAN_ROOM);
        for (const r of rooms) subscribersOf.set(r, (subscribersOf.get(r) ?? 0) + 1);
        wave.push(subscriber(urls[i % urls.length]!, rooms));
      }
      sockets.push(...(await Promise.all(wave)));
    }
    const connectS = (Date.now() - t0) / 1000;
    for (const w of writers) await w.insert(app.messages, { room: ROOMS + 1, text: 'warm-up' }).wait({ tier: 'global' });

    // write → every subscriber of its room
    const each: number[] = [];
    const all: number[] = [];
    const written: { id: string; room: number }[] = [];
    for (let k = 0; k < WRITES; k++) {
      const room = (k * 37) % ROOMS;
      const w = writers[k % writers.length]!;
      const at = performance.now();
      const h = w.insert(app.messages, { room, text: `m${k}` });
      sentAt.set(h.id, at);
      arrivals.set(h.id, []);
      written.push({ id: h.id, room });
      await sleep(1000 / RATE);
    }
    await waitFor(() => written.every(({ id, room }) => arrivals.get(id)!.length >= (subscribersOf.get(room) ?? 0)), 30_000);
    for (const { id } of written) {
      const got = arrivals.get(id)!;
      each.push(...got);
      if (got.length) all.push(Math.max(...got));
    }

    // one write → FANOUT subscribers
    const fan: number[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      const at = performance.now();
      const h = writers[k % writers.length]!.insert(app.messages, { room: FAN_ROOM, text: `fan ${k}` });
      sentAt.set(h.id, at);
      arrivals.set(h.id, []);
      if (await waitFor(() => arrivals.get(h.id)!.length >= FANOUT, 30_000)) fan.push(Math.max(...arrivals.get(h.id)!));
      await sleep(50);
    }

    // accepted batches per second, every node's writer at once
    const perNode = await Promise.all(
      writers.map(async (w, n) => {
        const start = performance.now();
        let last: { wait(o: { tier: 'global' }): Promise<unknown> } | undefined;
        for (let k = 0; k < BURST; k++) last = w.insert(app.messages, { room: (k * 11 + n) % ROOMS, text: `burst ${n}.${k}` });
        await last!.wait({ tier: 'global' });
        return BURST / ((performance.now() - start) / 1000);
      }),
    );
    const f = { each: summary(each), all: summary(all), fan: summary(fan), perNode, connectS, load: load() };
    console.log(`  ${name}: ${CLIENTS} subscribers connected in ${connectS.toFixed(1)} s; load ${f.load}`);
    return f;
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const w of writers) await w.close();
    await cluster.destroy();
  }
}

console.log(`${CLIENTS} subscribers (${FANOUT} in the fan-out room), ${ROOMS} rooms, ${WRITES} writes at ${RATE}/s, ${ROUNDS} fan-out rounds, bursts of ${BURST}`);
console.log(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; load before: ${load()}`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-bench-scale-'));
const pgc = await startPostgres();
const results: [string, Figures][] = [];
try {
  results.push(['files, 1 node', await scenario('files, 1 node', 1, ['--data', dir])]);
  results.push(['PostgreSQL, 1 node', await scenario('PostgreSQL, 1 node', 1, ['--postgres', await pgc.database()])]);
  results.push(['PostgreSQL, 3 nodes', await scenario('PostgreSQL, 3 nodes', 3, ['--postgres', await pgc.database()])]);
} finally {
  pgc.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}

const col = (f: (x: Figures) => string) => results.map(([, x]) => f(x));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.log(
  `\n${table([
    ['', ...results.map(([n]) => n)],
    ['write → each subscriber p50', ...col((x) => fmt(x.each.p50))],
    ['write → each subscriber p95', ...col((x) => fmt(x.each.p95))],
    ['write → last subscriber of its room p95', ...col((x) => fmt(x.all.p95))],
    [`one write → ${FANOUT} subscribers p50`, ...col((x) => fmt(x.fan.p50))],
    [`one write → ${FANOUT} subscribers p95 (≤ 100 ms)`, ...col((x) => fmt(x.fan.p95))],
    ['accepted batches/s per node', ...col((x) => x.perNode.map((r) => Math.round(r)).join(' / '))],
    ['accepted batches/s, all nodes', ...col((x) => String(Math.round(sum(x.perNode))))],
    ['deliveries measured', ...col((x) => String(x.each.n))],
    ['load average after (1, 5, 15 min)', ...col((x) => x.load)],
  ])}`,
);
const one = results[1]![1];
const three = results[2]![1];
console.log(
  `\nPostgreSQL, 1 → 3 nodes: write → subscriber p95 ×${(three.each.p95 / one.each.p95).toFixed(2)}, fan-out p95 ×${(three.fan.p95 / one.fan.p95).toFixed(2)}, accepted batches/s (all nodes) ×${(sum(three.perNode) / sum(one.perNode)).toFixed(2)}` +
    ` (one app: its batches are logged one at a time across nodes; ${os.cpus().length} cores shared by every node, PostgreSQL and the clients)`,
);
