import { describe, expect, it } from 'vitest';
import { MemoryBlockFile } from './blockfile.ts';
import { openDurableStore, type DurableStore } from './durable-store.ts';
import { runKvContract } from './testing/kv-contract.ts';
import type { KvStore } from './types.ts';

/** A store on memory files that a reopen finds again. */
function memoryFactory(pageSize?: number, extra: { cacheBytes?: number; checkpointWalBytes?: number } = {}) {
  const files = new WeakMap<KvStore, { data: MemoryBlockFile; wal: MemoryBlockFile }>();
  const open = (data: MemoryBlockFile, wal: MemoryBlockFile): DurableStore => {
    const store = openDurableStore({ data, wal, pageSize, ...extra });
    files.set(store, { data, wal });
    return store;
  };
  return {
    open: () => open(new MemoryBlockFile(), new MemoryBlockFile()),
    reopen: async (store: KvStore) => {
      const f = files.get(store)!;
      await store.close();
      return open(MemoryBlockFile.fromImage(f.data.crashImage()), MemoryBlockFile.fromImage(f.wal.crashImage()));
    },
  };
}

const m4 = memoryFactory();
runKvContract('durable store, 4 KiB pages (the default), memory files', m4.open, m4.reopen);

const m16 = memoryFactory(16384);
runKvContract('durable store, 16 KiB pages, memory files', m16.open, m16.reopen);

const small = memoryFactory(16384, { cacheBytes: 16 * 16384, checkpointWalBytes: 64 * 1024 });
runKvContract('durable store, tiny cache and frequent checkpoints', small.open, small.reopen);

describe('durable store', () => {
  it('passes its integrity check after many writes', async () => {
    const { open } = memoryFactory(1024, { cacheBytes: 32 * 1024, checkpointWalBytes: 8 * 1024 });
    const store = open();
    for (let t = 0; t < 50; t++) {
      const tx = store.transaction();
      for (let i = 0; i < 50; i++) tx.put(new TextEncoder().encode(`k${(t * 37 + i * 11) % 997}`), new Uint8Array(i * 7));
      for (let i = 0; i < 10; i++) tx.delete(new TextEncoder().encode(`k${(t * 13 + i) % 997}`));
      await tx.commit();
      store.checkIntegrity();
    }
    await store.checkpoint();
    expect(store.checkIntegrity().entries).toBeGreaterThan(0);
  });
});
