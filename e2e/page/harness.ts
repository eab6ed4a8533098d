/**
 * What the client specs' pages load (`e2e/client.html`): the page's `createDb` and the schema
 * builder from source, on `window.jazz`, so a spec's `page.evaluate` can use them. The worker they
 * start is `worker/worker.ts`, served by the e2e dev server.
 */
import * as jazz from '../../worker/page/index.ts';
// warmStart's lazy part, loaded with the page: its dynamic import then resolves at once, so the
// warm-start specs do not race a chunk fetch (slow on a loaded machine) against the worker's open.
// The bundle's own fetch of jazz-warm.js is timed by the browser bench (P5w).
import '../../worker/page/warm.ts';

declare global {
  interface Window {
    jazz: typeof jazz;
    /** Whatever a spec keeps between evaluations (open databases, collected updates). */
    t: Record<string, any>;
  }
}

window.jazz = jazz;
window.t = {};
document.documentElement.dataset['ready'] = 'yes';
