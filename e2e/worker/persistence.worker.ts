/**
 * The dedicated worker of `e2e/opfs-persistence.spec.ts`: writes to a database on OPFS in one
 * browser session and reads it back in the next (`PersistenceRequest` in protocol.ts).
 */
import { deleteOpfsStore, openOpfsStore } from '../../worker/opfs-blockfile.ts';
import type { DurableStore } from '../../src/store/durable-store.ts';
import { fromHex as unhex, toHex as hex } from '../../src/util/bytes.ts';
import { failure, type PersistenceReply, type PersistenceRequest } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** Stores a 'write' without `close` left open, as a tab that is closed would leave them. */
const leftOpen: DurableStore[] = [];

scope.onmessage = async (event: MessageEvent<PersistenceRequest>) => {
  const request = event.data;
  let reply: PersistenceReply;
  try {
    switch (request.type) {
      case 'write': {
        const store = await openOpfsStore(request.dbName);
        const tx = store.transaction();
        for (const [key, value] of Object.entries(request.entries)) tx.put(unhex(key), unhex(value));
        await tx.commit(); // resolves once the WAL is flushed: tier `local`
        if (request.close) await store.close();
        else leftOpen.push(store);
        reply = { type: 'written' };
        break;
      }
      case 'read': {
        const store = await openOpfsStore(request.dbName);
        try {
          const report = store.checkIntegrity();
          const entries: Record<string, string> = {};
          for (const { key, value } of store.scan()) entries[hex(key)] = hex(value);
          reply = { type: 'entries', entries, integrityEntries: report.entries };
        } finally {
          await store.close();
        }
        break;
      }
      case 'delete':
        await deleteOpfsStore(request.dbName);
        reply = { type: 'deleted' };
        break;
    }
  } catch (e) {
    reply = failure(e);
  }
  scope.postMessage(reply);
};
