/**
 * The write-ahead log: its own file, one checksummed record per commit.
 *
 * Record: a 20-byte header then the payload.
 *
 *   0 magic "JWR1" (u32)   4 salt (u32)   8 sequence (u32)   12 payload length (u32)   16 CRC (u32)
 *
 * The CRC covers header bytes 0..15 and the payload, and is seeded with the CRC of the record
 * before it (the first record of an epoch is seeded with the salt). Replay starts where the
 * superblock says, with the salt and sequence number it names, and stops at the first record whose
 * magic, salt, sequence, length or chained CRC is wrong: a torn tail, a record of an older epoch
 * left over in a recycled log, or one that never followed this history.
 *
 * Payload: the commit's operations in order, each [u8 1 = put | 2 = delete][varint key length]
 * [key] and for puts [varint value length][value].
 */
import { crc32c } from './checksum.ts';
import type { BlockFile } from './blockfile.ts';

export const WAL_HEADER = 20;
const MAGIC = 0x3152574a; // "JWR1" little-endian

export interface WalCursor {
  /** Offset where the next record goes. */
  offset: number;
  /** Sequence number of the next record. */
  seq: number;
  /** CRC of the last record (the salt before the first). */
  crc: number;
  salt: number;
}

export interface Replay {
  readonly payloads: Uint8Array[];
  readonly cursor: WalCursor;
}

/**
 * One commit's record, built as its operations are made: the header's 20 bytes are reserved at the
 * front and filled by `sealRecords` once the record's place in the log is known. Building it in
 * place saves copying every key and value once more at commit.
 */
export class WalRecord {
  buf: Uint8Array;
  len = WAL_HEADER;
  /** Operations in the record. */
  count = 0;

  constructor(capacity = 512) {
    this.buf = new Uint8Array(Math.max(capacity, WAL_HEADER));
  }

  /** Appends a put (a value) or a delete (null); returns the offset of the key's bytes in `buf`. */
  add(key: Uint8Array, value: Uint8Array | null): number {
    const need = 1 + 5 + key.length + (value ? 5 + value.length : 0);
    if (this.len + need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    const out = this.buf;
    let at = this.len;
    out[at++] = value ? 1 : 2;
    at = putVarint(out, at, key.length);
    const keyAt = at;
    at = copy(out, at, key);
    if (value) {
      at = putVarint(out, at, value.length);
      at = copy(out, at, value);
    }
    this.len = at;
    this.count++;
    return keyAt;
  }
}

/**
 * Fills in the headers of `records` (in commit order) as the next records of the log, and returns
 * their bytes as one buffer (a single record's own buffer, without a copy); advances `cursor`.
 */
export function sealRecords(cursor: WalCursor, records: readonly WalRecord[]): Uint8Array {
  let total = 0;
  for (const r of records) {
    const out = r.buf;
    putU32(out, 0, MAGIC);
    putU32(out, 4, cursor.salt);
    putU32(out, 8, cursor.seq);
    putU32(out, 12, r.len - WAL_HEADER);
    const crc = crc32c(out, crc32c(out, cursor.crc, 0, 16), WAL_HEADER, r.len);
    putU32(out, 16, crc);
    cursor.seq = (cursor.seq + 1) >>> 0;
    cursor.crc = crc;
    total += r.len;
  }
  cursor.offset += total;
  if (records.length === 1) return records[0]!.buf.subarray(0, total);
  const all = new Uint8Array(total);
  let at = 0;
  for (const r of records) {
    all.set(r.buf.subarray(0, r.len), at);
    at += r.len;
  }
  return all;
}

function putU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = n >>> 24;
}

/** Reads every valid record from `start`, stopping at the first bad one. */
export function replay(file: BlockFile, salt: number, start: number, seq: number): Replay {
  const size = file.size();
  const cursor: WalCursor = { offset: start, seq, crc: salt, salt };
  const payloads: Uint8Array[] = [];
  if (size <= start) return { payloads, cursor };
  const all = new Uint8Array(size - start);
  const n = file.read(start, all);
  const view = new DataView(all.buffer);
  let at = 0;
  while (at + WAL_HEADER <= n) {
    if (view.getUint32(at, true) !== MAGIC) break;
    if (view.getUint32(at + 4, true) !== salt) break;
    if (view.getUint32(at + 8, true) !== cursor.seq) break;
    const len = view.getUint32(at + 12, true);
    if (at + WAL_HEADER + len > n) break;
    const crc = crc32c(all, crc32c(all, cursor.crc, at, at + 16), at + WAL_HEADER, at + WAL_HEADER + len);
    if (view.getUint32(at + 16, true) !== crc) break;
    payloads.push(all.subarray(at + WAL_HEADER, at + WAL_HEADER + len));
    at += WAL_HEADER + len;
    cursor.seq = (cursor.seq + 1) >>> 0;
    cursor.crc = crc;
  }
  cursor.offset = start + at;
  return { payloads, cursor };
}

/** Calls `each` for every operation of a payload, in order (with views into `payload`). */
export function decodeOps(payload: Uint8Array, each: (key: Uint8Array, value: Uint8Array | null) => void): void {
  let at = 0;
  const pos = { at: 0 };
  while (at < payload.length) {
    const type = payload[at++];
    pos.at = at;
    const kl = getVarint(payload, pos);
    at = pos.at;
    const key = payload.subarray(at, at + kl);
    at += kl;
    if (type === 1) {
      pos.at = at;
      const vl = getVarint(payload, pos);
      at = pos.at;
      each(key, payload.subarray(at, at + vl));
      at += vl;
    } else {
      each(key, null);
    }
  }
}

/** Copies `src` into `out` at `at`; a plain loop beats `set` for short keys. */
function copy(out: Uint8Array, at: number, src: Uint8Array): number {
  const n = src.length;
  if (n > 32) out.set(src, at);
  else for (let i = 0; i < n; i++) out[at + i] = src[i]!;
  return at + n;
}

function putVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

function getVarint(b: Uint8Array, pos: { at: number }): number {
  let n = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos.at++]!;
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return n;
    mul *= 128;
  }
}
