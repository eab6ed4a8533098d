/**
 * `<jazz-query virtual>` (lazy: `jazz-virtual.js`, loaded the first time a query has the
 * attribute): only the rows on screen are in the DOM, laid out by `@lit-labs/virtualizer`'s
 * `Virtualizer` (the core of `<lit-virtualizer>`, without lit-html: the query's own keyed views
 * render the range it asks for). The rows go into the `into` element (else a `<div>` the query
 * adds), which must hold nothing else, and each row's template must be one element.
 *
 * Keyboard and screen readers: every row rendered says where it is in the whole result
 * (`aria-posinset`, `aria-setsize`), so "item 5,120 of 10,000" is read out; the page scrolls with
 * the keyboard as usual and Tab moves through the rows on screen, which the virtualizer renders as
 * they come into view.
 */
// The package's exports name only <lit-virtualizer> and the lit-html directive (both bring
// lit-html); its core class is imported by its file (with its types beside it).
import { Virtualizer } from '../node_modules/@lit-labs/virtualizer/Virtualizer.js';
import { flow } from '@lit-labs/virtualizer/layouts/flow.js';
import type { JazzRow } from './events.ts';
import type { KeyedList, View } from './keyed-list.ts';

export class VirtualRows {
  readonly #list: KeyedList<View>;
  readonly #virtualizer: Virtualizer;
  #rows: readonly JazzRow[] = [];
  /** The result's length: that of `#rows`, or more while only its first rows are here (`set`'s `total`). */
  #size = 0;
  #first = 0;
  #last = -1;

  constructor(host: HTMLElement, list: KeyedList<View>) {
    this.#list = list;
    // A sizer of the list's own kind keeps its content model (an <li> in a <ul>, a <tr> in a <tbody>).
    const sizerTag = { ul: 'li', ol: 'li', tbody: 'tr', table: 'tr' }[host.localName];
    if (sizerTag) {
      const sizer = host.appendChild(document.createElement(sizerTag));
      sizer.setAttribute('virtualizer-sizer', '');
      sizer.setAttribute('aria-hidden', 'true');
    }
    this.#virtualizer = new Virtualizer({ hostElement: host, layout: flow() });
    host.addEventListener('rangeChanged', (e) => {
      this.#first = e.first;
      this.#last = e.last;
      this.#render();
    });
    this.#virtualizer.connected();
  }

  /**
   * Shows `rows`; `total`: the whole result's length when only its first rows are here, so the
   * list takes its whole height (and says its size) at once, and rows past them show as they come.
   */
  set(rows: readonly JazzRow[], total = 0): void {
    this.#rows = rows;
    this.#size = Math.max(total, rows.length);
    this.#virtualizer.items = (this.#size > rows.length ? rows.concat(Array(this.#size - rows.length)) : rows) as unknown[];
    this.#render();
  }

  #render(): void {
    const rows = this.#rows;
    const last = Math.min(this.#last, rows.length - 1);
    this.#list.set(rows.slice(this.#first, last + 1));
    const size = String(this.#size);
    this.#list.views.forEach((v, i) => {
      const el = v.first as Element;
      if (!el.setAttribute) return;
      el.setAttribute('aria-setsize', size);
      el.setAttribute('aria-posinset', String(this.#first + i + 1));
    });
  }
}
