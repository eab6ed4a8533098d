/**
 * The database worker (`worker/worker.ts`) as it is while a leader opens a big database: once the
 * Web Lock `jazz:<dbName>` is granted, it waits `?ms=<n>` (default 3000) before it opens the
 * storage, holding the lock all along. `e2e/engines/tabs.spec.ts` leaves the page meanwhile: a
 * page left before its database opened must not keep that database from the next page.
 */
import '../../worker/worker.ts';

const ms = Number(new URL(self.location.href).searchParams.get('ms') ?? 3000);
const request = LockManager.prototype.request as (this: LockManager, name: string, ...rest: unknown[]) => Promise<unknown>;
LockManager.prototype.request = function (this: LockManager, name: string, ...rest: unknown[]) {
  const callback = rest.pop() as (lock: Lock | null) => unknown;
  const leads = name.startsWith('jazz:') && !name.includes(':peer:');
  const slow = async (lock: Lock | null): Promise<unknown> => {
    await new Promise((r) => setTimeout(r, ms));
    return callback(lock);
  };
  return request.call(this, name, ...rest, leads ? slow : callback);
} as LockManager['request'];
