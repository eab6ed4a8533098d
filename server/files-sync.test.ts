/**
 * Files through the sync server (src/files, server/files.ts): a file one client uploads is loaded
 * by another byte for byte; its parts travel only when it is read, never with the row; a file is
 * read through the rows that reference it (arrays of files too), so a file on a private row never
 * reaches another user (a canary in its bytes, every frame scanned) and nobody gains one by
 * referencing it; an upload cut by a closed socket resumes without resending acknowledged parts;
 * deleting the last referencing row deletes the file and frees its parts on the server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, wsConnector, s, type SyncServer } from './index.ts';
import { startJwtServer } from './testing/jwt-server.ts';
import { definePermissions } from '../src/policy/define.ts';
import { decodeClientMessage, decodeServerMessage } from '../src/sync/protocol.ts';
import type { Db } from '../src/db.ts';
import type { Connector, Transport } from '../src/sync/transport.ts';
import type { BatchRejection } from '../src/sync/client.ts';
import { until } from '../src/testing/until.ts';
import { FILES, FILE_PARTS, partId } from '../src/files/system-tables.ts';
import { partsOf } from '../src/files/files.ts';
import { toHex } from '../src/util/bytes.ts';
import { MemoryBlockFile } from '../src/store/blockfile.ts';
import { openDurableStore } from '../src/store/durable-store.ts';
import { seededByteSource as seeded } from '../src/testing/fixtures.ts';

const app = s.defineApp({
  docs: s.table({ owner: s.string(), shared: s.boolean().default(false), title: s.string(), attachment: s.file().optional(), gallery: s.array(s.file()).default([]) }),
});
type App = typeof app;

const permissions = definePermissions(app, ({ policy, session }) => {
  policy.docs.allowRead.where({ $or: [{ owner: session.userId }, { shared: true }] });
  policy.docs.allowInsert.where({ owner: session.userId });
  policy.docs.allowUpdate.where({ owner: session.userId });
  policy.docs.allowDelete.where({ owner: session.userId });
});

const CANARY = 'CANARY-FILE-BYTES-7f3a';
const canary = new TextEncoder().encode(CANARY);
let server: SyncServer;
let sign: (sub: string) => Promise<string>;
const open: Db<App>[] = [];
let appNo = 0;
let appId = '';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const sha = async (b: Uint8Array | ArrayBuffer) => toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', b as ArrayBuffer)));
const blobOf = (...parts: Uint8Array[]) => new Blob(parts as Uint8Array<ArrayBuffer>[]);

interface Client {
  db: Db<App>;
  /** Frames received that hold the canary. */
  leaks: number;
  /** Row ids of the part versions this client pushed, one entry per send. */
  partsSent: string[];
  /** Acknowledgements received. */
  acks: number;
  /** The current connection (to cut it). */
  transport(): Transport | undefined;
  rejections: BatchRejection[];
}

async function user(sub: string, onAck?: (c: Client) => void): Promise<Client> {
  let current: Transport | undefined;
  const c: Client = { db: undefined as never, leaks: 0, partsSent: [], acks: 0, transport: () => current, rejections: [] };
  const connect: Connector = (u, events) => {
    const t = wsConnector(u, {
      ...events,
      message: (d) => {
        if (contains(d, canary)) c.leaks++;
        const m = decodeServerMessage(d);
        events.message(d);
        if (m.t === 'ack') {
          c.acks++;
          onAck?.(c);
        }
      },
    });
    current = t;
    return {
      send(d) {
        const m = decodeClientMessage(d);
        if (m.t === 'push') for (const v of m.versions) if (v.table === FILE_PARTS) c.partsSent.push(v.rowId);
        t.send(d);
      },
      close: (code, reason) => t.close(code, reason),
    };
  };
  c.db = createDb({ app, server: server.url, appId, auth: { token: await sign(sub) }, connect, backoff: { initialMs: 20, maxMs: 100 } });
  c.db.onRejected((r) => c.rejections.push(r));
  open.push(c.db);
  return c;
}

beforeAll(async () => {
  const started = await startJwtServer('files-sync-secret');
  server = started.server;
  sign = (sub) => started.sign(sub);
});

afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

afterAll(async () => {
  await server.close();
});

