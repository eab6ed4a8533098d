/**
 * A live backup of the file store (`--data`): `server.backup(folder)` from the embedding code, or
 * `POST /admin/backup` with `{ "to": "<folder>" }` and the admin secret (http-routes.ts).
 *
 * Contract:
 * - The copy is made in one synchronous pass on the server's only thread: every file of the data
 *   folder (each app's `<id>.db` with its write-ahead log `<id>.db-wal`, `<id>.schema.json`,
 *   `<id>.permissions.json`), but the lock files. No commit, checkpoint or publication can run in
 *   between (the store writes synchronously; a commit's group write is a microtask of its own), so
 *   each app's pair of files is exactly what a crash at that moment would leave, and opening the
 *   copy recovers what a crash would: every batch acknowledged before the backup began, never a
 *   torn one (the store's recovery: src/store/durable-store.ts). The server answers nothing while it
 *   copies (about the disk's copy speed: a second per few hundred MB).
 * - `to` must not exist or be an empty folder; it is created. The copy is a data folder: start a
 *   server with `--data <to>` to restore it (docs/operations.md).
 * - Only for files: on PostgreSQL the database is the backup's subject (pg_dump), and in memory
 *   there is nothing to copy; both are a `BACKUP_UNSUPPORTED` error saying so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A backup the server cannot make as asked; `message` says what to do instead. */
export class BackupError extends Error {
  readonly code = 'BACKUP_UNSUPPORTED';
}

/** What a backup copied. */
export interface BackupReport {
  readonly to: string;
  readonly files: number;
  readonly bytes: number;
  readonly ms: number;
}

/** Copies the data folder `dataDir` into the new folder `to` (see the contract above). */
export function backupDataDir(dataDir: string, to: string): BackupReport {
  const t0 = Date.now();
  const target = path.resolve(to);
  if (path.resolve(dataDir) === target || target.startsWith(path.resolve(dataDir) + path.sep)) {
    throw new BackupError(`back up into a folder outside the data folder ${dataDir}, not ${target}`);
  }
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) throw new BackupError(`${target} is not empty: back up into a new folder`);
  fs.mkdirSync(target, { recursive: true });
  let files = 0;
  let bytes = 0;
  const names = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).sort() : [];
  for (const name of names) {
    if (name.endsWith('.lock')) continue;
    const from = path.join(dataDir, name);
    const st = fs.statSync(from, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) fs.cpSync(from, path.join(target, name), { recursive: true });
    else if (st.isFile()) {
      fs.copyFileSync(from, path.join(target, name));
      files++;
      bytes += st.size;
    }
  }
  return { to: target, files, bytes, ms: Date.now() - t0 };
}
