/**
 * `<jazz-count table where where-route sum avg min max>` (lazy: part of more.ts): a live count of a
 * query's rows, and its aggregates, and actions on all of those rows at once.
 *
 * - Without a `<template>` child it shows the count as a number in the user's locale. With one it
 *   renders it once, bound to a row of aggregates: `{{count}}`, and `{{sum}}`, `{{avg}}`, `{{min}}`,
 *   `{{max}}` of the columns its `sum`, `avg`, `min`, `max` attributes name, with every template
 *   feature: `{{count | plural: "# item left", "# items left"}}`, `jazz-if="count > 0"`,
 *   `jazz-class`, `jazz-attr`.
 * - Nothing is rendered before the first result (no "0 items" flash while the database opens);
 *   then the `count` attribute holds the number (`jazz-count[count="0"]` for CSS) and `state`
 *   is `ready` (`loading` before, `error` after a mistake, reported as `jazz-error` once).
 * - **Actions on every row of the query, as one batch**: `jazz-action="delete"` on a button in
 *   its template deletes them all ("Clear completed"); `jazz-field="done"` on a control shows the
 *   value every row has in common (a checkbox is checked when all are true: "toggle all") and a
 *   change writes it to every row. The batch is all or nothing; a refusal by the server fires
 *   `jazz-error` from the control or button with its `batchId`.
 * - `where` and `where-route` follow the page as `<jazz-query>`'s do (page-where.ts).
 *
 * Incremental like every live query: the engine keeps the query's result up to date by its deltas,
 * and this element keeps the count and sum by the same deltas (min, max and the common value of a
 * field are recomputed over the rows it holds, their ids and the named columns only).
 */
import { JazzError, type AppSchema, type BrowserDb, type ColumnSchema, type DynamicApp, type QueryAst } from '../worker/page/index.ts';
import { readControl, writeControl } from './coerce.ts';
import { hold, isControl } from './controls.ts';
import { errorDetail, fire, report, type JazzRow } from './events.ts';
import { KeyedList } from './keyed-list.ts';
import { LiveElement } from './live-element.ts';
import { follow, unfollow } from './page-where.ts';
import { AttributeError, queryFromAttributes } from './query-attributes.ts';
import { checkBindings, compileTemplate, RowView, viewOf, type CompiledTemplate, type RowContext } from './template.ts';

const AGGREGATES = ['sum', 'avg', 'min', 'max'] as const;

/**
 * A live count of a query's rows, and its aggregates (see the module comment above).
 * @tagname jazz-count
 * @slot - Optionally a `<template>` bound to `{{count}}`, `{{sum}}`, `{{avg}}`, `{{min}}`, `{{max}}`.
 * @fires jazz-error - A mistake or a failure: `{ code, message, ... }`.
 * @attr count - The number of rows (set by the element).
 * @attr state - `loading`, `ready` or `error` (set by the element).
 */
export class JazzCountElement extends LiveElement {
  static override properties = {
    table: { type: String },
    where: { type: String },
    whereRoute: { type: String, attribute: 'where-route' },
    sum: { type: String },
    avg: { type: String },
    min: { type: String },
    max: { type: String },
  };

  declare table: string | undefined;
  declare where: string | undefined;
  declare whereRoute: string | undefined;
  /** A numeric column to add up: `{{sum}}`. */
  declare sum: string | undefined;
  /** `{{avg}}`: the mean of a numeric column (null with no rows). */
  declare avg: string | undefined;
  /** `{{min}}`, `{{max}}`: the least and greatest value of an ordered column. */
  declare min: string | undefined;
  declare max: string | undefined;

  #changes = 0;
  /** The rows counted, by id: their ids and the columns the aggregates and fields read. */
  readonly #rows = new Map<string, JazzRow>();
  /** The running totals of the `sum` and `avg` columns. */
  #totals = { sum: 0, avg: 0 };
  #template: CompiledTemplate | null | undefined;
  #list: KeyedList<RowView> | undefined;
  #end: Comment | undefined;
  #table = '';
  #fields: string[] = [];

