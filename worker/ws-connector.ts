/**
 * The sync client's transport in the browser (the worker): a `WebSocket` with binary frames as
 * `ArrayBuffer`s. One call is one connection attempt; the sync client retries with backoff.
 */
import type { Connector } from '../src/sync/transport.ts';

export const wsConnector: Connector = (url, events) => {
  let closed = false;
  const close = (code: number, reason: string): void => {
    if (closed) return;
    closed = true;
    events.close(code, reason);
  };
  let ws: WebSocket;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    // A malformed URL throws at once (SyntaxError); report it as a failed attempt.
    queueMicrotask(() => close(1006, e instanceof Error ? e.message : String(e)));
    return { send: () => {}, close: () => {} };
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => events.open();
  ws.onmessage = (event: MessageEvent) => {
    if (event.data instanceof ArrayBuffer) events.message(new Uint8Array(event.data));
    // Text frames are not part of the protocol; the sync client would reject them anyway.
  };
  ws.onclose = (event: CloseEvent) => close(event.code, event.reason);
  // An error event is always followed by a close event, which reports it.
  ws.onerror = () => {};
  return {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
      close(code ?? 1000, reason ?? '');
    },
  };
};
