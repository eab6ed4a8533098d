/**
 * A `Link` is one follower ↔ leader conversation: ordered messages both ways, nothing else. Two
 * kinds, one behaviour:
 *
 * - `portLink`: a MessagePort from the broker's MessageChannel (the leader holds the other end).
 * - `BcHub.link`: addressed envelopes (`BcEnvelope`) on the database's rpc BroadcastChannel, for
 *   browsers without SharedWorker. Every worker of the database sees every envelope and keeps
 *   those addressed to it; messages from one sender arrive in the order sent, which is all the
 *   protocol needs.
 *
 * A link says nothing when the other side goes away: the election notices (a new leader
 * announces itself; a follower's peer lock is released) and the owner drops the link.
 */
import type { BcEnvelope, PeerEvent, PeerRequest } from './protocol.ts';

export type PeerMessage = PeerRequest | PeerEvent;

export interface Link {
  post(msg: PeerMessage): void;
  /** One handler; messages that arrive before it is set are kept and delivered to it. */
  onMessage(handler: (msg: PeerMessage) => void): void;
  close(): void;
}

/** A link over a MessagePort. */
export function portLink(port: MessagePort): Link {
  let closed = false;
  return {
    post(msg) {
      if (!closed) port.postMessage(msg);
    },
    onMessage(handler) {
      port.onmessage = (e: MessageEvent<PeerMessage>) => {
        if (!closed) handler(e.data);
      };
    },
    close() {
      closed = true;
      port.onmessage = null;
      port.close();
    },
  };
}

/** One worker's end of the rpc BroadcastChannel: links by the other side's id. */
export class BcHub {
  readonly #channel: BroadcastChannel;
  readonly #me: string;
  readonly #links = new Map<string, { handler: ((msg: PeerMessage) => void) | undefined; queue: PeerMessage[] }>();
  /**
   * Told about a message from a worker this hub has no link with (the leader: a new follower).
   * A link made for it here receives the message.
   */
  onUnknown: ((from: string, msg: PeerMessage) => void) | undefined;

  constructor(name: string, me: string) {
    this.#me = me;
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (e: MessageEvent<BcEnvelope>) => {
      const env = e.data;
      if (env.to !== this.#me) return;
      let entry = this.#links.get(env.from);
      if (!entry) {
        this.onUnknown?.(env.from, env.msg);
        entry = this.#links.get(env.from); // onUnknown may have made a link for it
        if (!entry) return;
      }
      if (entry.handler) entry.handler(env.msg);
      else entry.queue.push(env.msg);
    };
  }

  /** The link with worker `other`. */
  link(other: string): Link {
    const entry: { handler: ((msg: PeerMessage) => void) | undefined; queue: PeerMessage[] } = { handler: undefined, queue: [] };
    this.#links.set(other, entry);
    let closed = false;
    return {
      post: (msg) => {
        if (!closed) this.#channel.postMessage({ to: other, from: this.#me, msg } satisfies BcEnvelope);
      },
      onMessage: (handler) => {
        entry.handler = handler;
        for (const m of entry.queue.splice(0)) handler(m);
      },
      close: () => {
        closed = true;
        if (this.#links.get(other) === entry) this.#links.delete(other);
      },
    };
  }

  close(): void {
    this.#links.clear();
    this.#channel.close();
  }
}
