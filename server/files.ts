/**
 * Files on the sync server (src/files has the rest; docs/sync.md "Files" the decisions):
 *
 * - The server is the authority that collects files: when the last live row referencing a file
 *   goes (deleted, or its file column changed), it deletes the file's record as a version of its
 *   own, sends it to the connections that hold the record (or tells them to drop it), and the parts
 *   are purged from its store (and from every replica that applies the deletion).
 * - Parts are never sent with the rows that reference their file: a client asks for a file's
 *   record and parts (subscriptions by id) when it reads the file, through the read gate, whose
 *   rules for files are src/files/policy.ts.
 */
import type { Engine } from '../src/engine/engine.ts';
import { installFileHooks, type FileHooks } from '../src/files/files.ts';
import { FILES } from '../src/files/system-tables.ts';
import type { AppState } from './apps.ts';
import { fanOutToHolders } from './read-gate.ts';

/** Starts collecting the app's unreferenced files on its (new) engine. */
export function installServerFileHooks(app: AppState, engine: Engine): FileHooks {
  return installFileHooks(engine, (ids) => {
    if (engine.closed || app.engine !== engine) return;
    const result = engine.write(ids.map((id) => ({ kind: 'delete' as const, table: FILES, id })));
    if (result.written === 0) return;
    // The server's own write is final here: nothing to push anywhere.
    result.durable.then(() => engine.confirmBatch(result.batchId, 'global')).catch(() => {});
    fanOutToHolders(app, engine, engine.batchVersions(result.batchId), undefined);
  });
}
