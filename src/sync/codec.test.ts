import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, encodedSize, ProtocolError } from './codec.ts';
import { rng } from '../testing/fixtures.ts';

describe('wire codec', () => {
  it('encodedSize is the length encodeFrame writes, for random values (randomised)', () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    console.log(`codec size seed ${seed}`);
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
    const value = (depth: number): unknown => {
      switch (Math.floor(r() * (depth > 4 ? 6 : 8))) {
        case 0:
          return null;
        case 1:
          return r() < 0.5;
        case 2:
          return pick([0, -1, 1, 63, 64, 127, 128, 2 ** 31, -(2 ** 40), 2 ** 52 - 1, 2 ** 53 - 1, -0, 0.5, 1e300, Math.floor(r() * 1e6)]);
        case 3:
          return pick(['', 'a', 'é', '😀', '\ud800', 'x'.repeat(127), 'x'.repeat(128), 'ü'.repeat(100), '\u0000']) + pick(['', 'z', '中文']);
        case 4:
          return Uint8Array.from({ length: pick([0, 1, 127, 128, 300]) }, (_, i) => i & 0xff);
        case 5:
          return 'x'.repeat(Math.floor(r() * 20_000));
        case 6:
          return Array.from({ length: Math.floor(r() * 5) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, (_, i) => [pick(['k', 'é', '😀', 'key']) + i, value(depth + 1)]));
      }
    };
    for (let i = 0; i < 3000; i++) {
      const v = value(0);
      expect({ i, size: encodedSize(v) }).toEqual({ i, size: encodeFrame(v).length });
    }
  });

  it('carries a value nested as deep as a JSON column may be (64) inside a message', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 64; i++) deep = { d: deep };
    const message = { t: 'push', batchId: 'b', versions: [{ values: { meta: deep } }] };
    expect(decodeFrame(encodeFrame(message))).toEqual(message);
    let deeper: unknown = deep;
    for (let i = 0; i < 20; i++) deeper = [deeper];
    expect(() => encodedSize({ versions: [{ values: { meta: deeper } }] })).toThrow(ProtocolError);
  });
});
