/**
 * The dedicated worker that runs `suites.ts` over real OPFS files, one case per request
 * (`ContractRequest` in protocol.ts). Started by `e2e/opfs-contract.spec.ts` as
 * `/e2e/worker/contract.worker.ts[?KV_CONTRACT_SEED=n]`.
 *
 * Files live under `jazz-e2e/` (BlockFile cases) and in `jazz/<db>` (store cases, as
 * `openOpfsStore` puts them); each case's files are closed and deleted after it.
 */
import type { BlockFile } from '../../src/store/blockfile.ts';
import type { BlockFileUnderTest } from '../../src/store/testing/blockfile-contract.ts';
import type { KvStore } from '../../src/store/types.ts';
import { deleteOpfsStore, OpfsBlockFile, openOpfsStore } from '../../worker/opfs-blockfile.ts';
import { deleteIdbStore, openIdbStore } from '../../worker/idb-store.ts';
import { listCases, runCase } from './harness.ts';
import { failure, type ContractReply, type ContractRequest } from './protocol.ts';
import { registerSuites } from './suites.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

// Replaying a seed: the contracts read it from process.env, which workers do not have.
const env: Record<string, string> = {};
for (const name of ['KV_CONTRACT_SEED', 'LONG_VALUES_SEED']) {
  const seed = new URL(scope.location.href).searchParams.get(name);
  if (seed !== null) env[name] = seed;
}
globalThis.process = { env };

const FILES = 'jazz-e2e';

/** `readwrite-unsafe` (Chromium 121+) lets two handles hold one file; TypeScript's lib lacks the option. */
type UnsafeOpen = (options: { mode: 'readwrite-unsafe' }) => Promise<FileSystemSyncAccessHandle>;

let prepared: { handles: FileSystemSyncAccessHandle[]; taken: boolean; path: string } | undefined;
const openFiles: BlockFile[] = [];
const openStores: KvStore[] = [];
const fileNames = new Set<string>();
const dbNames = new Set<string>();
const idbNames = new Set<string>();
let counter = 0;

async function folder(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(FILES, { create: true });
}

registerSuites({
  async prepareBlockFile() {
    const name = `blockfile-${counter++}`;
    fileNames.add(name);
    const file = await (await folder()).getFileHandle(name, { create: true });
    // The contract's reopen is synchronous and a sync access handle opens asynchronously, so the
    // handle for the reopen is opened now, beside the first: both in the mode that allows two. The
    // exclusive mode the store uses has its own cases (a real close and reopen, the lock).
    const open = file.createSyncAccessHandle.bind(file) as unknown as UnsafeOpen;
    const handles = [await open({ mode: 'readwrite-unsafe' }), await open({ mode: 'readwrite-unsafe' })];
    prepared = { handles, taken: false, path: `${FILES}/${name}` };
  },

  blockFile(): BlockFileUnderTest {
    if (!prepared || prepared.taken) throw new Error('blockFile() needs a prepareBlockFile() before each case, once.');
    prepared.taken = true;
    const [first, second] = prepared.handles as [FileSystemSyncAccessHandle, FileSystemSyncAccessHandle];
    const path = prepared.path;
    return { file: new OpfsBlockFile(first, path), reopen: () => new OpfsBlockFile(second, path) };
  },

  async openFile(name) {
    fileNames.add(name);
    const file = await OpfsBlockFile.open(await folder(), name, `${FILES}/${name}`);
    openFiles.push(file);
    return file;
  },

  async openStore(dbName) {
    dbNames.add(dbName);
    const store = await openOpfsStore(dbName);
    openStores.push(store);
    return store;
  },

  async openIdbStore(dbName) {
    idbNames.add(dbName);
    const store = await openIdbStore(dbName);
    openStores.push(store);
    return store;
  },

  async cleanUp() {
    for (const handle of prepared?.handles ?? []) handle.close(); // closing twice is a no-op
    prepared = undefined;
    for (const file of openFiles.splice(0)) file.close();
    for (const store of openStores.splice(0)) {
      try {
        await store.close();
      } catch {
        // Already closed by the case, or stopped on purpose; its files are deleted next anyway.
      }
    }
    const dir = await folder();
    for (const name of fileNames) await dir.removeEntry(name).catch(() => undefined);
    fileNames.clear();
    for (const name of dbNames) {
      if (name !== '' && name !== '.' && name !== '..' && !/[/\\]/.test(name)) await deleteOpfsStore(name);
    }
    dbNames.clear();
    for (const name of idbNames) await deleteIdbStore(name);
    idbNames.clear();
  },
});

scope.onmessage = async (event: MessageEvent<ContractRequest>) => {
  const request = event.data;
  let reply: ContractReply;
  try {
    switch (request.type) {
      case 'list':
        reply = { type: 'list', cases: listCases() };
        break;
      case 'run':
        reply = { type: 'result', result: await runCase(request.name) };
        break;
    }
  } catch (e) {
    reply = failure(e);
  }
  scope.postMessage(reply);
};
