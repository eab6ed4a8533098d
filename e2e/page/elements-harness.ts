/**
 * What the elements spec's page loads (`e2e/elements.html`): the drop-in entry from source
 * (`elements/jazz.ts`: the client and every element, defined), on `window.jazzEl`. A spec then
 * writes the markup of its scenario into the page and drives it like a user.
 */
import * as jazzEl from '../../elements/jazz.ts';
// warmStart's lazy part, loaded with the page: its dynamic import then resolves at once, so the
// warm-start specs do not race a chunk fetch (slow on a loaded machine) against the worker's open.
// The bundle's own fetch of jazz-warm.js is timed by the browser bench (P5w).
import '../../worker/page/warm.ts';
import { forgetWarnings } from '../../elements/events.ts';

declare global {
  interface Window {
    jazzEl: typeof jazzEl;
    /** Forgets the warnings given so far: a spec that reuses the page starts each test afresh. */
    forgetWarnings: () => void;
    /** Events and values a spec collects between evaluations. */
    seen: Record<string, any>;
    __pwned?: unknown;
  }
}

window.jazzEl = jazzEl;
window.forgetWarnings = forgetWarnings;
window.seen = {};
document.documentElement.dataset['ready'] = 'yes';
