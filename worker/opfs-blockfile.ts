/**
 * The `BlockFile` of the browser: a file in the origin private file system (OPFS) read and written
 * through a `FileSystemSyncAccessHandle` (see `src/store/blockfile.ts` for the contract).
 *
 * - Sync access handles exist only in dedicated workers, so this module runs in the database's
 *   worker, never on a page.
 * - A handle opened by `OpfsBlockFile.open` is exclusive ("readwrite" mode): while one is open, no
 *   other tab or worker can open the file, and a second opener gets `STORAGE_LOCKED`. That is the
 *   lock the durable store relies on; the leader election (election.ts) decides who opens.
 * - `flush()` is the handle's `flush()`, the durability barrier of the contract.
 * - Failures become `JazzError`s at this edge: `QuotaExceededError` → `STORAGE_QUOTA`, a file held
 *   elsewhere → `STORAGE_LOCKED`, everything else → `STORAGE_IO`.
 * - Chromium's in-memory OPFS (incognito and other in-memory profiles, Chromium 156) does not throw
 *   when it has no room: a write returns its error code as a huge count and a truncate leaves the
 *   size as it was. Both are checked, so a write the browser dropped never passes for done.
 */
import type { BlockFile } from '../src/store/blockfile.ts';
import { openDurableStore, type DurableStore, type DurableStoreOptions } from '../src/store/durable-store.ts';
import { JazzError } from '../src/util/errors.ts';

/** A `BlockFile` over one OPFS sync access handle. */
export class OpfsBlockFile implements BlockFile {
  /** Where the file is, for messages ("jazz/todos/data"). */
  readonly path: string;
  #handle: FileSystemSyncAccessHandle | undefined;

  /**
   * Wraps a handle the caller opened; the file owns it from now on and closes it in `close()`.
   * Most callers want `OpfsBlockFile.open`, which opens the handle exclusively.
   */
  constructor(handle: FileSystemSyncAccessHandle, path: string) {
    this.#handle = handle;
    this.path = path;
  }

  /**
   * Opens (creating when missing) the file `name` in `directory` with an exclusive sync access
   * handle. Throws `STORAGE_LOCKED` when another tab or worker holds it, `STORAGE_IO` when sync
   * access handles are unavailable (not a dedicated worker) or the file cannot be opened.
   */
  static async open(directory: FileSystemDirectoryHandle, name: string, path = name): Promise<OpfsBlockFile> {
    let file: FileSystemFileHandle;
    try {
      file = await directory.getFileHandle(name, { create: true });
    } catch (e) {
      throw convert(e, 'open', path);
    }
    return OpfsBlockFile.openHandle(file, path);
  }

  /** Opens `file` with an exclusive sync access handle (as `open`, for a handle already looked up). */
  static async openHandle(file: FileSystemFileHandle, path: string): Promise<OpfsBlockFile> {
    if (typeof file.createSyncAccessHandle !== 'function') {
      throw new JazzError(
        'STORAGE_IO',
        `OPFS sync access handles are not available here, so ${path} cannot be opened. Open the database from a dedicated worker (they exist nowhere else), or use the 'idb' or 'memory' driver.`,
        { path },
      );
    }
    try {
      return new OpfsBlockFile(await file.createSyncAccessHandle(), path);
    } catch (e) {
      throw convert(e, 'open', path);
    }
  }

  read(offset: number, into: Uint8Array): number {
    const handle = this.#open();
    let done = 0;
    try {
      while (done < into.length) {
        const n = handle.read(into.subarray(done), { at: offset + done });
        if (n === 0) break; // the end of the file
        done += n;
      }
    } catch (e) {
      throw convert(e, 'read', this.path);
    }
    return done;
  }

  write(offset: number, bytes: Uint8Array): void {
    const handle = this.#open();
    let done = 0;
    try {
      while (done < bytes.length) {
        const want = bytes.length - done;
        const n = handle.write(bytes.subarray(done), { at: offset + done });
        if (n > want) throw wrappedCount(n, want, this.path, offset);
        // A write that makes no progress would loop forever; the spec has it write all or throw.
        if (n <= 0) throw new Error(`the handle wrote ${n} of ${want} bytes`);
        done += n;
      }
    } catch (e) {
      throw convert(e, 'write', this.path, { offset, length: bytes.length, written: done });
    }
  }

  size(): number {
    const handle = this.#open();
    try {
      return handle.getSize();
    } catch (e) {
      throw convert(e, 'size', this.path);
    }
  }

