/**
 * The lazy part of the elements (`jazz-more.js` beside `jazz.js`; lazy.ts loads it): what a page
 * may not need, kept out of the 25 kB that every page loads first. Loading it
 *
 * - gives the template binder its extras (template.ts `setHooks`): formatters (format.ts),
 *   conditions, classes, boolean attributes and editing in place (row-extras.ts);
 * - gives `<jazz-query>` and `<jazz-count>` queries that follow the page (page-where.ts);
 * - defines `<jazz-count>`, `<jazz-nav>` and `<jazz-status>`.
 */
import { pipe } from './format.ts';
import { JazzCountElement } from './jazz-count.ts';
import { JazzNavElement } from './jazz-nav.ts';
import { JazzStatusElement } from './jazz-status.ts';
import { each, rowExtra } from './row-extras.ts';
import { setHooks } from './template.ts';

export { followPage } from './page-where.ts';
export { rowsEnd } from './row-extras.ts';
export { JazzCountElement, JazzNavElement, JazzStatusElement };

setHooks({ attr: rowExtra, pipe, each });

const LAZY_ELEMENTS = { 'jazz-count': JazzCountElement, 'jazz-nav': JazzNavElement, 'jazz-status': JazzStatusElement };
const registry = globalThis.customElements;
for (const [tag, cls] of Object.entries(LAZY_ELEMENTS)) if (registry && !registry.get(tag)) registry.define(tag, cls);

declare global {
  interface HTMLElementTagNameMap {
    'jazz-count': JazzCountElement;
    'jazz-nav': JazzNavElement;
    'jazz-status': JazzStatusElement;
  }
}
