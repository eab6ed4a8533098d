/**
 * Branches: named lines of versions beside `main`. A branch starts from another (main or a
 * branch) at a moment; reading on it sees that line as it stood then plus the branch's own writes;
 * its writes stay on it until merged.
 *
 * Decisions:
 * - Main is the line the engine keeps visible and indexed. A branch's versions are stored in the
 *   rows' history with their branch's name and listed per branch (`Engine.branchRows`); they never
 *   touch main's visible entries or indexes. Reading on a branch is a read of the past
 *   (src/history/as-of.ts: main as it stood at the fork, rows unchanged since as they are) with
 *   the rows the branch line touched merged again from the versions on that line.
 * - A version is on branch B's line when it was written on B, or when it is on the line B started
 *   from and not later than B's fork moment (every HLC tick of that millisecond).
 * - Branches sync through a server that keeps them (its `welcome` says so): a branch's batches
 *   are pushed like main's, with the records of the branch's line, and a subscription on a branch
 *   gets the rows its line touched (src/sync/client.ts, server/branch-sync.ts). A branch name is
 *   one branch per app: the first record a server stores for a name is the branch; a push that
 *   says the name started elsewhere is refused (`BRANCH_CONFLICT`), and a replica that made its
 *   own keeps it (`adoptBranches`). `Engine.rowVersions` (main's anti-entropy) leaves branch
 *   versions out; they travel with their line.
 * - A merge writes, as one batch on the target, the fields the source changed since the fork
 *   (and rows it created or deleted). Where the target changed the same field since the fork too,
 *   that is a conflict, decided by `resolve`. The merge's versions are authored by whoever merges
 *   (the server checks authors against the session); the source branch keeps each change's
 *   author in its history.
 * - The branch record (`metaKey('branch', name)`) holds where it started; deleting a branch drops
 *   the record and its versions. A branch another branch started from cannot be deleted first.
 */
import type { Engine, TableRuntime, WriteOp } from '../engine/engine.ts';
import { MAIN } from '../engine/engine.ts';
import { metaKey } from '../engine/keyspace.ts';
import type { ViewTable } from '../schema/catalogue.ts';
import { sysValues, valuesEqual, type RowVersion } from '../rows/version.ts';
import { HLC_COUNTER } from '../clock/hlc.ts';
import { JazzError } from '../util/errors.ts';
import { utf8Decode, utf8Encode } from '../util/utf8.ts';
import { prefixEnd } from '../store/keys.ts';
import { byStamp, mergeAll } from './history.ts';
import { rowsAt } from './as-of.ts';

export interface BranchInfo {
  readonly name: string;
  /** The line it started from: `main` or another branch. */
  readonly from: string;
  /** The moment it started from that line (epoch milliseconds). */
  readonly at: number;
}

export interface MergeChange {
  readonly table: string;
  readonly id: string;
  /** A column, or `$deleted` for a row created, deleted or restored. */
  readonly field: string;
  /** The value on the source branch (for `$deleted`: whether the row is deleted there). */
  readonly from: unknown;
  /** The value on the target now. */
  readonly into: unknown;
  /** The target changed this field since the fork too. */
  readonly conflict: boolean;
}

type Row = Record<string, unknown> & { id: string };

