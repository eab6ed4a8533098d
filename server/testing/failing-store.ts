/**
 * For tests: makes a store fail every commit that writes a value containing `marker`, as a store
 * that cannot hold one particular value would (the server's store, to prove that a batch it cannot
 * store is refused and nothing queues behind it). The put throws a plain `Error`, like a bug would.
 */
import type { KvStore } from '../../src/store/types.ts';

export function failValuesContaining(store: KvStore, marker: string): void {
  const bytes = new TextEncoder().encode(marker);
  const has = (v: Uint8Array) => {
    outer: for (let i = 0; i + bytes.length <= v.length; i++) {
      for (let j = 0; j < bytes.length; j++) if (v[i + j] !== bytes[j]) continue outer;
      return true;
    }
    return false;
  };
  const transaction = store.transaction.bind(store);
  store.transaction = () => {
    const tx = transaction();
    const put = tx.put.bind(tx);
    tx.put = (k, v) => {
      if (has(v)) throw new Error(`this store cannot hold a value with ${marker} in it`);
      put(k, v);
    };
    return tx;
  };
}
