/**
 * Files on one database (no server): writing from Blobs and streams, reading back, the hash
 * check, deletion through referencing rows, abort and quota leaving nothing behind, options.
 */
import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../db.ts';
import { s } from '../schema/builder.ts';
import { schemaHash } from '../schema/schema.ts';
import { createMemoryStore } from '../store/memory.ts';
import type { KvStore, KvTransaction } from '../store/types.ts';
import { JazzError } from '../util/errors.ts';
import { toHex } from '../util/bytes.ts';
import { Sha256 } from './sha256.ts';
import { FILES, FILE_PARTS, partId } from './system-tables.ts';
import { partsOf } from './files.ts';
import { Faults, MemoryBlockFile } from '../store/blockfile.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { Engine } from '../engine/engine.ts';
import { seededByteSource as seeded } from '../testing/fixtures.ts';

const app = s.defineApp({
  posts: s.table({ title: s.string(), image: s.file().optional() }),
  albums: s.table({ photos: s.array(s.file()) }),
});

/** A store that counts the bytes it holds and refuses to hold more than `budget` (STORAGE_QUOTA). */
function countingStore(budget = Infinity): KvStore & { bytes(): number; budget: number } {
  const inner = createMemoryStore();
  const sizes = new Map<string, number>();
  let total = 0;
  const store = {
    budget,
    get: (k: Uint8Array) => inner.get(k),
    scan: (r?: Parameters<KvStore['scan']>[0]) => inner.scan(r),
    flush: () => inner.flush(),
    close: () => inner.close(),
    persistent: false,
    bytes: () => total,
    transaction(): KvTransaction {
      const tx = inner.transaction();
      const undo: [string, number | undefined][] = [];
      const set = (key: Uint8Array, size: number | undefined) => {
        const k = toHex(key);
        const before = sizes.get(k);
        undo.push([k, before]);
        total += (size ?? 0) - (before ?? 0);
        if (size === undefined) sizes.delete(k);
        else sizes.set(k, size);
      };
      const rollback = () => {
        for (const [k, before] of undo.reverse()) {
          total += (before ?? 0) - (sizes.get(k) ?? 0);
          if (before === undefined) sizes.delete(k);
          else sizes.set(k, before);
        }
      };
      return {
        put(key, value) {
          set(key, key.length + value.length);
          if (total > store.budget) throw new JazzError('STORAGE_QUOTA', 'the test quota is full');
          tx.put(key, value);
        },
        delete(key) {
          set(key, undefined);
          tx.delete(key);
        },
        commit: () => tx.commit(),
        rollback() {
          rollback();
          tx.rollback();
        },
      };
    },
  };
  return store;
}

async function subtleHex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as ArrayBuffer)));
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as JazzError).code ?? String(e);
  }
  return 'resolved';
}

function systemRows(db: Db<any>): number {
  return [...db.engine.rowIds(FILES)].length + [...db.engine.rowIds(FILE_PARTS)].length;
}

