import { describe, expect, it } from 'vitest';
import { KeyWriter, decodeKey, encodeKey, prefixEnd, type KeyPart } from './keys.ts';
import { utf8Encode } from '../util/utf8.ts';
import { compareBytes } from './types.ts';
import { compareValues } from '../query/compare.ts';
import { rng } from '../testing/fixtures.ts';

function randomPart(r: () => number): KeyPart {
  switch (Math.floor(r() * 7)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return { uint: Math.floor(r() ** 4 * 2 ** 40) };
    case 3:
      return [0, -0, 1, -1, 0.5, -1e300, 1e300, Infinity, -Infinity, 2 ** 53, Math.PI][Math.floor(r() * 11)]! * (r() < 0.5 ? 1 : r());
    case 4:
      return ['', 'a', 'ab', 'a\u0000b', 'a\u0000', '\u00ff', 'é', '\uffff', '😀', 'z'][Math.floor(r() * 10)]!;
    case 5:
      return Uint8Array.from({ length: Math.floor(r() * 4) }, () => [0, 1, 0xff, 0x80][Math.floor(r() * 4)]!);
    default:
      return { id: Uint8Array.from({ length: 16 }, () => Math.floor(r() * 256)) };
  }
}

const TYPE_RANK = (p: KeyPart) =>
  p === null ? 0 : p === false ? 1 : p === true ? 2 : typeof p === 'object' && 'uint' in p ? 3 : typeof p === 'number' ? 4 : typeof p === 'string' ? 5 : p instanceof Uint8Array ? 6 : 7;

function comparePart(a: KeyPart, b: KeyPart): number {
  const ra = TYPE_RANK(a);
  const rb = TYPE_RANK(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'object' && a && 'uint' in a) return a.uint - (b as { uint: number }).uint;
  if (typeof a === 'object' && a && 'id' in a) return compareBytes(a.id, (b as { id: Uint8Array }).id);
  return compareValues(a, b);
}

