/**
 * Filter keeps the rows a predicate accepts. It is stateless: an edit becomes an add, a remove or
 * an edit depending on whether the old and the new row pass. The predicate must be pure.
 */
import type { Predicate } from '../predicate.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';

export class Filter implements Input, Output {
  readonly #input: Input;
  readonly #pred: Predicate;
  #output: Output | undefined;

  constructor(input: Input, pred: Predicate) {
    this.#input = input;
    this.#pred = pred;
    input.setOutput(this);
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#input.destroy();
  }

  *fetch(start?: Start): Iterable<Row> {
    for (const r of this.#input.fetch(start)) if (this.#pred(r)) yield r;
  }

  push(change: Change): void {
    const out = this.#output;
    if (!out) return;
    switch (change.type) {
      case 'add':
        if (this.#pred(change.row)) out.push(change);
        return;
      case 'remove':
        if (this.#pred(change.row)) out.push(change);
        return;
      case 'edit': {
        const was = this.#pred(change.old);
        const is = this.#pred(change.row);
        if (was && is) out.push(change);
        else if (was) out.push({ type: 'remove', row: change.old });
        else if (is) out.push({ type: 'add', row: change.row });
      }
    }
  }
}
