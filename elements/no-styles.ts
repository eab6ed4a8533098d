/**
 * Lit's `css-tag.js` as `dist/jazz.js` is built (vite.config.ts puts this module in its place):
 * no element here has `static styles` (`<jazz-status>` is the only one with a shadow root, and its
 * parts are styled by the page), so Lit's stylesheet support would be about 450 B gzipped of the
 * page's 25 kB for nothing. An element that declares `static styles` makes Lit call
 * `getCompatibleStyle`, which says so at once instead of silently dropping the styles.
 */

/** Called by Lit for each of an element's `static styles`; there must be none. */
export function getCompatibleStyle(): never {
  throw new Error('jazz.js has no Lit styles (elements/no-styles.ts): style the elements from the page');
}

/** Called by Lit when it creates a shadow root, with the element's (empty) styles. */
export function adoptStyles(): void {}

// What reactive-element.js re-exports from css-tag.js; nothing in jazz.js uses them.
export { getCompatibleStyle as css, getCompatibleStyle as unsafeCSS, getCompatibleStyle as CSSResult };
export const supportsAdoptingStyleSheets = false;
