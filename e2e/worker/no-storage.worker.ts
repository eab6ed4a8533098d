/**
 * The database worker (`worker/worker.ts`) in a worker with neither OPFS sync access handles nor
 * IndexedDB: `e2e/client-fallback.spec.ts` checks that the runtime falls back to memory and says so.
 */
import '../../worker/worker.ts';

if (typeof FileSystemFileHandle !== 'undefined') delete (FileSystemFileHandle.prototype as { createSyncAccessHandle?: unknown }).createSyncAccessHandle;
Object.defineProperty(self, 'indexedDB', { value: undefined, configurable: true });
