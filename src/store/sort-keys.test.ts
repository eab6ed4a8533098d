import { describe, expect, it } from 'vitest';
import { sortKeys } from './sort-keys.ts';
import { compareBytes } from './types.ts';
import { mulberry32 } from '../util/random.ts';

/** Keys spread over a few buffers, as the durable store passes them (one buffer per WAL record). */
function batch(keys: Uint8Array[], groups: number) {
  const n = keys.length;
  const parts: number[][] = Array.from({ length: groups }, () => []);
  keys.forEach((_, i) => parts[i % groups]!.push(i));
  const bufs: Uint8Array[] = [];
  const group = new Uint32Array(n);
  const at = new Uint32Array(n);
  const len = new Uint32Array(n);
  parts.forEach((members, g) => {
    const buf = new Uint8Array(7 + members.reduce((s, i) => s + keys[i]!.length + 3, 0));
    let o = 7; // keys do not start at 0 in a record
    for (const i of members) {
      buf.set(keys[i]!, o);
      group[i] = g;
      at[i] = o;
      len[i] = keys[i]!.length;
      o += keys[i]!.length + 3;
    }
    bufs.push(buf);
  });
  return { bufs, group, at, len };
}

describe('sortKeys', () => {
  it('orders keys by unsigned bytes, shorter prefixes first, equal keys in their order, small and large batches', () => {
    const seed = (Date.now() % 100000) + 1;
    console.log(`sortKeys seed ${seed}`);
    const rand = mulberry32(seed); // the seed is printed, so a failure can be replayed
    for (const n of [0, 1, 2, 5, 47, 48, 49, 300, 5000]) {
      const keys: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const r = rand();
        if (r < 0.15 && keys.length > 0) {
          keys.push(keys[Math.floor(rand() * keys.length)]!.slice()); // an equal key
        } else if (r < 0.3 && keys.length > 0) {
          const k = keys[Math.floor(rand() * keys.length)]!; // a prefix or an extension of another
          keys.push(rand() < 0.5 ? k.slice(0, Math.floor(rand() * k.length)) : Uint8Array.of(...k, rand() < 0.5 ? 0 : 255));
        } else {
          // A shared prefix as engine keys have, then a value of any length (past the radix head too).
          const k = new Uint8Array(3 + Math.floor(rand() * 40));
          k.set([1, 3, 0].slice(0, k.length));
          for (let b = 3; b < k.length; b++) k[b] = rand() < 0.3 ? 0 : rand() < 0.5 ? 255 : Math.floor(rand() * 256);
          keys.push(k);
        }
      }
      const { bufs, group, at, len } = batch(keys, 3);
      const got = [...sortKeys(n, bufs, group, at, len)];
      const want = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!) || a - b);
      expect(got, `n = ${n}`).toEqual(want);
    }
  });

  it('orders interleaved runs already in order (the streams of a bulk load), and runs with one key out of place', () => {
    const seed = (Date.now() % 100000) + 7;
    console.log(`sortKeys runs seed ${seed}`);
    const rand = mulberry32(seed);
    for (const n of [40, 300, 5000]) {
      const keys: Uint8Array[] = [];
      const next = [0, 0, 0, 0, 0, 0];
      for (let i = 0; i < n; i++) {
        // Six streams, one key of each per row in turn: [stream, 0, id] with ids growing.
        const stream = i % 6;
        const id = stream === 5 ? Math.floor(rand() * 65536) : (next[stream] = next[stream]! + 1 + Math.floor(rand() * 3));
        keys.push(Uint8Array.of(4, stream, 0, 9, 9, 9, 9, id >> 8, id & 255));
      }
      // One run's last key and one run's first key out of place; and a key equal to another.
      keys[keys.length - 2] = Uint8Array.of(4, (keys.length - 2) % 6, 0, 9, 9, 9, 9, 0, 0);
      keys[1] = Uint8Array.of(4, 1, 0, 9, 9, 9, 9, 255, 255);
      keys[12] = keys[6]!.slice();
      const { bufs, group, at, len } = batch(keys, 4);
      const got = [...sortKeys(n, bufs, group, at, len)];
      const want = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!) || a - b);
      expect(got, `n = ${n}`).toEqual(want);
    }
  });
});
