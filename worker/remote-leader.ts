/**
 * A follower's handle on the leader: forwards page calls over a `Link` and routes the answers,
 * subscription messages, status and rejections back. When the leader goes away its answers never
 * come; the owner (`DbHost`) then drops this and sends what is unanswered to the next leader.
 */
import type { Link, PeerMessage } from './link.ts';
import type { PeerCall, SubSpec, SubscriptionSink, WireError, WorkerStatus } from './protocol.ts';
import { fromWireError } from './wire-errors.ts';
import type { AppSchema } from '../src/schema/schema.ts';

export class RemoteLeader {
  readonly leader: string;
  readonly #link: Link;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  readonly #subs = new Map<number, SubscriptionSink>();
  onStatus: ((s: WorkerStatus) => void) | undefined;
  onRejected: ((key: string | undefined, error: WireError) => void) | undefined;

  /** `version`: this tab's schema and migrations, for the leader to answer in its names. */
  constructor(leader: string, link: Link, version: { schema: AppSchema; migrations?: readonly unknown[]; branch?: string }) {
    this.leader = leader;
    this.#link = link;
    link.onMessage((m: PeerMessage) => this.#receive(m));
    link.post({ kind: 'hello', schema: version.schema, ...(version.migrations ? { migrations: version.migrations } : {}), branch: version.branch ?? 'main' });
  }

  call(call: PeerCall): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#link.post({ kind: 'call', id, call });
    });
  }

  subscribe(sub: number, spec: SubSpec, sink: SubscriptionSink): Promise<unknown> {
    this.#subs.set(sub, sink);
    return this.call({ op: 'subscribe', sub, spec });
  }

  unsubscribe(sub: number): void {
    this.#subs.delete(sub);
    void this.call({ op: 'unsubscribe', sub });
  }

  /** Stops listening; unanswered calls stay unanswered (their owner resends them). */
  close(): void {
    this.#link.close();
    this.#pending.clear();
    this.#subs.clear();
  }

  #receive(m: PeerMessage): void {
    switch (m.kind) {
      case 'reply': {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m.value);
        else p.reject(fromWireError(m.error));
        return;
      }
      case 'sub':
        this.#subs.get(m.sub)?.(m.message);
        return;
      case 'status':
        this.onStatus?.(m.status);
        return;
      case 'rejected':
        this.onRejected?.(m.key, m.error);
        return;
      default:
        return; // requests are for leaders
    }
  }
}
