/**
 * The long-values contract (src/testing/long-values-contract.ts) on the stores the engine runs on
 * in Node: the memory store, and the durable store on real files (reopened from disk). The browser
 * runs it on OPFS and IndexedDB (e2e/opfs-contract.spec.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createMemoryStore } from '../src/store/memory.ts';
import { openFileStore } from './fs-store.ts';
import { runLongValuesContract } from '../src/testing/long-values-contract.ts';

runLongValuesContract('memory', () => createMemoryStore());

const dir = mkdtempSync(join(tmpdir(), 'jazz-long-values-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const paths = new WeakMap<object, string>();
runLongValuesContract(
  'files',
  () => {
    const path = join(dir, `db-${n++}`);
    const store = openFileStore(path);
    paths.set(store, path);
    return store;
  },
  async (store) => {
    await store.close();
    const path = paths.get(store)!;
    const again = openFileStore(path);
    paths.set(again, path);
    return again;
  },
);
