/**
 * `<jazz-form>`'s checks and writes (lazy: part of more.ts). jazz-form.ts, in `jazz.js`, keeps
 * what must happen at once: taking the submit (`preventDefault`), the browser's own constraints,
 * reading what the controls hold and resetting them. The rest waits for this module as it waits
 * for a database: coercing what a submit held by the schema (coerce.ts), the markup's mistakes (an
 * unknown table, a control named for no column), the write, and putting a failed submit's values
 * back. A `<jazz-form>` loads it as soon as it is connected, so a submit seldom finds it missing.
 */
import { JazzError, type BrowserDb, type DynamicApp } from '../worker/page/index.ts';
import { putBack, readControl } from './coerce.ts';
import { hold, isControl, type Control } from './controls.ts';
import { errorDetail, fire, report, type JazzErrorDetail } from './events.ts';
import { fileInputs, formFiles, hasFiles, putFilesBack, uploadFiles, type ChosenFiles } from './files.ts';
import type { Submit } from './jazz-form.ts';

/** A mistake in a form's markup, and where: an unknown table, or a control named for no column. */
export function formMistake(form: Element, db: BrowserDb<DynamicApp>, table: string, controls: readonly Control[]): [Element, JazzErrorDetail] | undefined {
  const tables = db.app.$schema.tables;
  const columns = tables[table]?.columns;
  if (!columns)
    return [form, errorDetail(new JazzError('UNKNOWN_TABLE', `unknown table "${table}"; the schema has ${Object.keys(tables).join(', ')}`, { table }), { attribute: 'table', position: 0 })];
  const el = [...controls, ...fileInputs(form)].find((c) => !columns[c.name]);
  if (el) return [el, errorDetail(new JazzError('UNKNOWN_COLUMN', `"${table}" has no column "${el.name}"`, { table, column: el.name }), { attribute: 'name' })];
  return undefined;
}

/** The row's values from what a submit read; undefined (and the error shown) when one does not fit. */
export function formValues(form: Element, db: BrowserDb<DynamicApp>, s: Submit, controls: readonly Control[]): Record<string, unknown> | undefined {
  const mistake = formMistake(form, db, s.table, controls);
  if (mistake) return failed(s, ...mistake, true);
  const columns = db.app.$schema.tables[s.table]!.columns;
  const values: Record<string, unknown> = {};
  for (const [el, h] of s.held) {
    // A radio group gives its checked button's value (the browser checks `required`).
    if (h.type === 'radio' && !h.checked) continue;
    const read = readControl(h, columns[el.name]!, !s.rowId);
    if (!read.ok) return failed(s, el, errorDetail(new JazzError('TYPE_MISMATCH', read.message, { table: s.table, column: el.name }), { attribute: 'name' }));
    if ('value' in read) values[el.name] = read.value;
  }
  // File inputs (files.ts): read last, as they are emptied for an insert once all is well.
  const files = formFiles(form, columns, !s.rowId, values);
  if ('error' in files) return failed(s, files.at, errorDetail(files.error));
  chosen.set(s, files);
  return values;
}

/** The files each submit chose (put back if it fails). */
const chosen = new WeakMap<Submit, ChosenFiles>();
/** A form's submit whose files are being stored: the form's next submits are written after it. */
const busy = new WeakMap<Element, Promise<unknown>>();

/**
 * Writes a submit (its `values`, else checked now), then settles it (`s.done`); `wrote` is the
 * form's `DbController.wrote`, so a batch the server rejects later is reported from the form.
 */
export function formWrite(form: Element, db: BrowserDb<DynamicApp>, s: Submit, controls: readonly Control[], wrote: (batchId: string) => void, values = formValues(form, db, s, controls)): void {
  if (!values) return s.done!(false);
  const before = busy.get(form);
  if (!before && !hasFiles(values)) return write(form, db, s, values, wrote);
  // Files first (files.ts), then the row; the form's later submits wait for this one.
  const after = (before ?? Promise.resolve())
    .then(() => uploadFiles(form, db, values))
    .then(() => write(form, db, s, values, wrote))
    .catch((e: unknown) => {
      failed(s, fileInputs(form).find((el) => el.name === (e as JazzError).details?.['column']) ?? form, errorDetail(e));
      s.done!(false);
    });
  busy.set(form, after);
  void after.then(() => busy.get(form) === after && busy.delete(form));
}

function write(form: Element, db: BrowserDb<DynamicApp>, s: Submit, values: Record<string, unknown>, wrote: (batchId: string) => void): void {
  const handle = s.rowId ? db.update(s.table, s.rowId, values) : db.insert(s.table, values);
  wrote(handle.batchId);
  handle.wait().then(
    () => s.done!(true),
    (e: unknown) => {
      const column = (e as JazzError).details?.['column'];
      failed(s, s.held.find(([c]) => c.name === column)?.[0] ?? form, errorDetail(e));
      s.done!(false);
    },
  );
}

/**
 * A submit that cannot be written: its values go back into the controls nobody typed in since
 * the reset, the message shows on the control at fault, and `jazz-error` is fired from it
 * (`mistake`: the page author's, so reported with a warning).
 */
function failed(s: Submit, at: Element, detail: JazzErrorDetail, mistake = false): undefined {
  s.after?.forEach((h, i) => {
    const [el, held] = s.held[i]!;
    if (JSON.stringify(hold(el)) === JSON.stringify(h)) putBack(el, held);
  });
  putFilesBack(chosen.get(s) ?? []);
  if (isControl(at)) {
    at.setCustomValidity(detail.message);
    at.reportValidity();
  }
  if (mistake) report(at, detail);
  else fire(at, 'jazz-error', detail);
  return undefined;
}
