/**
 * Holds every message the page sends this worker for the first `?hold=<ms>` of its life (default
 * 1500), then delivers them in the order they came. Imported before worker/worker.ts, its
 * listener runs before Comlink's and stops the held messages from reaching it; they are
 * dispatched again, with their ports, when the time is up.
 */
const url = new URL(self.location.href);
const holdMs = Number(url.searchParams.get('hold') ?? 1500);
const held: MessageEvent[] = [];
let holding = true;

self.addEventListener('message', (e) => {
  if (!holding) return;
  e.stopImmediatePropagation();
  held.push(e as MessageEvent);
});

setTimeout(() => {
  holding = false;
  for (const e of held.splice(0)) self.dispatchEvent(new MessageEvent('message', { data: e.data, ports: [...e.ports] }));
}, holdMs);

export {};