  truncate(size: number): void {
    const handle = this.#open();
    let now: number;
    try {
      handle.truncate(size);
      now = handle.getSize();
    } catch (e) {
      throw convert(e, 'truncate', this.path, { size });
    }
    // Chromium's in-memory OPFS (incognito, guest and other in-memory profiles) ignores a truncate
    // it has no room for instead of throwing; the size tells.
    if (now !== size) {
      const cause = `the browser left ${this.path} at ${now} bytes when asked for ${size}`;
      throw now < size
        ? new JazzError('STORAGE_QUOTA', `The browser has no room to grow the database (${cause}). ${FREE_SPACE}`, { path: this.path, size, now })
        : new JazzError('STORAGE_IO', `Truncating failed (${cause}). ${REOPEN}`, { path: this.path, size, now });
    }
  }

  flush(): void {
    const handle = this.#open();
    try {
      handle.flush();
    } catch (e) {
      throw convert(e, 'flush', this.path);
    }
  }

  /** Releases the handle (and with it the exclusive lock). Closing twice is harmless. */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    try {
      handle.close();
    } catch (e) {
      throw convert(e, 'close', this.path);
    }
  }

  #open(): FileSystemSyncAccessHandle {
    if (this.#handle === undefined) throw new JazzError('STORAGE_IO', `The file ${this.path} is closed.`, { path: this.path });
    return this.#handle;
  }
}

/** Options of `openOpfsStore`: those of the durable store, less the files it opens itself. */
export type OpfsStoreOptions = Omit<DurableStoreOptions, 'data' | 'wal'>;

/** The OPFS folder that holds every database's folder. */
export const OPFS_ROOT = 'jazz';

/** The files of a database, looked up ahead of opening them (`findOpfsFiles`). */
export interface OpfsFiles {
  readonly data: FileSystemFileHandle;
  readonly wal: FileSystemFileHandle;
}

/**
 * Looks up the files of an existing database `dbName` without creating or opening anything: a
 * worker does this while it waits to learn whether it leads, so that the leader has only the
 * sync access handles left to open (only the leader opens them: they are exclusive). Undefined
 * when the database does not exist yet or OPFS is not there (`openOpfsStore` then looks for
 * itself and says why).
 */
export async function findOpfsFiles(dbName: string): Promise<OpfsFiles | undefined> {
  try {
    checkName(dbName);
    const root = await navigator.storage.getDirectory();
    const folder = await (await root.getDirectoryHandle(OPFS_ROOT)).getDirectoryHandle(dbName);
    const [data, wal] = await Promise.all([folder.getFileHandle('data'), folder.getFileHandle('wal')]);
    return { data, wal };
  } catch {
    return undefined;
  }
}

/**
 * Opens the database `dbName` from OPFS, creating it when missing: the folder `jazz/<dbName>/`
 * holds the pages in `data` and the write-ahead log in `wal`. Worker-only (sync access handles).
 * `found` are its files if `findOpfsFiles` found them already (looked up again if they cannot be
 * opened for any reason but another holder).
 *
 * Throws `STORAGE_LOCKED` when another tab or worker has the database open, `STORAGE_IO` when OPFS
 * is unavailable, and `STORAGE_FORMAT` / `STORAGE_CORRUPT` when the files are not a readable database.
 * `TypeError` for a name OPFS cannot hold (empty, ".", "..", or containing "/" or "\").
 */
export async function openOpfsStore(dbName: string, options: OpfsStoreOptions = {}, found?: OpfsFiles): Promise<DurableStore> {
  const base = `${OPFS_ROOT}/${dbName}`;
  let files: [OpfsBlockFile, OpfsBlockFile] | undefined;
  if (found) {
    try {
      files = await openBoth(found, base);
    } catch (e) {
      if (e instanceof JazzError && e.code === 'STORAGE_LOCKED') throw e;
    }
  }
  if (!files) {
    const folder = await databaseFolder(dbName, true);
    const handle = async (name: string): Promise<FileSystemFileHandle> => {
      try {
        return await folder.getFileHandle(name, { create: true });
      } catch (e) {
        throw convert(e, 'open', `${base}/${name}`);
      }
    };
    const [data, wal] = await Promise.all([handle('data'), handle('wal')]);
    files = await openBoth({ data, wal }, base);
  }
  const [data, wal] = files;
  try {
    return openDurableStore({ data, wal, ...options });
  } catch (e) {
    wal.close();
    data.close();
    throw e;
  }
}

