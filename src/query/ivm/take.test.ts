/**
 * Take on its own, over an upstream held in an array: after every change (and after every batch of
 * changes pushed in a random order once all of them are upstream, as a transaction's are) the
 * window must be exactly the slice of upstream's order; and rows leaving the window must mostly be
 * replaced from the rows held past it, not by walking upstream again.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';
import { AHEAD, Take } from './take.ts';

const cmp = (a: Row, b: Row): number => (a['v'] as number) - (b['v'] as number) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Upstream: the rows in order, how often it was walked and how many rows the walks read. */
class ArrayInput implements Input {
  rows: Row[] = [];
  walks = 0;
  read = 0;
  *fetch(start?: Start): Iterable<Row> {
    this.walks++;
    const sorted = [...this.rows].sort(cmp);
    const from = start ? sorted.findIndex((r) => (start.exclusive ? cmp(r, start.row) > 0 : cmp(r, start.row) >= 0)) : 0;
    for (const r of from < 0 ? [] : sorted.slice(from)) {
      this.read++;
      yield r;
    }
  }
  setOutput(): void {}
  destroy(): void {}
}

/** What the window shows, kept from the changes Take pushes. */
class Collect implements Output {
  readonly rows = new Map<string, Row>();
  push(c: Change): void {
    if (c.type === 'remove') {
      expect(this.rows.has(c.row.id)).toBe(true);
      this.rows.delete(c.row.id);
    } else {
      if (c.type === 'add') expect(this.rows.has(c.row.id)).toBe(false);
      this.rows.set(c.row.id, c.row);
    }
  }
}

function run(seed: number, size: number, offset: number, limit: number, steps: number, phases = true): { walks: number; left: number } {
  const r = mulberry32(seed);
  const up = new ArrayInput();
  let next = 0;
  const row = (): Row => ({ id: `r${String(next++).padStart(6, '0')}`, v: Math.floor(r() * size * 2) });
  for (let i = 0; i < size; i++) up.rows.push(row());
  const take = new Take(up, cmp, limit, offset);
  const out = new Collect();
  take.setOutput(out);
  const expectWindow = (where: string) => {
    const want = [...up.rows].sort(cmp).slice(offset, offset + limit);
    expect({ where, seed, window: [...take.fetch()] }).toEqual({ where, seed, window: want });
    expect([...out.rows.values()].sort(cmp)).toEqual(want);
  };
  for (const r0 of take.fetch()) out.rows.set(r0.id, r0);
  expectWindow('hydrated');
  const walksAfterHydrate = up.walks;
  let left = 0;
  /** One change made upstream to a row no other change of the batch touched; the change to push. */
  const change = (touched: Set<string>, adds: number): Change => {
    const k = r();
    if (k < adds || up.rows.length <= touched.size) {
      const added = row();
      up.rows.push(added);
      return { type: 'add', row: added };
    }
    let i = Math.floor(r() * up.rows.length);
    while (touched.has(up.rows[i]!.id)) i = (i + 1) % up.rows.length;
    const old = up.rows[i]!;
    if (k < adds + 0.2) {
      up.rows.splice(i, 1);
      return { type: 'remove', row: old };
    }
    // An edit: mostly a row of the window moving (a list's usual change), else any row.
    const sorted = [...up.rows].sort(cmp);
    const inWindow = sorted.slice(offset, offset + limit).filter((x) => !touched.has(x.id));
    const pick = r() < 0.7 && inWindow.length > 0 ? inWindow[Math.floor(r() * inWindow.length)]! : old;
    const edited = { id: pick.id, v: Math.floor(r() * size * 2) };
    up.rows[up.rows.indexOf(pick)] = edited;
    return { type: 'edit', old: pick, row: edited };
  };
  for (let step = 0; step < steps; step++) {
    // Upstream grows over the first third (past all the window holds), then shrinks (below it).
    const adds = !phases ? 0.3 : step < steps / 3 ? 0.7 : step < (2 * steps) / 3 ? 0.3 : 0.05;
    if (phases && (step === 5 || step === Math.floor(steps / 2))) {
      // A quiet moment's prefetch holds more rows past the window and changes nothing in it.
      take.prefetch();
      expectWindow(`prefetch at step ${step}`);
    }
    const before = new Set([...take.fetch()].map((x) => x.id));
    const batch = r() < 0.2 ? 1 + Math.floor(r() * 6) : 1;
    const changes: Change[] = [];
    const touched = new Set<string>();
    for (let j = 0; j < batch; j++) {
      const c = change(touched, adds);
      touched.add(c.row.id);
      changes.push(c);
    }
    // A batch's changes arrive after all of them are upstream, in any order (one change a row:
    // the engine pushes the changes of one row in the order they were made).
    for (let j = changes.length - 1; j > 0; j--) {
      const o = Math.floor(r() * (j + 1));
      [changes[j], changes[o]] = [changes[o]!, changes[j]!];
    }
    for (const c of changes) take.push(c);
    expectWindow(`step ${step}`);
    const after = new Set([...take.fetch()].map((x) => x.id));
    for (const id of before) if (!after.has(id)) left++;
  }
  return { walks: up.walks - walksAfterHydrate, left };
}

