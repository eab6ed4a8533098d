/**
 * One leader per database across tabs, run by each tab's database worker.
 *
 * - **The lock decides.** Every worker asks for the Web Lock `jazz:<dbName>`; the one holding it
 *   is the leader, the others wait in the lock's queue as candidates. The browser releases a lock
 *   when its worker ends (tab closed, reloaded, crashed), and grants it to the next in line: that
 *   is the takeover. Only the holder opens the storage, and a retiring leader closes its files
 *   before it lets go of the lock, so two workers never hold the files at once.
 * - **Announcements find the leader.** On the control BroadcastChannel (`jazz-elements:<dbName>`)
 *   a new worker asks `who-leads`; a leader answers, and announces itself when it takes over.
 *   Announcements carry `since` (when the lock was granted); a follower ignores one older than the
 *   leader it follows, so a late answer from a tab that has gone never wins.
 * - **Links reach the leader.** With the broker (a SharedWorker; the page hands its port over) a
 *   follower asks for a MessageChannel to the leader and gets one end, the leader the other. Without
 *   it, the follower talks to the leader through addressed messages on the rpc BroadcastChannel.
 *   The leader accepts both.
 * - **Peer locks tell the leader who is gone.** Each worker holds `jazz:<dbName>:peer:<id>` for
 *   its life; the leader queues for the lock of each follower it serves and is granted it when
 *   that follower ends, then drops its live queries.
 *
 * An `Election` is used once: after `retire` (the page's `pagehide`) a returning page starts a new one.
 */
import { BcHub, portLink, type Link } from './link.ts';
import type { BrokerEvent, BrokerRequest, ControlMessage } from './protocol.ts';

/** What the election asks of its owner. */
export interface ElectionHandlers {
  /** This worker holds the lock: open the storage and return what serves the followers. */
  lead(): { addPeer(id: string, link: Link): void; drop(id: string): void; stop(): void };
  /** Connected to leader `leader` (replaces any previous leader). */
  follow(leader: string, link: Link): void;
  /** The leader followed so far said it is going away; the next will announce itself. */
  leaderGone(leader: string): void;
}

/** How often a worker with no leader asks again (an answer can be lost while a leader takes over). */
const ASK_EVERY_MS = 250;
/** How long a follower waits for the broker's port before it talks to the leader over BroadcastChannel. */
const BROKER_PATIENCE_MS = 1_000;

export class Election {
  /** This worker's id among the database's workers. */
  readonly id = crypto.randomUUID();
  readonly #dbName: string;
  readonly #broker: MessagePort | undefined;
  readonly #handlers: ElectionHandlers;
  readonly #control: BroadcastChannel;
  readonly #hub: BcHub;
  readonly #abort = new AbortController();
  #release: () => void = () => {};
  readonly #released = new Promise<void>((r) => (this.#release = r));
  #server: ReturnType<ElectionHandlers['lead']> | undefined;
  #since = 0;
  /** The leader followed (or being connected to), with its `since`. */
  #following: { id: string; since: number; connected: boolean } | undefined;
  #asking: ReturnType<typeof setInterval> | undefined;
  #retired = false;

  constructor(dbName: string, broker: MessagePort | undefined, handlers: ElectionHandlers) {
    this.#dbName = dbName;
    this.#broker = broker;
    this.#handlers = handlers;
    this.#control = new BroadcastChannel(`jazz-elements:${dbName}`);
    this.#hub = new BcHub(`jazz-elements:${dbName}:rpc`, this.id);
  }

  get isLeader(): boolean {
    return this.#server !== undefined;
  }

