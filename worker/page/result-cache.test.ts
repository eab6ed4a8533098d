/**
 * The page's copy of a live query's result (result-cache.ts), patched by random deltas, always
 * equals the rows sorted afresh by the query's order; big deltas (merged) and small ones (binary
 * insertion) alike. Seeded: the seed is printed.
 */
import { describe, expect, it } from 'vitest';
import { rowComparator } from '../../src/query/compare.ts';
import type { QueryAst } from '../../src/query/ast.ts';
import type { WireRow } from '../protocol.ts';
import { ResultCache } from './result-cache.ts';
import { mulberry32 } from '../../src/util/random.ts';

const ast = { table: 'items', orderBy: [{ column: 'n', direction: 'asc' }] } as unknown as QueryAst;
const cmp = rowComparator(ast.orderBy) as unknown as (a: WireRow, b: WireRow) => number;

describe('ResultCache', () => {
  it('stays sorted and complete through random deltas of every size', () => {
    // (This folder is type-checked against the DOM library, without Node's types.)
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
    const seed = Number(env['SEED'] ?? Date.now() % 1e9);
    console.log(`[result-cache] seed ${seed}`);
    const rand = mulberry32(seed);
    const cache = new ResultCache(ast);
    const truth = new Map<string, WireRow>();
    let next = 0;
    cache.reset([]);
    for (let step = 0; step < 200; step++) {
      const size = rand() < 0.2 ? Math.floor(rand() * 500) : Math.floor(rand() * 5);
      const ids = [...truth.keys()];
      const removed = new Set<string>();
      const changed = new Map<string, WireRow>();
      for (let k = 0; k < size && ids.length; k++) {
        const id = ids[Math.floor(rand() * ids.length)]!;
        if (rand() < 0.5) {
          if (!changed.has(id)) removed.add(id);
        } else if (!removed.has(id)) changed.set(id, { id, n: Math.floor(rand() * 100) } as WireRow);
      }
      const added: WireRow[] = [];
      for (let k = 0; k < size; k++) added.push({ id: `r${String(next++).padStart(6, '0')}`, n: Math.floor(rand() * 100) } as WireRow);
      const d = cache.apply(added, [...removed], [...changed.values()]);
      for (const id of removed) truth.delete(id);
      for (const [id, r] of changed) truth.set(id, r);
      for (const r of added) truth.set(r.id, r);
      const want = [...truth.values()].sort(cmp);
      expect(cache.rows.map((r) => r.id)).toEqual(want.map((r) => r.id));
      expect(d.removed.map((r) => r.id).sort()).toEqual([...removed].sort());
      expect(d.added.length).toBe(added.length);
      expect(d.changed.length).toBe(changed.size);
    }
  });
});
