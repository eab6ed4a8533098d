/**
 * S2: tokens that must never get in (`alg: none`, HS/RS confusion, expired, wrong
 * audience or issuer, unknown key id, garbage) and the ones that must.
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { AuthError, createAuthenticator, parseAuthFlags, type Authenticator, type AuthErrorCode } from './auth.ts';

const AUD = 'jazz-test';
const ISS = 'https://issuer.test';

interface Pair {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
  readonly pem: string;
  readonly jwk: JWK;
}

async function pair(alg: string): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { publicKey, privateKey, pem: await exportSPKI(publicKey), jwk: await exportJWK(publicKey) };
}

let rsa: Pair;
let ec: Pair;
let ed: Pair;
let otherRsa: Pair;

beforeAll(async () => {
  [rsa, ec, ed, otherRsa] = await Promise.all([pair('RS256'), pair('ES256'), pair('EdDSA'), pair('RS256')]);
});

function sign(p: Pair, alg: string, claims: Record<string, unknown> = { sub: 'alice' }, opts: { aud?: string; iss?: string; exp?: string | number; kid?: string } = {}): Promise<string> {
  const j = new SignJWT(claims).setProtectedHeader({ alg, ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
  j.setAudience(opts.aud ?? AUD)
    .setIssuer(opts.iss ?? ISS)
    .setExpirationTime(opts.exp ?? '1h');
  return j.sign(p.privateKey);
}

const b64url = (x: string | Buffer) => Buffer.from(x).toString('base64url');

/** The classic confusion attack: an HS256 token whose HMAC key is the server's public key text. */
function hsWithPublicKey(pem: string, claims: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

function unsigned(claims: Record<string, unknown>, alg = 'none'): string {
  return `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
}

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = () => ({ sub: 'alice', aud: AUD, iss: ISS, exp: now() + 3600 });

async function rejected(auth: Authenticator, token: string, code: AuthErrorCode = 'UNAUTHORIZED'): Promise<AuthError> {
  const e = await auth({ token }, 'client-1').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'the token was accepted').toBeInstanceOf(AuthError);
  const err = e as AuthError;
  expect(err.code).toBe(code);
  // A message must help without repeating the credential.
  expect(err.message.length).toBeGreaterThan(10);
  if (token.length > 8) expect(err.message).not.toContain(token.slice(0, 40));
  return err;
}

describe('JWT with a configured public key', () => {
  const rsAuth = () => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAudience: AUD, jwtIssuer: ISS });

  it('accepts a valid RS256 token: userId from sub, claims, expiry', async () => {
    const exp = now() + 600;
    const token = await sign(rsa, 'RS256', { sub: 'alice', org: 'acme', roles: ['editor'] }, { exp });
    const s = await rsAuth()({ token }, 'client-1');
    expect(s.role).toBe('user');
    expect(s.userId).toBe('alice');
    expect(s.claims).toMatchObject({ sub: 'alice', org: 'acme', roles: ['editor'], aud: AUD, iss: ISS, exp });
    expect(s.expiresAt).toBe(exp * 1000);
    expect(Object.isFrozen(s.claims)).toBe(true);
  });

  it('accepts a valid ES256 token (key given as a JWK) and EdDSA (key in a JWKS text)', async () => {
    const esAuth = createAuthenticator({ jwtPublicKey: JSON.stringify(ec.jwk), jwtAudience: AUD });
    const s = await esAuth({ token: await sign(ec, 'ES256', { sub: 'bob' }) }, 'c');
    expect(s.userId).toBe('bob');
    const edAuth = createAuthenticator({ jwtPublicKey: JSON.stringify({ keys: [{ ...ed.jwk, kid: 'e1' }] }) });
    expect((await edAuth({ token: await sign(ed, 'EdDSA', { sub: 'carol' }, { kid: 'e1' }) }, 'c')).userId).toBe('carol');
  });

  it('rejects alg none, in every spelling', async () => {
    const auth = rsAuth();
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) await rejected(auth, unsigned(goodClaims(), alg));
    // "none" with a signature part that is not empty.
    await rejected(auth, unsigned(goodClaims()) + 'AAAA');
  });

  it('rejects the HS256/RS256 confusion attack (public key PEM as the HMAC secret)', async () => {
    const auth = rsAuth();
    expect((await rejected(auth, hsWithPublicKey(rsa.pem, goodClaims()))).message).toMatch(/algorithm/);
    await rejected(auth, hsWithPublicKey(rsa.pem.trim(), goodClaims()));
    await rejected(auth, hsWithPublicKey(JSON.stringify(rsa.jwk), goodClaims()));
    // Same when the key was configured as a JWK.
    await rejected(createAuthenticator({ jwtPublicKey: JSON.stringify(rsa.jwk) }), hsWithPublicKey(JSON.stringify(rsa.jwk), goodClaims()));
  });

  it('refuses to be configured with none, HS*, unknown algorithms or an unusable key', () => {
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAlgorithms: ['RS256', 'none'] })).toThrow(/none/);
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAlgorithms: ['HS256'] })).toThrow(/shared secret/);
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAlgorithms: ['XY999'] })).toThrow(/unknown/);
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAlgorithms: [] })).toThrow(/empty/);
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwtAlgorithms: ['ES256'] })).toThrow(/rsa key/);
    expect(() => createAuthenticator({ jwtPublicKey: JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }) })).toThrow(/symmetric/);
    expect(() => createAuthenticator({ jwtPublicKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' })).toThrow(/private/);
    expect(() => createAuthenticator({ jwtPublicKey: 'not a key' })).toThrow(/PEM/);
    expect(() => createAuthenticator({ jwtPublicKey: rsa.pem, jwksUrl: 'https://x.test/jwks' })).toThrow(/not both/);
    expect(() => createAuthenticator({ backendSecret: '' })).toThrow(/empty/);
  });

  it('rejects an expired token with TOKEN_EXPIRED', async () => {
    await rejected(rsAuth(), await sign(rsa, 'RS256', { sub: 'alice' }, { exp: now() - 60 }), 'TOKEN_EXPIRED');
  });

  it('rejects a wrong audience, a wrong issuer, a missing sub', async () => {
    const auth = rsAuth();
    expect((await rejected(auth, await sign(rsa, 'RS256', { sub: 'a' }, { aud: 'someone-else' }))).message).toMatch(/audience/);
    expect((await rejected(auth, await sign(rsa, 'RS256', { sub: 'a' }, { iss: 'https://evil.test' }))).message).toMatch(/issuer/);
    expect((await rejected(auth, await sign(rsa, 'RS256', { name: 'no subject' }))).message).toMatch(/sub/);
    await rejected(auth, await sign(rsa, 'RS256', { sub: '' }));
    await rejected(auth, await sign(rsa, 'RS256', { sub: 42 }));
  });

  it('rejects a token signed by another key, or with an algorithm the key does not fit', async () => {
    const auth = rsAuth();
    expect((await rejected(auth, await sign(otherRsa, 'RS256'))).message).toMatch(/signature/);
    await rejected(auth, await sign(ec, 'ES256'));
    // The right RSA key, but PS256 is not in the allow-list.
    const pss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256');
    expect((await rejected(auth, await sign({ ...rsa, privateKey: pss }, 'PS256'))).message).toMatch(/algorithm/);
    // A valid token with one flipped signature bit.
    const t = await sign(rsa, 'RS256');
    const flipped = t.slice(0, -2) + (t.at(-2) === 'A' ? 'B' : 'A') + t.at(-1);
    await rejected(auth, flipped);
  });

  it('rejects garbage and very long tokens quickly', async () => {
    const auth = rsAuth();
    const valid = await sign(rsa, 'RS256');
    const [h, p] = valid.split('.') as [string, string, string];
    const garbage = [
      '',
      'x',
      '..',
      'a.b.c',
      'a.b.c.d.e',
      '\u0000\u0001\u0002',
      'é.é.é',
      `${h}.${p}`,
      `${h}.${p}.`,
      `${b64url('{')}.${p}.AAAA`,
      `${b64url('[]')}.${p}.AAAA`,
      `${b64url('{"alg":"RS256"}')}.${b64url('not json')}.AAAA`,
      `${b64url('{"alg":"RS256","crit":["x"],"x":1}')}.${p}.AAAA`,
      `${b64url('{"alg":"RS256","b64":false,"crit":["b64"]}')}.${p}.AAAA`,
      `${b64url('{"alg":"RS256","jwk":' + JSON.stringify(otherRsa.jwk) + '}')}.${p}.AAAA`,
    ];
    for (const g of garbage) await rejected(auth, g);
    for (const big of [`${h}.${'A'.repeat(1 << 20)}.${'B'.repeat(342)}`, 'x'.repeat(1 << 20), `${h}.${p}.${'C'.repeat(1 << 20)}`]) {
      const t0 = performance.now();
      await rejected(auth, big);
      // Generous: the point is that no megabyte is decoded, not a timing figure.
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });

  it('a token without any key configured is AUTH_NOT_CONFIGURED', async () => {
    await rejected(createAuthenticator({ dev: true }), await sign(rsa, 'RS256'), 'AUTH_NOT_CONFIGURED');
    await rejected(createAuthenticator({ backendSecret: 's3cret-value' }), await sign(rsa, 'RS256'), 'AUTH_NOT_CONFIGURED');
  });
});

describe('JWT with a JWKS endpoint', () => {
  let server: http.Server;
  let url: string;
  let fetches = 0;
  let k1: Pair;
  let k2: Pair;
  let stranger: Pair;

  beforeAll(async () => {
    [k1, k2, stranger] = await Promise.all([pair('RS256'), pair('ES256'), pair('RS256')]);
    const body = JSON.stringify({
      keys: [
        { ...k1.jwk, kid: 'k1', alg: 'RS256', use: 'sig' },
        { ...k2.jwk, kid: 'k2', alg: 'ES256', use: 'sig' },
      ],
    });
    server = http.createServer((req, res) => {
      fetches++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts a known kid, rejects an unknown kid or a key that does not match, and caches the set', async () => {
    const auth = createAuthenticator({ jwksUrl: url, jwtAudience: AUD, jwtIssuer: ISS });
    expect((await auth({ token: await sign(k1, 'RS256', { sub: 'one' }, { kid: 'k1' }) }, 'c')).userId).toBe('one');
    expect((await auth({ token: await sign(k2, 'ES256', { sub: 'two' }, { kid: 'k2' }) }, 'c')).userId).toBe('two');
    await rejected(auth, await sign(stranger, 'RS256', { sub: 'x' }, { kid: 'k3' }));
    expect((await rejected(auth, await sign(stranger, 'RS256', { sub: 'x' }, { kid: 'k1' }))).message).toMatch(/signature/);
    await rejected(auth, await sign(k1, 'RS256', { sub: 'x' }, { kid: 'k2' })); // k2 is an EC key
    await rejected(auth, unsigned({ ...goodClaims(), kid: 'k1' }));
    await rejected(auth, hsWithPublicKey(JSON.stringify(k1.jwk), goodClaims()));
    await rejected(auth, await sign(k1, 'RS256', { sub: 'x' }, { kid: 'k1', exp: now() - 10 }), 'TOKEN_EXPIRED');
    // One fetch for all of the above: the unknown kid does not refetch within the cooldown.
    expect(fetches).toBe(1);
    expect((await auth({ token: await sign(k1, 'RS256', { sub: 'again' }, { kid: 'k1' }) }, 'c')).userId).toBe('again');
    expect(fetches).toBe(1);
  });

  it('a JWKS endpoint that is down rejects tokens without crashing', async () => {
    const auth = createAuthenticator({ jwksUrl: url.replace('jwks.json', 'missing.json') });
    await rejected(auth, await sign(k1, 'RS256', { sub: 'x' }, { kid: 'k1' }));
  });
});

describe('backend secret and anonymous users', () => {
  const SECRET = 'correct horse battery staple';

  it('the right secret gives admin, or peer when asked; a wrong one is refused', async () => {
    const auth = createAuthenticator({ backendSecret: SECRET });
    const admin = await auth({ secret: SECRET }, 'srv-1');
    expect(admin).toMatchObject({ role: 'admin', userId: 'admin' });
    expect(await auth({ secret: SECRET, role: 'admin' }, 'srv-1')).toMatchObject({ role: 'admin', userId: 'admin' });
    expect(await auth({ secret: SECRET, role: 'peer' }, 'srv-1')).toMatchObject({ role: 'peer', userId: 'peer:srv-1' });
    for (const wrong of ['', 'x', SECRET.slice(0, -1), SECRET + ' ', SECRET.toUpperCase(), 'x'.repeat(100_000)]) {
      const e = await auth({ secret: wrong }, 'srv-1').catch((err: unknown) => err);
      expect(e).toBeInstanceOf(AuthError);
      expect((e as AuthError).code).toBe('UNAUTHORIZED');
      if (wrong.length > 3) expect((e as AuthError).message).not.toContain(wrong);
    }
    // A wrong secret cannot be rescued by asking for a role.
    await expect(auth({ secret: 'nope', role: 'peer' }, 'c')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('a secret when none is configured is AUTH_NOT_CONFIGURED; token and secret together are refused', async () => {
    await expect(createAuthenticator({ dev: true })({ secret: 'anything' }, 'c')).rejects.toMatchObject({ code: 'AUTH_NOT_CONFIGURED' });
    const auth = createAuthenticator({ backendSecret: SECRET, jwtPublicKey: rsa.pem });
    await expect(auth({ secret: SECRET, token: await sign(rsa, 'RS256') }, 'c')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('dev mode: anonymous identity stable per client id; without dev, credentials are required', async () => {
    const dev = createAuthenticator({ dev: true });
    const a1 = await dev({}, 'client-a');
    const a2 = await dev({}, 'client-a');
    const b = await dev({}, 'client-b');
    expect(a1).toEqual({ role: 'user', userId: 'anon:client-a', claims: { sub: 'anon:client-a', anonymous: true } });
    expect(a2).toEqual(a1);
    expect(b.userId).toBe('anon:client-b');
    expect(a1.expiresAt).toBeUndefined();
    // Dev mode does not weaken tokens: a bad token is still refused, not treated as anonymous.
    const devWithKey = createAuthenticator({ dev: true, jwtPublicKey: rsa.pem });
    await rejected(devWithKey, unsigned(goodClaims()));
    expect((await devWithKey({ token: await sign(rsa, 'RS256', { sub: 'real' }) }, 'c')).userId).toBe('real');

    const strict = createAuthenticator({ jwtPublicKey: rsa.pem });
    await expect(strict({}, 'client-a')).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/needs a token/) });
    await expect(createAuthenticator({})({}, 'c')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('parseAuthFlags', () => {
  it('reads flags first, then the environment; a key can be a file or inline', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-auth-'));
    try {
      const file = path.join(dir, 'key.pem');
      fs.writeFileSync(file, rsa.pem);
      const flags: Record<string, string> = { 'jwt-public-key': file, 'jwt-algorithms': 'RS256, ES256', 'jwt-audience': AUD };
      const env: Record<string, string> = { JAZZ_JWT_ISSUER: ISS, JAZZ_BACKEND_SECRET: 'env-secret', JAZZ_JWT_AUDIENCE: 'ignored' };
      const o = parseAuthFlags((f, e) => flags[f] ?? env[e]);
      expect(o).toEqual({ jwtPublicKey: rsa.pem, jwtAlgorithms: ['RS256', 'ES256'], jwtAudience: AUD, jwtIssuer: ISS, backendSecret: 'env-secret' });
      expect(() => createAuthenticator(o)).not.toThrow();

      const inline = parseAuthFlags((_f, e) => ({ JAZZ_JWT_PUBLIC_KEY: rsa.pem.trim().replace(/\n/g, '\\n'), JAZZ_JWKS_URL: undefined })[e]);
      expect(inline.jwtPublicKey).toContain('-----BEGIN PUBLIC KEY-----');
      expect(() => createAuthenticator(inline)).not.toThrow();
      expect(parseAuthFlags((f) => (f === 'jwks-url' ? 'https://id.test/jwks' : undefined))).toEqual({ jwksUrl: 'https://id.test/jwks' });
      expect(parseAuthFlags(() => undefined)).toEqual({});
      expect(() => parseAuthFlags((f) => (f === 'jwt-public-key' ? path.join(dir, 'missing.pem') : undefined))).toThrow(/cannot read/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
