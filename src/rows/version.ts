/**
 * Row versions and visible rows.
 *
 * A row version is one flat record: engine fields (row id, version id, parents, branch, timestamp,
 * author, batch id, changed-field mask, deleted flag) followed by the user columns as the writer saw
 * the whole row. Field slot 0 is the deleted flag; slot n is the column with catalogue number n.
 *
 * The visible row is the current answer per (branch, row id). Its rule, per field: the value from the
 * version with the greatest (changed, timestamp, version id), where `changed` says whether the
 * version's mask holds the field. Versions that did change a field always beat those that merely
 * carried it; among those that did not (only before the row's first version has arrived) the latest
 * snapshot fills in. The rule is a maximum over the set of versions, so any arrival order, with or
 * without duplicates, gives the same visible row, byte for byte.
 */
import type { CatalogueTable } from '../schema/catalogue.ts';
import { ByteReader, ByteWriter } from '../util/binary.ts';
import { readRow, writeRow, type RowObject } from './row-codec.ts';
import { idText, isUuid, uuidToBytes } from './ids.ts';
import { compareStrings } from '../util/bytes.ts';
import { hlcMillis } from '../clock/hlc.ts';
import type { SysValues } from './system-fields.ts';

export const DELETED_SLOT = 0;

export interface RowVersion {
  readonly rowId: string;
  readonly versionId: string;
  readonly parents: readonly string[];
  readonly branch: string;
  readonly ts: number;
  /** The user the version is written as (checked by the server against the writer's session). */
  readonly author: string;
  /**
   * Set when a privileged session (the backend secret) wrote the version on behalf of `author`:
   * who really wrote it. Absent for a user's own writes.
   */
  readonly via?: string;
  readonly batchId: string;
  /** Changed fields, as a bitmap over slots (bit 0: deleted flag). */
  readonly mask: Uint8Array;
  readonly deleted: boolean;
  /** The whole row as the writer saw it (user columns; null for absent). */
  readonly values: Readonly<Record<string, unknown>>;
}

export function maskHas(mask: Uint8Array, slot: number): boolean {
  return ((mask[slot >> 3] ?? 0) & (1 << (slot & 7))) !== 0;
}

export function makeMask(slots: number, set: Iterable<number>): Uint8Array {
  const m = new Uint8Array((slots + 7) >> 3);
  for (const s of set) m[s >> 3]! |= 1 << (s & 7);
  return m;
}

/** 1: without `via`; 2: `via` (possibly empty) after the author. Both are read. */
const FORMAT = 1;
const FORMAT_VIA = 2;

/** `view`: return the writer's bytes without a copy (valid until `w` is written again). */
export function encodeVersion(w: ByteWriter, table: CatalogueTable, v: RowVersion, view = false): Uint8Array {
  w.reset();
  w.u8(v.via ? FORMAT_VIA : FORMAT);
  w.raw(uuidToBytes(v.rowId));
  w.string(v.versionId);
  w.varint(v.parents.length);
  for (const p of v.parents) w.string(p);
  w.string(v.branch);
  w.f64(v.ts);
  w.string(v.author);
  if (v.via) w.string(v.via);
  w.string(v.batchId);
  w.bytes(v.mask);
  w.u8(v.deleted ? 1 : 0);
  writeRow(w, table, v.values);
  return view ? w.buf.subarray(0, w.len) : w.finish();
}

export function decodeVersion(bytes: Uint8Array, table: CatalogueTable): RowVersion {
  const r = new ByteReader(bytes);
  const format = r.u8();
  if (format !== FORMAT && format !== FORMAT_VIA) throw new RangeError('unknown row version format');
  const rowId = idText(r.raw(16));
  const versionId = r.string();
  const n = r.varint();
  const parents: string[] = [];
  for (let i = 0; i < n; i++) parents.push(r.string());
  const branch = r.string();
  const ts = r.f64();
  const author = r.string();
  const via = format === FORMAT_VIA ? r.string() : undefined;
  const batchId = r.string();
  const mask = r.bytes().slice();
  const deleted = r.u8() === 1;
  const values = readRow(r, table, { id: rowId });
  delete (values as { id?: string }).id;
  return { rowId, versionId, parents, branch, ts, author, ...(via ? { via } : {}), batchId, mask, deleted, values };
}

/** Who set a field of the visible row. */
export interface FieldStamp {
  readonly strong: boolean;
  readonly ts: number;
  readonly vid: string;
}

