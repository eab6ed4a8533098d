/**
 * The elements: `defineElements()` registers every tag; importing this module
 * defines them when there is a `customElements` registry, and only then (so it can be imported in
 * Node, or before the page has one, without crashing).
 *
 * `<jazz-db>`, `<jazz-query>` and `<jazz-form>` are defined at once. `<jazz-count>`,
 * `<jazz-history>`, `<jazz-nav>`, `<jazz-status>` and `<jazz-stream>` are in the lazy part (more.ts, `jazz-more.js`): it is loaded as soon as one
 * of those tags (or a `jazz-action="undo"` button, whose work is undo.ts's) is in the document (now
 * or later; a MutationObserver watches until then), and defines them; an element waits for its definition as any custom element does. A page that puts
 * them only inside shadow roots calls `loadMore()` itself.
 */
import { JazzDbElement } from './jazz-db.ts';
import { JazzFormElement } from './jazz-form.ts';
import { JazzQueryElement } from './jazz-query.ts';
import { loadMore } from './lazy.ts';

export { JazzDbElement, JazzQueryElement, JazzFormElement, loadMore };
export { jazzDbContext, type JazzDbValue } from './context.ts';
export type {
  JazzRow,
  JazzResultsDetail,
  JazzChangeDetail,
  JazzSettledDetail,
  JazzErrorDetail,
  JazzStatusDetail,
  JazzConflictDetail,
  JazzMergeDetail,
  JazzProgressDetail,
  JazzEventMap,
} from './events.ts';
export { AttributeError } from './query-attributes.ts';
export { TemplateError } from './template.ts';

/**
 * Every element, by tag. `<jazz-db>` comes first: defined first, it is upgraded first and can
 * answer the context requests the others make when they are upgraded. (A page that defines the
 * tags itself in another order needs `@lit/context`'s `ContextRoot`; left out here for size.)
 */
export const ELEMENTS = {
  'jazz-db': JazzDbElement,
  'jazz-query': JazzQueryElement,
  'jazz-form': JazzFormElement,
} as const;

/** The tags more.ts defines, and undo buttons (undo.ts). */
const LAZY = 'jazz-count,jazz-history,jazz-nav,jazz-status,jazz-stream,[jazz-action=undo]';

/** Registers every tag not registered yet (idempotent), and loads more.ts once a tag of it is on the page. */
export function defineElements(registry: CustomElementRegistry | undefined = globalThis.customElements): void {
  if (!registry) return;
  for (const [tag, cls] of Object.entries(ELEMENTS)) if (!registry.get(tag)) registry.define(tag, cls);
  if (typeof document === 'undefined') return;
  const watch = new MutationObserver(() => document.querySelector(LAZY) && (watch.disconnect(), loadMore()));
  watch.observe(document, { childList: true, subtree: true });
  if (document.querySelector(LAZY)) watch.disconnect(), loadMore();
}

declare global {
  interface HTMLElementTagNameMap {
    'jazz-db': JazzDbElement;
    'jazz-query': JazzQueryElement;
    'jazz-form': JazzFormElement;
  }
}

defineElements();
