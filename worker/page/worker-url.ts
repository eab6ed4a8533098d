/**
 * Where the database worker's script is. From source (the e2e dev server, a bundler): the
 * TypeScript entry beside this folder. `vite.config.ts` swaps this module for `worker-url.dist.ts`
 * in the library build, where the worker is `jazz-worker.js` beside `jazz.js`.
 */
export function defaultWorkerUrl(): URL {
  return new URL('../worker.ts', import.meta.url);
}

/** Where the tab broker's script is (a SharedWorker; see worker/broker.ts). */
export function defaultBrokerUrl(): URL {
  return new URL('../broker.ts', import.meta.url);
}
