/**
 * The parts of the elements a page may not need, loaded when it first uses them: a dynamic
 * `import()` that the build turns into a file beside `jazz.js` (vite.config.ts), found relative
 * to it, so a static page still needs only its one script tag.
 *
 * - `more.ts` (`jazz-more.js`): template conditions, classes and attributes, formatters, editing
 *   in place, `jazz-field` controls, what `jazz-action` does, queries that follow the page,
 *   `<jazz-form>`'s checks and writes, and the elements `<jazz-count>`, `<jazz-history>`,
 *   `<jazz-nav>` and `<jazz-status>`. Loaded when one of those tags is on the page (index.ts
 *   watches for them), a `<jazz-query>` uses one of those features, or a `<jazz-form>` is connected.
 * - `virtual.ts` (`jazz-virtual.js`): `<jazz-query virtual>`'s virtualizer, loaded in turn by
 *   more.ts (`ready`).
 */
import type * as More from './more.ts';

/** more.ts once loaded. */
export let more: typeof More | undefined;
let loading: Promise<unknown> | undefined;

export function loadMore(): Promise<unknown> {
  return (loading ??= import('./more.ts').then((m) => (more = m)));
}
