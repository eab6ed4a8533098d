/**
 * Edge → global (server/edge.ts, docs/sync.md "Edge and global"): a server started with an
 * upstream is an edge of the authority. Real servers on loopback, real files in temporary folders;
 * the killed edge is a real child process (the CLI with --data --upstream).
 *
 * - A client of the edge sees its write reach `local`, then `edge`, then `global`, in that order.
 * - With the authority stopped the edge keeps acknowledging `edge` (and its /health says the
 *   upstream is away, still 200); `global` arrives once the authority is back.
 * - A client whose connection to the edge went before `global` still learns it (it pushes again).
 * - An edge killed with SIGKILL loses nothing it acknowledged: after a restart it sends it up.
 * - Writes flow both ways live: edge client → authority client, and back, and between two edges;
 *   a restarted edge catches up with what the authority got while it was away.
 * - Permissions are enforced at the edge: a refused write never reaches the authority.
 * - Transactions are decided by the authority: of two conflicting ones, one through the edge and
 *   one direct, exactly one is accepted.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, wsConnector, s, type SyncServer, type SyncServerOptions } from './index.ts';
import { definePermissions } from '../src/policy/define.ts';
import type { Db } from '../src/db.ts';
import { decodeServerMessage, type ServerMessage } from '../src/sync/protocol.ts';
import type { Connector } from '../src/sync/transport.ts';
import { rng } from '../src/testing/fixtures.ts';
import { until } from '../src/testing/until.ts';
import { freePort } from './testing/postgres.ts';
import { parseServerArgs } from './cli.ts';

const SECRET = 'edge-test-backend-secret';
const APP = 'edgy';
const app = s.defineApp({
  notes: s.table({ owner: s.string(), text: s.string() }),
  counters: s.table({ name: s.string(), value: s.int() }),
});
// Anonymous development users write only notes they own; counters are anyone's.
const permissions = definePermissions(app, ({ policy, session }) => {
  policy.notes.allowRead.always();
  policy.notes.allowInsert.where({ owner: session.userId });
  policy.notes.allowUpdate.always();
  policy.counters.allowRead.always();
  policy.counters.allowInsert.always();
  policy.counters.allowUpdate.always();
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-edge-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => path.join(root, `d${dirs++}`);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server the test closes at the end (unless it closed it itself). */
async function start(opts: Partial<SyncServerOptions>): Promise<SyncServer> {
  const server = await startSyncServer({ port: 0, dev: true, log: () => {}, permissions, ...opts, auth: { backendSecret: SECRET } });
  cleanups.push(() => server.close());
  return server;
}

/** The authority and an edge of it, each with files of its own. */
async function pair(authorityDir = freshDir(), authorityOpts: Partial<SyncServerOptions> = {}): Promise<{ authority: SyncServer; edge: SyncServer }> {
  const authority = await start({ dataDir: authorityDir, ...authorityOpts });
  const edge = await start({ dataDir: freshDir(), upstream: authority.url });
  return { authority, edge };
}

/** A client that records the frames its server sends. */
function client(url: string, frames: ServerMessage[] = []): Db<typeof app> {
  const connect: Connector = (u, events) => wsConnector(u, { ...events, message: (data) => (frames.push(decodeServerMessage(data)), events.message(data)) });
  const db = createDb({ app, server: url, appId: APP, connect, backoff: { initialMs: 50, maxMs: 500 } });
  cleanups.push(() => db.close());
  return db;
}

const rowOf = (server: SyncServer, table: string, id: string) => {
  const engine = server.engineOf(APP);
  return engine?.getRowById(engine.table(table), id);
};

