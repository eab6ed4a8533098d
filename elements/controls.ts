/**
 * The form controls the elements read, and what one holds at one moment (`hold`): a submit of
 * `<jazz-form>` captures it at once, before the form resets, so it is here in `jazz.js`. Turning
 * what was held into a column's value, and showing a value in a control, is coerce.ts's (lazy).
 */

/** A form control the elements read and write. */
export type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** What a control held when it was read. */
export interface Held {
  /** The control's `type`: `text`, `checkbox`, `select-one`, `select-multiple`, `textarea`, ... */
  readonly type: string;
  readonly value: string;
  readonly checked: boolean;
  /** The values of a select's selected options. */
  readonly selected: readonly string[];
  /** The control has `jazz-allow-empty`: empty text is the empty string for a string column. */
  readonly allowEmpty: boolean;
}

export function isControl(el: Element): el is Control {
  const tag = el.localName;
  return tag === 'input' || tag === 'select' || tag === 'textarea';
}

/** What `el` holds now. */
export function hold(el: Control): Held {
  return {
    type: el.type,
    value: el.value,
    checked: (el as HTMLInputElement).checked,
    selected: el instanceof HTMLSelectElement ? [...el.selectedOptions].map((o) => o.value) : [],
    allowEmpty: el.hasAttribute('jazz-allow-empty'),
  };
}