  /**
   * Joins: queues for the leader's lock and, at the same time, takes the peer lock; once that is
   * held, listens and asks who leads. A leader needs no peer lock of its own (followers learn that
   * it went from the leader's lock), so a free leader's lock is not kept waiting for it; following
   * does wait for it, as the leader drops a follower whose peer lock it is granted.
   */
  async start(): Promise<void> {
    const locks = navigator.locks;
    locks.request(`jazz:${this.#dbName}`, { signal: this.#abort.signal }, () => this.#lead()).catch(() => {}); // aborted by retire
    await new Promise<void>((granted, failed) => {
      locks.request(this.#peerLock(this.id), () => (granted(), this.#released)).catch(failed);
    });
    if (this.#retired) return;
    this.#control.onmessage = (e: MessageEvent<ControlMessage>) => this.#onControl(e.data);
    // Started here: what the broker sent a leader before (its followers' ports) waits in the port.
    if (this.#broker) this.#broker.onmessage = (e: MessageEvent<BrokerEvent>) => this.#onBroker(e.data);
    if (!this.#server) this.#ask();
  }

  /**
   * Leaves. A leader stops serving and announces it, runs `closeStorage` (which must close the
   * files), and only then releases the lock; a follower leaves the queue.
   */
  async retire(closeStorage: () => Promise<void>): Promise<void> {
    if (this.#retired) return;
    this.#retired = true;
    clearInterval(this.#asking);
    this.#abort.abort();
    this.#control.onmessage = null;
    this.#hub.onUnknown = undefined;
    if (this.#server) {
      this.#server.stop();
      this.#post({ kind: 'retiring', id: this.id });
      this.#toBroker({ kind: 'unregister', db: this.#dbName, id: this.id });
    }
    try {
      await closeStorage();
    } finally {
      this.#release();
      this.#hub.close();
      this.#control.close();
      if (this.#broker) this.#broker.onmessage = null;
    }
  }

  async #lead(): Promise<void> {
    if (this.#retired) return;
    clearInterval(this.#asking);
    this.#since = Date.now();
    this.#following = undefined;
    const server = this.#handlers.lead();
    this.#server = server;
    this.#hub.onUnknown = (from) => this.#addPeer(from, this.#hub.link(from));
    this.#toBroker({ kind: 'register', db: this.#dbName, id: this.id });
    this.#announce();
    await this.#released;
  }

  #addPeer(from: string, link: Link): void {
    const server = this.#server;
    if (!server || this.#retired) return link.close();
    server.addPeer(from, link);
    navigator.locks
      .request(this.#peerLock(from), { signal: this.#abort.signal }, () => {
        if (this.#server === server) server.drop(from);
      })
      .catch(() => {}); // aborted: this leader retired
  }

  #onControl(m: ControlMessage): void {
    if (this.#retired) return;
    switch (m.kind) {
      case 'who-leads':
        if (this.#server) this.#announce();
        return;
      case 'leader': {
        if (this.#server || m.id === this.id) return;
        const f = this.#following;
        if (f && (f.id === m.id || f.since > m.since)) return;
        this.#follow(m.id, m.since);
        return;
      }
      case 'retiring':
        if (this.#following?.id !== m.id) return;
        this.#following = undefined;
        this.#handlers.leaderGone(m.id);
        this.#ask();
        return;
    }
  }

  #follow(leader: string, since: number): void {
    clearInterval(this.#asking);
    const following = { id: leader, since, connected: false };
    this.#following = following;
    if (!this.#broker) return this.#connected(leader, this.#hub.link(leader));
    this.#toBroker({ kind: 'connect', db: this.#dbName, leader, from: this.id });
    // A broker that never answers (its script failed to load, it was restarted and lost the
    // registration) must not strand this tab: the leader also listens on BroadcastChannel.
    setTimeout(() => {
      if (this.#following === following && !following.connected && !this.#retired) this.#connected(leader, this.#hub.link(leader));
    }, BROKER_PATIENCE_MS);
  }

  #connected(leader: string, link: Link): void {
    if (this.#following?.id === leader) this.#following.connected = true;
    this.#handlers.follow(leader, link);
  }

  #onBroker(m: BrokerEvent): void {
    if (m.db !== this.#dbName) return;
    if (this.#retired) return m.port.close();
    if (m.kind === 'peer') return this.#addPeer(m.from, portLink(m.port));
    if (this.#server || this.#following?.id !== m.leader || this.#following.connected) return m.port.close(); // stale
    this.#connected(m.leader, portLink(m.port));
  }

  #ask(): void {
    clearInterval(this.#asking);
    this.#post({ kind: 'who-leads' });
    this.#asking = setInterval(() => {
      if (this.#server || this.#following || this.#retired) clearInterval(this.#asking);
      else this.#post({ kind: 'who-leads' });
    }, ASK_EVERY_MS);
  }

  #announce(): void {
    this.#post({ kind: 'leader', id: this.id, since: this.#since });
  }

  #post(m: ControlMessage): void {
    this.#control.postMessage(m);
  }

  #toBroker(m: BrokerRequest): void {
    this.#broker?.postMessage(m);
  }

  #peerLock(id: string): string {
    return `jazz:${this.#dbName}:peer:${id}`;
  }
}
