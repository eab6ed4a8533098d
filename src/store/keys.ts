/**
 * The order-preserving tuple codec for store keys. A key is a sequence of typed parts; comparing
 * two encoded keys byte-wise (memcmp) gives the same answer as comparing their tuples part by part,
 * with a shorter tuple before any longer tuple it prefixes.
 *
 * Part encodings (the tag byte orders types: null < false < true < uint < number < string < bytes < id):
 *   0x01                null
 *   0x02 / 0x03         false / true
 *   0x04 n b1..bn       unsigned integer < 2^53, big-endian in n bytes (n orders first)
 *   0x05 f64            number: IEEE-754 big-endian, sign bit flipped (negatives: all bits flipped)
 *   0x06 ... 0x00 0x01  string as UTF-8, each 0x00 byte written 0x00 0xFF (so code point order)
 *   0x07 ... 0x00 0x01  bytes, escaped the same way
 *   0x08 b1..b16        a 16-byte id (row ids, UUIDv7), raw
 * Every tag is below 0xFF, so `prefixEnd(p)` (p followed by 0xFF) is above every key that extends p.
 *
 * A string or bytes part may be cut to a bounded length (`string(v, max)`, `bytes(v, max)`): the
 * longest prefix of the value whose escaped bytes fit in `max` is written, followed by 0x00 0x02
 * instead of 0x00 0x01. The cut keeps order, weakly: if a < b then part(a) <= part(b), and two
 * parts are equal only when both values were cut at the same prefix. A cut part sorts after the
 * exact part of its prefix (0x02 > 0x01) and before any longer exact value (whose next byte is
 * at least 0x01, or 0x00 0xFF); the cut never splits an escape pair. Whoever reads cut parts must
 * settle ties between them against the full values (the engine's indexes do, against the row).
 */
import { utf8Encode, utf8Decode } from '../util/utf8.ts';

export type KeyPart = null | boolean | number | string | Uint8Array | KeyUint | KeyId;

/** Marks a number to be encoded as a compact unsigned integer (table and column numbers). */
export interface KeyUint {
  readonly uint: number;
}
/** Marks 16 bytes as a fixed-width id. */
export interface KeyId {
  readonly id: Uint8Array;
}

const T_NULL = 0x01;
const T_FALSE = 0x02;
const T_TRUE = 0x03;
const T_UINT = 0x04;
const T_NUMBER = 0x05;
const T_STRING = 0x06;
const T_BYTES = 0x07;
const T_ID = 0x08;

const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);

/** The terminator of a string or bytes part that was cut (`KeyWriter.string(v, max)`). */
export const CUT_MARK = 0x02;

/** Builds a key part by part into a growing buffer. Reuse one with `reset()` on hot paths. */
export class KeyWriter {
  #buf: Uint8Array;
  #len = 0;
  /** Whether a part written since the last `reset()` was cut to its maximum length. */
  cut = false;

  constructor(capacity = 64) {
    this.#buf = new Uint8Array(capacity);
  }

