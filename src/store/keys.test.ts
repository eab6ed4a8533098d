import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, prefixEnd, type KeyPart } from './keys.ts';
import { compareBytes } from './types.ts';
import { compareValues } from '../query/compare.ts';
import { rng } from '../testing/fixtures.ts';

function randomPart(r: () => number): KeyPart {
  switch (Math.floor(r() * 7)) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return { uint: Math.floor(r() ** 4 * 2 ** 40) };
    case 3: return [0, -0, 1, -1, 0.5, -1e300, 1e300, Infinity, -Infinity, 2 ** 53, Math.PI][Math.floor(r() * 11)]! * (r() < 0.5 ? 1 : r());
    case 4: return ['', 'a', 'ab', 'a\u0000b', 'a\u0000', '\u00ff', 'é', '\uffff', '😀', 'z'][Math.floor(r() * 10)]!;
    case 5: return Uint8Array.from({ length: Math.floor(r() * 4) }, () => [0, 1, 0xff, 0x80][Math.floor(r() * 4)]!);
    default: return { id: Uint8Array.from({ length: 16 }, () => Math.floor(r() * 256)) };
  }
}

const TYPE_RANK = (p: KeyPart) => (p === null ? 0 : p === false ? 1 : p === true ? 2 : typeof p === 'object' && 'uint' in p ? 3 : typeof p === 'number' ? 4 : typeof p === 'string' ? 5 : p instanceof Uint8Array ? 6 : 7);

function comparePart(a: KeyPart, b: KeyPart): number {
  const ra = TYPE_RANK(a);
  const rb = TYPE_RANK(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'object' && a && 'uint' in a) return (a.uint - (b as { uint: number }).uint);
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
      const b = r() < 0.3 ? [...a.slice(0, Math.floor(r() * a.length)), ...Array.from({ length: Math.floor(r() * 2) }, () => randomPart(r))] : Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomPart(r));
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
});
