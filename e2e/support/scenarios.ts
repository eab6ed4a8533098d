import { expect } from '@playwright/test';

export { heardConfirmed, readBackInPage, writeUntilKilled } from './crash-steps.ts';

/**
 * Page-side steps that the Chromium specs and the Firefox and WebKit ones (e2e/engines/) run
 * alike: each is self-contained (no closure), so any engine's page can evaluate it, on a page
 * where `openClient` (support/client-page.ts) has put `{ app, db }` in `window.t`; and the checks
 * of their results that the specs share.
 */

/** Two inserts, read back and seen by a live query, with the status and the warnings collected so far. */
export async function roundTrip(): Promise<{ status: any; titles: string[]; live: string[]; warnings: string[] }> {
  const { app, db } = window.t;
  let live: string[] = [];
  const stop = db.subscribeAll(app.todos.orderBy('title'), ({ all }: any) => (live = all.map((r: any) => r.title)));
  db.insert(app.todos, { title: 'b' });
  await db.insert(app.todos, { title: 'a' }).wait({ tier: 'local' });
  const titles = (await db.all(app.todos.orderBy('title'))).map((r: any) => r.title);
  await new Promise((r) => setTimeout(r, 30));
  stop();
  return { status: db.status, titles, live, warnings: window.t.warnings ?? [] };
}

/**
 * On a database whose worker is e2e/worker/quota.worker.ts: a write before, one that hits the
 * (simulated) quota, one after; what the second threw, the rows, a live query and the status.
 */
export async function quotaRoundTrip(): Promise<{ error: unknown; rows: string[]; live: string[]; status: any }> {
  const { app, db } = window.t;
  let live: string[] = [];
  db.subscribeAll(app.todos.orderBy('title'), ({ all }: any) => (live = all.map((x: any) => x.title)));
  await db.insert(app.todos, { title: 'before' }).wait();
  let error: unknown;
  try {
    await db.insert(app.todos, { title: 'QUOTA-TRIGGER' }).wait();
  } catch (e) {
    error = { code: (e as { code?: string }).code, isJazz: e instanceof window.jazz.JazzError };
  }
  await db.insert(app.todos, { title: 'after' }).wait();
  await new Promise((res) => setTimeout(res, 50));
  return { error, rows: (await db.all(app.todos.orderBy('title'))).map((x: any) => x.title), live, status: db.status };
}

/** What `quotaRoundTrip` must find: the write refused with STORAGE_QUOTA, nothing of it kept, the rest going on. */
export function expectQuotaHandled(r: Awaited<ReturnType<typeof quotaRoundTrip>>): void {
  expect(r.error).toEqual({ code: 'STORAGE_QUOTA', isJazz: true });
  expect(r.rows).toEqual(['after', 'before']);
  expect(r.live).toEqual(['after', 'before']);
  expect(r.status.lastStorageError).toMatchObject({ code: 'STORAGE_QUOTA' });
  expect(r.status.driver).toMatchObject({ used: 'idb', persistent: true });
}

/** Writes a project and a todo that refers to it in one batch, waits at `global`; their ids. */
export async function projectBatch(): Promise<string[]> {
  const { app, db } = window.t;
  const h = db.batch((w: any) => {
    const p = w.insert(app.projects, { name: 'groceries' });
    w.insert(app.todos, { title: 'eggs', projectId: p.id });
  });
  await h.wait({ tier: 'global' });
  return h.ids;
}