describe('Take', () => {
  const seed = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));
  it(`keeps its window equal to upstream's slice (seed ${seed})`, () => {
    console.log(`take seed ${seed}`);
    for (let i = 0; i < 40; i++) {
      const r = mulberry32(seed + i);
      const size = [0, 3, 20, 60, 200][Math.floor(r() * 5)]!;
      const limit = [0, 1, 5, 20, 50][Math.floor(r() * 5)]!;
      const offset = r() < 0.3 ? Math.floor(r() * 10) : 0;
      run(seed + i, size, offset, limit, 240);
    }
  });

  it('replaces most rows that leave the window from the rows it holds past it', () => {
    // A window of 20 over 2,000 rows, its rows edited away one at a time: without rows held past
    // the window every departure is a walk of upstream.
    const { walks, left } = run(7, 2000, 0, 20, 400, false);
    expect(left).toBeGreaterThan(200);
    expect(walks).toBeLessThan(left / (AHEAD / 4));
  });

  it('reads no more than before for the first rows that leave: held rows grow with each walk', () => {
    const up = new ArrayInput();
    for (let i = 0; i < 200; i++) up.rows.push({ id: `r${String(i).padStart(3, '0')}`, v: i });
    const take = new Take(up, cmp, 10, 0);
    const out = new Collect();
    take.setOutput(out);
    for (const r of take.fetch()) out.rows.set(r.id, r);
    expect(out.rows.size).toBe(10);
    expect(up.read).toBe(10); // hydration reads the window only
    const reads: number[] = [];
    for (let k = 0; k < 8; k++) {
      // The first row of the window moves past everything.
      const first = [...take.fetch()][0]!;
      const moved = { id: first.id, v: 1000 + k };
      up.rows[up.rows.findIndex((r) => r.id === first.id)] = moved;
      const before = up.read;
      take.push({ type: 'edit', old: first, row: moved });
      reads.push(up.read - before);
    }
    // Walks of 1, 2, 3, 5 rows (the one needed and 0, 1, 2, 4 more), none in between.
    expect(reads).toEqual([1, 2, 0, 3, 0, 0, 5, 0]);
  });

  it('holds AHEAD rows past the window after a prefetch: the next AHEAD rows to leave cost no read', () => {
    const up = new ArrayInput();
    for (let i = 0; i < 200; i++) up.rows.push({ id: `r${String(i).padStart(3, '0')}`, v: i });
    const take = new Take(up, cmp, 10, 0);
    const out = new Collect();
    let pushed = 0;
    take.setOutput({ push: (c) => (pushed++, out.push(c)) });
    for (const r of take.fetch()) out.rows.set(r.id, r);
    take.prefetch();
    expect(up.read).toBe(10 + AHEAD); // one walk of AHEAD rows after the window
    expect(pushed).toBe(0); // the window did not change
    take.prefetch();
    expect(up.read).toBe(10 + AHEAD); // once is enough
    for (let k = 0; k < AHEAD + 1; k++) {
      const first = [...take.fetch()][0]!;
      const moved = { id: first.id, v: 1000 + k };
      up.rows[up.rows.findIndex((r) => r.id === first.id)] = moved;
      take.push({ type: 'edit', old: first, row: moved });
      expect([...take.fetch()].map((r) => r['v'])).toEqual(Array.from({ length: 10 }, (_, i) => k + 1 + i));
    }
    // AHEAD departures from the held rows; the one after them walks again.
    expect(up.walks).toBe(3);
    // Over an upstream it holds entirely, a prefetch reads nothing.
    const small = new ArrayInput();
    for (let i = 0; i < 5; i++) small.rows.push({ id: `s${i}`, v: i });
    const whole = new Take(small, cmp, 10, 0);
    [...whole.fetch()];
    whole.prefetch();
    expect(small.walks).toBe(1);
  });
});
