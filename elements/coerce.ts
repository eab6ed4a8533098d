/**
 * Form controls ↔ column values, by the schema (lazy: part of more.ts). What a control holds at one
 * moment is read by controls.ts's `hold` (in `jazz.js`: a submit captures it before the form
 * resets); `readControl` turns that into the column's value (or says in words why it cannot: that
 * text goes to `setCustomValidity`); `writeControl` shows a value in a control; `putBack` restores
 * what `hold` read. Used by `jazz-field` in rows, `<jazz-count>`, queries that follow the page and
 * `<jazz-form>`'s submits (form-submit.ts).
 *
 * Text is trimmed at both ends (not a password's). Empty text (after trimming) means null for an
 * optional column, "use the default" for a defaulted one on insert, and is a mistake otherwise
 * ("Please fill in this field."), for strings too: a string column takes the empty string only
 * from a control marked `jazz-allow-empty`.
 */
import type { ColumnSchema } from '../worker/page/index.ts';
import { checkValue } from '../worker/page/engine-parts.ts';
import type { Control, Held } from './controls.ts';

export type ReadResult =
  | { readonly ok: true; readonly value: unknown }
  /** Nothing given for a column with a default: leave it out of an insert. */
  | { readonly ok: true; readonly omit: true }
  | { readonly ok: false; readonly message: string };

/** Puts back into `el` what `hold` read from it. */
export function putBack(el: Control, h: Held): void {
  if (el instanceof HTMLSelectElement) for (const o of el.options) o.selected = h.selected.includes(o.value);
  else if (h.type === 'checkbox' || h.type === 'radio') (el as HTMLInputElement).checked = h.checked;
  else el.value = h.value;
}

/** The column value a control held. `forInsert`: an empty control may leave a defaulted column out. */
export function readControl(h: Held, col: ColumnSchema, forInsert = false): ReadResult {
  if (col.type === 'boolean' && h.type === 'checkbox') return { ok: true, value: h.checked };
  if (col.type === 'array' && h.type === 'select-multiple')
    return fitColumn(
      col,
      h.selected.map((v) => itemFrom(v, col.items!)),
    );
  const text = h.type === 'password' ? h.value : h.value.trim();
  if (text === '' && !(h.allowEmpty && col.type === 'string')) {
    if (col.optional) return { ok: true, value: null };
    if (forInsert && col.default !== undefined) return { ok: true, omit: true };
    return { ok: false, message: 'Please fill in this field.' };
  }
  switch (col.type) {
    case 'string':
    case 'enum':
    case 'ref':
      return fitColumn(col, text);
    case 'boolean': {
      const t = text.toLowerCase();
      if (t === 'true' || t === 'on' || t === '1' || t === 'yes') return { ok: true, value: true };
      if (t === 'false' || t === 'off' || t === '0' || t === 'no') return { ok: true, value: false };
      return { ok: false, message: `Enter true or false, not "${text}".` };
    }
    case 'int':
    case 'float': {
      const n = Number(text);
      if (Number.isNaN(n)) return { ok: false, message: `Enter a number, not "${text}".` };
      if (col.type === 'int' && !Number.isInteger(n)) return { ok: false, message: `Enter a whole number, not "${text}".` };
      return fitColumn(col, n);
    }
    case 'timestamp': {
      // A date input's value parses as UTC midnight (its valueAsNumber), datetime-local as local time.
      const n = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
      if (!Number.isFinite(n)) return { ok: false, message: `Enter a date and time, not "${text}".` };
      return fitColumn(col, n);
    }
    case 'json':
      try {
        return fitColumn(col, JSON.parse(text));
      } catch {
        return { ok: false, message: 'Enter valid JSON.' };
      }
    case 'array':
      return fitColumn(
        col,
        text
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '')
          .map((x) => itemFrom(x, col.items!)),
      );
    case 'bytes':
      return { ok: false, message: 'A bytes column cannot be edited in a form.' };
  }
}

/** Shows `value` (a column value) in a control. */
export function writeControl(el: Control, value: unknown, col: ColumnSchema | undefined): void {
  if (el instanceof HTMLInputElement && el.type === 'checkbox') {
    el.checked = Array.isArray(value) ? value.map(String).includes(el.value) : value === true;
    return;
  }
  if (el instanceof HTMLInputElement && el.type === 'radio') {
    el.checked = value !== null && value !== undefined && el.value === String(value);
    return;
  }
  if (el instanceof HTMLSelectElement && el.multiple && Array.isArray(value)) {
    const set = new Set(value.map(String));
    for (const o of el.options) o.selected = set.has(o.value);
    return;
  }
  el.value = controlText(el, value, col);
}

function controlText(el: Control, value: unknown, col: ColumnSchema | undefined): string {
  if (value === null || value === undefined) return '';
  if (col?.type === 'timestamp' && typeof value === 'number' && el instanceof HTMLInputElement) {
    if (el.type === 'date') return new Date(value).toISOString().slice(0, 10);
    if (el.type === 'datetime-local') {
      const d = new Date(value - new Date(value).getTimezoneOffset() * 60_000);
      return d.toISOString().slice(0, 16);
    }
  }
  if (Array.isArray(value) && col?.type === 'array') return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function itemFrom(text: string, items: ColumnSchema): unknown {
  if (items.type === 'int' || items.type === 'float' || items.type === 'timestamp') return Number(text);
  if (items.type === 'boolean') return text === 'true';
  return text;
}

function fitColumn(col: ColumnSchema, value: unknown): ReadResult {
  const problem = checkValue(col, value);
  return problem ? { ok: false, message: `The value ${problem}.` } : { ok: true, value };
}