export function compareStamps(a: FieldStamp, b: FieldStamp): number {
  if (a.strong !== b.strong) return a.strong ? 1 : -1;
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return compareStrings(a.vid, b.vid);
}

/** The visible row with what it takes to merge the next version into it. */
export interface VisibleState {
  deleted: boolean;
  /** User columns, null when absent. */
  values: Record<string, unknown>;
  /** Per slot: who set it (undefined: never set). */
  stamps: (FieldStamp | undefined)[];
  /** The greatest timestamp among the row's versions. */
  maxTs: number;
  /**
   * XOR of a 64-bit hash of every version id merged (two 32-bit halves): equal sets of versions
   * give equal digests, whatever the order, so peers can tell cheaply whether a row needs resending.
   */
  digest: [number, number];
  /** Versions no other known version names as a parent, sorted. */
  heads: string[];
  /** The row's first version (least timestamp, then version id): `$createdBy`, `$createdAt`. */
  created: SysStamp;
  /** Its latest version (greatest timestamp, then version id): `$updatedBy`, `$updatedAt`. */
  updated: SysStamp;
}

/** A version as the row's system fields name it. */
export interface SysStamp {
  readonly ts: number;
  readonly vid: string;
  readonly author: string;
}

const NO_STAMP: SysStamp = Object.freeze({ ts: 0, vid: '', author: '' });

function earlier(a: SysStamp, b: SysStamp): boolean {
  return a.ts !== b.ts ? a.ts < b.ts : compareStrings(a.vid, b.vid) < 0;
}

export function sysValues(s: Pick<VisibleState, 'created' | 'updated'>): SysValues {
  return { $createdBy: s.created.author, $createdAt: hlcMillis(s.created.ts), $updatedBy: s.updated.author, $updatedAt: hlcMillis(s.updated.ts) };
}

/**
 * Merges a version into a visible state (or starts one). `hasChild` tells whether some known version
 * already names `v` as its parent; it is only asked when `v` is older than the row's newest version.
 * Returns the new state and whether anything visible (values or deleted flag) changed.
 */
