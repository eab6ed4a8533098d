/**
 * Damaged superblocks (R2), I/O and quota failures (R3), and format checks.
 */
import { describe, expect, it } from 'vitest';
import { Faults, MemoryBlockFile } from './blockfile.ts';
import { crc32c } from './checksum.ts';
import { openDurableStore, type DurableStore } from './durable-store.ts';
import { FORMAT_VERSION, SUPERBLOCK_BYTES, encodeSuperblock } from './superblock.ts';
import type { KvStore } from './types.ts';

const enc = new TextEncoder();
const PAGE = 1024;

function key(i: number): Uint8Array {
  return enc.encode(`key-${String(i).padStart(5, '0')}`);
}

function value(i: number, round: number): Uint8Array {
  return new Uint8Array(i % 41 === 0 ? 3000 : 40 + (i % 50)).fill((i + round) & 0xff);
}

/** All entries as a sorted array of [hex key, length:first byte] for compact comparison. */
function contents(store: KvStore): string[] {
  const out: string[] = [];
  for (const { key, value } of store.scan()) out.push(`${new TextDecoder().decode(key)}=${value.length}:${value[0] ?? ''}`);
  return out;
}

async function commitRound(store: KvStore, round: number, n = 60): Promise<void> {
  const tx = store.transaction();
  for (let i = 0; i < n; i++) tx.put(key(round * 37 + i), value(i, round));
  if (round > 0) for (let i = 0; i < 5; i++) tx.delete(key((round - 1) * 37 + i));
  await tx.commit();
}

function reopen(files: { data: MemoryBlockFile; wal: MemoryBlockFile }, mode: 'durable' | 'live' = 'durable') {
  const image = (f: MemoryBlockFile) => (mode === 'durable' ? f.crashImage() : f.snapshot());
  return { data: MemoryBlockFile.fromImage(image(files.data)), wal: MemoryBlockFile.fromImage(image(files.wal)) };
}

function corruptSlot(data: MemoryBlockFile, slot: 0 | 1): MemoryBlockFile {
  const bytes = data.crashImage();
  bytes[slot * PAGE + 100] ^= 0xff; // inside the superblock, past the magic: a checksum failure
  return MemoryBlockFile.fromImage(bytes);
}

