/**
 * R5: at least 5 clients make random writes on shared rows while random clients lose
 * their connection and the server restarts (on its durable files). After quiescence every client's
 * subscribed data equals the server's, and no acknowledged write is missing from the server.
 *
 * Seeds: JAZZ_SYNC_SEEDS (default 40) × JAZZ_SYNC_OPS (default 1000), from JAZZ_SEED (default
 * random); each seed is printed. Every run draws new seeds, so the runs add up; a longer soak:
 * JAZZ_SYNC_SEEDS=1000 npx vitest run server/convergence.test.ts.
 */
import { afterAll, describe, it } from 'vitest';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDb, startSyncServer, type SyncServer } from './index.ts';
import { todoApp as app, rng } from '../src/testing/fixtures.ts';
import { cuttable, expectConverged, randomWrite, watchTodos, type Acked } from './testing/convergence.ts';

const SEEDS = Number(process.env.JAZZ_SYNC_SEEDS ?? 40);
const OPS = Number(process.env.JAZZ_SYNC_OPS ?? 1000);
const FIRST = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));
const CLIENTS = 5;

mkdirSync('.tmp', { recursive: true });
const root = mkdtempSync(join('.tmp', 'r5-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function runSeed(seed: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const dir = join(root, String(seed));
  let server: SyncServer = await startSyncServer({ port: 0, dataDir: dir, dev: true, log: () => {} });
  const port = server.port;
  const clients = Array.from({ length: CLIENTS }, () => {
    const net = cuttable();
    const db = createDb({ app, server: server.url, appId: 'r5', connect: net.connect, backoff: { initialMs: 5, maxMs: 50 } });
    return { db, net };
  });
  const acked: Acked[] = [];
  const views = watchTodos(clients.map((c) => c.db));
  const ids: string[] = [];
  try {
    for (let step = 0; step < OPS; step++) {
      randomWrite(pick(clients).db, r, ids, acked);
      if (r() < 0.01) pick(clients).net.cut();
      if (r() < 0.002) {
        await server.close();
        server = await startSyncServer({ port, dataDir: dir, dev: true, log: () => {} });
      }
      if (r() < 0.1) await new Promise((res) => setTimeout(res, 0));
    }
    // Quiescence: everyone online with an empty outbox, then let the last versions travel.
    await expectConverged(
      clients.map((c) => c.db),
      views,
      () => server.engineOf('r5')!,
      acked,
      `seed ${seed}`,
    );
  } finally {
    for (const { db } of clients) await db.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('R5: convergence through the server with disconnects and restarts', () => {
  for (let i = 0; i < SEEDS; i++) {
    const seed = FIRST + i;
    it(`seed ${seed}`, async () => {
      console.log(`sync convergence seed ${seed} (replay: JAZZ_SEED=${seed} JAZZ_SYNC_SEEDS=1)`);
      await runSeed(seed);
    }, 60_000);
  }
});
