/**
 * The tab broker: a SharedWorker (`dist/jazz-broker.js`) that introduces the
 * workers of one database to their current leader. Each page connects to it and hands its port to
 * its database worker. A leader registers; a follower asks to be connected to leader `id` and gets
 * one end of a new MessageChannel, the leader the other. From then on they talk directly.
 *
 * It knows nothing else: who leads is decided by the Web Lock (election.ts). A connect request for
 * a leader that has not registered yet (its announcement can overtake its registration) waits for
 * the registration; requests for any other leader are dropped when a new one registers (their
 * senders follow the new one). A leader that ended without unregistering is replaced by the next
 * registration; until then a request for it is answered with a port nobody reads, which the
 * follower abandons when the next leader announces itself.
 */
import type { BrokerEvent, BrokerRequest } from './protocol.ts';

interface Db {
  leader: { id: string; port: MessagePort } | undefined;
  /** Connect requests waiting for their leader's registration. */
  waiting: { leader: string; from: string; port: MessagePort }[];
}

const dbs = new Map<string, Db>();

function db(name: string): Db {
  let d = dbs.get(name);
  if (!d) dbs.set(name, (d = { leader: undefined, waiting: [] }));
  return d;
}

function introduce(name: string, leader: { id: string; port: MessagePort }, from: string, follower: MessagePort): void {
  const channel = new MessageChannel();
  leader.port.postMessage({ kind: 'peer', db: name, from, port: channel.port1 } satisfies BrokerEvent, [channel.port1]);
  follower.postMessage({ kind: 'connected', db: name, leader: leader.id, port: channel.port2 } satisfies BrokerEvent, [channel.port2]);
}

function onRequest(port: MessagePort, m: BrokerRequest): void {
  const d = db(m.db);
  switch (m.kind) {
    case 'register': {
      d.leader = { id: m.id, port };
      const waiting = d.waiting;
      d.waiting = [];
      for (const w of waiting) if (w.leader === m.id) introduce(m.db, d.leader, w.from, w.port);
      return;
    }
    case 'unregister':
      if (d.leader?.id === m.id) d.leader = undefined;
      return;
    case 'connect':
      if (d.leader?.id === m.leader) introduce(m.db, d.leader, m.from, port);
      else d.waiting.push({ leader: m.leader, from: m.from, port });
      return;
  }
}

const scope = self as unknown as SharedWorkerGlobalScope;
scope.onconnect = (e: MessageEvent) => {
  const port = e.ports[0]!;
  port.onmessage = (m: MessageEvent<BrokerRequest>) => onRequest(port, m.data);
};