/** Opens both files' sync access handles at once; on a failure, closes the one that opened. */
async function openBoth(files: OpfsFiles, base: string): Promise<[OpfsBlockFile, OpfsBlockFile]> {
  const [data, wal] = await Promise.allSettled([OpfsBlockFile.openHandle(files.data, `${base}/data`), OpfsBlockFile.openHandle(files.wal, `${base}/wal`)]);
  if (data.status === 'fulfilled' && wal.status === 'fulfilled') return [data.value, wal.value];
  if (data.status === 'fulfilled') data.value.close();
  if (wal.status === 'fulfilled') wal.value.close();
  throw data.status === 'rejected' ? data.reason : (wal as PromiseRejectedResult).reason;
}

/**
 * Deletes the database `dbName` from OPFS (its folder and files). Does nothing when it does not
 * exist; throws `STORAGE_LOCKED` while it is open somewhere.
 */
export async function deleteOpfsStore(dbName: string): Promise<void> {
  const root = await opfsRoot();
  let jazz: FileSystemDirectoryHandle;
  try {
    jazz = await root.getDirectoryHandle(OPFS_ROOT);
  } catch (e) {
    if (isNamed(e, 'NotFoundError')) return;
    throw convert(e, 'open', OPFS_ROOT);
  }
  checkName(dbName);
  try {
    await jazz.removeEntry(dbName, { recursive: true });
  } catch (e) {
    if (isNamed(e, 'NotFoundError')) return;
    throw convert(e, 'delete', `${OPFS_ROOT}/${dbName}`);
  }
}

async function databaseFolder(dbName: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  checkName(dbName);
  const root = await opfsRoot();
  try {
    const jazz = await root.getDirectoryHandle(OPFS_ROOT, { create });
    return await jazz.getDirectoryHandle(dbName, { create });
  } catch (e) {
    throw convert(e, 'open', `${OPFS_ROOT}/${dbName}`);
  }
}

async function opfsRoot(): Promise<FileSystemDirectoryHandle> {
  try {
    return await navigator.storage.getDirectory();
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new JazzError(
      'STORAGE_IO',
      `The origin private file system is not available (${why}). Serve the page from https:// or http://localhost and allow the site to store data, or use the 'idb' or 'memory' driver.`,
      { cause: why },
    );
  }
}

function checkName(dbName: string): void {
  if (dbName === '' || dbName === '.' || dbName === '..' || /[/\\]/.test(dbName)) {
    throw new TypeError(`"${dbName}" cannot name a database in OPFS: use a non-empty name without "/" or "\\", other than "." and "..".`);
  }
}

function isNamed(e: unknown, name: string): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name;
}

const FREE_SPACE = 'Delete data you no longer need or free disk space, and call navigator.storage.persist() so the browser grants more; then try again.';
const REOPEN = "Close the database and open it again; if this keeps happening, check the browser's storage settings for this site.";

/**
 * A write that reports more bytes than it was given failed. Chromium's in-memory OPFS returns its
 * file error code as an unsigned count instead of throwing: 2^32 - 8 is base::File's
 * FILE_ERROR_NO_SPACE (-8); it wrote nothing.
 */
function wrappedCount(n: number, want: number, path: string, offset: number): JazzError {
  const details = { path, offset, length: want, reported: n };
  if (n === 2 ** 32 - 8) {
    return new JazzError('STORAGE_QUOTA', `The browser has no room for this write to ${path} (it reported "no space"). ${FREE_SPACE}`, details);
  }
  return new JazzError('STORAGE_IO', `A write to ${path} failed: the browser reported ${n} bytes written of ${want}. ${REOPEN}`, details);
}

/** The `JazzError` for a failed OPFS operation, with a message that says what to do. */
function convert(e: unknown, op: string, path: string, details: Record<string, unknown> = {}): JazzError {
  if (e instanceof JazzError) return e;
  const name = typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name) : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const facts = { ...details, path, op, domException: name };
  // Chromium throws QuotaExceededError (a DOMException, or its own class in newer versions: the
  // name is the same) when a write or truncate would grow past the origin's quota.
  if (name === 'QuotaExceededError') {
    return new JazzError('STORAGE_QUOTA', `The browser's storage quota for this site is full (${op} ${path}: ${message}). ${FREE_SPACE}`, facts);
  }
  // createSyncAccessHandle() while another handle (another tab's or worker's) holds the file.
  if (name === 'NoModificationAllowedError') {
    return new JazzError('STORAGE_LOCKED', `The database file ${path} is open in another tab or worker. Close the database there first (only one worker may hold its files).`, facts);
  }
  if (name === 'NotFoundError') {
    return new JazzError('STORAGE_IO', `The database file ${path} is gone (${op}: ${message}); the site's data was probably cleared. Reopen the database to start again.`, facts);
  }
  return new JazzError('STORAGE_IO', `An OPFS file operation failed (${op} ${path}: ${name}: ${message}). ${REOPEN}`, facts);
}
