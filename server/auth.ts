/**
 * Who is connecting (the handshake, issue 6): turns the credentials of a `hello` into a
 * `Session` that permissions see.
 *
 * - A user's JWT is verified with `jose` against one configured public key (PEM, JWK or a JWKS as
 *   JSON text) or a remote JWKS, with an explicit list of asymmetric algorithms. `none` and the
 *   HMAC family are never accepted: with no shared secret configured there is nothing an HS token
 *   could honestly be checked against, and accepting one invites the classic confusion attack (a
 *   token "signed" with the public key's bytes as the HMAC secret).
 * - The backend secret gives the `admin` role, or `peer` when the credentials ask for it.
 * - In dev mode a client without credentials is anonymous, with an identity derived from its client
 *   id so it stays the same across reconnects.
 *
 * Every failure is an `AuthError` with a stable code and a message that says what to fix; a
 * message never repeats the token or the secret.
 */
import { createHash, createPublicKey, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export type Role = 'user' | 'admin' | 'peer';

/** The authenticated identity of one connection; `claims` is what permission rules call `session`. */
export interface Session {
  readonly role: Role;
  readonly userId: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** epoch ms when the credentials expire, if they do */
  readonly expiresAt?: number;
}

export interface AuthOptions {
  /** A PEM (SPKI) public key, or a JWK (or a JWKS `{ keys: [...] }`) as JSON text. */
  readonly jwtPublicKey?: string;
  /** A JWKS endpoint; its keys are fetched on demand and cached. */
  readonly jwksUrl?: string;
  /** Allowed JWS algorithms; default `['RS256', 'ES256', 'EdDSA']`. Only asymmetric ones. */
  readonly jwtAlgorithms?: readonly string[];
  readonly jwtAudience?: string;
  readonly jwtIssuer?: string;
  /** Gives the role `admin` (or `peer` when the credentials ask for it). */
  readonly backendSecret?: string;
  /** Anonymous clients allowed, each with a stable identity derived from its client id. */
  readonly dev?: boolean;
}

export type AuthErrorCode = 'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'AUTH_NOT_CONFIGURED';

/** A connection that cannot be let in; `code` is stable and safe to send to the client. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
  }
}

/** What a client may present in its `hello`. */
export interface AuthCredentials {
  readonly token?: string;
  readonly secret?: string;
  readonly role?: 'admin' | 'peer';
}

export type Authenticator = (creds: AuthCredentials, clientId: string) => Promise<Session>;

export const DEFAULT_JWT_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'EdDSA']);

/** Every algorithm this server can verify, by the key type it needs. */
const ASYMMETRIC_ALGORITHMS: Readonly<Record<string, string>> = {
  RS256: 'rsa',
  RS384: 'rsa',
  RS512: 'rsa',
  PS256: 'rsa',
  PS384: 'rsa',
  PS512: 'rsa',
  ES256: 'ec',
  ES384: 'ec',
  ES512: 'ec',
  EdDSA: 'ed25519',
  Ed25519: 'ed25519',
};

/**
 * Longer tokens are refused before any parsing: real JWTs are a few kB, and a megabyte of base64
 * should cost the server nothing.
 */
export const MAX_TOKEN_CHARS = 32 * 1024;
const MAX_USER_ID_CHARS = 1000;

/**
 * Builds the function the server calls for every `hello`. Configuration mistakes (an unusable key,
 * `none` or `HS256` in the allow-list, both a key and a JWKS URL) throw here, at start-up.
 */