  constructor() {
    super();
    this.addEventListener('change', (e) => this.#onChange(e));
    this.addEventListener('click', (e) => this.#onClick(e));
  }

  /** The number of rows (undefined before the first result). */
  get count(): number | undefined {
    return this.hasAttribute('count') ? this.#rows.size : undefined;
  }

  protected override key(): unknown[] {
    return [this.table, this.where, this.whereRoute, ...AGGREGATES.map((a) => this[a]), this.#changes];
  }

  protected override unsubscribe(): void {
    super.unsubscribe();
    unfollow(this);
  }

  protected override subscribe(db: BrowserDb<DynamicApp>): void {
    const schema = db.app.$schema;
    const attributes = { table: this.table, where: this.where };
    const follows = this.whereRoute || this.where?.includes('{{');
    const ast = follows ? follow(this, schema, attributes, this.whereRoute, () => (this.#changes++, this.requestUpdate())) : queryFromAttributes(schema, attributes).ast;
    const table = (this.#table = ast.table);
    const columns = schema.tables[table]!.columns;
    for (const a of AGGREGATES) {
      const c = this[a]?.trim();
      if (!c) continue;
      const col = columns[c];
      const numeric = col && (col.type === 'int' || col.type === 'float' || col.type === 'timestamp');
      if (!col || ((a === 'sum' || a === 'avg') && !numeric) || col.type === 'json' || col.type === 'array') {
        throw new AttributeError(
          new JazzError(
            col ? 'QUERY_INVALID' : 'UNKNOWN_COLUMN',
            col ? `${a} needs a ${a === 'sum' || a === 'avg' ? 'numeric' : 'ordered'} column; ${table}.${c} is ${col.type}` : `table "${table}" has no column "${c}"`,
            { table, column: c },
          ),
          a,
          0,
        );
      }
    }
    // The template, checked against the row it is bound to: the table's columns (for jazz-field)
    // with the aggregates in place of any column of the same name.
    if (this.#template === undefined) {
      const t = this.querySelector<HTMLTemplateElement>(':scope > template');
      this.#template = t ? compileTemplate(t) : null;
      if (t) this.#end = this.appendChild(document.createComment(' jazz-count '));
    }
    const t = this.#template;
    this.#fields = t ? [...new Set(t.bindings.flatMap((b) => (b.kind === 'field' ? [b.column] : [])))] : [];
    if (t) {
      const int: ColumnSchema = { type: 'int' };
      const float: ColumnSchema = { type: 'float', optional: true };
      const own = { ...columns, count: int, sum: float, avg: float, min: float, max: float };
      if (this.min) own.min = { ...columns[this.min.trim()]!, optional: true };
      if (this.max) own.max = { ...columns[this.max.trim()]!, optional: true };
      const counted: AppSchema = { ...schema, tables: { ...schema.tables, [table]: { ...schema.tables[table]!, columns: own } } };
      checkBindings(t, counted, { table, where: { op: 'true' }, orderBy: [] });
      const ctx: RowContext = { table, include: undefined, owner: this };
      this.#list ??= new KeyedList(this.#end!, (row) => new RowView(t, row, ctx, (_v, el, column, value) => isControl(el) && writeControl(el, value, columns[column])));
    }
    const read = [...new Set([...AGGREGATES.map((a) => this[a]?.trim()), ...this.#fields].filter((c): c is string => !!c))];
    const query: QueryAst = { ...ast, select: read };
    const generation = this.generation;
    this.setAttribute('state', 'loading');
    this.#rows.clear();
    this.#totals = { sum: 0, avg: 0 };
    this.stop = db.subscribeAll(
      query,
      ({ delta }) => {
        if (generation !== this.generation) return;
        const totals = this.#totals;
        const add = (r: JazzRow | undefined, sign: number): void => {
          for (const a of ['sum', 'avg'] as const) {
            const v = r?.[this[a]?.trim() ?? ''];
            if (typeof v === 'number') totals[a] += sign * v;
          }
        };
        for (const r of delta.removed) {
          add(this.#rows.get(r.id), -1);
          this.#rows.delete(r.id);
        }
        for (const r of [...delta.added, ...delta.changed]) {
          add(this.#rows.get(r.id), -1);
          add(r, 1);
          this.#rows.set(r.id, r);
        }
        this.#show();
      },
      { onError: (e) => generation === this.generation && this.fail(errorDetail(e)) },
    );
  }

  /** The row the template is bound to. */
  #aggregates(): JazzRow {
    const rows = [...this.#rows.values()];
    const n = rows.length;
    const out: Record<string, unknown> = { id: '', count: n };
    const values = (c: string | undefined): unknown[] => (c ? rows.map((r) => r[c.trim()]).filter((v) => v !== null && v !== undefined) : []);
    if (this.sum) out['sum'] = this.#totals.sum;
    const counted = values(this.avg).length;
    if (this.avg) out['avg'] = counted ? this.#totals.avg / counted : null;
    for (const a of ['min', 'max'] as const) {
      const vs = values(this[a]);
      out[a] = vs.length ? vs.reduce((x, y) => ((a === 'min' ? (y as number) < (x as number) : (y as number) > (x as number)) ? y : x)) : null;
    }
    for (const f of this.#fields) {
      const first = rows[0]?.[f];
      out[f] = n && rows.every((r) => r[f] === first) ? first : null;
    }
    return out as JazzRow;
  }

  #show(): void {
    const n = this.#rows.size;
    this.removeAttribute('title');
    this.setAttribute('count', String(n));
    this.setAttribute('state', 'ready');
    if (this.#list) this.#list.set([this.#aggregates()]);
    else this.textContent = n.toLocaleString();
  }

  /** What the template's control or button at `el` writes to every row: one batch. */
  #batch(el: Element, write: (ids: string[]) => { batchId: string; wait(): Promise<unknown> }): void {
    const ids = [...this.#rows.keys()];
    if (!ids.length) return;
    const handle = write(ids);
    this.ctl.wrote(handle.batchId, el);
    handle.wait().catch((e: unknown) => fire(el, 'jazz-error', errorDetail(e)));
  }

  #onChange(e: Event): void {
    const el = e.target as Element;
    const db = this.db;
    const column = el.getAttribute('jazz-field')?.trim();
    if (!isControl(el) || !column || viewOf(el)?.ctx.owner !== this || !db) return;
    const col = db.app.$schema.tables[this.#table]?.columns[column];
    const read = col && readControl(hold(el), col);
    if (!read?.ok || !('value' in read)) {
      el.setCustomValidity(read && !read.ok ? read.message : `no column "${column}"`);
      el.reportValidity();
      return;
    }
    el.setCustomValidity('');
    this.#batch(el, (ids) => db.batch((b) => ids.forEach((id) => b.update(this.#table, id, { [column]: read.value }))));
  }

  #onClick(e: Event): void {
    const button = (e.target as Element).closest?.('[jazz-action]');
    const db = this.db;
    if (!button || viewOf(button)?.ctx.owner !== this || !db || (button as HTMLButtonElement).disabled) return;
    const action = button.getAttribute('jazz-action')!.trim();
    if (action !== 'delete') {
      report(button, errorDetail(new JazzError('ATTRIBUTE_INVALID', `jazz-action in <jazz-count> is delete (every row it counts), got "${action}"`), { attribute: 'jazz-action', position: 0 }));
      return;
    }
    this.#batch(button, (ids) => db.batch((b) => ids.forEach((id) => b.delete(this.#table, id))));
  }
}