describe('damaged superblocks (R2)', () => {
  async function twoGenerations() {
    const data = new MemoryBlockFile();
    const wal = new MemoryBlockFile();
    const store = openDurableStore({ data, wal, pageSize: PAGE });
    for (let r = 0; r < 5; r++) await commitRound(store, r);
    await store.checkpoint(); // generation 2 → slot 0 (A)
    const older = contents(store);
    for (let r = 5; r < 10; r++) await commitRound(store, r);
    const newer = contents(store);
    await store.close(); // generation 3 → slot 1 (B)
    return { data, wal, older, newer };
  }

  it('opens from B when A is corrupt, from A when B is corrupt, and refuses when both are', async () => {
    const { data, wal, older, newer } = await twoGenerations();
    const walImage = () => MemoryBlockFile.fromImage(wal.crashImage());

    // A (older, generation 2) damaged: B is the newest anyway.
    let store = openDurableStore({ data: corruptSlot(data, 0), wal: walImage() });
    expect(store.checkIntegrity().generation).toBe(3);
    expect(contents(store)).toEqual(newer);
    await store.close();

    // B (newest) damaged: A opens, with its whole tree intact, at the older committed state.
    const fromA = corruptSlot(data, 1);
    store = openDurableStore({ data: fromA, wal: walImage() });
    expect(store.checkIntegrity().generation).toBe(2);
    expect(contents(store)).toEqual(older);
    // and it goes on working from there
    await commitRound(store, 20);
    await store.close();
    store = openDurableStore({ data: MemoryBlockFile.fromImage(fromA.crashImage()), wal: walImage() });
    store.checkIntegrity();
    expect(contents(store).length).toBeGreaterThan(older.length);
    await store.close();

    // Both damaged: a typed error, never an empty database.
    const both = MemoryBlockFile.fromImage(corruptSlot(corruptSlot(data, 0), 1).crashImage());
    expect(() => openDurableStore({ data: both, wal: walImage() })).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/backup|sync/) }));
  });

  it('falls back when the newest superblock is damaged while the WAL holds commits', async () => {
    const data = new MemoryBlockFile();
    const wal = new MemoryBlockFile();
    const store = openDurableStore({ data, wal, pageSize: PAGE, checkpointWalBytes: 1 << 30 });
    for (let r = 0; r < 4; r++) await commitRound(store, r);
    await store.checkpoint(); // gen 2, slot A
    for (let r = 4; r < 8; r++) await commitRound(store, r);
    await store.checkpoint(); // gen 3, slot B
    const atB = contents(store);
    for (let r = 8; r < 10; r++) await commitRound(store, r); // in the WAL only
    const latest = contents(store);
    // No close: a crash now. With B damaged we get A's state (the WAL belongs to B's epoch).
    let again = openDurableStore({ data: corruptSlot(data, 1), wal: MemoryBlockFile.fromImage(wal.crashImage()) });
    again.checkIntegrity();
    expect(atB).not.toEqual(contents(again));
    await again.close();
    // Undamaged, everything is there.
    again = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: MemoryBlockFile.fromImage(wal.crashImage()) });
    expect(contents(again)).toEqual(latest);
    again.checkIntegrity();
    await again.close();
  });

  it('reports a damaged page as STORAGE_CORRUPT', async () => {
    const data = new MemoryBlockFile();
    const store = openDurableStore({ data, wal: new MemoryBlockFile(), pageSize: PAGE });
    for (let r = 0; r < 5; r++) await commitRound(store, r);
    await store.close();
    const bytes = data.crashImage();
    for (let p = 2; p * PAGE < bytes.length; p++) bytes[p * PAGE + 200] ^= 0x55;
    const damaged = openDurableStore({ data: MemoryBlockFile.fromImage(bytes), wal: new MemoryBlockFile() });
    expect(() => damaged.get(key(3))).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }));
    expect(() => damaged.checkIntegrity()).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }));
  });
});

