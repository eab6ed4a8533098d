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
 * What must happen at once is here, in `jazz.js`: taking the submit, the browser's constraints,
 * reading the controls and the reset. Coercing, checking the markup, writing and putting values
 * back are the lazy part's (form-submit.ts in `jazz-more.js`), which the element loads as soon as
 * it is connected; a submit made before it is here waits for it, in order, as it waits for the
 * database (so, like that one, a value that does not fit is then put back after the reset).
 *
 * The `state` attribute is `loading` (no database yet, or the lazy part not loaded yet), `ready`,
 * or `error`: no `<jazz-db>` around it (`NO_DATABASE`), its `<jazz-db>`'s own error, the lazy part
 * failed to load, an unknown `table`, or a control named for no column of it (`UNKNOWN_COLUMN`,
 * fired from that control); each is reported once with a `console.warn`.
 */
import { ReactiveElement } from '@lit/reactive-element';
import type { BrowserDb, DynamicApp } from '../worker/page/index.ts';
import { hold, isControl, type Control, type Held } from './controls.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, report, type JazzErrorDetail } from './events.ts';
import { loadMore, more } from './lazy.ts';

/** One submit: what the controls held, and what the reset after an insert left in them. */
export interface Submit {
  readonly table: string;
  readonly rowId: string | undefined;
  readonly held: readonly (readonly [Control, Held])[];
  after?: Held[];
  done?: (written: boolean) => void;
}

const NOT_VALUES = new Set(['submit', 'button', 'reset', 'image', 'file']);

/**
 * Writes a row from the named controls inside it (see the module comment above).
 * @tagname jazz-form
 * @slot - The form's controls (`<input name>`, `<select name>`, `<textarea name>`) and a submit button.
 * @fires jazz-error - A value that does not fit its column, or a refused write: `{ code, message, ... }`.
 * @fires jazz-progress - While a submit's files are stored (files.ts): `{ loaded, total, column, name }`.
 */
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
  /** Why the lazy part (form-submit.ts) could not be loaded. */
  #lost: JazzErrorDetail | undefined;
  /** Submits made before there was a database and the lazy part, oldest first. */
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

  override connectedCallback(): void {
    super.connectedCallback();
    // The checks and writes are the lazy part's (form-submit.ts): loaded now, in the background.
    if (!more)
      loadMore().then(
        () => this.requestUpdate(),
        (e: unknown) => (report(this, (this.#lost = errorDetail(e))), this.requestUpdate()),
      );
  }

  protected override updated(): void {
    const db = this.db;
    const mistake = db && more?.formMistake(this, db, this.table ?? '', this.#controls());
    if (mistake && mistake[1].message !== this.#reported) report(...mistake);
    this.#reported = mistake ? mistake[1].message : '';
    this.setAttribute('state', this.#ctl.problem() || this.#lost || mistake ? 'error' : db && more ? 'ready' : 'loading');
    if (!db || !more) return;
    this.#flush(db);
    const key = `${this.table}\u0000${this.rowId}`;
    if (!this.table || !this.rowId || key === this.#loaded) return;
    this.#loaded = key;
    void more.showRow(this, db, this.table, this.rowId, this.#controls());
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
    // With the database and the lazy part here, checked at once (and not reset when it does not
    // fit); else it waits, in order, after the reset.
    if (db && more) this.#flush(db);
    const values = db && more?.formValues(this, db, s, controls);
    if (db && more && !values) return Promise.resolve(false);
    if (!s.rowId) {
      this.reset();
      s.after = controls.map(hold);
    }
    return new Promise((done) => {
      s.done = done;
      if (values) this.#write(db!, s, values);
      else this.#waiting.push(s);
    });
  }

  /** Writes the submits that waited, oldest first (with the database and the lazy part here). */
  #flush(db: BrowserDb<DynamicApp>): void {
    for (const s of this.#waiting.splice(0)) this.#write(db, s);
  }

  #write(db: BrowserDb<DynamicApp>, s: Submit, values?: Record<string, unknown>): void {
    more!.formWrite(this, db, s, this.#controls(), (batchId) => this.#ctl.wrote(batchId, this), values);
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
