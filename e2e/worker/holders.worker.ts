/**
 * The database worker (`worker/worker.ts`) with its OPFS sync access handles watched, for
 * `e2e/client-tabs.spec.ts`: each time this worker starts holding files (its first open handle)
 * or stops (its last one closed), and each open the browser refused, it posts
 * `{ worker, event, t, file }` on the BroadcastChannel `jazz-e2e-holders`. `t` is `Date.now()`
 * taken before an open is attempted and after a close has returned, so a holding interval in the
 * log is never shorter than the real one.
 *
 * A worker that ends while it holds files (its tab closed before `pagehide` could run its
 * retirement) never posts `close`; the browser then releases its handles and its Web Locks. So the
 * worker holds the lock `jazz-e2e-alive:<worker>` for its whole life, and the monitor page queues
 * for it when the worker first opens: the grant says the worker has ended.
 */
import '../../worker/worker.ts';
import type { HolderEvent } from './protocol.ts';

const log = new BroadcastChannel('jazz-e2e-holders');
const me = crypto.randomUUID();
const held = new Set<FileSystemSyncAccessHandle>();
const post = (e: Omit<HolderEvent, 'worker'>): void => log.postMessage({ worker: me, ...e } satisfies HolderEvent);
const alive = new Promise<void>((held) => void navigator.locks.request(`jazz-e2e-alive:${me}`, () => (held(), new Promise<never>(() => {}))));

const open = FileSystemFileHandle.prototype.createSyncAccessHandle;
FileSystemFileHandle.prototype.createSyncAccessHandle = async function (this: FileSystemFileHandle, ...args: unknown[]) {
  const t = Date.now();
  try {
    await alive;
    const handle = await (open as (...a: unknown[]) => Promise<FileSystemSyncAccessHandle>).apply(this, args);
    held.add(handle);
    if (held.size === 1) post({ event: 'open', t, file: this.name });
    return handle;
  } catch (e) {
    post({ event: 'open-refused', t, file: this.name, error: (e as Error).name });
    throw e;
  }
} as typeof open;

const close = FileSystemSyncAccessHandle.prototype.close;
FileSystemSyncAccessHandle.prototype.close = function (this: FileSystemSyncAccessHandle) {
  close.call(this);
  if (held.delete(this) && held.size === 0) post({ event: 'close', t: Date.now(), file: '' });
};
