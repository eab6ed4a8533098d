/** A growable little-endian byte writer and its reader, for the row and record codecs. */
import { utf8Decode, utf8Scratch, utf8Write } from './utf8.ts';

/** Bytes of the unsigned LEB128 form of `v` (as `ByteWriter.varint` writes it). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  reset(): this {
    this.len = 0;
    return this;
  }

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  /** Unsigned LEB128, up to 2^53. */
  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  string(s: string): void {
    // ASCII (most strings) is copied straight in after its length: a JS loop beats a call into
    // TextEncoder for short strings. Anything else goes through UTF-8 (worst case 3 bytes per
    // UTF-16 unit: written in place after a length byte patched after, when that fits one byte).
    const n = s.length;
    const start = this.len;
    this.varint(n);
    this.room(n);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        at = -1;
        break;
      }
      buf[at++] = c;
    }
    if (at >= 0) {
      this.len = at;
      return;
    }
    this.len = start;
    if (n * 3 < 128) {
      this.room(n * 3 + 1);
      const lenAt = this.len++;
      this.len = utf8Write(s, this.buf, this.len);
      this.buf[lenAt] = this.len - lenAt - 1;
    } else this.bytes(utf8Scratch(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Eight bytes read as a float, for `ByteReader.f64` (a DataView per reader cost more than a row's fields). */
const F64_BYTES = /* @__PURE__ */ new Uint8Array(8);
const F64_VIEW = /* @__PURE__ */ new DataView(F64_BYTES.buffer);

export class ByteReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('record truncated');
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new RangeError('varint too long');
    }
  }

  i32(): number {
    this.#need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
  }

  f64(): number {
    this.#need(8);
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < 8; i++) F64_BYTES[i] = b[p + i]!;
    this.pos = p + 8;
    return F64_VIEW.getFloat64(0, true);
  }

  raw(n: number): Uint8Array {
    this.#need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  string(): string {
    const n = this.varint();
    if (n === 0) return '';
    return utf8Decode(this.raw(n));
  }
}
