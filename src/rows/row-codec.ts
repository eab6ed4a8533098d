/**
 * The flat binary format of a row's user columns, shared by row versions and visible rows:
 *
 *   varint slots | presence bitmap (ceil(slots/8) bytes, bit = column number) | present values in column-number order
 *
 * Values: boolean 1 byte; int int32 LE; float and timestamp float64 LE; string, enum and json
 * (as JSON text) length-prefixed UTF-8; bytes length-prefixed; ref 16 raw bytes; array a varint
 * count then its elements. Null and absent are the same: the bit is clear.
 */
import type { ColumnSchema } from '../schema/schema.ts';
import type { CatalogueTable } from '../schema/catalogue.ts';
import type { ByteReader, ByteWriter } from '../util/binary.ts';
import { idText, uuidToBytes } from './ids.ts';
import { unreachable } from '../util/assert.ts';

/** A decoded row: `id` and every live column (null when absent). */
export type RowObject = { id: string; [column: string]: unknown };

const idScratch = new Uint8Array(16);

export function writeRow(w: ByteWriter, table: CatalogueTable, values: Readonly<Record<string, unknown>>): void {
  const slots = table.slots;
  w.varint(slots);
  const bitmapAt = w.len;
  const nbytes = (slots + 7) >> 3;
  w.room(nbytes);
  w.buf.fill(0, bitmapAt, bitmapAt + nbytes);
  w.len += nbytes;
  // Columns are in schema order; the format wants number order.
  for (const c of table.columnsByNo) {
    const v = values[c.name];
    if (v === null || v === undefined) continue;
    w.buf[bitmapAt + (c.no >> 3)]! |= 1 << (c.no & 7);
    writeValue(w, c.schema, v);
  }
}

function writeValue(w: ByteWriter, col: ColumnSchema, v: unknown): void {
  switch (col.type) {
    case 'boolean':
      w.u8(v ? 1 : 0);
      return;
    case 'int':
      w.i32(v as number);
      return;
    case 'float':
    case 'timestamp':
      w.f64(v as number);
      return;
    case 'string':
    case 'enum':
      w.string(v as string);
      return;
    case 'json':
      w.string(JSON.stringify(v));
      return;
    case 'bytes':
      w.bytes(v as Uint8Array);
      return;
    case 'ref':
      w.raw(uuidToBytes(v as string, idScratch));
      return;
    case 'array': {
      const a = v as unknown[];
      w.varint(a.length);
      for (const x of a) writeValue(w, col.items!, x);
      return;
    }
    default:
      unreachable(col.type);
  }
}

/** Decodes the user columns at the reader's position into `out` (which should already hold `id`). */
export function readRow(r: ByteReader, table: CatalogueTable, out: RowObject): RowObject {
  const slots = r.varint();
  const bitmapAt = r.pos;
  r.pos += (slots + 7) >> 3;
  const byNo = table.columnsByNo;
  // Fill first in schema order so every row object has the same shape: null, or for a column
  // numbered after the row was stored (added by a later schema version), the column's fill.
  for (const c of table.columns) out[c.name] = c.no < slots ? null : copy(c.fill);
  let ci = 0;
  for (let no = 0; no < slots; no++) {
    if (!(r.buf[bitmapAt + (no >> 3)]! & (1 << (no & 7)))) continue;
    while (ci < byNo.length && byNo[ci]!.no < no) ci++;
    const c = byNo[ci];
    if (c && c.no === no) out[c.name] = readValue(r, c.schema);
    else throw new RangeError(`row holds column ${no}, which the catalogue does not know: the store is damaged`);
  }
  return out;
}

function readValue(r: ByteReader, col: ColumnSchema): unknown {
  switch (col.type) {
    case 'boolean':
      return r.u8() !== 0;
    case 'int':
      return r.i32();
    case 'float':
    case 'timestamp':
      return r.f64();
    case 'string':
    case 'enum':
      return r.string();
    case 'json':
      return JSON.parse(r.string());
    case 'bytes':
      return r.bytes().slice();
    case 'ref':
      return idText(r.raw(16));
    case 'array': {
      const n = r.varint();
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = readValue(r, col.items!);
      return a;
    }
    default:
      unreachable(col.type);
  }
}

/** Skips the user columns at the reader's position without decoding them. */
export function skipRow(r: ByteReader, table: CatalogueTable): void {
  const tmp: RowObject = { id: '' };
  readRow(r, table, tmp);
}

/** A fill value for one row (objects are copied: rows are frozen and handed out). */
function copy(v: unknown): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
  return v instanceof Uint8Array ? v.slice() : JSON.parse(JSON.stringify(v));
}
