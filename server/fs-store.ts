/**
 * The durable store on Node files: `<path>` holds the pages, `<path>-wal` the write-ahead log,
 * and `<path>.lock` marks the database as open in this process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDurableStore, type DurableStore } from '../src/store/durable-store.ts';
import { FsBlockFile } from './fs-blockfile.ts';

export interface FileStoreOptions {
  /** Page size of a new database (default 4 KiB). */
  pageSize?: number;
  /** Page cache budget in bytes (default 32 MiB). */
  cacheBytes?: number;
  /** Checkpoint once the WAL holds this many bytes (default 32 MiB, see src/store/durable-store.ts). */
  checkpointWalBytes?: number;
}

/**
 * Opens the database at `file`, creating it (and its directory) when missing. Throws
 * `STORAGE_LOCKED` if another process has it open, `STORAGE_FORMAT` / `STORAGE_CORRUPT` if the
 * file is not a readable database.
 */
export function openFileStore(file: string, options: FileStoreOptions = {}): DurableStore {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const data = new FsBlockFile(file, { lock: true });
  let wal: FsBlockFile | undefined;
  try {
    wal = new FsBlockFile(`${file}-wal`);
    return openDurableStore({ data, wal, ...options });
  } catch (e) {
    wal?.close();
    data.close();
    throw e;
  }
}