describe('files', () => {
  const seed = Date.now() % 100000;
  const random = seeded(seed);
  console.log(`files.test seed ${seed}`);

  it('incremental SHA-256 agrees with crypto.subtle', async () => {
    for (const n of [0, 1, 55, 56, 64, 65, 1000, 70_001]) {
      const data = random(n);
      const h = new Sha256();
      for (let i = 0; i < n; i += 777) h.update(data.subarray(i, i + 777));
      expect(h.hex(), `length ${n}`).toBe(await subtleHex(data));
    }
  });

  it('stores a Blob in parts and reads it back, with progress and an identical SHA-256', async () => {
    const db = createDb({ app });
    const data = random(10_000 + (seed % 1000));
    const progress: { loaded: number; total: number | undefined }[] = [];
    const id = await db.createFileFromBlob(new Blob([data as Uint8Array<ArrayBuffer>], { type: 'image/png' }), { name: 'cat.png', partSize: 1000, onProgress: (p) => progress.push(p) });
    const info = await db.fileInfo(id);
    expect(info).toMatchObject({ id, name: 'cat.png', mimeType: 'image/png', size: data.length, state: 'complete' });
    expect(info.partSizes.length).toBe(Math.ceil(data.length / 1000));
    expect(info.partSizes.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(info.hash).toBe(await subtleHex(data));
    expect(progress.length).toBe(info.partSizes.length);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ loaded: data.length, total: data.length });
    const blob = await db.loadFileAsBlob(id);
    expect(blob.type).toBe('image/png');
    expect(await subtleHex(await blob.arrayBuffer())).toBe(info.hash);
    // A row holds the id only; reading it reads no bytes.
    const post = db.insert(app.posts, { title: 'a cat', image: id });
    const row = await db.one(app.posts.where({ id: post.id }));
    expect(row!.image).toBe(id);
    // Files live on main, also when made through a branch's view.
    const draft = db.branch('draft');
    const onBranch = await draft.createFileFromBlob(new Blob(['from a branch']));
    expect(await (await db.loadFileAsBlob(onBranch)).text()).toBe('from a branch');
    expect(await (await draft.loadFileAsBlob(onBranch)).text()).toBe('from a branch');
    await db.close();
  });

  it('stores a stream of strings and bytes, and streams it back part by part', async () => {
    const db = createDb({ app });
    const chunks = ['héllo ', new Uint8Array([1, 2, 3]), 'wörld'.repeat(50)];
    const expected = new Uint8Array(await new Blob(chunks as (string | Uint8Array<ArrayBuffer>)[]).arrayBuffer());
    const source = new ReadableStream<string | Uint8Array>({
      start(c) {
        for (const x of chunks) c.enqueue(x);
        c.close();
      },
    });
    const id = await db.createFileFromStream(source, { mimeType: 'text/plain', partSize: 64 });
    const stream = await db.loadFileAsStream(id);
    const got: Uint8Array[] = [];
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) got.push(part);
    expect(got.length).toBe(Math.ceil(expected.length / 64));
    expect(got.every((p, i) => p.length === (i < got.length - 1 ? 64 : expected.length - 64 * (got.length - 1)))).toBe(true);
    expect(new Uint8Array(await new Blob(got as Uint8Array<ArrayBuffer>[]).arrayBuffer())).toEqual(expected);
    // An empty stream is an empty file.
    const empty = await db.createFileFromStream(new ReadableStream({ start: (c) => c.close() }));
    expect((await db.loadFileAsBlob(empty)).size).toBe(0);
    await db.close();
  });

  it('file columns: s.file() and JSON "file" are the same schema, a ref to $files', () => {
    const json = s.fromJSON({ tables: { posts: { title: 'string', image: { type: 'file', optional: true } }, albums: { photos: { type: 'array', items: 'file' } } } });
    expect(schemaHash(json.$schema)).toBe(schemaHash(app.$schema));
    expect(app.$schema.tables.posts!.columns.image).toEqual({ type: 'ref', ref: '$files', optional: true });
    expect(() => s.fromJSON({ tables: { t: { p: { ref: '$fileParts' } } } })).toThrow(/unknown table "\$fileParts"/);
    // The system tables are not in the catalogue's persisted form (only refs to them are).
    const db = createDb({ app });
    expect(Object.keys(db.engine.catalogue.json.tables)).toEqual(['1', '2']);
    expect(db.engine.table(FILES).no).toBeGreaterThan(0xfff000);
    void db.close();
  });

  it('FILE_NOT_FOUND for a file that is not there, FILE_INCOMPLETE for missing or damaged parts', async () => {
    const db = createDb({ app });
    expect(await code(db.loadFileAsBlob(db.engine.newRowId()))).toBe('FILE_NOT_FOUND');
    expect(await code(db.loadFileAsBlob('not-an-id'))).toBe('FILE_NOT_FOUND');
    const data = random(5000);
    const damaged = await db.createFileFromBlob(new Blob([data as Uint8Array<ArrayBuffer>]), { partSize: 1000 });
    // Same size, other bytes: only the hash can tell.
    const bad = data.slice(2000, 3000);
    bad[10] = bad[10]! ^ 0xff;
    db.update(FILE_PARTS, partId(damaged, 2), { bytes: bad });
    const e = await db.loadFileAsBlob(damaged).catch((x: JazzError) => x);
    expect((e as JazzError).code).toBe('FILE_INCOMPLETE');
    expect((e as JazzError).message).toMatch(/SHA-256/);
    // Another size than the record says.
    db.update(FILE_PARTS, partId(damaged, 2), { bytes: data.slice(2000, 2999) });
    expect(await code(db.loadFileAsBlob(damaged))).toBe('FILE_INCOMPLETE');
    // A part missing: the stream gives the parts before it, then fails.
    const gappy = await db.createFileFromBlob(new Blob([data as Uint8Array<ArrayBuffer>]), { partSize: 1000 });
    await db.engine.purgeRows([{ table: FILE_PARTS, rowId: partId(gappy, 3) }]);
    const reader = (await db.loadFileAsStream(gappy)).getReader();
    for (let i = 0; i < 3; i++) expect((await reader.read()).value).toEqual(data.slice(i * 1000, (i + 1) * 1000));
    expect(await code(reader.read())).toBe('FILE_INCOMPLETE');
    await db.close();
  });

  it('deleting the last row that references a file deletes it and frees its parts', async () => {
    const store = countingStore();
    const db = createDb({ app, store });
    const empty = store.bytes();
    const data = random(20_000);
    const id = await db.createFileFromBlob(new Blob([data as Uint8Array<ArrayBuffer>]), { partSize: 2000 });
    const full = store.bytes();
    expect(full - empty).toBeGreaterThan(20_000);
    const post = db.insert(app.posts, { title: 'p', image: id });
    const album = db.insert(app.albums, { photos: [db.engine.newRowId(), id] });
    await db.delete(app.posts, post.id).wait();
    await db.filesSettled();
    expect((await db.fileInfo(id)).state).toBe('complete'); // the album still has it
    expect(partsOf(db.engine, id).length).toBe(10);
    await db.update(app.albums, album.id, { photos: [] }).wait();
    await db.filesSettled();
    expect(await code(db.fileInfo(id))).toBe('FILE_NOT_FOUND');
    expect(await code(db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect(partsOf(db.engine, id)).toEqual([]);
    expect([...db.engine.rowIds(FILE_PARTS)]).toEqual([]);
    // The parts' bytes are gone; what stays is the rows, the deleted record and the batch bookkeeping.
    expect(full - store.bytes()).toBeGreaterThan(20_000);
    expect(store.bytes() - empty).toBeLessThan(10_000);
    await db.close();
  });

  it('deleteFile deletes a file and frees its parts; FILE_NOT_FOUND after', async () => {
    const db = createDb({ app });
    const id = await db.createFileFromBlob(new Blob([random(5000) as Uint8Array<ArrayBuffer>]), { partSize: 1000 });
    expect(partsOf(db.engine, id).length).toBe(5);
    await db.deleteFile(id);
    await db.filesSettled();
    expect(partsOf(db.engine, id)).toEqual([]);
    expect(await code(db.loadFileAsBlob(id))).toBe('FILE_NOT_FOUND');
    expect(await code(db.deleteFile(id))).toBe('FILE_NOT_FOUND');
    expect(await code(db.deleteFile(id, { tir: 'local' } as never))).toBe('OPTION_INVALID');
    await db.close();
  });

  it('aborting an upload leaves nothing behind', async () => {
    const db = createDb({ app });
    const controller = new AbortController();
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        sent++;
        if (sent === 5) controller.abort(new Error('user cancelled'));
        c.enqueue(random(500));
      },
    });
    const e = await db.createFileFromStream(source, { partSize: 1000, signal: controller.signal }).catch((x: Error) => x);
    expect((e as Error).message).toBe('user cancelled');
    expect(systemRows(db)).toBe(0);
    expect(db.engine.outbox()).toEqual([]);
    // Already aborted: nothing is even started.
    expect(await db.createFileFromBlob(new Blob(['x']), { signal: AbortSignal.abort(new Error('early')) }).catch((x: Error) => x.message)).toBe('early');
    expect(systemRows(db)).toBe(0);
    await db.close();
  });

  it('a file that does not fit fails with STORAGE_QUOTA and leaves nothing half-written', async () => {
    const store = countingStore();
    const db = createDb({ app, store });
    await db.createFileFromBlob(new Blob([random(3000) as Uint8Array<ArrayBuffer>]), { partSize: 1000 }); // fits
    const rowsBefore = systemRows(db);
    const outboxBefore = db.engine.outbox();
    store.budget = store.bytes() + 6000;
    const e = await db.createFileFromBlob(new Blob([random(20_000) as Uint8Array<ArrayBuffer>]), { partSize: 1000 }).catch((x: JazzError) => x);
    expect((e as JazzError).code).toBe('STORAGE_QUOTA');
    expect(systemRows(db)).toBe(rowsBefore);
    expect(db.engine.outbox()).toEqual(outboxBefore); // the first file's batches only (no server here)
    store.budget = Infinity;
    await db.close();
  });

  it('with a durable store: an upload that fills the disk fails with STORAGE_QUOTA, and nothing of it is left after reopening', async () => {
    const faults = new Faults({ quotaMode: 'throw' });
    const files = { data: new MemoryBlockFile(faults), wal: new MemoryBlockFile(faults) };
    const db = createDb({ app, store: openDurableStore({ ...files, pageSize: 4096 }) });
    const kept = await db.createFileFromBlob(new Blob([random(3000) as Uint8Array<ArrayBuffer>]), { partSize: 1000 });
    faults.quotaBytes = faults.used() + 8000;
    const e = await db.createFileFromBlob(new Blob([random(60_000) as Uint8Array<ArrayBuffer>]), { partSize: 1000 }).catch((x: JazzError) => x);
    expect((e as JazzError).code).toBe('STORAGE_QUOTA');
    await db.close().catch(() => {}); // the store stopped: closing may say so again
    // Reopened with room (the disk freed): the unfinished upload is removed when the database opens.
    const image = (f: MemoryBlockFile) => MemoryBlockFile.fromImage(f.crashImage());
    // What the disk holds: the half-written upload is there (the store stopped before cleaning up).
    const peek = Engine.open({ schema: app.$schema, store: openDurableStore({ data: image(files.data), wal: image(files.wal), pageSize: 4096 }) });
    expect([...peek.rowIds(FILES)].length).toBe(2);
    expect([...peek.rowIds(FILE_PARTS)].length).toBeGreaterThan(3);
    await peek.close();
    const files2 = { data: image(files.data), wal: image(files.wal) };
    const again = createDb({ app, store: openDurableStore({ ...files2, pageSize: 4096 }) });
    await again.filesSettled();
    expect([...again.engine.rowIds(FILES)]).toEqual([kept]);
    expect([...again.engine.rowIds(FILE_PARTS)].length).toBe(3);
    expect((await again.fileInfo(kept)).state).toBe('complete');
    const batches = again.engine.outbox().flatMap((b) => again.engine.batchVersions(b));
    expect(batches.every((v) => v.table !== FILE_PARTS || v.version.values.file === kept)).toBe(true);
    // A live stream left unfinished is not an upload: it stays, marked writing.
    const w = again.createStream({ flushMs: 0 });
    w.write('unfinished');
    await new Promise((r) => setTimeout(r, 20));
    await again.close();
    const third = createDb({ app, store: openDurableStore({ data: image(files2.data), wal: image(files2.wal), pageSize: 4096 }) });
    await third.filesSettled();
    expect((await third.fileInfo(w.id)).state).toBe('writing');
    expect(await code(third.loadFileAsBlob(w.id))).toBe('FILE_INCOMPLETE');
    await third.close();
  });

  it('refuses bad options with OPTION_INVALID and bad sources with TYPE_MISMATCH', async () => {
    const db = createDb({ app });
    const blob = new Blob(['x']);
    expect(await code(db.createFileFromBlob(blob, { nmae: 'x' } as never))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob(blob, { partSize: 1024 * 1024 + 1 }))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob(blob, { partSize: 0 }))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob(blob, { name: 'x'.repeat(1025) }))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob(blob, { mimeType: 'png' }))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob(blob, { tier: 'edge' }))).toBe('NO_SERVER');
    expect(await code(db.loadFileAsBlob(db.engine.newRowId(), { tier: 'local', x: 1 } as never))).toBe('OPTION_INVALID');
    expect(await code(db.createFileFromBlob('text' as never))).toBe('TYPE_MISMATCH');
    expect(await code(db.createFileFromStream(new ReadableStream({ start: (c) => (c.enqueue(42), c.close()) }) as never))).toBe('TYPE_MISMATCH');
    expect(systemRows(db)).toBe(0);
    await db.close();
  });
});
