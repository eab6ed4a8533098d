/**
 * The wire codec: a small self-describing binary encoding of plain values (like MessagePack,
 * smaller and stricter), used for every message between clients and servers.
 *
 *   0x00 null   0x01 false   0x02 true   0x03 int (zigzag varint, safe integers)   0x04 float64 LE
 *   0x05 string (varint length + UTF-8)   0x06 bytes (varint length + raw)
 *   0x07 array (varint count + items)     0x08 map (varint count + (string key, value) pairs)
 *
 * Decoding never trusts its input: every length is checked against what is left, nesting is
 * limited, and any problem is a `ProtocolError`, never a crash or a huge allocation.
 */
import { ByteReader, ByteWriter, varintSize } from '../util/binary.ts';
import { utf8Decode } from '../util/utf8.ts';

export type WireValue = null | boolean | number | string | Uint8Array | WireValue[] | { [k: string]: WireValue };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Nesting allowed in a frame: a JSON column may nest 64 deep (schema.ts) and a version puts it four
 * levels down (message, versions, version, values); the rest is margin.
 */
const MAX_DEPTH = 72;
/** The largest integer whose zigzag form (2v) is still a safe integer. */
const MAX_ZIGZAG = 2 ** 52 - 1;

export function encodeValue(w: ByteWriter, v: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw new ProtocolError('value nested too deeply');
  if (v === null || v === undefined) return w.u8(0);
  switch (typeof v) {
    case 'boolean':
      return w.u8(v ? 2 : 1);
    case 'number':
      // Zigzag doubles the magnitude, so only integers within ±2^52 stay exact (and are accepted
      // by the decoder) as varints; larger safe integers travel as float64, which holds them exactly.
      if (Number.isSafeInteger(v) && v >= -MAX_ZIGZAG - 1 && v <= MAX_ZIGZAG && !Object.is(v, -0)) {
        w.u8(3);
        w.varint(v >= 0 ? v * 2 : -v * 2 - 1);
      } else {
        w.u8(4);
        w.f64(v);
      }
      return;
    case 'string':
      w.u8(5);
      w.string(v);
      return;
  }
  if (v instanceof Uint8Array) {
    w.u8(6);
    w.bytes(v);
    return;
  }
  if (Array.isArray(v)) {
    w.u8(7);
    w.varint(v.length);
    for (const x of v) encodeValue(w, x, depth + 1);
    return;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as object).filter(([, x]) => x !== undefined);
    w.u8(8);
    w.varint(entries.length);
    for (const [k, x] of entries) {
      w.string(k);
      encodeValue(w, x, depth + 1);
    }
    return;
  }
  throw new ProtocolError(`cannot encode a ${typeof v}`);
}

/** How many bytes `encodeValue` writes for `v`, without writing them (same checks, same errors). */
export function encodedSize(v: unknown, depth = 0): number {
  if (depth > MAX_DEPTH) throw new ProtocolError('value nested too deeply');
  if (v === null || v === undefined) return 1;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      if (Number.isSafeInteger(v) && v >= -MAX_ZIGZAG - 1 && v <= MAX_ZIGZAG && !Object.is(v, -0)) return 1 + varintSize(v >= 0 ? v * 2 : -v * 2 - 1);
      return 9;
    case 'string':
      return 1 + stringSize(v);
  }
  if (v instanceof Uint8Array) return 1 + varintSize(v.length) + v.length;
  if (Array.isArray(v)) {
    let n = 1 + varintSize(v.length);
    for (const x of v) n += encodedSize(x, depth + 1);
    return n;
  }
  if (typeof v === 'object') {
    let n = 1;
    let count = 0;
    for (const [k, x] of Object.entries(v as object)) {
      if (x === undefined) continue;
      count++;
      n += stringSize(k) + encodedSize(x, depth + 1);
    }
    return n + varintSize(count);
  }
  throw new ProtocolError(`cannot encode a ${typeof v}`);
}

/** A string as `ByteWriter.string` writes it: varint length + UTF-8. */
function stringSize(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3; // the rest of the BMP, and a lone surrogate (encoded as U+FFFD)
  }
  return varintSize(bytes) + bytes;
}

export function decodeValue(r: ByteReader, depth = 0): WireValue {
  if (depth > MAX_DEPTH) throw new ProtocolError('value nested too deeply');
  const tag = r.u8();
  switch (tag) {
    case 0:
      return null;
    case 1:
      return false;
    case 2:
      return true;
    case 3: {
      const z = r.varint();
      if (z > Number.MAX_SAFE_INTEGER) throw new ProtocolError('integer out of range');
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case 4:
      return r.f64();
    case 5: {
      const n = r.varint();
      if (n > r.end - r.pos) throw new ProtocolError('string longer than the frame');
      return utf8Decode(r.raw(n));
    }
    case 6: {
      const n = r.varint();
      if (n > r.end - r.pos) throw new ProtocolError('bytes longer than the frame');
      return r.raw(n).slice();
    }
    case 7: {
      const n = r.varint();
      if (n > r.end - r.pos) throw new ProtocolError('array longer than the frame');
      const a: WireValue[] = [];
      for (let i = 0; i < n; i++) a.push(decodeValue(r, depth + 1));
      return a;
    }
    case 8: {
      const n = r.varint();
      if (n > r.end - r.pos) throw new ProtocolError('map longer than the frame');
      const o: Record<string, WireValue> = Object.create(null);
      for (let i = 0; i < n; i++) {
        const kn = r.varint();
        if (kn > r.end - r.pos) throw new ProtocolError('key longer than the frame');
        const k = utf8Decode(r.raw(kn));
        o[k] = decodeValue(r, depth + 1);
      }
      return o;
    }
    default:
      throw new ProtocolError(`unknown value tag ${tag}`);
  }
}

export function encodeFrame(v: unknown): Uint8Array {
  const w = new ByteWriter(256);
  encodeValue(w, v);
  return w.finish();
}

export function decodeFrame(bytes: Uint8Array): WireValue {
  const r = new ByteReader(bytes);
  let v: WireValue;
  try {
    v = decodeValue(r);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(e instanceof Error ? e.message : 'malformed frame');
  }
  if (r.pos !== r.end) throw new ProtocolError('trailing bytes after the message');
  return v;
}
