/**
 * Where the database worker's script is in the library build: `jazz-worker.js`, beside the
 * `jazz.js` that imports this (`vite.config.ts` puts this module in place of `worker-url.ts`).
 * Resolved against the script's own URL, so a page can import `jazz.js` from anywhere with no bundler.
 */
export function defaultWorkerUrl(): URL {
  return new URL(/* @vite-ignore */ './jazz-worker.js', import.meta.url);
}
