/**
 * The lazy part of the elements (`jazz-more.js` beside `jazz.js`; lazy.ts loads it): what a page
 * may not need, kept out of the 25 kB budget (about 24.5 kB used) that every page loads
 * first. Loading it
 *
 * - gives the template binder its extras (template.ts `setHooks`): formatters (format.ts),
 *   conditions, classes, boolean attributes and editing in place (row-extras.ts);
 * - gives `<jazz-query>` its `jazz-field` controls (coerce.ts `writeControl`, row-extras.ts
 *   `saveField`) and what a `jazz-action` does (`act`);
 * - gives `<jazz-form>` its checks and writes (form-submit.ts) and the load of `row-id`'s row;
 * - gives `<jazz-query>` and `<jazz-count>` queries that follow the page (page-where.ts);
 * - reads `<jazz-query>`'s `tier` and `as-of` (`timeOptions`);
 * - gives `<jazz-query>` its conflicts: `jazz-each="$conflicts"`, `pick`, `jazz-conflict`
 *   (conflicts.ts);
 * - keeps the undo list of a `<jazz-db undo>` and looks after the document's `jazz-action="undo"`
 *   buttons (undo.ts: `remember`, called by `DbController.wrote`);
 * - gives forms their file inputs and templates `jazz-src`/`jazz-file` (files.ts);
 * - defines `<jazz-count>`, `<jazz-history>`, `<jazz-nav>`, `<jazz-status>` and `<jazz-stream>`.
 */
import { pipe } from './format.ts';
import { JazzCountElement } from './jazz-count.ts';
import { JazzHistoryElement } from './jazz-history.ts';
import { JazzNavElement } from './jazz-nav.ts';
import { JazzStatusElement } from './jazz-status.ts';
import { fileExtra, JazzStreamElement } from './files.ts';
import { each, rowExtra } from './row-extras.ts';
import { setHooks } from './template.ts';

export { follow, unfollow } from './page-where.ts';
export { act, saveField, showRow } from './row-extras.ts';
export { writeControl } from './coerce.ts';
export { formMistake, formValues, formWrite } from './form-submit.ts';
export { conflictEvents } from './conflicts.ts';
export { remember } from './undo.ts';
import { watchUndo } from './undo.ts';
import { JazzError, type Tier } from '../worker/page/index.ts';
import { TIERS } from '../worker/page/engine-parts.ts';
import { AttributeError } from './query-attributes.ts';
import { rowsEnd } from './row-extras.ts';
import type { KeyedList } from './keyed-list.ts';
import type { RowView } from './template.ts';
import type * as Virtual from './virtual.ts';

let virtual: typeof Virtual | undefined;
let loadingVirtual: Promise<unknown> | undefined;

/**
 * Whether what a `<jazz-query>` needs of the lazy parts is here: more.ts is, and virtual.ts when
 * it is `virtual`. With `load`, a promise that it will be (virtual.ts loaded).
 */
export function ready(isVirtual: boolean, load?: true): boolean | Promise<unknown> {
  if (!load) return !isVirtual || !!virtual;
  return isVirtual ? (loadingVirtual ??= import('./virtual.ts').then((m) => (virtual = m))) : true;
}

/** The list of a `<jazz-query>` whose rows go `into` another element, or are `virtual`, and its virtualizer. */
export function rows(query: Element, into: string | undefined, isVirtual: boolean, list: (end: Node) => KeyedList<RowView>): [KeyedList<RowView>, Virtual.VirtualRows?] {
  const end = rowsEnd(query, into);
  const made = list(end);
  return [made, isVirtual ? new virtual!.VirtualRows(end.parentElement!, made) : undefined];
}
export { JazzCountElement, JazzHistoryElement, JazzNavElement, JazzStatusElement, JazzStreamElement };

/** `<jazz-query tier as-of>`, read (a mistake is an AttributeError on the attribute). */
export function timeOptions(tier: string | undefined, asOf: string | undefined): { tier?: Tier; asOf?: number } {
  const out: { tier?: Tier; asOf?: number } = {};
  if (tier) {
    if (!TIERS.includes(tier as Tier)) throw new AttributeError(new JazzError('OPTION_INVALID', `tier must be local, edge or global, got "${tier}"`), 'tier', 0);
    out.tier = tier as Tier;
  }
  if (asOf) {
    out.asOf = /^\d+$/.test(asOf) ? +asOf : Date.parse(asOf);
    if (Number.isNaN(out.asOf)) throw new AttributeError(new JazzError('OPTION_INVALID', `as-of is an ISO date or epoch milliseconds, got "${asOf}"`), 'as-of', 0);
  }
  return out;
}

setHooks({ attr: (el, name, value) => rowExtra(el, name, value) ?? fileExtra(el, name, value), pipe, each });
watchUndo();

const LAZY_ELEMENTS = { 'jazz-count': JazzCountElement, 'jazz-history': JazzHistoryElement, 'jazz-nav': JazzNavElement, 'jazz-status': JazzStatusElement, 'jazz-stream': JazzStreamElement };
const registry = globalThis.customElements;
for (const [tag, cls] of Object.entries(LAZY_ELEMENTS)) if (registry && !registry.get(tag)) registry.define(tag, cls);

declare global {
  interface HTMLElementTagNameMap {
    'jazz-count': JazzCountElement;
    'jazz-history': JazzHistoryElement;
    'jazz-nav': JazzNavElement;
    'jazz-status': JazzStatusElement;
    'jazz-stream': JazzStreamElement;
  }
}