describe('file format', () => {
  it('refuses a newer format version with STORAGE_FORMAT', () => {
    const sb = encodeSuperblock({
      generation: 1,
      pageSize: PAGE,
      root: 0,
      pageCount: 2,
      freeHead: 0,
      freeCount: 0,
      pendingCount: 0,
      walSalt: 7,
      walStart: 0,
      walSeq: 1,
    });
    sb[8] = FORMAT_VERSION + 1; // a newer format version
    new DataView(sb.buffer).setUint32(SUPERBLOCK_BYTES - 4, crc32c(sb, 0, 0, SUPERBLOCK_BYTES - 4), true);
    expect(() => openDurableStore({ data: MemoryBlockFile.fromImage(sb), wal: new MemoryBlockFile() })).toThrow(
      expect.objectContaining({ code: 'STORAGE_FORMAT', message: expect.stringContaining(`version ${FORMAT_VERSION + 1}`) }),
    );
  });

  it('refuses a file that is not a database with STORAGE_FORMAT', () => {
    const junk = enc.encode('SQLite format 3\u0000'.padEnd(4096, '.'));
    expect(() => openDurableStore({ data: MemoryBlockFile.fromImage(junk), wal: new MemoryBlockFile() })).toThrow(expect.objectContaining({ code: 'STORAGE_FORMAT' }));
  });

  it('keeps the page size of an existing file and rejects invalid ones', async () => {
    const data = new MemoryBlockFile();
    const store = openDurableStore({ data, wal: new MemoryBlockFile(), pageSize: 2048 });
    await commitRound(store, 0);
    await store.close();
    const again = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: new MemoryBlockFile(), pageSize: 8192 });
    expect(again.stats().pageSize).toBe(2048);
    expect(contents(again)).toHaveLength(60);
    expect(() => openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: 1000 })).toThrow(expect.objectContaining({ code: 'STORAGE_FORMAT' }));
  });

  it('opens lazily: a point read after reopening touches a handful of pages', async () => {
    const data = new MemoryBlockFile();
    const store = openDurableStore({ data, wal: new MemoryBlockFile(), pageSize: PAGE });
    for (let r = 0; r < 40; r++) await commitRound(store, r);
    await store.close();
    const again = openDurableStore({ data: MemoryBlockFile.fromImage(data.crashImage()), wal: new MemoryBlockFile() });
    expect(again.stats().cachedPages).toBe(0);
    expect(again.get(key(40 * 37 - 1))).toBeDefined();
    expect(again.stats().cachedPages).toBeLessThanOrEqual(5);
    expect(again.stats().pageCount).toBeGreaterThan(50);
  });

  it('keeps its page cache within budget while the database grows (P9)', async () => {
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: PAGE, cacheBytes: 32 * PAGE });
    for (let r = 0; r < 60; r++) {
      await commitRound(store, r);
      store.get(key(r * 37)); // a read puts the held writes into the tree
      expect(store.stats().cachedPages).toBeLessThanOrEqual(40);
    }
    expect(store.stats().pageCount).toBeGreaterThan(150);
    store.checkIntegrity();
  });

  it('keeps it within budget when commits follow each other with no task between (P9)', async () => {
    const store = openDurableStore({ data: new MemoryBlockFile(), wal: new MemoryBlockFile(), pageSize: PAGE, cacheBytes: 32 * PAGE });
    const commits: Promise<void>[] = [];
    let most = 0;
    for (let r = 0; r < 60; r++) {
      const tx = store.transaction();
      for (let i = 0; i < 60; i++) tx.put(key(r * 37 + i), value(i, r));
      // A read puts the transaction's staged writes into the tree (and sees them).
      expect(store.get(key(r * 37 + 59))).toEqual(value(59, r));
      const before = store.stats().cachedPages;
      commits.push(tx.commit());
      // A transaction may bring in more pages than the budget; its commit evicts them.
      most = Math.max(most, before);
      expect(store.stats().cachedPages).toBeLessThanOrEqual(before);
    }
    await Promise.all(commits);
    console.log(`most pages cached during a transaction: ${most} (budget 32)`);
    expect(most).toBeLessThanOrEqual(80);
    expect(store.stats().cachedPages).toBeLessThanOrEqual(40);
    store.checkIntegrity();
  });
});

