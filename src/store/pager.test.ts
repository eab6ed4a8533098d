/**
 * The pager's page cache on its own: CLOCK eviction within the budget, second chances for pages in
 * use, dirty pages written before they leave, and pages freed or replaced while cached.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockFile } from './blockfile.ts';
import { mulberry32 } from '../util/random.ts';
import { type CachedPage, PAGE_HEADER, Pager } from './pager.ts';

const SIZE = 512;

/** A page holding one number after the header. */
class NumberPage implements CachedPage {
  dirty = false;
  ref = false;
  constructor(
    readonly id: number,
    readonly value: number,
  ) {}
  encode(out: Uint8Array, view: DataView): void {
    out.fill(0);
    view.setUint32(PAGE_HEADER, this.value, true);
  }
}

/** A memory file that counts its write calls. */
class CountingFile extends MemoryBlockFile {
  writes = 0;
  override write(offset: number, data: Uint8Array): void {
    this.writes++;
    super.write(offset, data);
  }
}

function pager(capacityPages: number, file = new MemoryBlockFile()) {
  let loads = 0;
  const p = new Pager(file, SIZE, capacityPages * SIZE, 2, { head: 0, freeCount: 0, pendingCount: 0 }, (id, _bytes, view) => {
    loads++;
    return new NumberPage(id, view.getUint32(PAGE_HEADER, true));
  });
  return { p, loads: () => loads };
}

/** What each page should hold: a new number for every page added (freed ids are reused). */
const expected = new Map<number, number>();
let serial = 0;

/** Adds `n` fresh pages, evicting as the store does after each. */
function fill(p: Pager, n: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = p.allocate();
    expected.set(id, ++serial);
    p.add(new NumberPage(id, serial));
    p.evict();
    ids.push(id);
  }
  return ids;
}

describe('Pager cache', () => {
  it('stays within its budget and writes dirty pages before they leave', () => {
    const { p, loads } = pager(16);
    const ids = fill(p, 200);
    expect(p.cachedPages).toBeLessThanOrEqual(16);
    for (const id of ids) {
      expect((p.get(id) as NumberPage).value).toBe(expected.get(id));
      p.evict();
      expect(p.cachedPages).toBeLessThanOrEqual(16);
    }
    expect(loads()).toBeGreaterThan(150); // most were evicted and read back from the file
  });

  it('writes the dirty pages it evicts together: one write per run of neighbours', () => {
    const file = new CountingFile();
    const { p } = pager(16, file);
    const add = (n: number) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = p.allocate();
        expected.set(id, ++serial);
        p.add(new NumberPage(id, serial));
        ids.push(id);
      }
      return ids;
    };
    const first = add(24); // pages 2..25, dirty
    p.evict();
    expect(p.cachedPages).toBe(16);
    expect(file.writes).toBe(1); // eight neighbours left, in one write
    expect(first.filter((id) => p.peek(id)).length).toBe(16);
    expect(p.writeBack(100)).toBe(false);
    expect(file.writes).toBe(2); // the other sixteen, in one write too
    const more = add(8);
    p.evict(); // the eight clean ones the hand meets first leave, nothing is written
    expect(file.writes).toBe(2);
    expect(p.cachedPages).toBe(16);
    for (const id of [...first, ...more]) expect((p.get(id) as NumberPage).value).toBe(expected.get(id));
  });

  it('gives a page in use a second chance: a hot page survives a pass over cold ones', () => {
    const { p, loads } = pager(16);
    const ids = fill(p, 300);
    const hot = ids[7]!;
    p.get(hot);
    p.evict();
    const before = loads();
    for (const id of ids) {
      if (id === hot) continue;
      p.get(id);
      p.evict();
      expect(p.peek(hot), `after reading page ${id}`).toBeDefined();
      p.get(hot); // touched between every cold read
    }
    // Every cold page was a miss but those still cached from the fill; the hot one never was.
    expect(loads() - before).toBeGreaterThanOrEqual(ids.length - 1 - 16);
  });

  it('keeps pages freed or replaced while cached out of its count', () => {
    const { p } = pager(32);
    const ids = fill(p, 20);
    // Free and replace pages while the cache is within budget: stale places pile up in the CLOCK.
    for (let round = 0; round < 50; round++) {
      for (const id of ids.splice(0, 5)) p.free(id);
      ids.push(...fill(p, 5));
    }
    expect(p.cachedPages).toBe(20);
    const more = fill(p, 500);
    expect(p.cachedPages).toBeLessThanOrEqual(32);
    for (const id of [...ids, ...more]) expect((p.get(id) as NumberPage).value).toBe(expected.get(id));
  });

  it('loses no page under random frees, reuses, reads and evictions', () => {
    const seed = Number(process.env['JAZZ_SEED'] ?? Math.floor(Math.random() * 1e9));
    console.log(`pager churn seed ${seed} (replay: JAZZ_SEED=${seed})`);
    const rand = mulberry32(seed);
    const { p } = pager(24);
    const live = fill(p, 40);
    for (let step = 0; step < 4000; step++) {
      const r = rand();
      if (r < 0.25 && live.length > 5) {
        const [id] = live.splice(Math.floor(rand() * live.length), 1);
        p.free(id!);
        expected.delete(id!);
      } else if (r < 0.5) live.push(...fill(p, 1 + Math.floor(rand() * 3)));
      else {
        const id = live[Math.floor(rand() * live.length)]!;
        expect((p.get(id) as NumberPage).value, `page ${id} at step ${step}`).toBe(expected.get(id));
        p.evict();
      }
      expect(p.cachedPages).toBeLessThanOrEqual(24);
    }
    for (const id of live) expect((p.get(id) as NumberPage).value).toBe(expected.get(id));
  });
});