  reset(prefix?: Uint8Array): this {
    this.#len = 0;
    this.cut = false;
    if (prefix) this.raw(prefix);
    return this;
  }

  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  raw(bytes: Uint8Array): this {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  null(): this {
    this.#room(1);
    this.#buf[this.#len++] = T_NULL;
    return this;
  }

  bool(v: boolean): this {
    this.#room(1);
    this.#buf[this.#len++] = v ? T_TRUE : T_FALSE;
    return this;
  }

  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`key uint out of range: ${v}`);
    let n = 1;
    while (n < 7 && v >= 2 ** (8 * n)) n++;
    this.#room(2 + n);
    this.#buf[this.#len++] = T_UINT;
    this.#buf[this.#len++] = n;
    for (let i = n - 1; i >= 0; i--) {
      this.#buf[this.#len + i] = v % 256;
      v = Math.floor(v / 256);
    }
    this.#len += n;
    return this;
  }

  number(v: number): this {
    this.#room(9);
    this.#buf[this.#len++] = T_NUMBER;
    f64[0] = v === 0 ? 0 : v; // -0 and 0 are one key
    // Little-endian hosts store the float reversed; write big-endian with the sign trick.
    const neg = (f64bytes[7]! & 0x80) !== 0;
    for (let i = 0; i < 8; i++) {
      const b = f64bytes[7 - i]!;
      this.#buf[this.#len + i] = neg ? ~b & 0xff : i === 0 ? b ^ 0x80 : b;
    }
    this.#len += 8;
    return this;
  }

  /** `max`: write at most this many bytes of the escaped value, cut and marked (see the top). */
  string(v: string, max = Infinity): this {
    // ASCII without NUL (most keys) is written straight in; anything else goes through UTF-8.
    const n = v.length;
    const m = n < max ? n : max;
    this.#room(m + 3);
    const buf = this.#buf;
    let at = this.#len;
    buf[at++] = T_STRING;
    for (let i = 0; i < m; i++) {
      const c = v.charCodeAt(i);
      if (c === 0 || c >= 0x80) return this.#escaped(T_STRING, utf8Encode(n > max ? v.slice(0, max + 2) : v), max);
      buf[at++] = c;
    }
    // Past `max` ASCII characters the cut falls right there (whatever follows takes a byte or more).
    const cut = m < n;
    buf[at++] = 0;
    buf[at++] = cut ? CUT_MARK : 1;
    if (cut) this.cut = true;
    this.#len = at;
    return this;
  }

  /** `max`: as for `string`. */
  bytes(v: Uint8Array, max = Infinity): this {
    return this.#escaped(T_BYTES, v, max);
  }

  id(v: Uint8Array): this {
    if (v.length !== 16) throw new RangeError('key id must be 16 bytes');
    this.#room(17);
    this.#buf[this.#len++] = T_ID;
    this.#buf.set(v, this.#len);
    this.#len += 16;
    return this;
  }

  part(p: KeyPart): this {
    if (p === null) return this.null();
    switch (typeof p) {
      case 'boolean':
        return this.bool(p);
      case 'number':
        return this.number(p);
      case 'string':
        return this.string(p);
    }
    if (p instanceof Uint8Array) return this.bytes(p);
    if ('uint' in p) return this.uint(p.uint);
    return this.id(p.id);
  }

  /**
   * Writes `v` escaped, cut to `max` escaped bytes. A string longer than `max` UTF-16 units arrives
   * as the UTF-8 of its first `max + 2` units only: those are more than `max` bytes, so it is cut,
   * and a lone surrogate that the slice may have ended with lies past the cut.
   */
  #escaped(tag: number, v: Uint8Array, max: number): this {
    const n = v.length;
    this.#room(Math.min(n * 2, max) + 3);
    const buf = this.#buf;
    let at = this.#len;
    buf[at++] = tag;
    const limit = at + max;
    let cut = false;
    for (let i = 0; i < n; i++) {
      const b = v[i]!;
      if (at + (b === 0 ? 2 : 1) > limit) {
        cut = true;
        break;
      }
      buf[at++] = b;
      if (b === 0) buf[at++] = 0xff;
    }
    buf[at++] = 0;
    buf[at++] = cut ? CUT_MARK : 1;
    if (cut) this.cut = true;
    this.#len = at;
    return this;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /** The bytes written so far, without a copy: valid until this writer is written again. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

export function encodeKey(parts: readonly KeyPart[]): Uint8Array {
  const w = new KeyWriter();
  for (const p of parts) w.part(p);
  return w.finish();
}

/** Decodes a key back into parts (uints as `{ uint }`, ids as `{ id }`). */
export function decodeKey(key: Uint8Array): KeyPart[] {
  const parts: KeyPart[] = [];
  let i = 0;
  while (i < key.length) {
    const tag = key[i++];
    switch (tag) {
      case T_NULL:
        parts.push(null);
        break;
      case T_FALSE:
        parts.push(false);
        break;
      case T_TRUE:
        parts.push(true);
        break;
      case T_UINT: {
        const n = key[i++]!;
        let v = 0;
        for (let j = 0; j < n; j++) v = v * 256 + key[i++]!;
        parts.push({ uint: v });
        break;
      }
      case T_NUMBER: {
        const neg = (key[i]! & 0x80) === 0;
        for (let j = 0; j < 8; j++) {
          const b = key[i + j]!;
          f64bytes[7 - j] = neg ? ~b & 0xff : j === 0 ? b ^ 0x80 : b;
        }
        parts.push(f64[0]!);
        i += 8;
        break;
      }
      case T_STRING:
      case T_BYTES: {
        const out: number[] = [];
        for (;;) {
          const b = key[i++];
          if (b === undefined) throw new Error('truncated key');
          if (b === 0) {
            const next = key[i++];
            if (next === 1 || next === CUT_MARK) break; // a cut part decodes to its prefix
            if (next !== 0xff) throw new Error('bad escape in key');
          }
          out.push(b);
        }
        const bytes = Uint8Array.from(out);
        parts.push(tag === T_STRING ? utf8Decode(bytes) : bytes);
        break;
      }
      case T_ID:
        parts.push({ id: key.slice(i, i + 16) });
        i += 16;
        break;
      default:
        throw new Error(`bad key tag ${tag} at ${i - 1}`);
    }
  }
  return parts;
}

/** The smallest key above every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + 1);
  out.set(prefix);
  out[prefix.length] = 0xff;
  return out;
}

/** The last 16 bytes of a key that ends with an id part. */
export function trailingId(key: Uint8Array): Uint8Array {
  return key.subarray(key.length - 16);
}
