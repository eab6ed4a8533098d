/**
 * A WebSocket proxy on loopback in front of a sync server that reads the frames it passes: it
 * counts each file part version a client pushes (`sends`, by part row id) and notes which parts
 * the server acknowledged (`acked`), and can cut every connection through it (`cut`: the
 * client's socket closes, as on a lost network; new connections are taken again at once). Used
 * by the files proofs (e2e/files-upload.spec.ts, bench/files.ts).
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FILE_PARTS } from '../../src/files/system-tables.ts';
import { decodeClientMessage, decodeServerMessage } from '../../src/sync/protocol.ts';

export interface PartsProxy {
  /** The address clients pass as `server`. */
  readonly url: string;
  /** How many times each part (row id) was pushed through the proxy. */
  readonly sends: Map<string, number>;
  /**
   * Parts whose batch the server acknowledged (any tier) to the client, with when the ack was
   * written to the client's socket (`performance.now()`), in that order. An ack written just
   * before a cut or a reload may still be lost with the socket (or the page), so a client has
   * it for sure only some time after.
   */
  readonly acked: Map<string, number>;
  /**
   * The parts the client surely has acknowledged at `now`: their ack was handed to its socket
   * `settleMs` or more before, and not during (or `settleMs` before) one of the earlier `kills`
   * (`[from, to]`: a cut, or a reload until the page had its database again), when it may have
   * been lost with the socket or the leaving page (its part then goes up again, and is acked again).
   */
  settled(now: number, kills: readonly (readonly [number, number])[], settleMs: number): Set<string>;
  /** Closes every connection through the proxy; returns how many there were. */
  cut(): number;
  close(): Promise<void>;
}

const bytes = (d: RawData): Uint8Array => (Array.isArray(d) ? Buffer.concat(d) : d instanceof ArrayBuffer ? new Uint8Array(d) : d);

export async function partsProxy(target: string): Promise<PartsProxy> {
  const sends = new Map<string, number>();
  const acked = new Map<string, number>();
  const batches = new Map<string, string[]>();
  const pairs = new Set<[WebSocket, WebSocket]>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (client, req) => {
    const upstream = new WebSocket(target + (req.url ?? ''), { perMessageDeflate: false });
    const pair: [WebSocket, WebSocket] = [client, upstream];
    pairs.add(pair);
    const early: RawData[] = [];
    client.on('message', (d, binary) => {
      try {
        const m = decodeClientMessage(bytes(d));
        if (m.t === 'push') {
          const parts = m.versions.filter((v) => v.table === FILE_PARTS).map((v) => v.rowId);
          for (const p of parts) sends.set(p, (sends.get(p) ?? 0) + 1);
          if (parts.length) batches.set(m.batchId, parts);
        }
      } catch {
        // Not ours to judge: the server answers what it cannot read.
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(d, { binary });
      else early.push(d);
    });
    upstream.on('open', () => {
      for (const d of early.splice(0)) upstream.send(d, { binary: true });
    });
    upstream.on('message', (d, binary) => {
      let ack: string[] = [];
      try {
        const m = decodeServerMessage(bytes(d));
        if (m.t === 'ack') ack = batches.get(m.batchId) ?? [];
      } catch {
        // idem
      }
      // An acknowledgement counts once it is handed to the client's socket.
      if (client.readyState === WebSocket.OPEN) client.send(d, { binary }, (e) => !e && ack.forEach((p) => acked.set(p, performance.now())));
    });
    const end = () => {
      pairs.delete(pair);
      client.terminate();
      upstream.terminate();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    sends,
    acked,
    settled: (now, kills, settleMs) => new Set([...acked].filter(([, at]) => at < now - settleMs && kills.every(([from, to]) => at < from - settleMs || at > to)).map(([p]) => p)),
    cut() {
      const n = pairs.size;
      for (const [c, u] of [...pairs]) {
        c.terminate();
        u.terminate();
      }
      pairs.clear();
      return n;
    },
    close() {
      for (const [c, u] of pairs) {
        c.terminate();
        u.terminate();
      }
      return new Promise((r) => wss.close(() => r()));
    },
  };
}
