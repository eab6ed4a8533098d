/**
 * Graceful shutdown: how a node leaves without losing or half-answering anything (`drain()` and
 * `close()` of the server, SIGTERM and SIGINT from the command line).
 *
 * Contract, in order:
 * 1. From the moment the drain begins, the node is `draining`: `GET /health` answers 503
 *    `{ ok: false, draining: true, reason: 'draining' }` (a load balancer stops sending it
 *    clients), and a WebSocket upgrade is refused with HTTP 503 (the client retries with backoff,
 *    through the proxy to another node). The HTTP listener stays open until step 4 so that
 *    /health can say so.
 * 2. Messages a connection sends after the drain began are not handled and not answered: the
 *    client keeps those batches in its outbox and pushes them again wherever it reconnects
 *    (pushing twice is harmless). Every message received before it is handled to the end (each
 *    connection's `queue`): a batch being judged is accepted or refused, and answered.
 * 3. Then every connection is closed with 1001 (going away), which clients treat as "reconnect":
 *    with backoff, to the same URL (behind a proxy, another node). A batch whose acknowledgement
 *    was lost in the close is pushed again and acknowledged again (docs/sync.md, "A batch sent
 *    again"). Sockets still open after `timeoutMs` (10 s by default; a handler stuck on an
 *    unreachable database), or a second after their close frame, are cut: what they had pushed is unacknowledged, so their clients
 *    push it again elsewhere.
 * 4. The caller (sync-server.ts) then closes the listener and flushes and closes the engines and
 *    the store; the command line exits 0 after that.
 */
import type { Conn } from './connection.ts';
import { CloseCode } from '../src/sync/protocol.ts';

/** What a drain did, for the log. */
export interface DrainReport {
  readonly connections: number;
  /** Connections that were still open at the deadline and were cut. */
  readonly cut: number;
  readonly ms: number;
}

/** The body /health answers while a node drains. */
export const DRAINING_HEALTH = { ok: false, draining: true, error: 'DRAINING', reason: 'draining: this node is shutting down, connect to another' } as const;

const CLOSE_HANDSHAKE_MS = 1000;
const closed = (c: Conn) => c.ws.readyState === c.ws.CLOSED;

/**
 * Steps 2 and 3 for `conns` (the caller has stopped taking new messages): waits for what each
 * connection is handling, closes it with 1001, waits for the close handshakes; cuts what is left at
 * `timeoutMs`.
 */
export async function drainConnections(conns: readonly Conn[], timeoutMs = 10_000): Promise<DrainReport> {
  const t0 = Date.now();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.all(
    conns.map(async (c) => {
      await Promise.race([c.queue.catch(() => {}), deadline]);
      if (!closed(c)) c.ws.close(CloseCode.goingAway, 'server shutting down: reconnect');
      // A client that does not answer the close handshake within a second is cut below.
      const handshake = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_HANDSHAKE_MS).unref());
      await Promise.race([new Promise<void>((resolve) => (closed(c) ? resolve() : c.ws.once('close', () => resolve()))), deadline, handshake]);
    }),
  );
  let cut = 0;
  for (const c of conns) {
    if (closed(c)) continue;
    cut++;
    c.ws.terminate();
  }
  return { connections: conns.length, cut, ms: Date.now() - t0 };
}
