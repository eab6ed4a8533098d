import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './binary.ts';
import { SHORT, utf8Decode, utf8Encode, utf8Write } from './utf8.ts';
import { mulberry32 } from './random.ts';

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
    const rand = mulberry32(seed);
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
      expect(r.string()).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(want));
      expect(r.string()).toBe('after');
      expect(utf8Decode(want)).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(want));
    }
  });

  it('reads exactly what a fatal TextDecoder reads, and throws where it throws, on random and broken bytes', () => {
    const seed = Date.now() % 1e9;
    console.log(`[utf8] decode seed ${seed}`);
    const rand = mulberry32(seed);
    const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const read = (f: () => string): string => {
      try {
        return f();
      } catch {
        return 'THREW';
      }
    };
    const enc = new TextEncoder();
    const cases: Uint8Array[] = [
      enc.encode('\ufeffa value that starts with U+FEFF'),
      Uint8Array.of(0xc0, 0x80), // overlong NUL
      Uint8Array.of(0xe0, 0x80, 0x80), // overlong
      Uint8Array.of(0xed, 0xa0, 0x80), // a surrogate
      Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // past U+10FFFF
      Uint8Array.of(0xf0, 0x9f, 0x98), // cut short
      Uint8Array.of(0x61, 0xe2, 0x82), // cut short after ASCII
      Uint8Array.of(0xff),
      Uint8Array.of(0x80),
    ];
    for (let k = 0; k < 5_000; k++) {
      const good = enc.encode(randomText(rand, Math.floor(rand() * 100)));
      if (k % 2 === 0 || good.length === 0) cases.push(good);
      else {
        // Broken: a byte changed, dropped or cut off.
        const b = good.slice();
        const at = Math.floor(rand() * b.length);
        if (k % 3 === 0) b[at] = Math.floor(rand() * 256);
        cases.push(k % 3 === 1 ? b.subarray(0, at) : k % 3 === 2 ? new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]) : b);
      }
    }
    let threw = 0;
    for (const b of cases) {
      const want = read(() => dec.decode(b));
      if (want === 'THREW') threw++;
      expect(
        read(() => utf8Decode(b)),
        `[${[...b].join(',')}]`,
      ).toBe(want);
    }
    expect(threw).toBeGreaterThan(500);
    expect(utf8Decode(cases[0]!).charCodeAt(0)).toBe(0xfeff);
  });
});
