/**
 * What the client specs' pages load (`e2e/client.html`): the page's `createDb` and the schema
 * builder from source, on `window.jazz`, so a spec's `page.evaluate` can use them. The worker they
 * start is `worker/worker.ts`, served by the e2e dev server.
 */
import * as jazz from '../../worker/page/index.ts';

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
