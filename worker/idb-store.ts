/**
 * The `idb` driver's `KvStore`: the data lives in a memory store (`createMemoryStore`) and every
 * commit's puts and deletes are persisted to IndexedDB (through the `idb` package), for browsers or
 * modes without OPFS sync access handles.
 *
 * - Reads are the memory store's: synchronous, as the `KvStore` contract requires.
 * - Commits made in one tick are written in one IndexedDB `readwrite` transaction (group commit);
 *   a commit's promise resolves when that transaction completes, which is tier `local`.
 *   IndexedDB runs readwrite transactions on one object store in the order they were created, so
 *   the disk sees commits in commit order, and an IndexedDB transaction is atomic, so a crash keeps
 *   whole commits only.
 * - Opening loads every entry into memory: cold start costs the size of the data (unlike OPFS,
 *   whose open reads two superblocks and the WAL tail). That is the price of a synchronous store
 *   on an asynchronous API; the `opfs` driver is the fast one.
 * - A failed IndexedDB transaction (quota, I/O, the database deleted under us) stops the store:
 *   memory may then hold commits the disk does not, so every later write throws the error
 *   (`STORAGE_QUOTA` or `STORAGE_IO`) and the owner must reopen, which reloads what was persisted.
 *   The worker does that by itself.
 */
import { openDB, deleteDB, type IDBPDatabase } from 'idb';
import { createMemoryStore } from '../src/store/memory.ts';
import type { KeyRange, KvEntry, KvStore, KvTransaction } from '../src/store/types.ts';
import { JazzError } from '../src/util/errors.ts';

const OBJECT_STORE = 'kv';

/** The IndexedDB database that holds `dbName`. */
export function idbName(dbName: string): string {
  return `jazz/${dbName}`;
}

/** Opens (creating when missing) the database `dbName` from IndexedDB and loads it into memory. */
export async function openIdbStore(dbName: string): Promise<KvStore> {
  if (typeof indexedDB === 'undefined') {
    throw new JazzError('STORAGE_IO', 'IndexedDB is not available here, so the idb driver cannot run; use the memory driver.', { dbName });
  }
  let db: IDBPDatabase;
  try {
    db = await openDB(idbName(dbName), 1, {
      upgrade(database) {
        database.createObjectStore(OBJECT_STORE);
      },
    });
  } catch (e) {
    throw convert(e, `open ${idbName(dbName)}`);
  }
  const inner = createMemoryStore();
  try {
    const tx = db.transaction(OBJECT_STORE, 'readonly');
    // One transaction, so keys and values are the same snapshot, both in key order.
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
    const load = inner.transaction();
    for (let i = 0; i < keys.length; i++) load.put(new Uint8Array(keys[i] as ArrayBuffer), values[i] as Uint8Array);
    await load.commit();
  } catch (e) {
    db.close();
    throw convert(e, `load ${idbName(dbName)}`);
  }
  return new IdbStore(db, inner, dbName);
}

/** Deletes the database `dbName` from IndexedDB. */
export async function deleteIdbStore(dbName: string): Promise<void> {
  await deleteDB(idbName(dbName));
}

type Op = readonly [key: Uint8Array<ArrayBuffer>, value: Uint8Array<ArrayBuffer> | null];

class IdbStore implements KvStore {
  readonly persistent = true;
  readonly #db: IDBPDatabase;
  readonly #inner: KvStore;
  readonly #dbName: string;
  /** Operations of commits not yet handed to IndexedDB, in commit order. */
  #pending: Op[] = [];
  #pendingWaiters: { resolve(): void; reject(e: unknown): void }[] = [];
  #scheduled = false;
  /** The last IndexedDB transaction started: `flush()` waits for it. */
  #last: Promise<void> = Promise.resolve();
  #failure: JazzError | undefined;
  #closed = false;

  constructor(db: IDBPDatabase, inner: KvStore, dbName: string) {
    this.#db = db;
    this.#inner = inner;
    this.#dbName = dbName;
    // Another tab deleting or upgrading the database: let go, as IndexedDB asks.
    db.addEventListener('versionchange', () => {
      this.#fail(new JazzError('STORAGE_IO', `The IndexedDB database ${idbName(dbName)} was deleted or upgraded elsewhere. Reopen the database.`, { dbName }));
      db.close();
    });
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    return this.#inner.get(key);
  }

  scan(range?: KeyRange): IterableIterator<KvEntry> {
    this.#checkOpen();
    return this.#inner.scan(range);
  }

  transaction(): KvTransaction {
    this.#checkUsable();
    const inner = this.#inner.transaction();
    const ops: Op[] = [];
    return {
      put: (key, value) => {
        inner.put(key, value);
        ops.push([key.slice(), value.slice()]);
      },
      delete: (key) => {
        inner.delete(key);
        ops.push([key.slice(), null]);
      },
      rollback: () => inner.rollback(),
      commit: () => {
        void inner.commit();
        if (this.#failure) return Promise.reject(this.#failure);
        for (const op of ops) this.#pending.push(op);
        return new Promise<void>((resolve, reject) => {
          this.#pendingWaiters.push({ resolve, reject });
          this.#schedule();
        });
      },
    };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#write());
  }

  /** Writes every pending commit in one IndexedDB transaction. */
  #write(): void {
    this.#scheduled = false;
    const ops = this.#pending;
    const waiters = this.#pendingWaiters;
    this.#pending = [];
    this.#pendingWaiters = [];
    if (waiters.length === 0) return;
    const done = (async () => {
      try {
        const tx = this.#db.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
        const store = tx.store;
        // Requests are not awaited one by one: their errors surface through `tx.done`.
        for (const [key, value] of ops) {
          if (value === null) store.delete(key).catch(() => {});
          else store.put(value, key).catch(() => {});
        }
        await tx.done;
      } catch (e) {
        throw this.#fail(convert(e, `commit to ${idbName(this.#dbName)}`));
      }
    })();
    this.#last = done.catch(() => {});
    done.then(
      () => waiters.forEach((w) => w.resolve()),
      (e: unknown) => waiters.forEach((w) => w.reject(e)),
    );
  }

  #fail(e: JazzError): JazzError {
    this.#failure ??= e;
    return this.#failure;
  }

  async flush(): Promise<void> {
    this.#checkOpen();
    if (this.#scheduled) this.#write();
    await this.#last;
    if (this.#failure) throw this.#failure;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#scheduled) this.#write();
    await this.#last;
    this.#closed = true;
    this.#db.close();
    await this.#inner.close();
    if (this.#failure) throw this.#failure;
  }

  #checkOpen(): void {
    if (this.#closed) throw new JazzError('CLOSED', 'the database is closed; open it again with createDb');
  }

  #checkUsable(): void {
    this.#checkOpen();
    if (this.#failure) throw this.#failure;
  }
}

/** The `JazzError` for a failed IndexedDB operation, with a message that says what to do. */
function convert(e: unknown, op: string): JazzError {
  if (e instanceof JazzError) return e;
  const name = typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name) : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  if (name === 'QuotaExceededError') {
    return new JazzError(
      'STORAGE_QUOTA',
      `The browser's storage quota for this site is full (${op}: ${message}). Delete data you no longer need or free disk space, and call navigator.storage.persist() so the browser grants more; then try again.`,
      { op, domException: name },
    );
  }
  return new JazzError('STORAGE_IO', `An IndexedDB operation failed (${op}: ${name}: ${message}). Close the database and open it again.`, { op, domException: name });
}
