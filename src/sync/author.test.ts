/** Who a client writes as (author.ts), and the base64 it reads a token's claims with. */
import { describe, expect, it } from 'vitest';
import { authorOf, subjectOf } from './author.ts';
import { fromBase64 } from '../util/bytes.ts';
import { mulberry32 } from '../util/random.ts';

const jwt = (claims: unknown) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('authorOf', () => {
  it("is the token's sub, admin or a peer with the secret, anon:<client> otherwise", () => {
    expect(authorOf({ token: jwt({ sub: 'zoë-ünïcode-✓' }) }, 'c1')).toBe('zoë-ünïcode-✓');
    expect(authorOf({ secret: 's' }, 'c1')).toBe('admin');
    expect(authorOf({ secret: 's', role: 'peer' }, 'c1')).toBe('peer:c1');
    expect(authorOf(undefined, 'c1')).toBe('anon:c1');
    for (const token of ['not a jwt', 'a.%%%.c', jwt({ sub: '' }), jwt({ sub: 42 }), jwt({ name: 'x' }), jwt('just a string')]) {
      expect(authorOf({ token }, 'c1'), token).toBe('anon:c1');
    }
    expect(subjectOf(jwt({ sub: 'a'.repeat(5000) }))).toHaveLength(5000);
  });

  it('reads base64 and base64url like Node does (randomised)', () => {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    console.log(`base64 seed ${seed}`);
    const rand = mulberry32(seed);
    const next = () => Math.floor(rand() * 256);
    for (let n = 0; n < 300; n++) {
      const bytes = Uint8Array.from({ length: n % 67 }, next);
      const buf = Buffer.from(bytes);
      expect(fromBase64(buf.toString('base64'))).toEqual(bytes);
      expect(fromBase64(buf.toString('base64url'))).toEqual(bytes);
    }
    expect(fromBase64('a')).toBeUndefined();
    expect(fromBase64('ab$d')).toBeUndefined();
  });
});
