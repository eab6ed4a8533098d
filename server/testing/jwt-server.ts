/**
 * A sync server on loopback that signs in users with JWTs, for the sync tests: an RS256 key pair
 * made for the run, the server verifying with its public half, `sign(sub, claims)` making a
 * one-hour token, and the backend secret for admin clients.
 */
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { startSyncServer, type SyncServer, type SyncServerOptions } from '../sync-server.ts';

export interface JwtServer {
  readonly server: SyncServer;
  sign(sub: string, claims?: Record<string, unknown>): Promise<string>;
}

export async function startJwtServer(backendSecret: string, opts: Partial<SyncServerOptions> = {}): Promise<JwtServer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const server = await startSyncServer({ port: 0, inMemory: true, log: () => {}, ...opts, auth: { jwtPublicKey: await exportSPKI(publicKey), backendSecret } });
  return {
    server,
    sign: (sub, claims = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(privateKey),
  };
}