const health = async (server: SyncServer) => {
  const res = await fetch(`http://127.0.0.1:${server.port}/health`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; upstream?: { url: string; reachable: boolean } } };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('edge → global', () => {
  it('a client of the edge sees local, then edge, then global; acks come edge first', async () => {
    const { authority, edge } = await pair();
    const frames: ServerMessage[] = [];
    const db = client(edge.url, frames);
    const me = db.engine.author;
    const gaps: number[] = [];
    for (let i = 0; i < 20; i++) {
      const h = db.insert(app.notes, { owner: me, text: `n${i}` });
      const order: string[] = [];
      const at: Record<string, number> = {};
      await Promise.all(
        (['global', 'edge', 'local'] as const).map((tier) =>
          h.wait({ tier }).then(() => {
            order.push(tier);
            at[tier] = performance.now();
          }),
        ),
      );
      expect(order).toEqual(['local', 'edge', 'global']);
      gaps.push(at.global! - at.edge!);
      expect(rowOf(authority, 'notes', h.id)?.text).toBe(`n${i}`);
    }
    // On the wire: every batch acknowledged `edge` strictly before `global`, once each.
    const acks = frames.filter((f): f is Extract<ServerMessage, { t: 'ack' }> => f.t === 'ack');
    const byBatch = new Map<string, string[]>();
    for (const a of acks) byBatch.set(a.batchId, [...(byBatch.get(a.batchId) ?? []), a.tier]);
    expect(byBatch.size).toBe(20);
    for (const tiers of byBatch.values()) expect(tiers).toEqual(['edge', 'global']);
    console.log(`[edge] edge ack → global ack: median ${median(gaps).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(1)} ms over ${gaps.length} writes`);
    // A query settles at edge from the edge's store, and at global with the authority's rows.
    const direct = client(authority.url);
    const other = direct.insert(app.notes, { owner: direct.engine.author, text: 'from the authority' });
    await other.wait({ tier: 'global' });
    const reader = client(edge.url);
    const rows = await reader.all(app.notes, { tier: 'global' });
    expect(rows.map((r) => r.text)).toContain('from the authority');
    expect(rows).toHaveLength(21);
  });

  it('with the authority stopped the edge keeps acknowledging edge; global follows when it returns', async () => {
    const authorityDir = freshDir();
    const { authority, edge } = await pair(authorityDir);
    const port = authority.port;
    const db = client(edge.url);
    await db.insert(app.notes, { owner: db.engine.author, text: 'before' }).wait({ tier: 'global' });
    expect((await health(edge)).body.upstream).toMatchObject({ url: authority.url, reachable: true });

    await authority.close();
    const global = new Set<string>();
    const handles = [];
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const h = db.insert(app.notes, { owner: db.engine.author, text: `away ${i}` });
      await h.wait({ tier: 'edge' });
      void h.wait({ tier: 'global' }).then(() => global.add(h.id));
      handles.push(h);
    }
    const edgeMs = performance.now() - t0;
    // The edge keeps serving and says where the trouble is, without failing its own health.
    const away = await health(edge);
    expect(away.status).toBe(200);
    expect(away.body).toMatchObject({ ok: true, upstream: { reachable: false } });
    expect((await db.all(app.notes, { tier: 'edge' })).length).toBe(11);
    await new Promise((r) => setTimeout(r, 200));
    expect(global.size).toBe(0);

    const back = await start({ dataDir: authorityDir, port });
    const t1 = performance.now();
    await Promise.all(handles.map((h) => h.wait({ tier: 'global' })));
    console.log(`[edge] upstream away: 10 writes acknowledged edge in ${edgeMs.toFixed(0)} ms; global ${(performance.now() - t1).toFixed(0)} ms after the authority returned`);
    for (const h of handles) expect(rowOf(back, 'notes', h.id)).toBeDefined();
    expect((await health(edge)).body.upstream).toMatchObject({ reachable: true });
  });

  it('a client that reconnects to the edge before global still learns it', async () => {
    const authorityDir = freshDir();
    const authority = await start({ dataDir: authorityDir });
    const port = authority.port;
    const edgeDir = freshDir();
    const first = await start({ dataDir: edgeDir, upstream: authority.url });
    const edgePort = first.port;
    const db = client(first.url);
    await db.insert(app.notes, { owner: db.engine.author, text: 'warm-up' }).wait({ tier: 'global' });
    await authority.close();
    const handles = [];
    for (let i = 0; i < 5; i++) {
      const h = db.insert(app.notes, { owner: db.engine.author, text: `edge only ${i}` });
      await h.wait({ tier: 'edge' });
      handles.push(h);
    }
    // The client's connection goes (the edge restarts); its batches left its outbox at edge.
    await first.close();
    expect(db.engine.outbox()).toEqual([]);
    await start({ dataDir: edgeDir, upstream: authority.url, port: edgePort });
    await start({ dataDir: authorityDir, port });
    const global = new Set<string>();
    for (const h of handles) void h.wait({ tier: 'global' }).then(() => global.add(h.id));
    await until(() => global.size === handles.length, 10_000, 'global for the writes acknowledged at edge before the client reconnected');
  });

  it('a write on the edge reaches a client of the authority live, and back', async () => {
    const { authority, edge } = await pair();
    const onEdge = client(edge.url);
    const onAuthority = client(authority.url);
    const seenByEdge = new Set<string>();
    const seenByAuthority = new Set<string>();
    cleanups.push(onEdge.subscribeAll(app.notes, ({ all }) => all.forEach((r) => seenByEdge.add(r.text))));
    cleanups.push(onAuthority.subscribeAll(app.notes, ({ all }) => all.forEach((r) => seenByAuthority.add(r.text))));
    // Both subscriptions are in place at the servers (settled at global) before anything is written.
    await onEdge.all(app.notes, { tier: 'global' });
    await onAuthority.all(app.notes, { tier: 'global' });
    onEdge.insert(app.notes, { owner: onEdge.engine.author, text: 'edge → authority' });
    await until(() => seenByAuthority.has('edge → authority'), 5000, 'the edge write at the authority client');
    onAuthority.insert(app.notes, { owner: onAuthority.engine.author, text: 'authority → edge' });
    await until(() => seenByEdge.has('authority → edge'), 5000, 'the authority write at the edge client');
    // And an update of a row both hold, from the authority side.
    const [row] = await onAuthority.all(app.notes.where({ text: 'authority → edge' }));
    onAuthority.update(app.notes, row!.id, { text: 'updated upstream' });
    await until(() => seenByEdge.has('updated upstream'), 5000, 'the update at the edge client');
    // A second edge of the same authority: its client sees the first edge's writes, live, and back.
    const second = await start({ dataDir: freshDir(), upstream: authority.url });
    const onSecond = client(second.url);
    const seenBySecond = new Set<string>();
    cleanups.push(onSecond.subscribeAll(app.notes, ({ all }) => all.forEach((r) => seenBySecond.add(r.text))));
    await onSecond.all(app.notes, { tier: 'global' });
    expect(seenBySecond.has('edge → authority')).toBe(true);
    onEdge.insert(app.notes, { owner: onEdge.engine.author, text: 'edge → edge' });
    await until(() => seenBySecond.has('edge → edge'), 5000, 'the first edge write at the second edge client');
    onSecond.insert(app.notes, { owner: onSecond.engine.author, text: 'second edge → first' });
    await until(() => seenByEdge.has('second edge → first'), 5000, 'the second edge write at the first edge client');
  });

  it('an edge that was stopped catches up with what the authority got meanwhile', async () => {
    const authority = await start({ dataDir: freshDir() });
    const edgeDir = freshDir();
    const first = await start({ dataDir: edgeDir, upstream: authority.url });
    const port = first.port;
    const onEdge = client(first.url);
    const seen = new Set<string>();
    cleanups.push(onEdge.subscribeAll(app.notes, ({ all }) => all.forEach((r) => seen.add(r.text))));
    await onEdge.all(app.notes, { tier: 'global' });
    const mine = onEdge.insert(app.notes, { owner: onEdge.engine.author, text: 'before the stop' });
    await mine.wait({ tier: 'global' });
    await first.close();
    const direct = client(authority.url);
    await direct.insert(app.notes, { owner: direct.engine.author, text: 'while the edge was away' }).wait({ tier: 'global' });
    expect(seen.has('while the edge was away')).toBe(false);
    await start({ dataDir: edgeDir, upstream: authority.url, port });
    await until(() => seen.has('while the edge was away'), 10_000, 'the write made while the edge was away, at its client');
  });

  it('permissions are enforced at the edge: a refused write never reaches the authority', async () => {
    // The authority has no rules: whatever reached it would be accepted there.
    const { authority, edge } = await pair(freshDir(), { permissions: undefined });
    const db = client(edge.url);
    const rejected: string[] = [];
    db.onRejected((r) => rejected.push(r.code));
    const bad = db.insert(app.notes, { owner: 'someone-else', text: 'forged' });
    await expect(bad.wait({ tier: 'edge' })).rejects.toMatchObject({ code: 'BATCH_REJECTED' });
    expect(rejected).toEqual(['PERMISSION_DENIED']);
    // A later allowed write reached the authority; the refused one never did, nor the edge's store.
    const good = db.insert(app.notes, { owner: db.engine.author, text: 'mine' });
    await good.wait({ tier: 'global' });
    expect(rowOf(authority, 'notes', good.id)?.text).toBe('mine');
    expect(rowOf(authority, 'notes', bad.id)).toBeUndefined();
    expect(rowOf(edge, 'notes', bad.id)).toBeUndefined();
  });

  it('a transaction through the edge is decided by the authority: of two conflicting ones exactly one wins', async () => {
    const { authority, edge } = await pair();
    const viaEdge = client(edge.url);
    const direct = client(authority.url);
    const h = direct.insert(app.counters, { name: 'c', value: 0 });
    await h.wait({ tier: 'global' });
    for (let round = 0; round < 3; round++) {
      // Both read the same value, then both commit: one of them read a stale counter.
      await viaEdge.all(app.counters, { tier: 'global' });
      await until(() => viaEdge.engine.getRowById(viaEdge.engine.table('counters'), h.id)?.value === round, 5000, 'the counter at the edge client');
      let readers = 0;
      const bothRead = until(() => readers === 2, 5000, 'both transactions to read');
      const increment = (db: Db<typeof app>) =>
        db.transaction(async (tx) => {
          const c = await tx.one(app.counters.where({ id: h.id }));
          readers++;
          await bothRead;
          tx.update(app.counters, h.id, { value: c!.value + 1 });
        });
      const outcomes = await Promise.allSettled([increment(viaEdge), increment(direct)]);
      expect(
        outcomes.filter((o) => o.status === 'fulfilled'),
        `round ${round}`,
      ).toHaveLength(1);
      const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
      expect(lost.reason).toMatchObject({ code: 'TRANSACTION_CONFLICT' });
      expect(rowOf(authority, 'counters', h.id)?.value).toBe(round + 1);
      await until(() => rowOf(edge, 'counters', h.id)?.value === round + 1, 5000, 'the counter at the edge');
    }
  });
});

