import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './binary.ts';
import { SHORT, utf8Decode, utf8Encode, utf8Write } from './bytes.ts';

/** Random UTF-16 text: ASCII, 2- and 3-byte characters, surrogate pairs, and lone surrogates. */
function randomText(rand: () => number, length: number): string {
  let s = '';
  while (s.length < length) {
    const k = rand();
    if (k < 0.4) s += String.fromCharCode(Math.floor(rand() * 0x80));
    else if (k < 0.6) s += String.fromCharCode(0x80 + Math.floor(rand() * 0x780));
    else if (k < 0.8) s += String.fromCharCode(0x800 + Math.floor(rand() * (0xd800 - 0x800)));
    else if (k < 0.85) s += String.fromCharCode(0xe000 + Math.floor(rand() * 0x2000));
    else if (k < 0.95) s += String.fromCodePoint(0x10000 + Math.floor(rand() * 0xfffff));
    else s += String.fromCharCode(0xd800 + Math.floor(rand() * 0x800)); // a lone surrogate (or, by chance, half a pair)
  }
  return s;
}

describe('UTF-8 in JS', () => {
  it('writes exactly the bytes TextEncoder writes, lone surrogates included, and ByteWriter reads them back', () => {
    const seed = Date.now() % 1e9;
    console.log(`[utf8] seed ${seed}`);
    let x = seed;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x / 2 ** 31);
    const enc = new TextEncoder();
    const edge = ['', 'a', 'é', '€', '😀', '\ud800', '\udc00', 'a\ud800b', '\udbff\udfff', '\ud83d', 'x\u0000y', '\u07ff\u0800\uffff'];
    const texts = [...edge, ...Array.from({ length: 3_000 }, (_, i) => randomText(rand, i % 200)), randomText(rand, SHORT), randomText(rand, SHORT + 5)];
    for (const s of texts) {
      const want = enc.encode(s);
      expect(utf8Encode(s), JSON.stringify(s)).toEqual(want);
      const out = new Uint8Array(3 * s.length + 4);
      expect(out.subarray(2, utf8Write(s, out, 2))).toEqual(want);
      const w = new ByteWriter();
      w.string(s);
      w.string('after');
      const r = new ByteReader(w.finish());
      // Well-formed text reads back as itself; a lone surrogate reads back as U+FFFD, as TextDecoder would.
      expect(r.string()).toBe(new TextDecoder().decode(want));
      expect(r.string()).toBe('after');
      expect(utf8Decode(want)).toBe(new TextDecoder().decode(want));
    }
  });
});
