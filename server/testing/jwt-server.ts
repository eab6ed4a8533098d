/**
 * A sync server on loopback that signs in users with JWTs, for the sync tests: an RS256 key pair
 * made for the run, the server verifying with its public half, `sign(sub, claims)` making a
 * one-hour token, and the backend secret for admin clients. `jwtKeys()` is the key pair alone, for
 * several servers (nodes) that verify the same tokens.
 */
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { startSyncServer, type SyncServer, type SyncServerOptions } from '../sync-server.ts';

export interface JwtKeys {
  /** The public key as PEM, for `auth.jwtPublicKey` (or `--jwt-public-key`). */
  readonly publicKey: string;
  sign(sub: string, claims?: Record<string, unknown>): Promise<string>;
}

export interface JwtServer {
  readonly server: SyncServer;
  sign(sub: string, claims?: Record<string, unknown>): Promise<string>;
}

export async function jwtKeys(): Promise<JwtKeys> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  return {
    publicKey: await exportSPKI(publicKey),
    sign: (sub, claims = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey),
  };
}

export async function startJwtServer(backendSecret: string, opts: Partial<SyncServerOptions> = {}): Promise<JwtServer> {
  const keys = await jwtKeys();
  const server = await startSyncServer({ port: 0, inMemory: true, log: () => {}, ...opts, auth: { jwtPublicKey: keys.publicKey, backendSecret } });
  return { server, sign: keys.sign };
}
