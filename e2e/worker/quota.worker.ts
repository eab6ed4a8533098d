/**
 * The database worker (`worker/worker.ts`) with an IndexedDB that runs out of room on demand: a
 * put whose value contains the text QUOTA-TRIGGER throws `QuotaExceededError`, as a full origin
 * does. `e2e/client-quota.spec.ts` uses it with the `idb` driver to check that a quota error
 * reaches the page as `STORAGE_QUOTA` and leaves the database usable.
 */
import '../../worker/worker.ts';

const decoder = new TextDecoder();
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
  if (value instanceof Uint8Array && decoder.decode(value).includes('QUOTA-TRIGGER')) {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }
  return put.call(this, value, key);
};