export function createAuthenticator(opts: AuthOptions): Authenticator {
  const algorithms = checkAlgorithms(opts.jwtAlgorithms ?? DEFAULT_JWT_ALGORITHMS);
  if (opts.jwtPublicKey !== undefined && opts.jwksUrl !== undefined) {
    throw new Error('configure either a JWT public key or a JWKS URL, not both');
  }
  if (opts.backendSecret !== undefined && opts.backendSecret.length === 0) throw new Error('the backend secret must not be empty');
  const verifier = opts.jwtPublicKey !== undefined ? localVerifier(opts.jwtPublicKey, algorithms) : opts.jwksUrl !== undefined ? remoteVerifier(opts.jwksUrl) : undefined;
  const secretDigest = opts.backendSecret !== undefined ? sha256(opts.backendSecret) : undefined;
  const verifyOptions = {
    ...(opts.jwtAudience !== undefined ? { audience: opts.jwtAudience } : {}),
    ...(opts.jwtIssuer !== undefined ? { issuer: opts.jwtIssuer } : {}),
  };

  return async (creds, clientId) => {
    const { token, secret } = creds;
    if (token !== undefined && secret !== undefined) throw new AuthError('UNAUTHORIZED', 'send either a token or a backend secret, not both');

    if (secret !== undefined) {
      if (!secretDigest) throw new AuthError('AUTH_NOT_CONFIGURED', 'this server has no backend secret configured (--backend-secret); connect with a user token instead');
      // Comparing digests keeps the comparison constant-time whatever the lengths.
      if (typeof secret !== 'string' || !timingSafeEqual(sha256(secret), secretDigest)) throw new AuthError('UNAUTHORIZED', 'the backend secret is wrong');
      const role: Role = creds.role === 'peer' ? 'peer' : 'admin';
      const userId = role === 'peer' ? `peer:${clientId}` : 'admin';
      return freezeSession({ role, userId, claims: { sub: userId, role } });
    }

    if (token !== undefined) {
      if (!verifier) throw new AuthError('AUTH_NOT_CONFIGURED', 'this server cannot check tokens: it has no JWT public key or JWKS URL configured (--jwt-public-key, --jwks-url)');
      if (typeof token !== 'string' || token.length === 0) throw new AuthError('UNAUTHORIZED', 'the token is empty');
      if (token.length > MAX_TOKEN_CHARS) throw new AuthError('UNAUTHORIZED', `the token is longer than ${MAX_TOKEN_CHARS} characters`);
      let payload: JWTPayload;
      try {
        payload = (await verifier(token, { algorithms, ...verifyOptions })).payload;
      } catch (e) {
        throw explain(e, algorithms);
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.length === 0) throw new AuthError('UNAUTHORIZED', 'the token has no subject ("sub" claim); it names the user');
      if (sub.length > MAX_USER_ID_CHARS) throw new AuthError('UNAUTHORIZED', `the token's subject is longer than ${MAX_USER_ID_CHARS} characters`);
      return freezeSession({
        role: 'user',
        userId: sub,
        claims: { ...payload },
        ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
      });
    }

    if (opts.dev) {
      const userId = `anon:${clientId}`;
      return freezeSession({ role: 'user', userId, claims: { sub: userId, anonymous: true } });
    }
    throw new AuthError('UNAUTHORIZED', 'this server needs a token: pass auth: { token } when creating the database');
  };
}

type Verify = (token: string, options: { algorithms: string[]; audience?: string; issuer?: string }) => Promise<{ payload: JWTPayload }>;

