/**
 * The leader's side of the followers' links: runs each forwarded page call on the leader's
 * `LocalDb` and answers it, streams subscription messages, and pushes status changes and
 * rejections to every follower.
 *
 * - Calls from one follower run in the order they arrive (the links are ordered and `LocalDb`
 *   runs calls in arrival order), so a follower's page keeps its read-your-writes order.
 * - A follower that goes away (its peer lock is released: `election.ts`) is dropped: its live
 *   queries are stopped and its open transactions aborted.
 * - `stop()` (the leader retires) ends every link without another word: an answer cut off would
 *   be an error on a page, while silence makes the follower resend to the next leader.
 * - A follower may run another schema version of the app (a tab not reloaded since a deploy, or a
 *   newer one): its hello says which, and its calls run in that version (`LocalDb`'s views).
 */
import type { Link, PeerMessage } from './link.ts';
import type { LocalDb } from './local-db.ts';
import type { PeerCall, PeerEvent } from './protocol.ts';
import { toWireError } from './wire-errors.ts';

interface Peer {
  readonly link: Link;
  /** The follower's subscription id → the one in `LocalDb`. */
  readonly subs: Map<number, Promise<number>>;
  readonly txs: Set<number>;
  /** The follower's schema version, once the leader knows it (its hello; undefined: the leader's own). */
  version: Promise<string | undefined>;
}

export class LeaderServer {
  readonly #db: LocalDb;
  readonly #peers = new Map<string, Peer>();
  #stopped = false;

  constructor(db: LocalDb) {
    this.#db = db;
    void db.onStatus((status) => this.#broadcast({ kind: 'status', status }));
    void db.onRejected((key, error) => this.#broadcast({ kind: 'rejected', key, error }));
  }

  /** Serves the follower `id` over `link` (replacing an older link of the same follower). */
  addPeer(id: string, link: Link): void {
    if (this.#stopped) return link.close();
    this.drop(id);
    const peer: Peer = { link, subs: new Map(), txs: new Set(), version: Promise.resolve(undefined) };
    this.#peers.set(id, peer);
    link.onMessage((msg: PeerMessage) => {
      if (this.#stopped || this.#peers.get(id) !== peer) return;
      if (msg.kind === 'hello') {
        // Calls wait for the version (the leader may have to learn it first: LocalDb.learn).
        const learnt = msg.schema ? this.#db.learn(msg.schema, msg.migrations ?? []) : Promise.resolve(undefined);
        // A follower's branch rides on its version key (LocalDb.#as): `<hash>@<branch>`.
        peer.version = msg.branch === undefined ? learnt : learnt.then((h) => `${h ?? ''}@${msg.branch}`);
        // A branch the follower opens on starts now, not at its first call.
        void peer.version.then((v) => this.#db.prepare(v)).catch(() => {});
        peer.version.catch(() => {});
        return;
      }
      if (msg.kind !== 'call') return;
      this.#run(peer, msg.call).then(
        (value) => this.#post(peer, { kind: 'reply', id: msg.id, ok: true, value }),
        (e: unknown) => this.#post(peer, { kind: 'reply', id: msg.id, ok: false, error: toWireError(e) }),
      );
    });
  }

  /** Forgets the follower `id`: stops its live queries and aborts its transactions. */
  drop(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    peer.link.close();
    for (const sub of peer.subs.values()) void sub.then((n) => this.#db.unsubscribe(n)).catch(() => {});
    for (const tx of peer.txs) void this.#db.txAbort(tx).catch(() => {});
  }

  /** Ends every link silently (see the top of the file). */
  stop(): void {
    this.#stopped = true;
    for (const peer of this.#peers.values()) peer.link.close();
    this.#peers.clear();
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  #post(peer: Peer, event: PeerEvent): void {
    if (!this.#stopped && [...this.#peers.values()].includes(peer)) peer.link.post(event);
  }

  #broadcast(event: PeerEvent): void {
    if (this.#stopped) return;
    for (const peer of this.#peers.values()) peer.link.post(event);
  }

  async #run(peer: Peer, call: PeerCall): Promise<unknown> {
    const db = this.#db;
    const version = await peer.version;
    switch (call.op) {
      case 'subscribe': {
        const old = peer.subs.get(call.sub);
        void old?.then((n) => db.unsubscribe(n)).catch(() => {});
        const local = db.subscribe(call.spec, (message) => this.#post(peer, { kind: 'sub', sub: call.sub, message }), version);
        peer.subs.set(call.sub, local);
        local.catch(() => peer.subs.delete(call.sub));
        await local;
        return call.sub;
      }
      case 'unsubscribe': {
        const local = peer.subs.get(call.sub);
        peer.subs.delete(call.sub);
        if (local) await db.unsubscribe(await local);
        return undefined;
      }
      case 'txBegin': {
        const tx = await db.txBegin(version);
        peer.txs.add(tx);
        return tx;
      }
      case 'txCommit':
        try {
          return await db.txCommit(call.tx, call.key, call.ops);
        } finally {
          peer.txs.delete(call.tx);
        }
      case 'txAbort':
        peer.txs.delete(call.tx);
        return db.txAbort(call.tx);
      default:
        // Calls with nothing to remember per follower.
        return db.call(call, version);
    }
  }
}
