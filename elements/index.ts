/**
 * The elements: `defineElements()` registers every tag; importing this module
 * defines them when there is a `customElements` registry, and only then (so it can be imported in
 * Node, or before the page has one, without crashing).
 */
import { JazzDbElement } from './jazz-db.ts';
import { JazzFormElement } from './jazz-form.ts';
import { JazzQueryElement } from './jazz-query.ts';
import { JazzStatusElement } from './jazz-status.ts';

export { JazzDbElement, JazzQueryElement, JazzFormElement, JazzStatusElement };
export { jazzDbContext, type JazzDbValue } from './context.ts';
export type { JazzRow, JazzResultsDetail, JazzChangeDetail, JazzSettledDetail, JazzErrorDetail, JazzStatusDetail, JazzEventMap } from './events.ts';
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
  'jazz-status': JazzStatusElement,
} as const;

/** Registers every tag not registered yet (idempotent). */
export function defineElements(registry: CustomElementRegistry | undefined = globalThis.customElements): void {
  if (!registry) return;
  for (const [tag, cls] of Object.entries(ELEMENTS)) if (!registry.get(tag)) registry.define(tag, cls);
}

declare global {
  interface HTMLElementTagNameMap {
    'jazz-db': JazzDbElement;
    'jazz-query': JazzQueryElement;
    'jazz-form': JazzFormElement;
    'jazz-status': JazzStatusElement;
  }
}

defineElements();
