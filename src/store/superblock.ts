/**
 * Superblocks A and B: the first 512 bytes of pages 0 and 1 of the data file.
 *
 * A checkpoint writes generation g + 1 into slot (g + 1) % 2 while slot g % 2 stays intact, so a
 * crash at any moment leaves at least one valid superblock. On open the valid one with the highest
 * generation wins. 512 bytes is the smallest sector size we meet, so on most disks a superblock
 * write cannot even tear; when it does, the checksum rejects it.
 *
 * Layout (little-endian):
 *
 *   0  magic "JZELSTOR"          32  page count           52  WAL start offset (u64)
 *   8  format version (u32)      36  free-list head page  60  WAL first sequence number
 *  12  page size                 40  free count           64  (reserved, zero)
 *  16  generation (u64)          44  pending count
 *  24  root page (0 = empty)     48  WAL salt
 *  28  reserved                 508  CRC-32C of bytes 0..507
 */
import { crc32c } from './checksum.ts';

export const SUPERBLOCK_BYTES = 512;
/** 2: leaves are slotted page images (btree.ts); 1 had cells back to back. No migration: nothing was released. */
export const FORMAT_VERSION = 2;
const MAGIC = [0x4a, 0x5a, 0x45, 0x4c, 0x53, 0x54, 0x4f, 0x52]; // "JZELSTOR"

export interface Superblock {
  /** Increases by one with every checkpoint; the highest valid one is current. */
  readonly generation: number;
  readonly pageSize: number;
  /** Root page of the B+tree, 0 for an empty tree. */
  readonly root: number;
  /** Pages in use by the file (pages 0 and 1 included); pages at or past it are unused. */
  readonly pageCount: number;
  /** First page of the free-list chain, 0 when there is none. */
  readonly freeHead: number;
  /** Entries in the chain reusable right away. */
  readonly freeCount: number;
  /** Entries after those, reusable only once the next checkpoint is durable (the previous
   * superblock's tree still reaches them). */
  readonly pendingCount: number;
  /** Salt of the WAL epoch that follows this checkpoint: only records carrying it are replayed. */
  readonly walSalt: number;
  /** Offset of the first WAL record to replay. */
  readonly walStart: number;
  /** Sequence number of that first record. */
  readonly walSeq: number;
}

export type SuperblockRead =
  | { readonly ok: true; readonly superblock: Superblock }
  | { readonly ok: false; readonly reason: 'empty' | 'magic' | 'checksum' | 'version' | 'invalid'; readonly version?: number };

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const out = new Uint8Array(SUPERBLOCK_BYTES);
  const v = new DataView(out.buffer);
  out.set(MAGIC, 0);
  v.setUint32(8, FORMAT_VERSION, true);
  v.setUint32(12, sb.pageSize, true);
  setU64(v, 16, sb.generation);
  v.setUint32(24, sb.root, true);
  v.setUint32(32, sb.pageCount, true);
  v.setUint32(36, sb.freeHead, true);
  v.setUint32(40, sb.freeCount, true);
  v.setUint32(44, sb.pendingCount, true);
  v.setUint32(48, sb.walSalt, true);
  setU64(v, 52, sb.walStart);
  v.setUint32(60, sb.walSeq, true);
  v.setUint32(SUPERBLOCK_BYTES - 4, crc32c(out, 0, 0, SUPERBLOCK_BYTES - 4), true);
  return out;
}

export function decodeSuperblock(bytes: Uint8Array): SuperblockRead {
  if (bytes.length < SUPERBLOCK_BYTES) return { ok: false, reason: 'empty' };
  let zero = true;
  for (let i = 0; i < SUPERBLOCK_BYTES && zero; i++) if (bytes[i] !== 0) zero = false;
  if (zero) return { ok: false, reason: 'empty' };
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return { ok: false, reason: 'magic' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_BYTES);
  if (v.getUint32(SUPERBLOCK_BYTES - 4, true) !== crc32c(bytes, 0, 0, SUPERBLOCK_BYTES - 4)) {
    return { ok: false, reason: 'checksum' };
  }
  const version = v.getUint32(8, true);
  if (version !== FORMAT_VERSION) return { ok: false, reason: 'version', version };
  const sb: Superblock = {
    pageSize: v.getUint32(12, true),
    generation: getU64(v, 16),
    root: v.getUint32(24, true),
    pageCount: v.getUint32(32, true),
    freeHead: v.getUint32(36, true),
    freeCount: v.getUint32(40, true),
    pendingCount: v.getUint32(44, true),
    walSalt: v.getUint32(48, true),
    walStart: getU64(v, 52),
    walSeq: v.getUint32(60, true),
  };
  if (!isValidPageSize(sb.pageSize) || sb.pageCount < 2 || sb.root >= sb.pageCount || sb.freeHead >= sb.pageCount) {
    return { ok: false, reason: 'invalid' };
  }
  return { ok: true, superblock: sb };
}

/** Page sizes the format allows: powers of two from 512 B to 64 KiB. */
export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n % 0x1_0000_0000, true);
  v.setUint32(at + 4, Math.floor(n / 0x1_0000_0000), true);
}

function getU64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 0x1_0000_0000;
}
