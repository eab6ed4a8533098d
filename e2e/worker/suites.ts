/**
 * What the browser tests run inside a dedicated worker: the store's contract suites (imported, not
 * copied) over the OPFS `BlockFile` and the durable store on OPFS, plus the cases only OPFS has
 * (the exclusive lock, real quota errors, a real close-and-reopen).
 *
 * Registration only, and platform-neutral: everything OPFS comes in through `SuiteEnv`, so
 * `contract.worker.ts` registers these with real OPFS files while the Playwright spec registers
 * them in Node with stubs, to know which cases the suites define without asking the worker.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlockFile } from '../../src/store/blockfile.ts';
import { runBlockFileContract, type BlockFileUnderTest } from '../../src/store/testing/blockfile-contract.ts';
import { runKvContract } from '../../src/store/testing/kv-contract.ts';
import type { KvStore } from '../../src/store/types.ts';
import { runLongValuesContract } from '../../src/testing/long-values-contract.ts';

/** The OPFS side of the suites; the worker gives real files, the spec's listing gives stubs. */
export interface SuiteEnv {
  /**
   * Before each BlockFile case: opens a fresh file for `blockFile()`. (The contract's factories are
   * synchronous and OPFS opens files asynchronously, hence the preparation.)
   */
  prepareBlockFile(): Promise<void>;
  /** The file `prepareBlockFile()` opened, and a second handle on it for the contract's reopen. */
  blockFile(): BlockFileUnderTest;
  /** Opens (creating) the OPFS file `name` exclusively, as the store does. */
  openFile(name: string): Promise<BlockFile>;
  /** `openOpfsStore(dbName)`. */
  openStore(dbName: string): Promise<KvStore>;
  /** `openIdbStore(dbName)` (the `idb` driver's store). */
  openIdbStore(dbName: string): Promise<KvStore>;
  /** After each case: closes what the case left open and deletes its files and databases. */
  cleanUp(): Promise<void>;
}

export const BLOCKFILE_SUITE = 'OPFS BlockFile in a dedicated worker';
export const STORE_SUITE = 'durable store on OPFS in a dedicated worker';
export const LONG_VALUES_SUITE = 'long values on the browser drivers in a dedicated worker';

export function registerSuites(env: SuiteEnv): void {
  describe(BLOCKFILE_SUITE, () => {
    beforeEach(() => env.prepareBlockFile());
    afterEach(() => env.cleanUp());

    runBlockFileContract('OpfsBlockFile', () => env.blockFile());

    it('holds its file exclusively: a second opener gets STORAGE_LOCKED until it is closed', async () => {
      const first = await env.openFile('exclusive');
      await expect(env.openFile('exclusive')).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
      first.close();
      const second = await env.openFile('exclusive');
      second.close();
    });

    it('keeps flushed writes across a real close and exclusive reopen', async () => {
      const file = await env.openFile('reopened');
      const page = new Uint8Array(16384).map((_, i) => i & 0xff);
      file.write(16384, page);
      file.write(0, new Uint8Array([1, 2, 3]));
      file.truncate(40000);
      file.flush();
      file.close();
      const again = await env.openFile('reopened');
      expect(again.size()).toBe(40000);
      const back = new Uint8Array(16384);
      expect(again.read(16384, back)).toBe(16384);
      expect(back).toEqual(page);
      const head = new Uint8Array(4);
      again.read(0, head);
      expect([...head]).toEqual([1, 2, 3, 0]);
      again.close();
    });

    it('turns a QuotaExceededError into STORAGE_QUOTA and stays usable', async () => {
      const file = await env.openFile('quota');
      file.write(0, new Uint8Array([5, 6, 7]));
      // Far past any quota a browser grants (1 PiB).
      expect(() => file.truncate(2 ** 50)).toThrow(expect.objectContaining({ code: 'STORAGE_QUOTA' }));
      expect(() => file.write(2 ** 50, new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'STORAGE_QUOTA' }));
      expect(file.size()).toBe(3);
      file.write(3, new Uint8Array([8]));
      file.flush();
      const back = new Uint8Array(4);
      expect(file.read(0, back)).toBe(4);
      expect([...back]).toEqual([5, 6, 7, 8]);
      file.close();
    });

    it('fails with STORAGE_IO after close', async () => {
      const file = await env.openFile('closed');
      file.close();
      file.close(); // closing twice is harmless
      for (const use of [() => file.size(), () => file.flush(), () => file.read(0, new Uint8Array(1))]) {
        expect(use).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
      }
    });
  });

  describe(STORE_SUITE, () => {
    afterEach(() => env.cleanUp());

    let n = 0;
    const names = new WeakMap<KvStore, string>();
    const open = async (dbName: string): Promise<KvStore> => {
      const store = await env.openStore(dbName);
      names.set(store, dbName);
      return store;
    };
    runKvContract(
      'openOpfsStore',
      () => open(`contract-${n++}`),
      async (store) => {
        await store.close();
        return open(names.get(store)!);
      },
    );

    it('refuses a second opener of the same database with STORAGE_LOCKED, and frees it on close', async () => {
      const store = await env.openStore('locked');
      await expect(env.openStore('locked')).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
      const tx = store.transaction();
      tx.put(new Uint8Array([1]), new Uint8Array([2]));
      await tx.commit();
      await store.close();
      const again = await env.openStore('locked');
      expect([...again.get(new Uint8Array([1]))!]).toEqual([2]);
      await again.close();
    });

    it('rejects database names OPFS cannot hold', async () => {
      for (const bad of ['', '.', '..', 'a/b', 'a\\b']) {
        await expect(env.openStore(bad)).rejects.toBeInstanceOf(TypeError);
      }
    });
  });

  describe(LONG_VALUES_SUITE, () => {
    afterEach(() => env.cleanUp());
    for (const [driver, openDriver] of [
      ['opfs', (name: string) => env.openStore(name)],
      ['idb', (name: string) => env.openIdbStore(name)],
    ] as const) {
      let n = 0;
      const names = new WeakMap<KvStore, string>();
      const open = async (dbName: string): Promise<KvStore> => {
        const store = await openDriver(dbName);
        names.set(store, dbName);
        return store;
      };
      runLongValuesContract(
        driver,
        () => open(`long-${driver}-${n++}`),
        async (store) => {
          await store.close();
          return open(names.get(store)!);
        },
      );
    }
  });
}