function compareTuples(a: KeyPart[], b: KeyPart[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = comparePart(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

describe('tuple key codec', () => {
  it('round-trips parts', () => {
    const parts: KeyPart[] = [null, true, false, { uint: 0 }, { uint: 2 ** 53 - 1 }, -0.5, 'a\u0000b', new Uint8Array([0, 255, 0]), { id: new Uint8Array(16).fill(7) }];
    const back = decodeKey(encodeKey(parts));
    expect(back).toEqual(parts.map((p) => (p instanceof Uint8Array ? p : p)));
  });

  it('byte order equals tuple order (randomised)', () => {
    const seed = Math.floor(Math.random() * 1e9);
    console.log(`key order seed ${seed}`);
    const r = rng(seed);
    for (let i = 0; i < 20000; i++) {
      const a = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomPart(r));
      const b =
        r() < 0.3
          ? [...a.slice(0, Math.floor(r() * a.length)), ...Array.from({ length: Math.floor(r() * 2) }, () => randomPart(r))]
          : Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomPart(r));
      const expected = Math.sign(compareTuples(a, b));
      const got = Math.sign(compareBytes(encodeKey(a), encodeKey(b)));
      if (expected !== got) expect({ a, b, got }).toEqual({ a, b, got: expected });
    }
  });

  it('prefixEnd bounds every extension of a prefix', () => {
    const p = encodeKey([{ uint: 3 }, 'x']);
    const end = prefixEnd(p);
    for (const tail of [[null], [{ id: new Uint8Array(16).fill(255) }], ['\uffff'], [new Uint8Array([255, 255])]] as KeyPart[][]) {
      const k = encodeKey([{ uint: 3 }, 'x', ...tail]);
      expect(compareBytes(k, p)).toBeGreaterThan(0);
      expect(compareBytes(k, end)).toBeLessThan(0);
    }
  });

  describe('parts cut to a bounded length', () => {
    const ALPHABET = ['a', 'b', '\u0000', '\u0001', 'é', '\uffff', '😀', 'z', '\u007f'];
    const randomString = (r: () => number) => Array.from({ length: Math.floor(r() * 14) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]!).join('');
    const randomBytes = (r: () => number) => Uint8Array.from({ length: Math.floor(r() * 14) }, () => [0, 1, 2, 0xff, 0x80][Math.floor(r() * 5)]!);
    const cutKey = (v: string | Uint8Array, max: number) => {
      const w = new KeyWriter().reset();
      if (typeof v === 'string') w.string(v, max);
      else w.bytes(v, max);
      return { key: w.finish(), cut: w.cut };
    };
    /** The naive cut: the longest prefix of the value's bytes whose escaped length fits `max`. */
    const naive = (v: string | Uint8Array, max: number) => {
      const bytes = typeof v === 'string' ? utf8Encode(v) : v;
      let len = 0;
      let k = 0;
      while (k < bytes.length && len + (bytes[k] === 0 ? 2 : 1) <= max) len += bytes[k++] === 0 ? 2 : 1;
      return { prefix: bytes.subarray(0, k), cut: k < bytes.length };
    };

    it('keep order (a < b gives key(a) <= key(b)), tie only on a shared cut, and agree with a naive cut (randomised)', () => {
      const seed = Math.floor(Math.random() * 1e9);
      console.log(`cut key seed ${seed}`);
      const r = rng(seed);
      for (let i = 0; i < 20000; i++) {
        const max = 1 + Math.floor(r() * 12);
        const strings = r() < 0.5;
        const a = strings ? randomString(r) : randomBytes(r);
        const b = strings ? (r() < 0.3 ? (a as string) + randomString(r) : randomString(r)) : randomBytes(r);
        const ka = cutKey(a, max);
        const kb = cutKey(b, max);
        const va = compareValues(a, b);
        const kd = compareBytes(ka.key, kb.key);
        const na = naive(a, max);
        const ctx = { seed, i, a, b, max };
        expect({ ...ctx, cut: ka.cut }).toEqual({ ...ctx, cut: na.cut });
        if (va < 0) expect({ ...ctx, kd: kd <= 0 }).toEqual({ ...ctx, kd: true });
        if (va > 0) expect({ ...ctx, kd: kd >= 0 }).toEqual({ ...ctx, kd: true });
        if (kd === 0 && va !== 0) {
          // Equal keys for different values: both were cut at the same prefix.
          expect({ ...ctx, both: ka.cut && kb.cut }).toEqual({ ...ctx, both: true });
        }
        if (!ka.cut) expect(ka.key).toEqual(encodeKey([strings ? (a as string) : (a as Uint8Array)]));
        else {
          // A cut part decodes to its prefix; it sorts after the exact prefix, before anything longer.
          const exactPrefix = new KeyWriter().reset().bytes(na.prefix).finish();
          expect(compareBytes(ka.key.subarray(1), exactPrefix.subarray(1))).toBeGreaterThan(0);
          expect(ka.key.length).toBeLessThanOrEqual(max + 3);
        }
      }
    });

    it('a long ASCII or non-ASCII string is cut at exactly max escaped bytes', () => {
      for (const v of ['x'.repeat(1000), 'é'.repeat(1000), '😀'.repeat(1000), 'a\u0000'.repeat(500)]) {
        const { key, cut } = cutKey(v, 256);
        expect(cut).toBe(true);
        expect(key.length).toBeLessThanOrEqual(256 + 3);
        expect(key.subarray(0, key.length - 2)).toEqual(
          cutKey(utf8Encode(v), 256)
            .key.subarray(0, key.length - 2)
            .map((b, j) => (j === 0 ? 0x06 : b)),
        );
      }
      expect(cutKey('x'.repeat(256), 256).cut).toBe(false);
      expect(cutKey('x'.repeat(257), 256).cut).toBe(true);
    });
  });
});