function freshApp(): void {
  appId = `files-sync-${++appNo}`;
  server.publish(appId, app.$schema, permissions);
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('files through the server', () => {
  const seed = Date.now() % 100000;
  const random = seeded(seed);
  console.log(`files-sync.test seed ${seed}`);

  it('a file uploaded by one client is loaded by another with an identical SHA-256, fetched only when read (arrays of files too)', async () => {
    freshApp();
    const alice = await user('alice');
    const bob = await user('bob');
    const data = random(100_000 + (seed % 5000));
    const photo = random(9000);
    const id = await alice.db.createFileFromBlob(blobOf(data), { name: 'data.bin', partSize: 4096, tier: 'edge' });
    const photoId = await alice.db.createFileFromBlob(blobOf(photo), { partSize: 4096, tier: 'edge' });
    await alice.db.insert(app.docs, { owner: 'alice', shared: true, title: 'shared', attachment: id }).wait({ tier: 'edge' });
    await alice.db.insert(app.docs, { owner: 'alice', shared: true, title: 'album', gallery: [photoId] }).wait({ tier: 'edge' });
    const rows = await bob.db.all(app.docs, { tier: 'edge' });
    expect(rows.map((r) => r.title).sort()).toEqual(['album', 'shared']);
    // The rows came, their files did not.
    expect([...bob.db.engine.rowIds(FILES)]).toEqual([]);
    expect([...bob.db.engine.rowIds(FILE_PARTS)]).toEqual([]);
    const blob = await bob.db.loadFileAsBlob(id);
    expect(blob.size).toBe(data.length);
    expect(await sha(await blob.arrayBuffer())).toBe(await sha(data));
    expect((await bob.db.fileInfo(id)).name).toBe('data.bin');
    expect(await sha(await (await bob.db.loadFileAsBlob(photoId)).arrayBuffer())).toBe(await sha(photo));
    // Read locally afterwards: the parts are here now.
    expect(await sha(await (await bob.db.loadFileAsBlob(id, { tier: 'local' })).arrayBuffer())).toBe(await sha(data));
    expect(partsOf(bob.db.engine, id).length).toBe(Math.ceil(data.length / 4096));
    // Unshared: the row through which he read it is no longer his to read, and the file goes with it.
    const shared = rows.find((r) => r.title === 'shared')!;
    await alice.db.update(app.docs, shared.id, { shared: false }).wait({ tier: 'edge' });
    await until(() => partsOf(bob.db.engine, id).length === 0 && bob.db.engine.getRowById(bob.db.engine.table(FILES), id) === undefined);
    expect(await code(bob.db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect(await code(bob.db.loadFileAsBlob(photoId))).toBe('resolved'); // the album is still shared
  });

  it('a file attached to a private row never reaches another user, who cannot gain it by referencing it', async () => {
    freshApp();
    const alice = await user('alice');
    const bob = await user('bob');
    const secret = new Uint8Array([...random(5000), ...canary, ...random(5000), ...canary]);
    const id = await alice.db.createFileFromBlob(blobOf(secret), { partSize: 1000, tier: 'edge' });
    await alice.db.insert(app.docs, { owner: 'alice', title: 'private', attachment: id }).wait({ tier: 'edge' });
    // Not found, exactly as a file that does not exist.
    expect(await code(bob.db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect(await code(bob.db.loadFileAsBlob(bob.db.engine.newRowId()))).toBe('FILE_NOT_FOUND');
    expect(await bob.db.all(app.docs, { tier: 'edge' })).toEqual([]);
    // Putting its id in a row of his own is refused, and gains nothing.
    const mine = bob.db.insert(app.docs, { owner: 'bob', title: 'grab', attachment: id });
    expect(await code(mine.wait({ tier: 'edge' }))).toBe('BATCH_REJECTED');
    expect(bob.rejections.map((r) => r.code)).toEqual(['PERMISSION_DENIED']);
    // Arrays too.
    const album = bob.db.insert(app.docs, { owner: 'bob', title: 'grab2', gallery: [id] });
    expect(await code(album.wait({ tier: 'edge' }))).toBe('BATCH_REJECTED');
    expect(await code(bob.db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    // Nor may he read its parts by asking for them, add a part to it, or write its record.
    await bob.db.all({ table: FILE_PARTS, where: { op: 'true' }, orderBy: [] } as never, { tier: 'edge' });
    expect([...bob.db.engine.rowIds(FILE_PARTS)]).toEqual([]);
    const part = bob.db.insert(FILE_PARTS, { file: id, index: 10, bytes: new Uint8Array([1]) }, { id: partId(id, 10) });
    expect(await code(part.wait({ tier: 'edge' }))).toBe('BATCH_REJECTED');
    const record = bob.db.insert(FILES, { mimeType: 'text/plain', state: 'complete', partSize: 1, partSizes: [] }, { id });
    expect(await code(record.wait({ tier: 'edge' }))).toBe('BATCH_REJECTED');
    expect(bob.rejections.map((r) => r.code)).toEqual(['PERMISSION_DENIED', 'PERMISSION_DENIED', 'PERMISSION_DENIED', 'PERMISSION_DENIED']);
    expect(partsOf(server.engineOf(appId)!, id).length).toBe(11);
    expect((await alice.db.fileInfo(id)).state).toBe('complete');
    // His own files are his: he may reference those.
    const own = await bob.db.createFileFromBlob(blobOf(random(100)), { tier: 'edge' });
    await bob.db.insert(app.docs, { owner: 'bob', title: 'own', attachment: own }).wait({ tier: 'edge' });
    // Alice reads her file on another device of hers: the bytes do travel, to her (so the scan works).
    const laptop = await user('alice');
    expect(await sha(await (await laptop.db.loadFileAsBlob(id)).arrayBuffer())).toBe(await sha(secret));
    expect(laptop.leaks).toBeGreaterThan(0);
    expect(bob.leaks).toBe(0);
  });

  it('a file may be deleted by whoever may delete a row that references it, and by nobody else who merely reads it', async () => {
    freshApp();
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const id = await alice.db.createFileFromBlob(blobOf(random(3000)), { partSize: 1000, tier: 'edge' });
    await alice.db.insert(app.docs, { owner: 'alice', shared: true, title: 'shared', attachment: id }).wait({ tier: 'edge' });
    // Bob may read it (the shared doc), so he may reference it in a doc of his own, which he may delete.
    await bob.db.insert(app.docs, { owner: 'bob', title: 'mine', gallery: [id] }).wait({ tier: 'edge' });
    // Carol reads it too, but may delete no row that references it.
    expect((await carol.db.fileInfo(id)).size).toBe(3000);
    expect(await code(carol.db.deleteFile(id, { tier: 'edge' }))).toBe('BATCH_REJECTED');
    expect(carol.rejections.map((r) => r.code)).toEqual(['PERMISSION_DENIED']);
    expect((await alice.db.fileInfo(id)).state).toBe('complete');
    await bob.db.deleteFile(id, { tier: 'edge' });
    const engine = server.engineOf(appId)!;
    await until(() => partsOf(engine, id).length === 0);
    expect(await code(alice.db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
  });

  it('an upload cut by closing the socket resumes without resending acknowledged parts', async () => {
    freshApp();
    let cut = false;
    let acknowledgedBeforeCut: string[] = [];
    const alice = await user('alice', (c) => {
      // After the record and five parts are acknowledged, the connection drops.
      if (!cut && c.acks === 6) {
        cut = true;
        acknowledgedBeforeCut = c.partsSent.slice(0, 5);
        c.transport()!.close(1001, 'cut');
      }
    });
    const data = random(40_000);
    const id = await alice.db.createFileFromBlob(blobOf(data), { partSize: 1000, tier: 'edge' });
    expect(cut).toBe(true);
    const counts = new Map<string, number>();
    for (const p of alice.partsSent) counts.set(p, (counts.get(p) ?? 0) + 1);
    console.log(`files-sync.test: 40 parts, ${alice.partsSent.length} part versions sent, ${[...counts.values()].filter((n) => n > 1).length} sent twice`);
    expect(counts.size).toBe(40);
    for (const p of acknowledgedBeforeCut) expect(counts.get(p)).toBe(1);
    // At most the parts in flight at the cut (the window) go twice.
    expect(alice.partsSent.length).toBeLessThanOrEqual(40 + 4);
    const bob = await user('bob');
    await alice.db.insert(app.docs, { owner: 'alice', shared: true, title: 'resumed', attachment: id }).wait({ tier: 'edge' });
    expect(await sha(await (await bob.db.loadFileAsBlob(id)).arrayBuffer())).toBe(await sha(data));
  });

  it('a file stored offline goes up from the durable outbox after a restart', async () => {
    freshApp();
    const files = { data: new MemoryBlockFile(), wal: new MemoryBlockFile() };
    const token = await sign('alice');
    // Offline: no connection ever opens.
    const offline: Connector = (_u, events) => {
      setTimeout(() => events.close(1006, 'offline'), 0);
      return { send() {}, close() {} };
    };
    const first = createDb({ app, server: server.url, appId, auth: { token }, connect: offline, store: openDurableStore({ ...files, pageSize: 4096 }), backoff: { initialMs: 1000, maxMs: 1000 } });
    const data = random(12_000);
    const id = await first.createFileFromBlob(blobOf(data), { partSize: 1000 });
    first.insert(app.docs, { owner: 'alice', shared: true, title: 'offline', attachment: id });
    expect(first.syncStatus.pendingBatches).toBe(15); // record, 12 parts, record again, the row
    await first.close();
    const image = (f: MemoryBlockFile) => MemoryBlockFile.fromImage(f.crashImage());
    const again = createDb({ app, server: server.url, appId, auth: { token }, store: openDurableStore({ data: image(files.data), wal: image(files.wal), pageSize: 4096 }) });
    open.push(again);
    await until(() => again.syncStatus.pendingBatches === 0);
    const bob = await user('bob');
    expect(await sha(await (await bob.db.loadFileAsBlob(id)).arrayBuffer())).toBe(await sha(data));
  });

  it('an upload at tier local while online keeps at most about 4 MiB of parts waiting for the server', async () => {
    freshApp();
    let inFlight = 0;
    let most = 0;
    const sizes = new Map<string, number>();
    const connect: Connector = (u, events) => {
      const t = wsConnector(u, {
        ...events,
        message: (d) => {
          const m = decodeServerMessage(d);
          if (m.t === 'ack' && sizes.has(m.batchId)) {
            inFlight -= sizes.get(m.batchId)!;
            sizes.delete(m.batchId);
          }
          events.message(d);
        },
      });
      return {
        send(d) {
          const m = decodeClientMessage(d);
          if (m.t === 'push' && !sizes.has(m.batchId)) {
            sizes.set(m.batchId, d.length);
            inFlight += d.length;
            most = Math.max(most, inFlight);
          }
          t.send(d);
        },
        close: (code, reason) => t.close(code, reason),
      };
    };
    const db = createDb({ app, server: server.url, appId, auth: { token: await sign('alice') }, connect });
    open.push(db);
    await db.all(app.docs, { tier: 'edge' }); // online
    const data = random(7 * 1024 * 1024);
    const id = await db.createFileFromBlob(blobOf(data), { tier: 'local' });
    await until(() => db.syncStatus.pendingBatches === 0, 20_000);
    console.log(`files-sync.test: 7 MiB at tier local, at most ${(most / 2 ** 20).toFixed(2)} MiB waited for the server at once`);
    expect(most).toBeLessThanOrEqual(4 * 1024 * 1024 + 300 * 1024);
    expect(most).toBeGreaterThan(1024 * 1024); // the window is used, not one part at a time
    expect(partsOf(server.engineOf(appId)!, id).length).toBe(28);
  });

  it('deleting the last row that references a file deletes it on the server and frees its parts there', async () => {
    freshApp();
    const alice = await user('alice');
    const id = await alice.db.createFileFromBlob(blobOf(random(8000)), { partSize: 1000, tier: 'edge' });
    const doc = alice.db.insert(app.docs, { owner: 'alice', title: 'to delete', attachment: id });
    await doc.wait({ tier: 'edge' });
    const engine = server.engineOf(appId)!;
    expect(partsOf(engine, id).length).toBe(8);
    await alice.db.delete(app.docs, doc.id).wait({ tier: 'edge' });
    await until(() => partsOf(engine, id).length === 0 && engine.getVisibleState(engine.table(FILES), id)?.deleted === true);
    expect([...engine.versions(FILE_PARTS)].filter((v) => v.values.file === id)).toEqual([]);
    // The writer held the record: it hears of the deletion and drops the parts too.
    await until(() => partsOf(alice.db.engine, id).length === 0);
    expect(await code(alice.db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
  });
});
