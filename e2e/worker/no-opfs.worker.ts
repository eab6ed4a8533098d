/**
 * The database worker (`worker/worker.ts`) in a worker without OPFS sync access handles, as in
 * browsers that lack them: `e2e/client-fallback.spec.ts` starts it through `createDb`'s `workerUrl`.
 * (A Playwright init script reaches pages, not dedicated workers, so the API is removed here.)
 */
import '../../worker/worker.ts';

if (typeof FileSystemFileHandle !== 'undefined') delete (FileSystemFileHandle.prototype as { createSyncAccessHandle?: unknown }).createSyncAccessHandle;
