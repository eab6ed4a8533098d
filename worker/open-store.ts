/**
 * Opens the store for the driver a page asked for, falling back when that driver cannot run here:
 * `opfs` → `idb` → `memory`. A fallback is never silent: the returned status names the driver in
 * use, whether it persists, and why the asked-for one was not used.
 *
 * Only "this driver cannot run in this browser" falls back (no sync access handles, no OPFS, no
 * IndexedDB, a profile that refuses storage). A database that exists but fails (locked by another
 * tab, corrupt, out of quota) is an error: falling back would hide the user's data behind an empty
 * database.
 */
import type { KvStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { JazzError } from '../src/util/errors.ts';
import { findOpfsFiles, openOpfsStore, type OpfsFiles } from './opfs-blockfile.ts';
import { openIdbStore } from './idb-store.ts';
import type { DriverStatus, DriverType, OpenConfig } from './protocol.ts';

export interface OpenedStore {
  readonly store: KvStore;
  readonly driver: DriverStatus;
}

/** Why OPFS sync access handles cannot be used in this worker, or undefined when they can. */
export function opfsUnavailable(): string | undefined {
  if (typeof navigator === 'undefined' || !navigator.storage || typeof navigator.storage.getDirectory !== 'function') {
    return 'the origin private file system is not available (navigator.storage.getDirectory is missing)';
  }
  if (typeof FileSystemFileHandle === 'undefined' || typeof FileSystemFileHandle.prototype.createSyncAccessHandle !== 'function') {
    return 'OPFS sync access handles are not available (FileSystemFileHandle.createSyncAccessHandle is missing)';
  }
  return undefined;
}

/** Why IndexedDB cannot be used in this worker, or undefined when it can. */
export function idbUnavailable(): string | undefined {
  return typeof indexedDB === 'undefined' ? 'IndexedDB is not available' : undefined;
}

/**
 * What can be looked up of the store before this worker knows it leads, without opening or creating
 * anything (`findOpfsFiles`): the OPFS files of an existing database. Undefined for other drivers.
 */
export function prefetchStore(requested: DriverType, dbName: string): Promise<OpfsFiles | undefined> | undefined {
  return requested === 'opfs' && !opfsUnavailable() ? findOpfsFiles(dbName) : undefined;
}

/**
 * Refuses a driver the page described wrongly (`OpenConfig.driver`, as given to `createDb`), in
 * every tab: a follower's open never reaches `openStore`.
 */
export function checkDriver(config: OpenConfig): void {
  const driver = config.driver;
  if (!driver || typeof driver !== 'object') throw new JazzError('OPTION_INVALID', `the driver is an object such as { type: 'opfs', dbName: 'todos' }, got ${String(driver)}`);
  const { type, cacheBytes } = driver;
  // A mistyped driver would otherwise open a memory database, which keeps nothing, without a word.
  if (!['opfs', 'idb', 'memory'].includes(type)) throw new JazzError('OPTION_INVALID', `unknown driver "${type}"`);
  for (const k of Object.keys(driver)) {
    if (!['type', 'dbName', 'cacheBytes'].includes(k)) throw new JazzError('OPTION_INVALID', `the driver has no option "${k}"; it takes type, dbName, cacheBytes`, { option: k });
  }
  if (cacheBytes !== undefined) {
    if (type !== 'opfs') throw new JazzError('OPTION_INVALID', `cacheBytes is the opfs driver's; the ${type} driver holds the whole database in memory`);
    if (!(cacheBytes >= 2 ** 20 && cacheBytes <= 2 ** 53)) throw new JazzError('OPTION_INVALID', `cacheBytes is a number of bytes, at least 1 MiB (1048576), got ${String(cacheBytes)}`);
  }
}

/**
 * Opens the store (see the top of the file); `found` is what `prefetchStore` found, if anything,
 * `cacheBytes` the page cache's budget for `opfs` (checked by `checkDriver`).
 */
export async function openStore(requested: DriverType, dbName: string, found?: OpfsFiles, cacheBytes?: number): Promise<OpenedStore> {
  const reasons: string[] = [];
  const status = (used: DriverType): DriverStatus => ({
    requested,
    used,
    persistent: used !== 'memory',
    ...(reasons.length ? { fallbackReason: reasons.join('; ') } : {}),
  });
  if (requested === 'opfs') {
    const why = opfsUnavailable();
    if (!why) {
      try {
        const store = await openOpfsStore(dbName, { cacheBytes }, found);
        return { store, driver: { ...status('opfs'), cacheBytes: store.stats().cacheBytes } };
      } catch (e) {
        if (!cannotRun(e)) throw e;
        reasons.push(`opfs: ${(e as Error).message}`);
      }
    } else reasons.push(`opfs: ${why}`);
  }
  if (requested === 'opfs' || requested === 'idb') {
    const why = idbUnavailable();
    if (!why) {
      try {
        return { store: await openIdbStore(dbName), driver: status('idb') };
      } catch (e) {
        if (!cannotRun(e)) throw e;
        reasons.push(`idb: ${(e as Error).message}`);
      }
    } else reasons.push(`idb: ${why}`);
  }
  return { store: createMemoryStore(), driver: status('memory') };
}

/**
 * True for failures that mean "this driver does not work in this browser or profile" rather than
 * "this database has a problem": a missing API or a storage area the browser refuses to open.
 */
function cannotRun(e: unknown): boolean {
  if (!(e instanceof JazzError)) return false;
  if (e.code !== 'STORAGE_IO') return false;
  // Opening the folders or the IndexedDB database itself failed (SecurityError, InvalidStateError
  // in some private modes): no data can be behind it. A failure inside an existing database is not
  // a reason to fall back.
  const op = String(e.details['op'] ?? '');
  return op === '' || op === 'open' || op.startsWith('open ');
}
