/**
 * How the sync client reaches a server, handed in by the platform: the `ws` client in Node
 * (server/), the browser's WebSocket in the worker. One transport is one connection attempt.
 */
export interface Transport {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface TransportEvents {
  open(): void;
  message(data: Uint8Array): void;
  /** Called once, whether the connection failed to open or closed later. */
  close(code: number, reason: string): void;
}

export type Connector = (url: string, events: TransportEvents) => Transport;
