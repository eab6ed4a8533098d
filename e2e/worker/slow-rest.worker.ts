/**
 * The database worker (`worker/worker.ts`) as a page sees it when the rest of a long result takes a
 * while to read (a big table, a slow disk): a live query's first rows (a `partial` reset) go out at
 * once, its whole result `?rest=<ms>` later (default 1000), so a test sees for certain what the page
 * shows in between. Every other message goes out as it comes (a held whole result keeps its place
 * before its query's later ones: they wait behind it).
 */
import '../../worker/worker.ts';

const url = new URL(self.location.href);
const restMs = Number(url.searchParams.get('rest') ?? 1000);
const post = MessagePort.prototype.postMessage;
/** Ports with a whole result held, and what waits behind it. */
const waiting = new Map<MessagePort, unknown[][]>();
/** Ports whose query's first rows went out, its whole result not yet. */
const partialSent = new WeakSet<MessagePort>();

MessagePort.prototype.postMessage = function (this: MessagePort, ...args: unknown[]) {
  // A subscription's sink is called through Comlink: its message is the call's first argument.
  const m = (args[0] as { argumentList?: { value?: { kind?: string; partial?: boolean } }[] } | undefined)?.argumentList?.[0]?.value;
  const queue = waiting.get(this);
  if (queue) return void queue.push(args);
  if (m?.kind === 'reset' && !m.partial && partialSent.has(this)) {
    partialSent.delete(this);
    waiting.set(this, [args]);
    setTimeout(() => {
      const held = waiting.get(this)!;
      waiting.delete(this);
      for (const a of held) (post as (...a: unknown[]) => void).apply(this, a);
    }, restMs);
    return;
  }
  if (m?.kind === 'reset' && m.partial) partialSent.add(this);
  (post as (...a: unknown[]) => void).apply(this, args);
};
