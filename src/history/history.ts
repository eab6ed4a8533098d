/**
 * A row's history as people use it: the list of its versions, the row as it stood at a version,
 * the concurrent edits that lost, and the writes that put an older state back (revert, undo of a
 * batch). Everything here is a function of the versions a replica holds, so two replicas holding
 * the same versions give the same answers.
 *
 * Decisions:
 * - Versions of rejected batches stay in storage but are left out everywhere here, as they are
 *   left out of the visible state.
 * - `at` is a `Date` (wall-clock part of the version's HLC timestamp). Versions are listed oldest
 *   first: by timestamp, then version id, the order the merge uses.
 * - `tier` is how far the version's batch is known to have got: a local batch's record says; a
 *   version received from a server was accepted there, and is reported at `global`.
 * - Reverting to a version makes the row read as it did just after that version was written (the
 *   merge of the version and its ancestors): every field that differs now is written, also one
 *   changed since by someone else, which is what a revert is for. Undoing a batch
 *   (`revertBatchOps`) is gentler: it puts back only the fields the batch set, and leaves alone a
 *   field set again since.
 * - A conflict is a field for which a version that set it is neither the winner nor one of its
 *   ancestors, and no later version on its own line set that field again: an edit that was
 *   concurrent with the winning one and lost to it under last-writer-wins.
 */
import { MAIN, type Engine, type Tier, type WriteOp } from '../engine/engine.ts';
import type { CatalogueTable, ViewTable } from '../schema/catalogue.ts';
import { maskHas, mergeVersion, valuesEqual, type RowVersion, type VisibleState } from '../rows/version.ts';
import { hlcMillis } from '../clock/hlc.ts';
import { JazzError } from '../util/errors.ts';

export interface HistoryEntry {
  readonly versionId: string;
  readonly parents: readonly string[];
  /** The user the version was written as. */
  readonly author: string;
  /** Who wrote it for `author` (`admin`, for the backend's `onBehalfOf`), when not the author. */
  readonly via?: string;
  readonly at: Date;
  /** The fields the version set, under the schema version's names. */
  readonly changed: Readonly<Record<string, unknown>>;
  /** Whether the version deletes the row (or, after a delete, restores it when false). */
  readonly deleted: boolean;
  readonly batchId: string;
  readonly tier: Tier;
}

export interface ConflictSide {
  readonly value: unknown;
  readonly author: string;
  readonly at: Date;
  readonly versionId: string;
}

export interface FieldConflict {
  readonly field: string;
  readonly winner: ConflictSide;
  readonly losers: readonly ConflictSide[];
}

/** Timestamp, then version id: the order in which the merge settles ties. */
export function byStamp(a: RowVersion, b: RowVersion): number {
  return a.ts - b.ts || (a.versionId < b.versionId ? -1 : a.versionId > b.versionId ? 1 : 0);
}

/** The visible state of a set of versions of one row (undefined for none). */
export function mergeAll(cat: CatalogueTable, versions: readonly RowVersion[]): VisibleState | undefined {
  const sorted = [...versions].sort(byStamp);
  const parents = new Set(sorted.flatMap((v) => v.parents));
  let state: VisibleState | undefined;
  for (const v of sorted) state = mergeVersion(cat, state, v, () => parents.has(v.versionId)).state;
  return state;
}

/** Which versions count: by default main's, not of a rejected batch (branches.ts `lineOf` for a branch). */
export type Line = (v: RowVersion) => boolean;

const mainLine =
  (engine: Engine): Line =>
  (v) =>
    v.branch === MAIN && !engine.isRejected(v.batchId);

/** The row's versions on a line, oldest first. */
export function liveVersions(engine: Engine, vt: ViewTable, id: string, on: Line = mainLine(engine)): RowVersion[] {
  return engine.history(engine.table(vt.table.name), id).filter(on).sort(byStamp);
}

/** The version ids a version descends from, itself included. */
export function ancestry(byId: ReadonlyMap<string, RowVersion>, versionId: string): Set<string> {
  const seen = new Set<string>();
  const stack = [versionId];
  while (stack.length) {
    const vid = stack.pop()!;
    if (seen.has(vid)) continue;
    seen.add(vid);
    for (const p of byId.get(vid)?.parents ?? []) stack.push(p);
  }
  return seen;
}

export function historyOf(engine: Engine, vt: ViewTable, id: string, on?: Line): HistoryEntry[] {
  const tiers = new Map<string, Tier>();
  const tierOf = (batchId: string): Tier => {
    let t = tiers.get(batchId);
    if (!t) {
      const rec = engine.batchRecord(batchId);
      t = rec ? rec.tier : 'global';
      tiers.set(batchId, t);
    }
    return t;
  };
  return liveVersions(engine, vt, id, on).map((v) => {
    const changed: Record<string, unknown> = {};
    for (const c of vt.columns) if (maskHas(v.mask, c.col.no)) changed[c.name] = v.values[c.col.name] ?? null;
    return Object.freeze({
      versionId: v.versionId,
      parents: v.parents,
      author: v.author,
      ...(v.via !== undefined ? { via: v.via } : {}),
      at: new Date(hlcMillis(v.ts)),
      changed: Object.freeze(changed),
      deleted: v.deleted,
      batchId: v.batchId,
      tier: tierOf(v.batchId),
    });
  });
}

