/**
 * Convergence: engines that receive the same set of versions, in any order and with duplicates,
 * show identical visible rows (byte for byte), and every version stays in history.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.ts';
import { createMemoryStore } from '../store/memory.ts';
import { todoApp as app, rng, seededBytes } from '../testing/fixtures.ts';
import type { RowVersion } from '../rows/version.ts';
import { toHex } from '../util/bytes.ts';

const SEEDS = Number(process.env.JAZZ_SEEDS ?? 20);
const FIRST = Number(process.env.JAZZ_SEED ?? Math.floor(Math.random() * 1e9));

function openEngine(r: () => number, clockSkew: number): Engine {
  let now = 1_700_000_000_000 + clockSkew;
  return Engine.open({ schema: app.$schema, store: createMemoryStore(), wall: () => (now += Math.floor(r() * 5)), random: seededBytes(r) });
}

function allVersions(e: Engine): { table: string; version: RowVersion }[] {
  const out: { table: string; version: RowVersion }[] = [];
  for (const table of ['projects', 'todos']) for (const version of e.versions(table)) out.push({ table, version });
  return out;
}

function snapshot(e: Engine): Record<string, string> {
  const out: Record<string, string> = {};
  for (const table of ['projects', 'todos']) {
    for (const id of e.rowIds(table)) out[`${table}/${id}`] = toHex(e.visibleBytes(e.table(table), id)!);
  }
  return out;
}

describe('convergence of concurrent writers', () => {
  for (let i = 0; i < SEEDS; i++) {
    const seed = FIRST + i;
    it(`seed ${seed}`, () => {
      console.log(`convergence seed ${seed} (replay: JAZZ_SEED=${seed} JAZZ_SEEDS=1)`);
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const writers = [0, 1, 2, 3].map((k) => openEngine(r, k * 3 - 4));
      // Shared starting rows, known to every writer.
      const p = writers[0]!.write([{ kind: 'insert', table: 'projects', values: { name: 'p' } }]).ids[0]!;
      const ids = writers[0]!.write(Array.from({ length: 6 }, (_, j) => ({ kind: 'insert' as const, table: 'todos', values: { title: `t${j}`, projectId: p } }))).ids;
      const base = allVersions(writers[0]!);
      for (const w of writers.slice(1)) w.applyVersions(base);
      // Rounds of concurrent edits, with partial exchanges between rounds.
      for (let round = 0; round < 8; round++) {
        for (const w of writers) {
          for (let k = 0; k < 3; k++) {
            const id = pick(ids);
            const state = w.getVisibleState(w.table('todos'), id)!;
            const op = r();
            if (op < 0.15) w.write([{ kind: state.deleted ? 'restore' : 'delete', table: 'todos', id }]);
            else if (!state.deleted) {
              const values: Record<string, unknown> = {};
              if (r() < 0.6) values.title = pick(['a', 'b', 'c', 'd']);
              if (r() < 0.5) values.done = r() < 0.5;
              if (r() < 0.4) values.priority = r() < 0.2 ? null : Math.floor(r() * 9);
              if (r() < 0.3) values.tags = ['x', 'y'].filter(() => r() < 0.5);
              w.write([{ kind: 'update', table: 'todos', id, values: Object.keys(values).length ? values : { title: 'z' } }]);
            }
          }
        }
        const from = pick(writers);
        const to = pick(writers);
        if (from !== to) to.applyVersions(allVersions(from));
      }
      // Everyone's versions, shuffled, duplicated, fed to fresh replicas in different orders.
      const everything = writers.flatMap(allVersions);
      const replicas = [0, 1, 2].map((k) => openEngine(r, 100 + k));
      const snapshots: Record<string, string>[] = [];
      for (const rep of replicas) {
        const items = [...everything, ...everything.filter(() => r() < 0.3)];
        for (let j = items.length - 1; j > 0; j--) {
          const x = Math.floor(r() * (j + 1));
          [items[j], items[x]] = [items[x]!, items[j]!];
        }
        // in several chunks, as if over several syncs
        while (items.length) rep.applyVersions(items.splice(0, 1 + Math.floor(r() * 20)));
        snapshots.push(snapshot(rep));
      }
      // Writers that then exchange everything converge too.
      for (const w of writers) w.applyVersions(everything);
      for (const w of writers) snapshots.push(snapshot(w));
      for (const snap of snapshots.slice(1)) expect(snap).toEqual(snapshots[0]);
      // History keeps every distinct version.
      const distinct = new Set(everything.map((v) => v.version.versionId));
      for (const rep of replicas) expect(new Set(allVersions(rep).map((v) => v.version.versionId))).toEqual(distinct);
      // And the visible values follow the rule: per field, the greatest (ts, version id) among versions that changed it.
      const rep = replicas[0]!;
      for (const id of ids) {
        const versions = everything.filter((v) => v.version.rowId === id).map((v) => v.version);
        const state = rep.getVisibleState(rep.table('todos'), id)!;
        const col = rep.table('todos').cat.byName.get('title')!;
        const writers = versions.filter((v) => (v.mask[col.no >> 3]! & (1 << (col.no & 7))) !== 0);
        writers.sort((a, b) => a.ts - b.ts || (a.versionId < b.versionId ? -1 : 1));
        expect(state.values.title).toBe(writers[writers.length - 1]!.values.title);
      }
    });
  }
});
