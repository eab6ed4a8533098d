/**
 * Several server nodes on one PostgreSQL (pg-store.ts): each follows what the others do.
 *
 * - Batches: a node hears that another logged batches of an app (NOTIFY) and catches up inside
 *   the app's exclusive work: it reads the batches after its last `seq`, then the app's row, then
 *   applies them as a peer's and fans them out (batches.ts `applyRemote`). The row is read after
 *   the batches: a batch's catalogue (schema version, column numbers) is committed no later than
 *   the batch, so the row read then can decode it. One catch-up per app is queued at a time.
 * - Apps: a node hears that an app's row changed: a new app is opened, a new schema version gets a
 *   new engine on the same data (`Apps.refresh`; the app's connections reconnect), new permissions
 *   are loaded (the connections' policies rebuilt). Also inside the app's exclusive work.
 * - A node that is behind when it logs a batch catches up the same way (`ctx.catchUp`, batches.ts).
 * - After the notifications were lost for a while (PostgreSQL restarted), every app is read again
 *   and caught up; the same right after the node starts following (what happened between reading
 *   the store at start and following it). A failure is logged and tried again at the next
 *   notification of the app.
 */
import type { AppState } from './apps.ts';
import { applyRemote } from './batches.ts';
import type { ServerContext } from './context.ts';
import type { PgServerStore } from './pg-store.ts';

export async function followOtherNodes(ctx: ServerContext, store: PgServerStore, permissionsChanged: (app: AppState) => void): Promise<void> {
  const { apps } = ctx;
  const logger = ctx.events.logger;
  const say = (e: unknown) => (e instanceof Error ? e.message : String(e));

  /** Takes the app's row as stored now (inside the app's exclusive work). */
  const refresh = async (appId: string): Promise<void> => {
    const change = await store.reload(appId);
    if (!change) return;
    const done = apps.refresh(appId, change, (app) => store.reopenEngine(app.id, app.engine!.store, `server:${ctx.serverId}`));
    if (!done) return;
    logger.info({ event: 'app-changed-elsewhere', app: appId, change, schemaHash: done.app.hash }, `app "${appId}" changed on another node (${change})`);
    if (done.engineChanged) ctx.engineReplaced(done.app);
    else if (done.permissionsChanged) permissionsChanged(done.app);
  };

  const catchUp = (app: AppState): Promise<void> =>
    store.catchUp(
      app.id,
      () => app.engine!,
      (engine, items, branches) => applyRemote(ctx, app, engine, items, branches),
      () => refresh(app.id),
    );
  ctx.catchUp = catchUp;

  const queued = new Set<string>();
  /** The app's row and batches, once, after the app's current work (coalesced while queued). */
  const later = (appId: string) => {
    if (queued.has(appId)) return;
    queued.add(appId);
    const app = apps.get(appId);
    apps
      .exclusive(app, async () => {
        queued.delete(appId);
        await refresh(appId);
        if (app.engine) await catchUp(app);
      })
      .catch((e: unknown) =>
        logger.warn({ event: 'catch-up-failed', app: appId, error: say(e) }, `app "${appId}": could not follow the other nodes yet (${say(e)}); the next notification tries again`),
      )
      .finally(() => apps.forget(app));
  };
  const all = () => {
    store.log.loadApps().then(
      (rows) => {
        for (const { appId } of rows) later(appId);
      },
      (e: unknown) => logger.warn({ event: 'catch-up-failed', error: say(e) }, `could not read the apps from PostgreSQL yet: ${say(e)}`),
    );
  };
  await store.follow({ batches: later, app: later, all });
  all();
}
