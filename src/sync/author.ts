/**
 * Who a client writes as. Every version carries the user id of its author, and the server checks it
 * against the session of the client that pushes it (server/batches.ts), so a client stamps what the
 * server will find in its credentials, even while it is offline:
 *
 * - a user's JWT: its subject (`sub`), read here without checking the signature (the server checks
 *   it; a client that lies about its token only gets its writes refused);
 * - the backend secret: `admin`, or `peer:<client id>` with `role: 'peer'`;
 * - no credentials: `anon:<client id>`, the anonymous identity a server in development mode gives.
 *
 * A token that cannot be read here (not a JWT, no `sub`) writes as `anon:<client id>`, which the
 * server accepts from the same client after it signs in (writes made on this device before then).
 */
import type { Credentials } from './protocol.ts';
import { fromBase64 } from '../util/bytes.ts';
import { utf8Decode } from '../util/utf8.ts';

export function authorOf(auth: Credentials | undefined, clientId: string): string {
  if (auth?.secret !== undefined) return auth.role === 'peer' ? `peer:${clientId}` : 'admin';
  const sub = auth?.token !== undefined ? subjectOf(auth.token) : undefined;
  return sub ?? `anon:${clientId}`;
}

/** The `sub` claim of a JWT, unverified; undefined when the token is not a JWT with a subject. */
export function subjectOf(token: string): string | undefined {
  if (typeof token !== 'string') return undefined;
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const bytes = fromBase64(part);
    if (!bytes) return undefined;
    const sub = (JSON.parse(utf8Decode(bytes)) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length > 0 ? sub : undefined;
  } catch {
    return undefined;
  }
}
