/**
 * `<jazz-history table row-id order>` (lazy: part of more.ts): a row's versions, live, one copy of
 * its `<template>` per version (oldest first, or newest first with `order="newest"`), keyed by
 * version id, through the same safe binder as `<jazz-query>` (template.ts: data is text or an
 * attribute value, never markup; `javascript:` URLs are blocked; formatters when more.ts is here,
 * which it is).
 *
 * - A version binds `{{$author}}` (the user it was written as), `{{$via}}` (who wrote it for them,
 *   when not the author), `{{$at}}` (epoch milliseconds, like `$createdAt`: `{{$at | datetime}}`),
 *   `{{$versionId}}`, `{{$batchId}}`, `{{$tier}}`, `{{$deleted}}` (whether it deletes the row), and
 *   the table's columns by name: the value the version set, empty when it did not change it.
 *   A binding that names none of these is an `UNKNOWN_COLUMN` error, as in `<jazz-query>`.
 * - `jazz-action="revert"` on a button in a version puts the row back as it was just after that
 *   version (`db.revert`): one new version, written by this page's user; the old ones stay.
 *   A failure, or the server's refusal later, is a `jazz-error` from the button.
 * - `state` is `loading`, `ready`, `empty` (a row never seen here) or `error` (a bad attribute or
 *   template, no database, an unknown table or a row id that is not one: a `jazz-error` once,
 *   with `attribute` when an attribute is at fault, and the message in `title`).
 * - `limit="50"` shows only the newest 50 versions (in the order asked for), for rows with long
 *   histories: every version is a copy of the template, and a row edited all day has thousands.
 *   No limit by default (a history that leaves versions out unasked would mislead). A limit that
 *   is not a whole number above 0 is an attribute error.
 * - `jazz-results` is fired with `{ table, rows, total }` (the versions as bound, in the order
 *   shown, and how many the row has) after the first history and every change.
 *
 * It follows `db.subscribeHistory`, which runs in the worker and carries on when another tab
 * takes over the storage.
 */
import { JazzError, type BrowserDb, type ColumnSchema, type DynamicApp, type HistoryEntry } from '../worker/page/index.ts';
import { errorDetail, fire, report, type JazzErrorDetail, type JazzRow } from './events.ts';
import { KeyedList } from './keyed-list.ts';
import { LiveElement } from './live-element.ts';
import { AttributeError } from './query-attributes.ts';
import { checkBindings, compileTemplate, display, RowView, viewOf, type CompiledTemplate } from './template.ts';

/** What a version binds besides the table's columns. */
export const VERSION_FIELDS = ['$versionId', '$author', '$via', '$at', '$deleted', '$batchId', '$tier'] as const;

/** A history entry as its template sees it (`id` is the version id: the list's key). */
export function versionRow(e: HistoryEntry): JazzRow {
  return Object.freeze({
    ...e.changed,
    id: e.versionId,
    $versionId: e.versionId,
    $author: e.author,
    $via: e.via ?? null,
    $at: e.at.getTime(),
    $deleted: e.deleted,
    $batchId: e.batchId,
    $tier: e.tier,
  });
}

/**
 * A row's versions, live (see the module comment above).
 * @tagname jazz-history
 * @slot - A `<template>` for each version.
 * @fires jazz-results - Every result: `{ table, rows, total }`.
 * @fires jazz-error - A mistake or a failure: `{ code, message, ... }`.
 */
export class JazzHistoryElement extends LiveElement {
  static override properties = {
    table: { type: String },
    rowId: { type: String, attribute: 'row-id' },
    order: { type: String },
    limit: { type: String },
  };

  declare table: string | undefined;
  /** The id of the row whose history is shown. */
  declare rowId: string | undefined;
  /** `oldest` (default) or `newest`: which version comes first. */
  declare order: string | undefined;
  /** At most this many versions, the newest (none by default). */
  declare limit: string | undefined;

  #template: CompiledTemplate | undefined;
  #list: KeyedList<RowView> | undefined;
  #rows: readonly JazzRow[] = [];

