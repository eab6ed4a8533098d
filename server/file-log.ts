/**
 * The parts of deleted files leave the store's log (PostgreSQL: `jazz_batches`), so a deleted
 * file's bytes do not stay there forever (docs/sync.md "Files").
 *
 * - Which: the node that logs a deletion of a `$files` record (a client's batch it accepted, or the
 *   server's own collection, files.ts) reads, before applying it, the batches that brought the
 *   file's parts (`deletedParts`), and once the deletion is logged and applied asks the store to
 *   take those part versions out of those batches (`forgetParts`): a batch left with nothing is
 *   deleted, another is written again without them (server-store.ts `dropFromLog`).
 * - Why it keeps replay right: the deletion is logged after every part of the file (a part comes
 *   from the file's writer while it is `writing`, the deletion ends that), so a node replaying
 *   the log, or catching up from an older `seq`, gets the record, its deletion and no parts: the
 *   state every node reached by applying the parts and purging them at the deletion.
 * - Done once, after the deletion is durable, and never needed for correctness: a node that stops
 *   in between leaves the bytes in the log (the file is deleted all the same). On files the engine
 *   purges the parts from its own store; there is no log to compact.
 */
import { MAIN, type Engine } from '../src/engine/engine.ts';
import type { RowVersion } from '../src/rows/version.ts';
import { FILES, FILE_PARTS } from '../src/files/system-tables.ts';
import { partsOf } from '../src/files/files.ts';
import type { AppState } from './apps.ts';
import type { ServerContext } from './context.ts';

/** The parts of the files a batch deletes: their row ids and the batches that brought them. */
export interface DeletedParts {
  readonly rows: ReadonlySet<string>;
  readonly batchIds: readonly string[];
}

/**
 * The parts of the live files that `items` delete, read before the items are applied (applying
 * them purges the parts); undefined when the batch deletes no file or the store keeps no log.
 */
export function deletedParts(ctx: ServerContext, engine: Engine, items: readonly { table: string; version: RowVersion }[]): DeletedParts | undefined {
  if (!ctx.apps.store.logsBatches || ctx.edge) return undefined;
  const files = engine.table(FILES);
  const parts = engine.table(FILE_PARTS);
  const rows = new Set<string>();
  const batchIds = new Set<string>();
  for (const { table, version } of items) {
    // A deletion on a branch leaves the file on main, and its parts.
    if (table !== FILES || !version.deleted || version.branch !== MAIN || !engine.getRowById(files, version.rowId)) continue;
    for (const p of partsOf(engine, version.rowId)) {
      rows.add(p);
      for (const v of engine.history(parts, p)) batchIds.add(v.batchId);
    }
  }
  return rows.size ? { rows, batchIds: [...batchIds] } : undefined;
}

/** Takes the parts out of the log (see the top); a failure is logged and leaves them there. */
export function forgetParts(ctx: ServerContext, app: AppState, engine: Engine, parts: DeletedParts | undefined): void {
  if (!parts) return;
  ctx.apps.store
    .dropFromLog(app.id, engine, parts.batchIds, (table, v) => table === FILE_PARTS && parts.rows.has(v.rowId))
    .catch((e: unknown) => {
      const error = e instanceof Error ? e.message : String(e);
      ctx.events.logger.warn({ event: 'file-parts-kept', app: app.id, error }, `app "${app.id}": the parts of a deleted file stay in the log (${error})`);
    });
}
