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
 * control is edited. Text is trimmed; text that is empty after trimming is such a mistake unless
 * the column is optional (null), has a default (on insert), or the control has `jazz-allow-empty`
 * (see coerce.ts).
 *
 * Nothing a person submits is lost, however fast they go: each submit reads the controls at once
 * (it never waits for the one before), an insert resets the controls right then, from what it
 * read, so text typed after it is never cleared, and the writes are made in the order of the
 * submits. Before there is a database at all (the `<jazz-db>` has no schema yet) the submits wait,
 * in order, and are checked and written when it comes; one that does not fit then, or a write
 * that fails, puts its values back into the controls if nothing was typed there since, shows the
 * error on its control and fires `jazz-error`. A write the server rejects later fires `jazz-error`
 * from this element with its `batchId`.
 *
 * The `state` attribute is `loading` (no database yet), `ready`, or `error`: no `<jazz-db>` around
 * it (`NO_DATABASE`), its `<jazz-db>`'s own error, an unknown `table`, or a control named for no
 * column of it (`UNKNOWN_COLUMN`, fired from that control); each is reported once with a
 * `console.warn`.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { JazzError, type BrowserDb, type DynamicApp } from '../worker/page/index.ts';
import { hold, isControl, putBack, readControl, writeControl, type Control, type Held } from './coerce.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, fire, report, type JazzErrorDetail } from './events.ts';
import { loadMore, more } from './lazy.ts';

/** One submit: what the controls held, and what the reset after an insert left in them. */
interface Submit {
  readonly table: string;
  readonly rowId: string | undefined;
  readonly held: readonly (readonly [Control, Held])[];
  after?: Held[];
  done?: (written: boolean) => void;
}

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
  #loaded = '';
  /** The mistake in the markup reported last (reported once). */
  #reported = '';
  /** Submits made before there was a database, oldest first. */
  readonly #waiting: Submit[] = [];

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
    if (!db) return;
    for (const s of this.#waiting.splice(0)) this.#write(db, s);
    const key = `${this.table}\u0000${this.rowId}`;
    if (!this.table || !this.rowId || key === this.#loaded) return;
    this.#loaded = key;
    // Showing the row is more.ts's (lazy.ts): a form that edits a row loads it first.
    const { table, rowId } = this;
    void loadMore().then(() => more!.showRow(this, db, table, rowId, this.#controls()));
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
  submit(): Promise<boolean> {
    const controls = this.#controls();
    for (const el of controls) el.setCustomValidity('');
    for (const el of controls) if (!el.checkValidity()) return (el.reportValidity(), Promise.resolve(false));
    const s: Submit = { table: this.table ?? '', rowId: this.rowId, held: controls.map((el) => [el, hold(el)]) };
    const db = this.db;
    const values = db && this.#values(db, s);
    if (db && !values) return Promise.resolve(false);
    if (!s.rowId) {
      this.reset();
      s.after = controls.map(hold);
    }
    return new Promise((done) => {
      s.done = done;
      if (db) this.#write(db, s, values!);
      else this.#waiting.push(s);
    });
  }

  /** The row's values from what a submit read; undefined (and the error shown) when one does not fit. */
  #values(db: BrowserDb<DynamicApp>, s: Submit): Record<string, unknown> | undefined {
    const mistake = this.#mistake(db);
    if (mistake) return this.#failed(s, ...mistake, true);
    const columns = db.app.$schema.tables[s.table]!.columns;
    const values: Record<string, unknown> = {};
    for (const [el, h] of s.held) {
      // A radio group gives its checked button's value (the browser checks `required`).
      if (h.type === 'radio' && !h.checked) continue;
      const read = readControl(h, columns[el.name]!, !s.rowId);
      if (!read.ok) return this.#failed(s, el, errorDetail(new JazzError('TYPE_MISMATCH', read.message, { table: s.table, column: el.name }), { attribute: 'name' }));
      if ('value' in read) values[el.name] = read.value;
    }
    return values;
  }

  #write(db: BrowserDb<DynamicApp>, s: Submit, values = this.#values(db, s)): void {
    if (!values) return s.done!(false);
    const handle = s.rowId ? db.update(s.table, s.rowId, values) : db.insert(s.table, values);
    this.#ctl.wrote(handle.batchId, this);
    handle.wait().then(
      () => s.done!(true),
      (e: unknown) => {
        const column = (e as JazzError).details?.['column'];
        this.#failed(s, s.held.find(([c]) => c.name === column)?.[0] ?? this, errorDetail(e));
        s.done!(false);
      },
    );
  }

  /**
   * A submit that cannot be written: its values go back into the controls nobody typed in since
   * the reset, the message shows on the control at fault, and `jazz-error` is fired from it
   * (`mistake`: the page author's, so reported with a warning).
   */
  #failed(s: Submit, at: Element, detail: JazzErrorDetail, mistake = false): undefined {
    s.after?.forEach((h, i) => {
      const [el, held] = s.held[i]!;
      if (JSON.stringify(hold(el)) === JSON.stringify(h)) putBack(el, held);
    });
    if (isControl(at)) {
      at.setCustomValidity(detail.message);
      at.reportValidity();
    }
    if (mistake) report(at, detail);
    else fire(at, 'jazz-error', detail);
    return undefined;
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
