/**
 * Persistence in a real profile: a worker commits to databases on OPFS, the browser is closed,
 * a new browser opens the same profile, and every committed entry is there. One database is
 * closed before the browser goes; the other is left open (as a closed tab leaves it), so reopening
 * it replays its write-ahead log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test, type BrowserContext } from '@playwright/test';
import type { PersistenceReply, PersistenceRequest } from './worker/protocol.ts';
import { launchOptions } from './support/chromium.ts';
import { startWorker, type TestWorker } from './support/worker-client.ts';

type Client = TestWorker<PersistenceRequest, PersistenceReply>;

let profileDir: string;

test.beforeAll(() => {
  profileDir = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
});

test.afterAll(() => {
  rmSync(profileDir, { recursive: true, force: true });
});

async function session(baseURL: string | undefined): Promise<{ context: BrowserContext; worker: Client }> {
  const context = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
  const page = await context.newPage();
  await page.goto('/e2e/index.html');
  return { context, worker: await startWorker(page, '/e2e/worker/persistence.worker.ts') };
}

async function ask(worker: Client, request: PersistenceRequest): Promise<PersistenceReply> {
  const reply = await worker.request(request);
  if (reply.type === 'error') throw new Error(`${reply.name}${reply.code ? ` [${reply.code}]` : ''}: ${reply.message}`);
  return reply;
}

/** Entries (hex key → hex value) of mixed sizes: many small ones, a few spanning several pages. */
function entries(prefix: number, count: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = [prefix, i >> 8, i & 0xff].map((b) => b.toString(16).padStart(2, '0')).join('');
    const length = i % 97 === 0 ? 40_000 : 1 + ((i * 31) % 200);
    let value = '';
    for (let j = 0; j < length; j++) value += ((i + j * 7) & 0xff).toString(16).padStart(2, '0');
    out[key] = value;
  }
  return out;
}

test('committed data survives closing the browser and opening the profile again', async ({ baseURL }) => {
  const closed = { ...entries(1, 600), ...entries(2, 50) };
  const leftOpen = entries(3, 400);

  const first = await session(baseURL);
  for (const dbName of ['closed-cleanly', 'left-open']) await ask(first.worker, { type: 'delete', dbName });
  await ask(first.worker, { type: 'write', dbName: 'closed-cleanly', entries: entries(1, 600), close: true });
  await ask(first.worker, { type: 'write', dbName: 'closed-cleanly', entries: entries(2, 50), close: true });
  await ask(first.worker, { type: 'write', dbName: 'left-open', entries: leftOpen, close: false });
  await first.context.close();

  const second = await session(baseURL);
  try {
    for (const [dbName, expected] of [
      ['closed-cleanly', closed],
      ['left-open', leftOpen],
    ] as const) {
      const reply = await ask(second.worker, { type: 'read', dbName });
      if (reply.type !== 'entries') throw new Error(`unexpected reply ${reply.type}`);
      expect(Object.keys(reply.entries).length, dbName).toBe(Object.keys(expected).length);
      expect(reply.integrityEntries, dbName).toBe(Object.keys(expected).length);
      expect(reply.entries, dbName).toEqual(expected);
      await ask(second.worker, { type: 'delete', dbName });
    }
  } finally {
    await second.context.close();
  }
});
