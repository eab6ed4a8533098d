import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './binary.ts';
import { mulberry32 } from './random.ts';

describe('ByteReader', () => {
  it('reads back every int and float the writer wrote, at any offset', () => {
    const seed = Date.now() % 1_000_000;
    console.log(`binary.test seed ${seed}`);
    const rand = mulberry32(seed);
    const ints = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 255, -256, 65_536, -65_537];
    const floats = [0, -0, 1.5, -1e308, Number.MIN_VALUE, Number.MAX_VALUE, Infinity, -Infinity, NaN, 1_700_000_000_123, Math.PI];
    for (let i = 0; i < 200; i++) {
      ints.push(Math.floor(rand() * 2 ** 32) - 2 ** 31);
      floats.push((rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20));
    }
    for (let lead = 0; lead < 8; lead++) {
      const w = new ByteWriter();
      for (let i = 0; i < lead; i++) w.u8(0xee);
      for (let i = 0; i < ints.length; i++) {
        w.i32(ints[i]!);
        w.f64(floats[i % floats.length]!);
      }
      const bytes = w.finish();
      // A view into a larger buffer, as leaves hand out values.
      const host = new Uint8Array(bytes.length + 13);
      host.set(bytes, 5);
      const r = new ByteReader(host.subarray(5, 5 + bytes.length), lead);
      for (let i = 0; i < ints.length; i++) {
        expect(r.i32()).toBe(ints[i]);
        expect(Object.is(r.f64(), floats[i % floats.length])).toBe(true);
      }
      expect(r.pos).toBe(bytes.length);
      expect(() => r.f64()).toThrow(/truncated/);
    }
  });
});