describe('--upstream on the command line', () => {
  it('needs a ws:// address, the backend secret and a store of its own', () => {
    const args = (...more: string[]) => parseServerArgs(more, {}, root);
    expect(args('--upstream', 'ws://127.0.0.1:4000/', '--backend-secret', 's').options.upstream).toBe('ws://127.0.0.1:4000');
    expect(() => args('--upstream', 'http://127.0.0.1:4000', '--backend-secret', 's')).toThrow(/--upstream must be a ws:\/\/ or wss:\/\/ address/);
    expect(() => args('--upstream', 'ws://127.0.0.1:4000/apps', '--backend-secret', 's')).toThrow(/no path/);
    expect(() => args('--upstream', 'ws://127.0.0.1:4000')).toThrow(/--upstream needs --backend-secret/);
    expect(() => args('--upstream', 'ws://127.0.0.1:4000', '--backend-secret', 's', '--in-memory')).toThrow(/excludes --in-memory/);
    expect(args().options.upstream).toBeUndefined();
  });
});

// ─── The edge killed with SIGKILL ──────────────────────────────────────────────

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The edge as a child process: the CLI with --data and --upstream, on a given port. */
async function spawnEdge(port: number, dataDir: string, upstream: string): Promise<{ kill(): Promise<void> }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JAZZ_')));
  const args = ['--port', String(port), '--data', dataDir, '--upstream', upstream, '--backend-secret', SECRET, '--dev', '--log-level', 'warn'];
  const proc = spawn(process.execPath, ['--import', TSX, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 20 s:\n${out}`)), 20_000);
    proc.stdout.on('data', () => {
      if (out.includes('listening on')) clearTimeout(timer), resolve();
    });
    void exited.then(() => reject(new Error(`the edge exited:\n${out}`)));
  });
  expect(out).toContain(`upstream:    edge of ${upstream}`);
  return { kill };
}

describe('an edge killed with SIGKILL', () => {
  it('loses nothing it acknowledged: after a restart it sends it to the authority', async () => {
    const seed = Number(process.env['JAZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[edge kill test] seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const next = rng(seed);
    const authorityDir = freshDir();
    const edgeDir = freshDir();
    // The authority is away while the client writes, so nothing is global yet: the edge's store
    // is the only place the acknowledged batches are.
    const authority = await start({ dataDir: authorityDir });
    const authorityPort = authority.port;
    const upstream = authority.url;
    await authority.close();
    const edgePort = await freePort();
    const edge = await spawnEdge(edgePort, edgeDir, upstream);
    const db = client(`ws://127.0.0.1:${edgePort}`);
    const acked: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const h = db.insert(app.notes, { owner: db.engine.author, text: `w${i}` });
        void h.wait({ tier: 'edge' }).then(
          () => acked.push(h.id),
          () => {},
        );
        await new Promise((r) => setTimeout(r, 1 + Math.floor(next() * 4)));
      }
    })();
    await until(() => acked.length >= 20, 10_000, '20 acknowledged writes');
    await new Promise((r) => setTimeout(r, Math.floor(next() * 300)));
    await edge.kill();
    writing = false;
    await writer;
    const acknowledged = [...acked];
    // The client goes too, so only the edge's store can bring the batches up.
    await db.close();

    const back = await start({ dataDir: authorityDir, port: authorityPort });
    await spawnEdge(edgePort, edgeDir, upstream);
    await until(() => acknowledged.every((id) => rowOf(back, 'notes', id) !== undefined), 15_000, `every acknowledged write at the authority (seed ${seed})`);
    console.log(`[edge kill test] ${acknowledged.length} writes acknowledged at edge before the kill, all at the authority after the restart`);
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);
  });
});
