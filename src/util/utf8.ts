/**
 * UTF-8 in JS for the codecs: short strings are encoded and decoded here, longer ones by
 * TextEncoder/TextDecoder. A call into those cost more than the string itself in Chromium (see
 * each function). A module of its own, apart from bytes.ts, so that the page's bundle, which uses
 * bytes.ts, does not take it along.
 */

// Marked pure so a bundle that does not use them leaves them out.
const encoder = /* @__PURE__ */ new TextEncoder();
// `ignoreBOM`: a string that begins with U+FEFF keeps it (by default a decoder drops it).
const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `s` as UTF-8, as TextEncoder makes it (a lone surrogate becomes U+FFFD). Strings of up to
 * `SHORT` UTF-16 units are encoded here: a call into TextEncoder cost 4-12 µs a string in
 * Chromium, many times what the bytes take (a row with a non-ASCII string made two such calls).
 */
export function utf8Encode(s: string): Uint8Array {
  return s.length <= SHORT ? utf8Scratch(s).slice() : encoder.encode(s);
}

/**
 * `s` as UTF-8 like `utf8Encode`, but a short string's bytes are a view of a scratch buffer that
 * the next call overwrites: for a caller that copies them at once (no allocation per string).
 */
export function utf8Scratch(s: string): Uint8Array {
  return s.length <= SHORT ? scratch.subarray(0, utf8Write(s, scratch, 0)) : encoder.encode(s);
}

/** The longest string encoded in JS (see `utf8Encode`). */
export const SHORT = 4096;
/** Room for a `SHORT` string's UTF-8: 3 bytes per UTF-16 unit at most. */
const scratch = /* @__PURE__ */ new Uint8Array(3 * SHORT);

/**
 * Writes `s` as UTF-8 into `out` from `at` (it needs 3 bytes per UTF-16 unit at most); returns
 * where it ended. Byte for byte what TextEncoder writes: a lone surrogate becomes U+FFFD.
 */
export function utf8Write(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = c <= 0xdbff && i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          out[at++] = 0xf0 | (c >> 18);
          out[at++] = 0x80 | ((c >> 12) & 0x3f);
          out[at++] = 0x80 | ((c >> 6) & 0x3f);
          out[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

/**
 * UTF-8 to text; malformed UTF-8 throws (TextDecoder's `fatal`). Short strings are read here: a
 * call into TextDecoder costs more than the string itself (0.5-3 µs in Chromium). Anything this
 * loop does not take as well-formed goes to TextDecoder, which decodes it or throws.
 */
export function utf8Decode(b: Uint8Array): string {
  const n = b.length;
  // ASCII (most stored strings) straight from the bytes: twice as fast as the loop below.
  if (n <= 64) {
    let i = 0;
    while (i < n && b[i]! < 0x80) i++;
    if (i === n) return String.fromCharCode.apply(null, b as unknown as number[]);
  }
  if (n <= 256) {
    const out = units;
    let k = 0;
    for (let i = 0; i < n; ) {
      const c = b[i]!;
      if (c < 0x80) {
        out[k++] = c;
        i++;
        continue;
      }
      // The lead byte says how many continuation bytes follow, and the range of the first (no
      // overlong forms, no surrogates, nothing past U+10FFFF); the others are 0x80-0xBF.
      let need: number;
      let lo = 0x80;
      let hi = 0xbf;
      let cp: number;
      if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
      } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
        if (c === 0xe0) lo = 0xa0;
        else if (c === 0xed) hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
        if (c === 0xf0) lo = 0x90;
        else if (c === 0xf4) hi = 0x8f;
      } else return decoder.decode(b);
      if (i + need >= n) return decoder.decode(b); // cut short
      for (let j = 1; j <= need; j++) {
        const d = b[i + j]!;
        if (d < lo || d > hi) return decoder.decode(b);
        lo = 0x80;
        hi = 0xbf;
        cp = (cp << 6) | (d & 0x3f);
      }
      i += need + 1;
      if (cp < 0x10000) out[k++] = cp;
      else {
        cp -= 0x10000;
        out[k++] = 0xd800 | (cp >> 10);
        out[k++] = 0xdc00 | (cp & 0x3ff);
      }
    }
    return String.fromCharCode.apply(null, out.subarray(0, k) as unknown as number[]);
  }
  return decoder.decode(b);
}

/** UTF-16 units of a string `utf8Decode` reads itself (at most one per byte). */
const units = /* @__PURE__ */ new Uint16Array(256);
