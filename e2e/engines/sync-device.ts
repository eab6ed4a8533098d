/**
 * A syncing device in Firefox or WebKitGTK for the cross-engine sync specs: a page on a device of
 * its own (support/engines.ts) with the database open on the reference server and a live query of
 * every todo (`window.t.live`) started first. Errors the page throws or logs through `onError` are
 * kept in `window.t.problems` (WebDriver classic has no console to listen to).
 */
import { openClient, type OpenOptions } from '../support/client-page.ts';
import type { EngineDevice, EnginePage } from '../support/engines.ts';
import { norm, type Row } from '../support/sync-rows.ts';

export interface SyncDevice {
  readonly name: string;
  readonly page: EnginePage;
}

/** Fast reconnects: the sync client's backoff (250 ms doubling to 10 s by default). */
export const BACKOFF = { initialMs: 50, maxMs: 400 };

export async function openSyncDevice(device: EngineDevice, name: string, opts: Omit<OpenOptions, 'dbName'> & { appId: string; server: string }): Promise<SyncDevice> {
  const page = await device.newPage();
  await openClient(page, { dbName: `${name}-${opts.appId}`, backoff: BACKOFF, ...opts });
  await page.evaluate(() => {
    const { app, db } = window.t;
    const problems: string[] = (window.t.problems = []);
    addEventListener('error', (e) => problems.push(`page error ${e.message}`));
    addEventListener('unhandledrejection', (e) => problems.push(`unhandled rejection ${String(e.reason)}`));
    db.onError((e: unknown) => problems.push(`write failed: ${String(e)}`));
    db.subscribeAll(app.todos, ({ all }: any) => (window.t.live = all), { onError: (e: unknown) => problems.push(`live query failed: ${String(e)}`) });
  });
  await page.waitFor(() => window.t.live !== undefined, null, `${name}'s first result`);
  return { name, page };
}

/** Waits until the device's live query satisfies `pred(rows)` (run in the page). */
export async function waitLive(d: SyncDevice, pred: (rows: any[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  try {
    await d.page.waitFor(([src]) => new Function('rows', `return (${src})(rows)`)(window.t.live ?? []), [pred.toString()] as const, what, timeoutMs);
  } catch (e) {
    const rows = await d.page.evaluate(() => (window.t.live ?? []).map((r: any) => `${r.title}:${r.done}:${r.priority}`));
    throw new Error(
      `${d.name}: ${what} did not happen within ${timeoutMs} ms; its live query shows [${rows.join(', ')}]; sync ${JSON.stringify(await d.page.evaluate(() => window.t.db.status.sync))}`,
      { cause: e },
    );
  }
}

/** The device's live query and a fresh read (as `norm` shapes them), and the problems it saw. */
export async function views(d: SyncDevice): Promise<{ live: Row[]; fresh: Row[]; problems: string[] }> {
  const v = await d.page.evaluate(async () => ({ live: window.t.live, fresh: await window.t.db.all(window.t.app.todos), problems: window.t.problems }));
  return { live: norm(v.live), fresh: norm(v.fresh), problems: v.problems };
}
