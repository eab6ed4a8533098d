/** The sync client's transport in Node: the `ws` WebSocket client. */
import WebSocket from 'ws';
import type { Connector } from '../src/sync/transport.ts';

export const wsConnector: Connector = (url, events) => {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  let closed = false;
  const close = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    events.close(code, reason);
  };
  ws.on('open', () => events.open());
  ws.on('message', (data: Buffer) => events.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  ws.on('close', (code, reason) => close(code, reason.toString()));
  ws.on('error', (e) => {
    close(1006, e.message);
    ws.terminate();
  });
  return {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate();
      }
      close(code ?? 1000, reason ?? '');
    },
  };
};