export function checkBranchName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 100 || /[\u0000-\u001f]/.test(name)) {
    throw new JazzError('OPTION_INVALID', `a branch name is a string of 1 to 100 characters with no control characters, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function readBranch(engine: Engine, name: string): BranchInfo | undefined {
  if (name === MAIN) return undefined;
  const b = engine.store.get(metaKey('branch', name));
  return b && (JSON.parse(utf8Decode(b)) as BranchInfo);
}

function needBranch(engine: Engine, name: string): BranchInfo {
  const b = readBranch(engine, name);
  if (!b) throw new JazzError('BRANCH_NOT_FOUND', `there is no branch "${name}" here; make it with db.branch(name, { from })`, { branch: name });
  return b;
}

export function listBranches(engine: Engine): BranchInfo[] {
  const p = metaKey('branch');
  const out: BranchInfo[] = [];
  for (const e of engine.store.scan({ gte: p, lt: prefixEnd(p) })) out.push(JSON.parse(utf8Decode(e.value)) as BranchInfo);
  return out;
}

export async function createBranch(engine: Engine, name: string, from: string, at: number): Promise<BranchInfo> {
  checkBranchName(name);
  if (name === MAIN) throw new JazzError('OPTION_INVALID', '"main" is the main line, not a branch to make');
  if (from !== MAIN) needBranch(engine, from);
  const existing = readBranch(engine, name);
  if (existing) {
    if (existing.from !== from) throw new JazzError('BRANCH_CONFLICT', `branch "${name}" exists already, started from "${existing.from}"`, { branch: name });
    return existing;
  }
  const info: BranchInfo = { name, from, at: Math.floor(at) };
  const tx = engine.store.transaction();
  tx.put(metaKey('branch', name), utf8Encode(JSON.stringify(info)));
  await tx.commit();
  return info;
}

export async function deleteBranch(engine: Engine, name: string): Promise<void> {
  needBranch(engine, name);
  const child = listBranches(engine).find((b) => b.from === name);
  if (child) throw new JazzError('BRANCH_CONFLICT', `branch "${child.name}" started from "${name}"; delete it first`, { branch: name });
  await engine.purgeBranch(name);
}

/**
 * Records of branches that came with versions (`name` first, then the branches it started from):
 * stored here when missing, root first. A branch this replica made from the same line at another
 * moment takes the server's start (both opened "draft" from main; the server's came first), and
 * so does one from another line while nothing was written on it here; one from another line with
 * writes is kept, and returned (the server refuses its writes as `BRANCH_CONFLICT`; they are undone).
 */
export function adoptBranches(engine: Engine, records: readonly BranchInfo[]): BranchInfo[] {
  const differ: BranchInfo[] = [];
  const missing: BranchInfo[] = [];
  for (const r of [...records].reverse()) {
    const here = readBranch(engine, r.name);
    if (!here) missing.push(r);
    else if (here.from !== r.from || here.at !== r.at) {
      const written = [...engine.tables.keys()].some((t) => engine.branchRows(r.name, t).length > 0);
      if (written && here.from !== r.from) differ.push(r);
      else missing.push(r);
    }
  }
  putBranches(engine, missing);
  return differ;
}

/**
 * Writes branch records in one transaction, visible at once (a failed commit stops the store,
 * which says so): records that came from elsewhere, adopted by a replica or stored by the server.
 */
export function putBranches(engine: Engine, records: readonly BranchInfo[]): void {
  if (records.length === 0) return;
  const tx = engine.store.transaction();
  for (const r of records) tx.put(metaKey('branch', r.name), utf8Encode(JSON.stringify({ name: r.name, from: r.from, at: Math.floor(r.at) } satisfies BranchInfo)));
  tx.commit().catch(() => {});
}

/** The records of `name`'s line, as sent with its versions: `name` first, back to main. */
export function branchLine(engine: Engine, name: string): BranchInfo[] {
  return chainOf(engine, name);
}

/** The branches from `name` back to main: `name` first. */
function chainOf(engine: Engine, name: string): BranchInfo[] {
  const chain: BranchInfo[] = [];
  for (let b = needBranch(engine, name); ; b = needBranch(engine, b.from)) {
    chain.push(b);
    if (b.from === MAIN) return chain;
    if (chain.length > 100) throw new JazzError('STORAGE_CORRUPT', `branch "${name}" starts from a loop of branches`);
  }
}

const limitOf = (ms: number) => ms * HLC_COUNTER + (HLC_COUNTER - 1);

/** Whether a version is on the line of `name` (see the top). */
export function lineOf(engine: Engine, name: string): (v: RowVersion) => boolean {
  if (name === MAIN) return (v) => v.branch === MAIN && !engine.isRejected(v.batchId);
  const chain = chainOf(engine, name);
  // A version of chain[i] counts if not later than every fork moment below it (towards `name`).
  const limits = new Map<string, number>();
  let limit = Infinity;
  for (const b of chain) {
    limits.set(b.name, limit);
    limit = Math.min(limit, limitOf(b.at));
  }
  limits.set(MAIN, limit);
  return (v) => {
    const l = limits.get(v.branch);
    return l !== undefined && v.ts <= l && !engine.isRejected(v.batchId);
  };
}

/** A row's versions on a line, oldest first. */
export function versionsOn(engine: Engine, t: TableRuntime, id: string, name: string): RowVersion[] {
  const on = lineOf(engine, name);
  return engine.history(t, id).filter(on).sort(byStamp);
}

/** How a row reads on a branch, for writing there (planWrite's `on`). */
export function stateOn(engine: Engine, t: TableRuntime, id: string, name: string): { deleted: boolean; values: Record<string, unknown>; heads: string[] } | undefined {
  const s = mergeAll(t.cat, versionsOn(engine, t, id, name));
  return s && { deleted: s.deleted, values: s.values, heads: s.heads };
}

/** The rows of a table on a branch, by id (system fields included). */
export function rowsOn(engine: Engine, table: string, name: string, ids?: readonly string[]): Map<string, Row> {
  const chain = chainOf(engine, name);
  const t = engine.table(table);
  const mainAt = Math.min(...chain.map((b) => b.at));
  const out = rowsAt(engine, table, mainAt, ids) as Map<string, Row>;
  const on = lineOf(engine, name);
  const touched = new Set(chain.flatMap((b) => engine.branchRows(b.name, table)));
  for (const id of touched) {
    if (ids && !ids.includes(id)) continue;
    const s = mergeAll(t.cat, engine.history(t, id).filter(on));
    if (s && !s.deleted) out.set(id, { id, ...s.values, ...sysValues(s) });
    else out.delete(id);
  }
  return out;
}

/**
 * What merging `from` into `into` would change: per row and field, where `from` changed it since
 * the fork (and its value differs on `into` now), and whether `into` changed it since too.
 */
export function mergePreview(engine: Engine, view: { tables: ReadonlyMap<string, ViewTable> }, from: string, into: string): MergeChange[] {
  const src = needBranch(engine, from);
  const onFrom = lineOf(engine, from);
  const onInto = lineOf(engine, into);
  // The fork: the line `from` started from, as it stood then.
  const limit = limitOf(src.at);
  const onBase = lineOf(engine, src.from);
  const atFork = (v: RowVersion) => v.ts <= limit && onBase(v);
  const out: MergeChange[] = [];
  for (const vt of view.tables.values()) {
    const t = engine.table(vt.table.name);
    for (const id of engine.branchRows(from, t.name).sort()) {
      const all = engine.history(t, id).sort(byStamp);
      const a = mergeAll(t.cat, all.filter(onFrom));
      const b = mergeAll(t.cat, all.filter(onInto));
      const base = mergeAll(t.cat, all.filter(atFork));
      if (!a) continue;
      const del = (s: typeof a | undefined) => s === undefined || s.deleted;
      if (del(a) !== del(b) && del(a) !== del(base)) out.push({ table: vt.name, id, field: '$deleted', from: del(a), into: del(b), conflict: del(b) !== del(base) });
      if (a.deleted) continue;
      for (const c of vt.columns) {
        const name = c.col.name;
        const va = a.values[name] ?? null;
        const vb = b && !b.deleted ? (b.values[name] ?? null) : undefined;
        const v0 = base && !base.deleted ? (base.values[name] ?? null) : undefined;
        if (v0 !== undefined && valuesEqual(va, v0)) continue; // not changed on `from`
        if (vb !== undefined && valuesEqual(va, vb)) continue; // the same on both already
        out.push({ table: vt.name, id, field: c.name, from: va, into: vb ?? null, conflict: vb !== undefined && v0 !== undefined && !valuesEqual(vb, v0) });
      }
    }
  }
  return out;
}

/** The writes that merge `from` into `into`, as `mergePreview` lists them, conflicts as `resolve` says. */
export function mergeOps(changes: readonly MergeChange[], resolve: (c: MergeChange) => 'from' | 'into'): WriteOp[] {
  const byRow = new Map<string, { table: string; id: string; deleted?: boolean; values: Record<string, unknown> }>();
  for (const c of changes) {
    if (c.conflict && resolve(c) !== 'from') continue;
    const key = `${c.table}:${c.id}`;
    let r = byRow.get(key);
    if (!r) byRow.set(key, (r = { table: c.table, id: c.id, values: {} }));
    if (c.field === '$deleted') r.deleted = c.from as boolean;
    else r.values[c.field] = c.from;
  }
  const ops: WriteOp[] = [];
  for (const r of byRow.values()) {
    if (r.deleted === true) ops.push({ kind: 'delete', table: r.table, id: r.id });
    else ops.push({ kind: 'upsert', table: r.table, id: r.id, values: r.values });
  }
  return ops;
}