function localVerifier(text: string, algorithms: string[]): Verify {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('the JWT public key looks like JSON but does not parse; give a JWK, a JWKS or a PEM public key');
    }
    if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)) {
      const jwks = parsed as { keys: JWK[] };
      for (const k of jwks.keys) checkJwk(k);
      const getKey = createLocalJWKSet(jwks);
      return (token, o) => jwtVerify(token, getKey, o);
    }
    const jwk = parsed as JWK;
    checkJwk(jwk);
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    // A JWK that names its algorithm is only ever used with that one.
    const allowed = typeof jwk.alg === 'string' ? algorithms.filter((a) => a === jwk.alg) : algorithms;
    return keyVerifier(key, allowed);
  }
  // Env variables often carry a PEM on one line with literal "\n".
  const pem = trimmed.includes('\n') ? trimmed : trimmed.replace(/\\n/g, '\n');
  if (/PRIVATE KEY/.test(pem)) throw new Error('the JWT public key is a private key; give the server only the public half');
  if (!pem.startsWith('-----BEGIN')) throw new Error('the JWT public key must be a PEM ("-----BEGIN PUBLIC KEY-----"), a JWK or a JWKS');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`the JWT public key does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  return keyVerifier(key, algorithms);
}

function keyVerifier(key: KeyObject, algorithms: string[]): Verify {
  const type = key.asymmetricKeyType;
  const usable = algorithms.filter((a) => ASYMMETRIC_ALGORITHMS[a] === type);
  if (usable.length === 0) {
    throw new Error(`the JWT public key is a ${type ?? 'unknown'} key, but none of the allowed algorithms (${algorithms.join(', ')}) uses one; set --jwt-algorithms`);
  }
  return (token, o) => jwtVerify(token, key, { ...o, algorithms: usable });
}

function checkJwk(jwk: JWK): void {
  if (jwk === null || typeof jwk !== 'object') throw new Error('a JWK must be a JSON object');
  if (jwk.kty === 'oct') throw new Error('symmetric (kty "oct") keys are not supported; give a public RSA, EC or OKP key');
  if ('d' in jwk) throw new Error('the JWK holds a private key; give the server only the public half');
}

/** The key set at `url`; the allowed algorithms come with each call (`Verify`'s options). */
function remoteVerifier(url: string): Verify {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the JWKS URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('the JWKS URL must be http(s)');
  // One key set per authenticator: jose caches the keys and refetches (at most every 30 s) when
  // a token names a key id it has not seen.
  const getKey: JWTVerifyGetKey = createRemoteJWKSet(parsed);
  return (token, o) => jwtVerify(token, getKey, o);
}

function checkAlgorithms(list: readonly string[]): string[] {
  if (list.length === 0) throw new Error('the JWT algorithm list is empty; allow at least one, e.g. RS256');
  for (const a of list) {
    if (a.toLowerCase() === 'none') throw new Error('"none" can never be an allowed JWT algorithm');
    if (/^HS/i.test(a)) throw new Error(`${a} needs a shared secret, which this server does not support; use an asymmetric algorithm (RS256, ES256, EdDSA)`);
    if (!(a in ASYMMETRIC_ALGORITHMS)) throw new Error(`unknown JWT algorithm "${a}"; allowed: ${Object.keys(ASYMMETRIC_ALGORITHMS).join(', ')}`);
  }
  return [...new Set(list)];
}

/** Maps a `jose` failure to an `AuthError` whose message helps, without echoing the token. */
function explain(e: unknown, algorithms: readonly string[]): AuthError {
  if (e instanceof joseErrors.JWTExpired) return new AuthError('TOKEN_EXPIRED', 'the token has expired; get a fresh one and call setAuth');
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    const what: Record<string, string> = { aud: 'is for another audience', iss: 'comes from another issuer', nbf: 'is not valid yet', iat: 'has a bad issue time' };
    return new AuthError('UNAUTHORIZED', `the token ${what[e.claim] ?? `has a bad "${e.claim}" claim`}`);
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
    return new AuthError('UNAUTHORIZED', `the token's algorithm is not accepted here; allowed: ${algorithms.join(', ')}`);
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError('UNAUTHORIZED', 'the token signature does not verify');
  if (e instanceof joseErrors.JWKSNoMatchingKey) return new AuthError('UNAUTHORIZED', 'no configured key matches the token (unknown key id or key type)');
  if (e instanceof joseErrors.JWKSTimeout) return new AuthError('UNAUTHORIZED', 'the JWKS endpoint did not answer in time; try again');
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return new AuthError('UNAUTHORIZED', 'the token is not a well-formed signed JWT');
  if (e instanceof joseErrors.JOSEError) return new AuthError('UNAUTHORIZED', `the token was refused (${e.code})`);
  // Anything else (a key type that cannot verify this algorithm, a JWKS fetch that failed).
  return new AuthError('UNAUTHORIZED', 'the token could not be verified');
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function freezeSession(s: Session): Session {
  return Object.freeze({ ...s, claims: Object.freeze({ ...s.claims }) });
}

/**
 * Reads the auth settings from command-line flags and the environment. `get(flag, env)` returns the
 * flag's value (the flag named without its dashes, e.g. `jwt-public-key`) or else the environment
 * variable's. `--jwt-public-key` takes a file path or the key itself (PEM, JWK or JWKS). `dev`
 * is not read here.
 */
export function parseAuthFlags(get: (flag: string, env: string) => string | undefined): AuthOptions {
  const val = (flag: string, env: string): string | undefined => {
    const v = get(flag, env)?.trim();
    return v ? v : undefined;
  };
  const key = val('jwt-public-key', 'JAZZ_JWT_PUBLIC_KEY');
  const jwksUrl = val('jwks-url', 'JAZZ_JWKS_URL');
  const algs = val('jwt-algorithms', 'JAZZ_JWT_ALGORITHMS');
  const audience = val('jwt-audience', 'JAZZ_JWT_AUDIENCE');
  const issuer = val('jwt-issuer', 'JAZZ_JWT_ISSUER');
  const secret = get('backend-secret', 'JAZZ_BACKEND_SECRET');
  return {
    ...(key !== undefined ? { jwtPublicKey: readKey(key) } : {}),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(algs !== undefined
      ? {
          jwtAlgorithms: algs
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean),
        }
      : {}),
    ...(audience !== undefined ? { jwtAudience: audience } : {}),
    ...(issuer !== undefined ? { jwtIssuer: issuer } : {}),
    ...(secret ? { backendSecret: secret } : {}),
  };
}

function readKey(v: string): string {
  if (v.startsWith('-----BEGIN') || v.startsWith('{')) return v;
  try {
    return fs.readFileSync(v, 'utf8');
  } catch (e) {
    throw new Error(`--jwt-public-key: cannot read the key file "${v}" (${(e as NodeJS.ErrnoException).code ?? String(e)}); give a file path or the PEM/JWK itself`);
  }
}