export function mergeVersion(table: CatalogueTable, old: VisibleState | undefined, v: RowVersion, hasChild: () => boolean): { state: VisibleState; changed: boolean; sysChanged: boolean } {
  const sv: SysStamp = { ts: v.ts, vid: v.versionId, author: v.author };
  const state: VisibleState = old
    ? { deleted: old.deleted, values: { ...old.values }, stamps: old.stamps.slice(), maxTs: old.maxTs, heads: old.heads, digest: old.digest, created: old.created, updated: old.updated }
    : { deleted: true, values: {}, stamps: [], maxTs: -Infinity, heads: [], digest: [0, 0], created: sv, updated: sv };
  let sysChanged = !old;
  if (old && earlier(sv, state.created)) {
    state.created = sv;
    sysChanged = true;
  }
  if (old && earlier(state.updated, sv)) {
    state.updated = sv;
    sysChanged = true;
  }
  const h = hash64(v.versionId);
  state.digest = [(state.digest[0] ^ h[0]) >>> 0, (state.digest[1] ^ h[1]) >>> 0];
  if (!old) for (const c of table.columns) state.values[c.name] = null;
  let changed = false;
  const take = (slot: number): boolean => {
    const cand: FieldStamp = { strong: maskHas(v.mask, slot), ts: v.ts, vid: v.versionId };
    const cur = state.stamps[slot];
    if (cur && compareStamps(cand, cur) <= 0) return false;
    state.stamps[slot] = cand;
    return true;
  };
  if (take(DELETED_SLOT) && state.deleted !== v.deleted) {
    state.deleted = v.deleted;
    changed = true;
  }
  for (const c of table.columns) {
    if (take(c.no)) {
      const nv = v.values[c.name] ?? null;
      if (!valuesEqual(state.values[c.name], nv)) {
        state.values[c.name] = nv;
        changed = true;
      }
    }
  }
  // Heads: drop the parents, add v unless a known version already descends from it.
  const isOld = v.ts <= state.maxTs;
  const heads = state.heads.filter((h) => !v.parents.includes(h));
  if (!(isOld && hasChild())) heads.push(v.versionId);
  heads.sort(compareStrings);
  state.heads = heads;
  if (v.ts > state.maxTs) state.maxTs = v.ts;
  return { state, changed: changed || !old, sysChanged };
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Visible entries written before rows had system fields: Engine.open rewrites them as format 3. */
const VISIBLE_LEGACY = 1;
/** A visible entry that holds the row's only version (see encodeSingle). */
const VISIBLE_SINGLE = 2;
const VISIBLE_FORMAT = 3;
const rowScratch = new ByteWriter(256);

/** Both visible layouts start alike: format | deleted | row length + row. */
function beginVisible(w: ByteWriter, table: CatalogueTable, format: number, deleted: boolean, values: RowVersion['values']): void {
  const rowW = rowScratch.reset();
  writeRow(rowW, table, values);
  w.reset();
  w.u8(format);
  w.u8(deleted ? 1 : 0);
  w.varint(rowW.len);
  w.raw(rowW.buf.subarray(0, rowW.len));
}

/**
 * Visible entry layout: format | deleted | row length + row | maxTs | digest | created | same |
 * [updated] | stamps | heads, where created and updated are ts, version id and author, and `same`
 * (1 byte) says the row's first version is also its latest (then updated is left out). The row
 * comes first so a read can decode it without touching the merge bookkeeping, and the system
 * fields follow it at a fixed offset.
 */
export function encodeVisible(w: ByteWriter, table: CatalogueTable, s: VisibleState, view = false): Uint8Array {
  beginVisible(w, table, VISIBLE_FORMAT, s.deleted, s.values);
  w.f64(s.maxTs);
  w.room(8);
  w.view.setUint32(w.len, s.digest[0], true);
  w.view.setUint32(w.len + 4, s.digest[1], true);
  w.len += 8;
  const same = s.created.vid === s.updated.vid;
  writeStamp(w, s.created);
  w.u8(same ? 1 : 0);
  if (!same) writeStamp(w, s.updated);
  // Distinct stamps in slot order, then one index per slot.
  const distinct: FieldStamp[] = [];
  const slotRefs: number[] = [];
  for (let slot = 0; slot < table.slots; slot++) {
    const st = s.stamps[slot];
    if (!st) {
      slotRefs.push(0);
      continue;
    }
    let i = distinct.findIndex((d) => d.ts === st.ts && d.vid === st.vid);
    if (i < 0) i = distinct.push(st) - 1;
    slotRefs.push((i + 1) * 2 + (st.strong ? 1 : 0));
  }
  w.varint(distinct.length);
  for (const d of distinct) {
    w.f64(d.ts);
    w.string(d.vid);
  }
  w.varint(slotRefs.length);
  for (const r of slotRefs) w.varint(r);
  w.varint(s.heads.length);
  for (const h of s.heads) w.string(h);
  return view ? w.buf.subarray(0, w.len) : w.finish();
}

function writeStamp(w: ByteWriter, s: SysStamp): void {
  w.f64(s.ts);
  w.string(s.vid);
  w.string(s.author);
}

function readStamp(r: ByteReader): SysStamp {
  return { ts: r.f64(), vid: r.string(), author: r.string() };
}

const SINGLE_AUTHOR_IS_CLIENT = 1;
const SINGLE_BATCH_UUID = 2;
const SINGLE_MAIN = 4;
const SINGLE_VIA = 8;
const SINGLE_AUTHOR_IS_ANON_CLIENT = 16;

/**
 * The visible entry of a row whose history holds exactly one version, `v`: the version itself,
 * laid out so the row reads like a full entry. The visible state is a function of the version
 * (what `mergeVersion` makes of it alone), so it is not stored; and the version needs no history
 * entry of its own. A row loaded in bulk then costs one key where it cost two, and a third fewer
 * bytes. The engine writes the version to history (and a full entry) when a second one arrives.
 *
 *   2 | deleted | row length + row | flags | version id | parents | [branch] | ts | [author] | [via] | batch id | mask
 *
 * Flags: 1 the author is the client of the version id; 2 the batch id is a UUID, 16 raw bytes;
 * 4 the branch is main (then absent); 8 the version has a `via`; 16 the author is `anon:` and the
 * client of the version id (the author of a device that has not signed in).
 */
export function encodeSingle(w: ByteWriter, table: CatalogueTable, v: RowVersion, view = false): Uint8Array {
  beginVisible(w, table, VISIBLE_SINGLE, v.deleted, v.values);
  const dot = v.versionId.lastIndexOf('.');
  const authorIsClient = dot > 0 && v.author.length === dot && v.versionId.startsWith(v.author);
  const authorIsAnon = dot > 0 && v.author.length === dot + 5 && v.author.startsWith('anon:') && v.versionId.startsWith(v.author.slice(5));
  const batchUuid = isUuid(v.batchId);
  const main = v.branch === 'main';
  w.u8((authorIsClient ? SINGLE_AUTHOR_IS_CLIENT : 0) | (authorIsAnon ? SINGLE_AUTHOR_IS_ANON_CLIENT : 0) | (batchUuid ? SINGLE_BATCH_UUID : 0) | (main ? SINGLE_MAIN : 0) | (v.via ? SINGLE_VIA : 0));
  w.string(v.versionId);
  w.varint(v.parents.length);
  for (const p of v.parents) w.string(p);
  if (!main) w.string(v.branch);
  w.f64(v.ts);
  if (!authorIsClient && !authorIsAnon) w.string(v.author);
  if (v.via) w.string(v.via);
  if (batchUuid) w.raw(uuidToBytes(v.batchId));
  else w.string(v.batchId);
  w.bytes(v.mask);
  return view ? w.buf.subarray(0, w.len) : w.finish();
}

function singleAuthor(flags: number, versionId: string, r: ByteReader): string {
  if (flags & SINGLE_AUTHOR_IS_CLIENT) return versionId.slice(0, versionId.lastIndexOf('.'));
  if (flags & SINGLE_AUTHOR_IS_ANON_CLIENT) return `anon:${versionId.slice(0, versionId.lastIndexOf('.'))}`;
  return r.string();
}

/** Whether a visible entry holds its row's only version (encodeSingle). */
export function isSingle(bytes: Uint8Array): boolean {
  return bytes[0] === VISIBLE_SINGLE;
}

function singleReader(bytes: Uint8Array): ByteReader {
  if (bytes[0] !== VISIBLE_SINGLE) throw new RangeError('not a single-version visible entry');
  const r = new ByteReader(bytes, 2);
  const len = r.varint();
  r.pos += len;
  return r;
}

/** The version id of a single-version entry, without decoding the rest. */
export function singleVersionId(bytes: Uint8Array): string {
  const r = singleReader(bytes);
  r.u8();
  return r.string();
}

/** The version a single-version entry holds (the row id comes from its key). */
export function decodeSingle(bytes: Uint8Array, table: CatalogueTable, rowId: string): RowVersion {
  const r = singleReader(bytes);
  const flags = r.u8();
  const versionId = r.string();
  const n = r.varint();
  const parents: string[] = [];
  for (let i = 0; i < n; i++) parents.push(r.string());
  const branch = flags & SINGLE_MAIN ? 'main' : r.string();
  const ts = r.f64();
  const author = singleAuthor(flags, versionId, r);
  const via = flags & SINGLE_VIA ? r.string() : undefined;
  const batchId = flags & SINGLE_BATCH_UUID ? idText(r.raw(16)) : r.string();
  const mask = r.bytes().slice();
  const deleted = bytes[1] === 1;
  const rr = new ByteReader(bytes, 2);
  const len = rr.varint();
  const values = readRow(new ByteReader(bytes, rr.pos, rr.pos + len), table, { id: rowId });
  delete (values as { id?: string }).id;
  return { rowId, versionId, parents, branch, ts, author, ...(via ? { via } : {}), batchId, mask, deleted, values };
}

/** Whether a visible entry was written before rows had system fields (Engine.open rewrites those). */
export function isLegacyVisible(bytes: Uint8Array): boolean {
  return bytes[0] === VISIBLE_LEGACY;
}

/**
 * Decodes only the row of a visible entry; undefined when the row is deleted. `sys`: with the
 * system fields (`$createdBy`, ...; SYS_FIELDS) too.
 */
export function decodeVisibleRow(bytes: Uint8Array, table: CatalogueTable, id: string, sys = false): RowObject | undefined {
  if (bytes[1] === 1) return undefined;
  const r = new ByteReader(bytes, 2);
  const len = r.varint();
  const rr = new ByteReader(bytes, r.pos, r.pos + len);
  const row = readRow(rr, table, { id });
  if (sys) Object.assign(row, sysOfEntry(bytes, r.pos + len));
  return row;
}

/**
 * The span of a visible entry's versions, read without decoding the rest: the first version's
 * timestamp and the newest's (the same for a single-version entry), and whether the row is deleted.
 */
export function visibleSpan(bytes: Uint8Array): { createdTs: number; maxTs: number; deleted: boolean } {
  const r = new ByteReader(bytes, 2);
  const len = r.varint();
  r.pos += len;
  const deleted = bytes[1] === 1;
  if (bytes[0] === VISIBLE_SINGLE) {
    const flags = r.u8();
    r.string();
    const n = r.varint();
    for (let i = 0; i < n; i++) r.string();
    if (!(flags & SINGLE_MAIN)) r.string();
    const ts = r.f64();
    return { createdTs: ts, maxTs: ts, deleted };
  }
  if (bytes[0] !== VISIBLE_FORMAT) throw new RangeError('unknown visible row format');
  const maxTs = r.f64();
  r.pos += 8; // digest
  return { createdTs: r.f64(), maxTs, deleted };
}

/** The system fields of a visible entry whose row ends at `at`. */
function sysOfEntry(bytes: Uint8Array, at: number): SysValues {
  if (bytes[0] === VISIBLE_SINGLE) {
    const r = new ByteReader(bytes, at);
    const flags = r.u8();
    const versionId = r.string();
    const n = r.varint();
    for (let i = 0; i < n; i++) r.string();
    if (!(flags & SINGLE_MAIN)) r.string();
    const ts = r.f64();
    const author = singleAuthor(flags, versionId, r);
    const ms = hlcMillis(ts);
    return { $createdBy: author, $createdAt: ms, $updatedBy: author, $updatedAt: ms };
  }
  if (bytes[0] !== VISIBLE_FORMAT) throw new RangeError('unknown visible row format');
  const r = new ByteReader(bytes, at + 16);
  const created = readStamp(r);
  const updated = r.u8() === 1 ? created : readStamp(r);
  return sysValues({ created, updated });
}

export function decodeVisible(bytes: Uint8Array, table: CatalogueTable): VisibleState {
  if (bytes[0] === VISIBLE_SINGLE) return mergeVersion(table, undefined, decodeSingle(bytes, table, ''), () => false).state;
  const r = new ByteReader(bytes);
  const format = r.u8();
  if (format !== VISIBLE_FORMAT && format !== VISIBLE_LEGACY) throw new RangeError('unknown visible row format');
  const deleted = r.u8() === 1;
  const len = r.varint();
  const values = readRow(new ByteReader(bytes, r.pos, r.pos + len), table, { id: '' });
  delete (values as { id?: string }).id;
  r.pos += len;
  const maxTs = r.f64();
  const d = r.raw(8);
  const dv = new DataView(d.buffer, d.byteOffset, 8);
  const digest: [number, number] = [dv.getUint32(0, true), dv.getUint32(4, true)];
  // A legacy entry has no system fields (its row is rewritten at open, from its history).
  let created = NO_STAMP;
  let updated = NO_STAMP;
  if (format === VISIBLE_FORMAT) {
    created = readStamp(r);
    updated = r.u8() === 1 ? created : readStamp(r);
  }
  const nd = r.varint();
  const distinct: { ts: number; vid: string }[] = [];
  for (let i = 0; i < nd; i++) distinct.push({ ts: r.f64(), vid: r.string() });
  const ns = r.varint();
  const stamps: (FieldStamp | undefined)[] = [];
  for (let slot = 0; slot < ns; slot++) {
    const ref = r.varint();
    if (ref === 0) stamps.push(undefined);
    else {
      const d = distinct[(ref >> 1) - 1]!;
      stamps.push({ strong: (ref & 1) === 1, ts: d.ts, vid: d.vid });
    }
  }
  const nh = r.varint();
  const heads: string[] = [];
  for (let i = 0; i < nh; i++) heads.push(r.string());
  return { deleted, values, stamps, maxTs, heads, digest, created, updated };
}

/** FNV-1a 64 of a string, as two 32-bit halves [high, low]. */
export function hash64(text: string): [number, number] {
  let h1 = 0x84222325;
  let h0 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    h1 ^= text.charCodeAt(i) & 0xff;
    const lo = h1 * 0x1b3;
    const hi = h0 * 0x1b3 + h1 * 0x100 + Math.floor(lo / 0x100000000);
    h1 = lo >>> 0;
    h0 = hi >>> 0;
  }
  return [h0, h1];
}

export function digestHex(d: readonly [number, number]): string {
  return d[0].toString(16).padStart(8, '0') + d[1].toString(16).padStart(8, '0');
}
