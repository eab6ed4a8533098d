/**
 * Files on the sync server (src/files has the rest; docs/sync.md "Files" the decisions):
 *
 * - The server is the authority that collects files: when the last live row referencing a file
 *   goes (deleted, or its file column changed), it deletes the file's record as a write of its
 *   own, sends it to the connections that hold the record (or tells them to drop it), and the parts
 *   are purged from its store (and from every replica that applies the deletion).
 * - On files that write is the engine's, at once. On PostgreSQL it is logged like a client's batch
 *   (`collectFiles`): inside the app's exclusive work, judged against the node's state (the file
 *   still exists and no live row references it), logged only if no node logged a batch of the app
 *   since that state (else the node catches up and judges it again, batches.ts `judgedAgain`), then
 *   applied and fanned out as another node's batch would be; the parts leave the log
 *   (file-log.ts). Every node that sees the last reference go may propose the deletion; the log
 *   takes the first, and the others, judged again after catching up, find the file gone. So it is
 *   logged exactly once, and a row that references the file again on any node before the deletion
 *   is logged keeps it (the deletion is judged after that row, which references it).
 * - Files no row ever referenced (an upload whose row was never written, or was refused) are
 *   collected by `sweepFiles` once no row has referenced them and nothing of them was written for
 *   the grace period (`--file-grace`, 24 h by default), checked at start and periodically. A file
 *   still `writing` whose writer is connected to this node is left alone.
 * - Parts are never sent with the rows that reference their file: a client asks for a file's
 *   record and parts (subscriptions by id) when it reads the file, through the read gate, whose
 *   rules for files are src/files/policy.ts.
 */
import type { Engine } from '../src/engine/engine.ts';
import { isReferenced, partsOf } from '../src/files/files.ts';
import { FILES, FILE_PARTS } from '../src/files/system-tables.ts';
import type { AppState } from './apps.ts';
import type { ServerContext } from './context.ts';
import { fanOutToHolders } from './read-gate.ts';
import { applyRemote, judgedAgain } from './batches.ts';
import { carryOver } from './pg-store.ts';
import { deletedParts, forgetParts } from './file-log.ts';

/** Whether a file may be collected now, judged on `engine` at the moment the deletion is made. */
type Collectable = (engine: Engine, fileId: string) => boolean;

/** A file that exists and that no live row references. */
const unreferenced: Collectable = (engine, fileId) => engine.getRowById(engine.table(FILES), fileId) !== undefined && !isReferenced(engine, fileId);

/** Deletes the app's files that are still `collectable` as the server's own write (see the top). */
export function collectFiles(ctx: ServerContext, app: AppState, fileIds: readonly string[], collectable: Collectable = unreferenced): Promise<void> {
  if (!ctx.apps.store.logsBatches) {
    const engine = app.engine;
    if (engine && !engine.closed)
      collectNow(
        app,
        engine,
        fileIds.filter((f) => collectable(engine, f)),
      );
    return Promise.resolve();
  }
  const say = (e: unknown) => (e instanceof Error ? e.message : String(e));
  return ctx.apps
    .exclusive(app, async () => {
      if (await judgedAgain(ctx, app, () => logCollection(ctx, app, fileIds, collectable))) return;
      ctx.events.logger.warn({ event: 'files-not-collected', app: app.id }, `app "${app.id}": other nodes kept writing; unreferenced files are collected at the next sweep`);
    })
    .catch((e: unknown) =>
      ctx.events.logger.warn({ event: 'files-not-collected', app: app.id, error: say(e) }, `app "${app.id}": could not collect unreferenced files (${say(e)}); the next sweep tries again`),
    );
}

/** The engine's own write (files): applied and durable with the engine's store. */
function collectNow(app: AppState, engine: Engine, fileIds: string[]): void {
  if (fileIds.length === 0) return;
  const result = engine.write(fileIds.map((id) => ({ kind: 'delete' as const, table: FILES, id })));
  if (result.written === 0) return;
  // The server's own write is final here: nothing to push anywhere.
  result.durable.then(() => engine.confirmBatch(result.batchId, 'global')).catch(() => {});
  fanOutToHolders(app, engine, engine.batchVersions(result.batchId), undefined);
}

/** The deletion judged, logged, then applied as a logged batch (PostgreSQL; see the top). */
async function logCollection(ctx: ServerContext, app: AppState, fileIds: readonly string[], collectable: Collectable): Promise<void> {
  const engine = app.engine;
  if (!engine || engine.closed) return;
  const gone = fileIds.filter((f) => collectable(engine, f));
  if (gone.length === 0) return;
  const { batchId, versions } = engine.planWrite(gone.map((id) => ({ kind: 'delete' as const, table: FILES, id })));
  const parts = deletedParts(ctx, engine, versions);
  await ctx.apps.store.persistBatch(app.id, engine, { batchId, items: versions, branches: [] });
  const now = app.engine!;
  applyRemote(ctx, app, now, carryOver(engine, now, versions), []);
  forgetParts(ctx, app, now, parts);
  ctx.events.logger.info({ event: 'files-collected', app: app.id, files: gone.length }, `app "${app.id}": collected ${gone.length} unreferenced file(s)`);
}

/**
 * Collects the app's files that no live row references and of which nothing was written for
 * `graceMs` (record or parts), except a `writing` one whose writer is connected here (see the top).
 */
export function sweepFiles(ctx: ServerContext, app: AppState, graceMs: number, now = Date.now()): Promise<void> {
  const engine = app.engine;
  if (!engine || engine.closed) return Promise.resolve();
  const writers = [...app.conns].map((c) => c.clientId).filter((id) => id !== '');
  const idle: Collectable = (e, fileId) => {
    const files = e.table(FILES);
    const record = e.getRowById(files, fileId, true);
    if (!record || isReferenced(e, fileId)) return false;
    const created = e.getVisibleState(files, fileId)?.created.vid ?? '';
    if (record.state === 'writing' && writers.some((w) => created.startsWith(`${w}.`))) return false;
    let last = record.$updatedAt as number;
    const parts = e.table(FILE_PARTS);
    for (const p of partsOf(e, fileId)) last = Math.max(last, (e.getRowById(parts, p, true)?.$updatedAt as number | undefined) ?? 0);
    return now - last >= graceMs;
  };
  const candidates: string[] = [];
  for (const id of engine.rowIds(FILES)) if (idle(engine, id)) candidates.push(id);
  return candidates.length ? collectFiles(ctx, app, candidates, idle) : Promise.resolve();
}