  constructor() {
    super();
    this.addEventListener('click', (e) => this.#onClick(e));
  }

  /** The versions as bound, in the order shown (empty until the first history). */
  get rows(): readonly JazzRow[] {
    return this.#rows;
  }

  protected override key(): unknown[] {
    return [this.table, this.rowId, this.order, this.limit];
  }

  protected override fail(detail: JazzErrorDetail, own = true): void {
    this.#rows = [];
    this.#list?.clear();
    super.fail(detail, own);
  }

  protected override subscribe(db: BrowserDb<DynamicApp>): void {
    const schema = db.app.$schema;
    const table = this.table?.trim() ?? '';
    const spec = schema.tables[table];
    if (!spec) throw new AttributeError(new JazzError('UNKNOWN_TABLE', `<jazz-history> needs table="…", one of ${Object.keys(schema.tables).join(', ')}; got "${table}"`, { table }), 'table', 0);
    const id = this.rowId?.trim();
    if (!id) throw new AttributeError(new JazzError('ATTRIBUTE_INVALID', '<jazz-history> needs row-id="…", the id of the row whose history it shows'), 'row-id', 0);
    const order = this.order?.trim() || 'oldest';
    if (order !== 'oldest' && order !== 'newest') throw new AttributeError(new JazzError('ATTRIBUTE_INVALID', `order is oldest or newest, got "${order}"`), 'order', 0);
    const limitText = this.limit?.trim();
    const limit = limitText === undefined || limitText === '' ? Infinity : Number(limitText);
    if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit > 0)))
      throw new AttributeError(new JazzError('ATTRIBUTE_INVALID', `limit is a whole number above 0, got "${limitText}"`), 'limit', 0);
    if (!this.#template) {
      const t = this.querySelector<HTMLTemplateElement>(':scope > template');
      if (!t) throw new JazzError('TEMPLATE_INVALID', '<jazz-history> needs a <template> child: the markup of one version');
      this.#template = compileTemplate(t);
      const end = this.appendChild(document.createComment(' jazz-history '));
      this.#list = new KeyedList(end, (row) => new RowView(this.#template!, row, { table, include: undefined, owner: this }, (_v, el, _c, value) => (el.textContent = display(value))));
    }
    // The template may bind the table's columns and the version's own fields.
    const columns = {
      ...spec.columns,
      ...Object.fromEntries(VERSION_FIELDS.map((f): [string, ColumnSchema] => [f, { type: f === '$at' ? 'timestamp' : f === '$deleted' ? 'boolean' : 'string', optional: true }])),
    };
    checkBindings(this.#template, { ...schema, tables: { ...schema.tables, [table]: { ...spec, columns } } }, { table, where: { op: 'true' }, orderBy: [] });
    const generation = this.generation;
    this.setAttribute('state', 'loading');
    this.stop = db.subscribeHistory(
      table,
      id,
      (entries) => {
        if (generation !== this.generation) return;
        const shown = entries.length > limit ? entries.slice(entries.length - limit) : entries;
        const rows = shown.map(versionRow);
        if (order === 'newest') rows.reverse();
        this.#rows = rows;
        this.#list!.set(rows);
        this.removeAttribute('title');
        this.setAttribute('state', rows.length ? 'ready' : 'empty');
        fire(this, 'jazz-results', { table, rows, total: entries.length });
      },
      { onError: (e) => generation === this.generation && this.fail(errorDetail(e, { attribute: 'row-id' })) },
    );
  }

  #onClick(e: Event): void {
    const button = (e.target as Element).closest?.('[jazz-action]');
    const view = button && viewOf(button);
    const db = this.db;
    if (!button || !view || view.ctx.owner !== this || !db || (button as HTMLButtonElement).disabled) return;
    const action = button.getAttribute('jazz-action')!.trim();
    if (action !== 'revert') {
      report(button, errorDetail(new JazzError('ATTRIBUTE_INVALID', `jazz-action in <jazz-history> is revert (back to that version), got "${action}"`), { attribute: 'jazz-action', position: 0 }));
      return;
    }
    db.revert(this.table!.trim(), this.rowId!.trim(), { to: view.row.id })
      .then((handle) => {
        this.ctl.wrote(handle.batchId, button);
        return handle.wait();
      })
      .catch((error: unknown) => fire(button, 'jazz-error', errorDetail(error)));
  }
}
