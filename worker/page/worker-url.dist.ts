/**
 * Where the database worker's script is in the library build: `jazz-worker.js`, beside the
 * `jazz.js` that imports this (`vite.config.ts` puts this module in place of `worker-url.ts`).
 * Resolved against the script's own URL, so a page can import `jazz.js` from anywhere with no bundler.
 */
export function defaultWorkerUrl(): URL {
  return new URL(/* @vite-ignore */ './jazz-worker.js', import.meta.url);
}

/** Where the tab broker's script is: `jazz-broker.js` beside `jazz.js` (a SharedWorker; see worker/broker.ts). */
export function defaultBrokerUrl(): URL {
  return new URL(/* @vite-ignore */ './jazz-broker.js', import.meta.url);
}