describe('I/O and quota failures (R3)', () => {
  /**
   * Commits rounds until the store fails. Returns the state after each acknowledged round (index 0:
   * before any) and the state the failed round would have produced (it may or may not be durable).
   */
  async function untilFailure(store: DurableStore): Promise<{ error: unknown; states: string[][]; failed: string[] }> {
    const states: string[][] = [contents(store)];
    for (let r = 0; r < 200; r++) {
      let failed: string[];
      try {
        const tx = store.transaction();
        for (let i = 0; i < 20; i++) tx.put(key(r * 37 + i), value(i, r));
        if (r > 0) for (let i = 0; i < 5; i++) tx.delete(key((r - 1) * 37 + i));
        failed = contents(store);
        await tx.commit();
        states.push(failed);
        contents(store); // reads may fail too
      } catch (error) {
        return { error, states, failed: failed! ?? states[states.length - 1]! };
      }
    }
    return { error: undefined, states, failed: states[states.length - 1]! };
  }

  it('an I/O error at every N-th operation is typed, stops the store, and loses nothing acknowledged', async () => {
    for (let every = 2; every <= 120; every += every < 20 ? 1 : 7) {
      for (const reopenFrom of ['durable', 'live'] as const) {
        const faults = new Faults({ seed: every });
        const files = { data: new MemoryBlockFile(faults), wal: new MemoryBlockFile(faults) };
        const store = openDurableStore({ ...files, pageSize: PAGE, cacheBytes: 16 * PAGE, checkpointWalBytes: 4096 });
        faults.ops = 0;
        faults.ioErrorEvery = every;
        const { error, states, failed } = await untilFailure(store);
        expect(error, `every ${every}`).toMatchObject({ code: 'STORAGE_IO' });
        if (/stopped/.test((error as Error).message)) {
          // A failed write stops the store: every call now throws the same typed error.
          expect((error as Error).message).toMatch(/open it again/);
          expect(() => store.get(key(1))).toThrow(expect.objectContaining({ code: 'STORAGE_IO' }));
        }
        // The faults go on, so the final checkpoint may fail too; close says so with a typed error.
        await store.close().catch((e) => expect(e).toMatchObject({ code: 'STORAGE_IO' }));
        const again = openDurableStore(reopen(files, reopenFrom));
        again.checkIntegrity();
        // The last acknowledged state, or the failed commit on top of it (it may have reached the disk).
        const now = contents(again);
        const last = states[states.length - 1]!;
        expect([last, failed], `every ${every}, ${reopenFrom}, after ${states.length - 1} acknowledged rounds`).toContainEqual(now);
        await again.close();
      }
    }
  });

  for (const quotaMode of ['throw', 'short'] as const) {
    it(`a quota failure (${quotaMode}) during a checkpoint is typed and loses nothing`, async () => {
      const faults = new Faults({ quotaMode });
      const files = { data: new MemoryBlockFile(faults), wal: new MemoryBlockFile(faults) };
      const store = openDurableStore({ ...files, pageSize: PAGE, checkpointWalBytes: 1 << 30 });
      for (let r = 0; r < 20; r++) await commitRound(store, r);
      faults.quotaBytes = faults.used() + 8 * 1024; // room for a few commits, not for the checkpoint
      await expect(store.checkpoint()).rejects.toMatchObject({ code: 'STORAGE_QUOTA' });
      // The store goes on: the WAL holds everything. (After a short write the disk may be full, so
      // the commit may fail too, with the same typed error.)
      let acked = contents(store);
      const tx = store.transaction();
      tx.put(enc.encode('small'), new Uint8Array(10));
      const expected = contents(store);
      try {
        await tx.commit();
        acked = expected;
        store.checkIntegrity();
        // Closing tries the checkpoint again, fails the same way, and says nothing is lost.
        await expect(store.close()).rejects.toMatchObject({ code: 'STORAGE_QUOTA', message: expect.stringMatching(/safe/) });
      } catch (e) {
        expect(e).toMatchObject({ code: 'STORAGE_QUOTA' });
        await store.close();
      }
      const files2 = reopen(files);
      const again = openDurableStore(files2);
      again.checkIntegrity();
      expect(contents(again)).toEqual(acked);
      // With space again, it checkpoints and closes cleanly.
      await commitRound(again, 21, 5);
      const later = contents(again);
      await again.close();
      const third = openDurableStore(reopen(files2));
      expect(contents(third)).toEqual(later);
      third.checkIntegrity();
    });
  }

  it('a quota failure on a commit rejects it with STORAGE_QUOTA and keeps earlier commits', async () => {
    const faults = new Faults({ quotaMode: 'short' });
    const files = { data: new MemoryBlockFile(faults), wal: new MemoryBlockFile(faults) };
    const store = openDurableStore({ ...files, pageSize: PAGE, checkpointWalBytes: 1 << 30 });
    for (let r = 0; r < 5; r++) await commitRound(store, r);
    const acked = contents(store);
    faults.quotaBytes = faults.used() + 100;
    await expect(commitRound(store, 5)).rejects.toMatchObject({ code: 'STORAGE_QUOTA' });
    await store.close();
    const again = openDurableStore(reopen(files));
    again.checkIntegrity();
    expect(contents(again)).toEqual(acked);
  });
});