const side = (v: RowVersion, column: string): ConflictSide => ({ value: v.values[column] ?? null, author: v.author, at: new Date(hlcMillis(v.ts)), versionId: v.versionId });

export function conflictsOf(engine: Engine, vt: ViewTable, id: string, on?: Line): FieldConflict[] {
  const versions = liveVersions(engine, vt, id, on);
  const state = mergeAll(vt.table, versions);
  if (!state) return [];
  const byId = new Map(versions.map((v) => [v.versionId, v]));
  const children = new Map<string, RowVersion[]>();
  for (const v of versions) for (const p of v.parents) children.set(p, [...(children.get(p) ?? []), v]);
  /** Whether a version below `v` (not `v`) sets the slot again. */
  const setAgainBelow = (v: RowVersion, slot: number): boolean => {
    const stack = [...(children.get(v.versionId) ?? [])];
    const seen = new Set<string>();
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d.versionId)) continue;
      seen.add(d.versionId);
      if (maskHas(d.mask, slot)) return true;
      stack.push(...(children.get(d.versionId) ?? []));
    }
    return false;
  };
  const out: FieldConflict[] = [];
  for (const c of vt.columns) {
    const slot = c.col.no;
    const winner = byId.get(state.stamps[slot]?.vid ?? '');
    if (!winner) continue;
    const seenByWinner = ancestry(byId, winner.versionId);
    const value = state.values[c.col.name] ?? null;
    const losers = versions.filter((v) => maskHas(v.mask, slot) && !seenByWinner.has(v.versionId) && !valuesEqual(v.values[c.col.name] ?? null, value) && !setAgainBelow(v, slot));
    if (losers.length) out.push({ field: c.name, winner: side(winner, c.col.name), losers: losers.map((v) => side(v, c.col.name)) });
  }
  return out;
}

/** The writes that make the row read as it did at `versionId` (nothing when it already does). */
export function revertOps(engine: Engine, vt: ViewTable, id: string, versionId: string, on?: Line): WriteOp[] {
  const versions = liveVersions(engine, vt, id, on);
  const byId = new Map(versions.map((v) => [v.versionId, v]));
  if (!byId.has(versionId)) {
    throw new JazzError('ROW_NOT_FOUND', `row ${id} of "${vt.name}" has no version "${versionId}" here (db.history lists its versions)`, { table: vt.name, id, versionId });
  }
  const seen = ancestry(byId, versionId);
  const target = mergeAll(
    vt.table,
    versions.filter((v) => seen.has(v.versionId)),
  )!;
  const now = mergeAll(vt.table, versions)!;
  return toward(vt, id, now, target, () => true);
}

/**
 * The writes that undo a batch: each field it set goes back to the value it replaced, unless a
 * later version has set it since; a row it created is deleted, one it deleted is restored.
 */
export function revertBatchOps(engine: Engine, view: { ofInternal(t: string): ViewTable | undefined }, batchId: string, on?: Line): WriteOp[] {
  const items = engine.batchVersions(batchId);
  if (items.length === 0) {
    // Not written here: look for it among the versions received.
    for (const t of engine.tables.values()) for (const v of engine.versions(t.name)) if (v.batchId === batchId) items.push({ table: t.name, version: v });
  }
  if (items.length === 0) throw new JazzError('BATCH_NOT_FOUND', `no batch "${batchId}" is known here`, { batchId });
  if (engine.isRejected(batchId)) return [];
  const ops: WriteOp[] = [];
  for (const { table, version: v } of items) {
    const vt = view.ofInternal(table);
    if (!vt) continue; // a table this schema version does not have
    const versions = liveVersions(engine, vt, v.rowId, on);
    const byId = new Map(versions.map((x) => [x.versionId, x]));
    const before = ancestry(byId, v.versionId);
    before.delete(v.versionId);
    const prior = mergeAll(
      vt.table,
      versions.filter((x) => before.has(x.versionId)),
    );
    const now = mergeAll(vt.table, versions)!;
    if (!prior) {
      if (!now.deleted) ops.push({ kind: 'delete', table: vt.name, id: v.rowId });
      continue;
    }
    const untouched = (slot: number) => maskHas(v.mask, slot) && now.stamps[slot]?.vid === v.versionId;
    ops.push(...toward(vt, v.rowId, now, { ...prior, deleted: maskHas(v.mask, 0) && now.stamps[0]?.vid === v.versionId ? prior.deleted : now.deleted }, untouched));
  }
  return ops;
}

/** Writes from `now` toward `target`, for the fields `take` allows. */
function toward(vt: ViewTable, id: string, now: VisibleState, target: VisibleState, take: (slot: number) => boolean): WriteOp[] {
  if (target.deleted) return now.deleted ? [] : [{ kind: 'delete', table: vt.name, id }];
  const values: Record<string, unknown> = {};
  for (const c of vt.columns) {
    const v = target.values[c.col.name] ?? null;
    if (take(c.col.no) && !valuesEqual(now.values[c.col.name] ?? null, v)) values[c.name] = v;
  }
  const ops: WriteOp[] = [];
  if (now.deleted) ops.push({ kind: 'restore', table: vt.name, id });
  if (Object.keys(values).length) ops.push({ kind: 'update', table: vt.name, id, values });
  return ops;
}
