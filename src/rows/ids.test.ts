import { describe, expect, it } from 'vitest';
import { IdGenerator, bytesToUuid, idText, isUuid, uuidToBytes } from './ids.ts';
import { mulberry32 } from '../util/random.ts';

describe('row ids', () => {
  it('bytes and text convert both ways, for every byte value in every position', () => {
    const seed = Date.now();
    console.log(`[ids] seed ${seed}`);
    const rand = mulberry32(seed);
    const next = () => Math.floor(rand() * 256);
    for (let k = 0; k < 2_000; k++) {
      const b = new Uint8Array(16);
      for (let i = 0; i < 16; i++) b[i] = k < 256 ? (k + i * 17) & 0xff : next();
      const s = bytesToUuid(b);
      expect(s).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(s.replaceAll('-', '')).toBe([...b].map((v) => v.toString(16).padStart(2, '0')).join(''));
      expect([...uuidToBytes(s)]).toEqual([...b]);
      expect(idText(b)).toBe(s); // the worker's faster writer agrees
    }
  });

  it('generated ids are UUIDv7 text, strictly increasing as text and as bytes', () => {
    const gen = new IdGenerator();
    let last = '';
    for (let i = 0; i < 1_000; i++) {
      const id = gen.next();
      expect(isUuid(id)).toBe(true);
      expect(id[14]).toBe('7');
      expect(id > last).toBe(true);
      expect(bytesToUuid(uuidToBytes(id))).toBe(id);
      last = id;
    }
  });
});
