/**
 * `<jazz-form table [row-id]>`: writes a row from the named controls inside it (`<input
 * name="title">`, `<select name="priority">`, `<textarea>`, checkboxes for booleans), each value
 * coerced by the column's schema. Without `row-id` it inserts and then resets its controls; with
 * `row-id` it shows that row in its controls and updates it.
 *
 * It submits on an inner `<form>`'s submit, on a click of a submit button, or on Enter in a text
 * field. The browser's own constraints (`required`, `min`, `pattern`, ...) are checked first; a
 * value that does not fit its column is shown on its control (`setCustomValidity`, then
 * `reportValidity`), fires `jazz-error`, and nothing is written. The message clears when the
 * control is edited. A write the server rejects later fires `jazz-error` from this element with
 * its `batchId`.
 *
 * The `state` attribute is `loading` (no database yet), `ready`, or `error`: no `<jazz-db>` around
 * it (`NO_DATABASE`), its `<jazz-db>`'s own error, an unknown `table`, or a control named for no
 * column of it (`UNKNOWN_COLUMN`, fired from that control); each is reported once with a
 * `console.warn`.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { JazzError, QueryBuilder, type BrowserDb, type DynamicApp } from '../worker/page/index.ts';
import { isControl, readControl, writeControl, type Control } from './coerce.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, fire, report, type JazzErrorDetail } from './events.ts';

const NOT_VALUES = new Set(['submit', 'button', 'reset', 'image', 'file']);

export class JazzFormElement extends ReactiveElement {
  static override properties = {
    table: { type: String },
    rowId: { type: String, attribute: 'row-id' },
  };

  declare table: string | undefined;
  /** The row to edit; without it the form inserts a new row. */
  declare rowId: string | undefined;

  readonly #ctl = new DbController(this);
  #busy = false;
  #loaded = '';
  /** The mistake in the markup reported last (reported once). */
  #reported = '';

  constructor() {
    super();
    this.addEventListener('submit', (e) => {
      if ((e.target as Element).closest('jazz-form') !== this) return;
      e.preventDefault();
      void this.submit();
    });
    this.addEventListener('click', (e) => {
      const b = (e.target as Element).closest?.('button, input[type="submit"]') as HTMLButtonElement | HTMLInputElement | null;
      if (!b || b.form || b.type !== 'submit' || b.closest('jazz-form') !== this) return;
      e.preventDefault();
      void this.submit();
    });
    this.addEventListener('keydown', (e) => {
      const t = e.target as Element;
      if (e.key !== 'Enter' || e.isComposing || !(t instanceof HTMLInputElement) || t.form || NOT_VALUES.has(t.type) || t.closest('jazz-form') !== this) return;
      e.preventDefault();
      void this.submit();
    });
    this.addEventListener('input', (e) => {
      const t = e.target as Element;
      if (isControl(t)) t.setCustomValidity('');
    });
  }

  /** The database: set directly, or the nearest `<jazz-db>`'s. */
  get db(): BrowserDb<DynamicApp> | undefined {
    return this.#ctl.db;
  }

  set db(db: BrowserDb<DynamicApp> | undefined) {
    this.#ctl.db = db;
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  protected override updated(_changed: PropertyValues<this>): void {
    const db = this.db;
    const mistake = db && this.#mistake(db);
    if (mistake && mistake[1].message !== this.#reported) report(...mistake);
    this.#reported = mistake ? mistake[1].message : '';
    this.setAttribute('state', this.#ctl.problem() || mistake ? 'error' : db ? 'ready' : 'loading');
    const key = `${this.table}\u0000${this.rowId}`;
    if (!db || !this.table || !this.rowId || key === this.#loaded) return;
    this.#loaded = key;
    void this.#load(db, this.table, this.rowId);
  }

  /** A mistake in the markup, and where: an unknown table, or a control named for no column. */
  #mistake(db: BrowserDb<DynamicApp>): [Element, JazzErrorDetail] | undefined {
    const tables = db.app.$schema.tables;
    const table = this.table ?? '';
    const columns = tables[table]?.columns;
    if (!columns) return [this, errorDetail(new JazzError('UNKNOWN_TABLE', `unknown table "${table}"; the schema has ${Object.keys(tables).join(', ')}`, { table }), { attribute: 'table', position: 0 })];
    const el = this.#controls().find((c) => !columns[c.name]);
    if (el) return [el, errorDetail(new JazzError('UNKNOWN_COLUMN', `"${table}" has no column "${el.name}"`, { table, column: el.name }), { attribute: 'name' })];
    return undefined;
  }

  async #load(db: BrowserDb<DynamicApp>, table: string, id: string): Promise<void> {
    try {
      const row = await db.one(QueryBuilder.forTable(db.app.$schema, table).where({ id }));
      if (!row) throw new JazzError('ROW_NOT_FOUND', `${table} has no row ${id}`, { table, id });
      const columns = db.app.$schema.tables[table]!.columns;
      for (const el of this.#controls()) {
        const col = columns[el.name];
        if (!col) continue;
        writeControl(el, row[el.name], col);
      }
    } catch (e) {
      report(this, errorDetail(e, { attribute: 'row-id' }));
    }
  }

  /** The named controls that belong to this form (not to a form nested in it). */
  #controls(): Control[] {
    return [...this.querySelectorAll('input[name], select[name], textarea[name]')].filter(
      (el): el is Control => isControl(el) && !el.disabled && !NOT_VALUES.has((el as HTMLInputElement).type) && el.closest('jazz-form') === this,
    );
  }

  /**
   * Validates and writes. Resolves true when the row was written (durable on this device), false
   * when a control was invalid or the write failed (a `jazz-error` says why).
   */
  async submit(): Promise<boolean> {
    const db = this.db;
    const table = this.table ?? '';
    if (!db || this.#busy) return false;
    const mistake = this.#mistake(db);
    if (mistake) {
      const [at, detail] = mistake;
      if (at !== this) {
        (at as Control).setCustomValidity(detail.message);
        (at as Control).reportValidity();
      }
      report(at, detail);
      return false;
    }
    const schema = db.app.$schema.tables[table]!;
    const controls = this.#controls();
    for (const el of controls) el.setCustomValidity('');
    for (const el of controls) if (!el.checkValidity()) return (el.reportValidity(), false);

    const values: Record<string, unknown> = {};
    const insert = !this.rowId;
    for (const el of controls) {
      const name = el.name;
      const col = schema.columns[name];
      const bad = (code: 'UNKNOWN_COLUMN' | 'TYPE_MISMATCH', message: string): false => {
        el.setCustomValidity(message);
        el.reportValidity();
        fire(el, 'jazz-error', errorDetail(new JazzError(code, message, { table, column: name }), { attribute: 'name' }));
        return false;
      };
      if (!col) return bad('UNKNOWN_COLUMN', `"${table}" has no column "${name}"`);
      // A radio group gives its checked button's value (the browser checks `required`).
      if (el instanceof HTMLInputElement && el.type === 'radio' && !el.checked) continue;
      const read = readControl(el, col, insert);
      if (!read.ok) return bad('TYPE_MISMATCH', read.message);
      if ('value' in read) values[name] = read.value;
    }

    this.#busy = true;
    try {
      const handle = insert ? db.insert(table, values) : db.update(table, this.rowId!, values);
      this.#ctl.wrote(handle.batchId, this);
      await handle.wait();
      if (insert) this.reset();
      return true;
    } catch (e) {
      const column = (e as JazzError).details?.['column'];
      const el = controls.find((c) => c.name === column);
      if (el) {
        el.setCustomValidity((e as Error).message);
        el.reportValidity();
      }
      fire(el ?? this, 'jazz-error', errorDetail(e));
      return false;
    } finally {
      this.#busy = false;
    }
  }

  /** Puts every control back to its initial value (as a form's reset does). */
  reset(): void {
    const forms = new Set<HTMLFormElement>();
    for (const el of this.#controls()) {
      el.setCustomValidity('');
      if (el.form && el.form.closest('jazz-form') === this) forms.add(el.form);
      else if (el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio')) el.checked = el.defaultChecked;
      else if (el instanceof HTMLSelectElement) for (const o of el.options) o.selected = o.defaultSelected;
      else el.value = el.defaultValue;
    }
    for (const f of forms) f.reset();
  }
}
