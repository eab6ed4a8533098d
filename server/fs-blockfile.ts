/**
 * A `BlockFile` on a Node file (see `src/store/blockfile.ts` for the contract).
 *
 * - `flush()` is `fdatasync` (data plus the metadata needed to read it back, such as the length).
 * - A new file's directory is fsynced once, so the file itself survives a power loss.
 * - With `lock: true` the file is held exclusively through a lock file `<path>.lock` created with
 *   O_EXCL and holding our pid. A second opener gets `STORAGE_LOCKED`. A lock left by a process that
 *   no longer exists (killed, crashed) is taken over. Node has no portable `flock`, hence the file.
 * - Errors become `JazzError`s: ENOSPC/EDQUOT/EFBIG → `STORAGE_QUOTA`, others → `STORAGE_IO`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlockFile } from '../src/store/blockfile.ts';
import { JazzError } from '../src/util/errors.ts';

export interface FsBlockFileOptions {
  /** Hold the file exclusively (default false). */
  lock?: boolean;
  /** Create the file when missing (default true). */
  create?: boolean;
}

/** Paths locked by this process: a second open in the same process is refused too. */
const lockedHere = new Set<string>();

export class FsBlockFile implements BlockFile {
  readonly path: string;
  #fd: number | undefined;
  #size: number;
  #lockPath: string | undefined;

  constructor(file: string, options: FsBlockFileOptions = {}) {
    this.path = path.resolve(file);
    if (options.lock) this.#lockPath = acquireLock(this.path);
    try {
      const existed = fs.existsSync(this.path);
      if (!existed && options.create === false) {
        throw new JazzError('STORAGE_IO', `The file ${this.path} does not exist.`);
      }
      this.#fd = fs.openSync(this.path, existed ? 'r+' : 'w+');
      this.#size = fs.fstatSync(this.#fd).size;
      if (!existed) syncDirectory(path.dirname(this.path));
    } catch (e) {
      this.#releaseLock();
      throw convert(e, `open ${this.path}`);
    }
  }

  read(offset: number, into: Uint8Array): number {
    const fd = this.#open();
    let done = 0;
    try {
      while (done < into.length) {
        const n = fs.readSync(fd, into, done, into.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw convert(e, `read ${this.path}`);
    }
    return done;
  }

  write(offset: number, bytes: Uint8Array): void {
    const fd = this.#open();
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, offset + done);
    } catch (e) {
      throw convert(e, `write ${this.path}`);
    } finally {
      if (offset + done > this.#size) this.#size = offset + done;
    }
  }

  size(): number {
    this.#open();
    return this.#size;
  }

  truncate(size: number): void {
    const fd = this.#open();
    try {
      fs.ftruncateSync(fd, size);
      this.#size = size;
    } catch (e) {
      throw convert(e, `truncate ${this.path}`);
    }
  }

  flush(): void {
    const fd = this.#open();
    try {
      fs.fdatasyncSync(fd);
    } catch (e) {
      throw convert(e, `flush ${this.path}`);
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      fs.closeSync(fd);
    } finally {
      this.#releaseLock();
    }
  }

  #open(): number {
    if (this.#fd === undefined) throw new JazzError('STORAGE_IO', `The file ${this.path} is closed.`);
    return this.#fd;
  }

  #releaseLock(): void {
    if (this.#lockPath === undefined) return;
    try {
      fs.unlinkSync(this.#lockPath);
    } catch {
      // Already gone; nothing to release.
    }
    lockedHere.delete(this.path);
    this.#lockPath = undefined;
  }
}

function acquireLock(file: string): string {
  const lockPath = `${file}.lock`;
  if (lockedHere.has(file)) throw lockedError(file, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      lockedHere.add(file);
      return lockPath;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw convert(e, `lock ${file}`);
    }
    // Someone holds it, or held it and died.
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(lockPath, 'utf8'));
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) throw lockedError(file, holder);
    try {
      fs.unlinkSync(lockPath); // stale: its process is gone
    } catch {
      // Another opener removed it first; the next attempt decides.
    }
  }
  throw lockedError(file, NaN);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(file: string, pid: number): JazzError {
  return new JazzError(
    'STORAGE_LOCKED',
    `The database ${file} is open in another process${Number.isNaN(pid) ? '' : ` (pid ${pid})`}. Close it there first; if that process is gone, delete ${file}.lock.`,
    { path: file, pid },
  );
}

function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory (Windows); the file's own fsync is all we can do.
  }
}

function convert(e: unknown, what: string): JazzError {
  if (e instanceof JazzError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    return new JazzError('STORAGE_QUOTA', `The disk is full (${what}: ${message}). Free some space, then reopen the database.`, {
      errno: code,
    });
  }
  return new JazzError('STORAGE_IO', `A file operation failed (${what}: ${message}). Check the disk and permissions, then reopen the database.`, {
    errno: code,
  });
}
