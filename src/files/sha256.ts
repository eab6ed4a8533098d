/**
 * SHA-256 (FIPS 180-4), incremental: `new Sha256()`, `update(bytes)` any number of times, then
 * `digest()` (32 bytes) or `hex()`. Files are hashed as their parts go by, so memory stays at one
 * part however large the file (crypto.subtle.digest only hashes a whole buffer at once). Tests
 * compare it with crypto.subtle.
 */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export class Sha256 {
  readonly #h = new Uint32Array(INITIAL);
  readonly #block = new Uint8Array(64);
  readonly #w = new Uint32Array(64);
  #fill = 0;
  #length = 0;
  #done = false;

  update(data: Uint8Array): this {
    if (this.#done) throw new Error('Sha256: update after digest');
    this.#length += data.length;
    let i = 0;
    if (this.#fill > 0) {
      const n = Math.min(64 - this.#fill, data.length);
      this.#block.set(data.subarray(0, n), this.#fill);
      this.#fill += n;
      i = n;
      if (this.#fill < 64) return this;
      this.#compress(this.#block, 0);
      this.#fill = 0;
    }
    const whole = i + ((data.length - i) & ~63);
    if (whole > i) this.#compress(data, i, whole);
    i = whole;
    if (i < data.length) {
      this.#block.set(data.subarray(i), 0);
      this.#fill = data.length - i;
    }
    return this;
  }

  digest(): Uint8Array {
    if (!this.#done) {
      const bits = this.#length * 8;
      const b = this.#block;
      b[this.#fill++] = 0x80;
      if (this.#fill > 56) {
        b.fill(0, this.#fill);
        this.#compress(b, 0);
        this.#fill = 0;
      }
      b.fill(0, this.#fill, 56);
      const hi = Math.floor(bits / 0x100000000);
      const lo = bits >>> 0;
      b[56] = hi >>> 24;
      b[57] = hi >>> 16;
      b[58] = hi >>> 8;
      b[59] = hi;
      b[60] = lo >>> 24;
      b[61] = lo >>> 16;
      b[62] = lo >>> 8;
      b[63] = lo;
      this.#compress(b, 0);
      this.#done = true;
    }
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const v = this.#h[i]!;
      out[i * 4] = v >>> 24;
      out[i * 4 + 1] = v >>> 16;
      out[i * 4 + 2] = v >>> 8;
      out[i * 4 + 3] = v;
    }
    return out;
  }

  hex(): string {
    let s = '';
    for (const b of this.digest()) s += b.toString(16).padStart(2, '0');
    return s;
  }

  #compress(d: Uint8Array, at: number, end = at + 64): void {
    blocks(this.#h, this.#w, d, at, end);
  }
}

/**
 * Hashes the 64-byte blocks of `d[at, end)` into `h`: one call for many blocks, with the state in
 * locals (V8 keeps them in registers; a call and private-field reads per block were half the cost).
 */
function blocks(h: Uint32Array, w: Uint32Array, d: Uint8Array, at: number, end: number): void {
  let h0 = h[0]! | 0,
    h1 = h[1]! | 0,
    h2 = h[2]! | 0,
    h3 = h[3]! | 0,
    h4 = h[4]! | 0,
    h5 = h[5]! | 0,
    h6 = h[6]! | 0,
    h7 = h[7]! | 0;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (; at < end; at += 64) {
    for (let t = 0, j = at; t < 16; t++, j += 4) w[t] = view.getUint32(j);
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!;
      const y = w[t - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
    }
    let a = h0,
      b = h1,
      c = h2,
      dd = h3,
      e = h4,
      f = h5,
      g = h6,
      hh = h7;
    for (let t = 0; t < 64; t++) {
      const t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (dd + t1) | 0;
      dd = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + dd) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + hh) | 0;
  }
  h[0] = h0;
  h[1] = h1;
  h[2] = h2;
  h[3] = h3;
  h[4] = h4;
  h[5] = h5;
  h[6] = h6;
  h[7] = h7;
}

/** SHA-256 of one buffer. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Sha256().update(data).digest();
}
