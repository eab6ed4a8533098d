/**
 * `<jazz-nav current-class="selected">` (lazy: part of more.ts): marks the links inside it that
 * point at the page as it is now, with `aria-current="page"` (what assistive technology reads,
 * and a selector for CSS) and the class named by `current-class`, when there is one. It follows
 * the hash and the history (`hashchange`, `popstate`), so tabs and filters made of plain links
 * (`<a href="#/active">`), with a `<jazz-query where-route>` that follows the same URL, need no
 * script. A link is current when its URL is the page's, where no hash, `#` and `#/` are the same.
 * Put it around the list of links (`<jazz-nav><ul><li><a>…`), not between a list and its items.
 */
import { ReactiveElement } from '@lit/reactive-element';
import { hashRoute } from './page-where.ts';

// A ReactiveElement (not a bare HTMLElement) only so it imports in Node, like the other elements.
/**
 * Marks the links inside it that point at the page as it is now (see the module comment above).
 * @tagname jazz-nav
 * @slot - The links.
 * @attr current-class - A class added to the current links.
 */
export class JazzNavElement extends ReactiveElement {
  readonly #mark = (): void => {
    const here = new URL(location.href);
    for (const a of this.querySelectorAll('a[href]')) {
      const to = new URL((a as HTMLAnchorElement).href);
      const current = to.origin + to.pathname + to.search === here.origin + here.pathname + here.search && hashRoute(to.hash) === hashRoute(here.hash);
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
      const cls = this.getAttribute('current-class');
      if (cls) a.classList.toggle(cls, current);
    }
  };

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('hashchange', this.#mark);
    addEventListener('popstate', this.#mark);
    this.#mark();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener('hashchange', this.#mark);
    removeEventListener('popstate', this.#mark);
  }
}
