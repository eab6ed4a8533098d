/**
 * A TCP proxy on loopback in front of a server, that a spec can cut and mend: while cut it drops
 * every connection through it and refuses new ones, as a device that lost its network sees it;
 * the server and the other clients are untouched.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface CutProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  cut(): void;
  mend(): void;
  close(): Promise<void>;
}

export async function cutProxy(targetPort: number): Promise<CutProxy> {
  let cut = false;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      cut = true;
      for (const s of open) s.destroy();
    },
    mend: () => void (cut = false),
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
