/**
 * `<jazz-query table where order-by limit offset include select tier>`: a live query rendered into
 * the element's own light DOM (so page CSS applies), one copy of its `<template>` per row, keyed
 * by row id. A change patches only the rows it names: a changed row's bindings are
 * updated in place, a new row is inserted, a gone row removed, and rows are moved only when their
 * order changed (the fewest moves). Focus, selection, scroll and element state in other rows
 * survive.
 *
 * Children with `slot="loading"`, `slot="empty"` and `slot="error"` are shown in those states (and
 * hidden otherwise); the `state` attribute says which (`loading`, `ready`, `empty`, `error`). The
 * error slot gets the message (in its `[jazz-error-message]` descendant, else as its text) and
 * `data-code`/`data-attribute`/`data-position` attributes; without one the element adds a `<p>`.
 * Errors: a bad attribute, a template that binds something the rows do not have (`{{titel}}`:
 * `UNKNOWN_COLUMN`), a failed query, no `<jazz-db>` around it (`NO_DATABASE`); each is a
 * `jazz-error` from this element with a `console.warn` once. When its `<jazz-db>` has no usable
 * schema it shows that error too (the `<jazz-db>` fired it).
 *
 * In a row: `jazz-field="column"` on a control edits that column of the row (coerced by the
 * schema, written on `change`); `jazz-action="delete"` / `"restore"` on a button acts on the row.
 * A `jazz-action="restore"` button outside the rows restores the row deleted last through this
 * element (an undo), and is disabled while there is none. A write the server rejects later fires
 * `jazz-error` (with its `batchId`) from the control or button that made it if it is still on the
 * page, else from this element.
 *
 * `.query` (a query builder or AST) takes the place of the attributes and is used as it is; `.rows`
 * is the current result. With the attributes, relations that a `<template jazz-each>` names are
 * included without being listed in `include`.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { JazzError, type BrowserDb, type ColumnSchema, type DynamicApp, type QueryAst, type QueryBuilder, type Tier } from '../worker/page/index.ts';
import { hold, isControl, readControl, writeControl } from './coerce.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, fire, report, type JazzErrorDetail, type JazzRow } from './events.ts';
import { KeyedList } from './keyed-list.ts';
import { AttributeError, queryFromAttributes } from './query-attributes.ts';
import { checkBindings, compileTemplate, display, RowView, viewOf, type CompiledTemplate, type RowContext } from './template.ts';

type State = 'loading' | 'ready' | 'empty' | 'error';
const TIERS: readonly Tier[] = ['local', 'edge', 'global'];

export class JazzQueryElement extends ReactiveElement {
  static override properties = {
    table: { type: String },
    where: { type: String },
    orderBy: { type: String, attribute: 'order-by' },
    limit: { type: String },
    offset: { type: String },
    include: { type: String },
    select: { type: String },
    tier: { type: String },
    query: { attribute: false },
  };

  declare table: string | undefined;
  /** The `where` grammar: `done = false and priority > 2`. */
  declare where: string | undefined;
  /** `title desc, priority`. */
  declare orderBy: string | undefined;
  declare limit: string | undefined;
  declare offset: string | undefined;
  /** Relations to nest in each row: `project`, `todosViaProject`, `todosViaProject.project`. */
  declare include: string | undefined;
  /** Columns to return besides `id`: `title, done`. */
  declare select: string | undefined;
  /** `local` (default), `edge` or `global`: the first result waits until settled at that tier. */
  declare tier: string | undefined;
  /** A query built in code (`app.todos.where(...)`, or its AST); when set, the attributes are not used. */
  declare query: QueryBuilder<any, any> | QueryAst | undefined;

  readonly #ctl = new DbController(this);
  #template: CompiledTemplate | undefined;
  #list: KeyedList<RowView> | undefined;
  #end: Comment | undefined;
  #rows: readonly JazzRow[] = [];
  #state: State = 'loading';
  #stop: (() => void) | undefined;
  #subscribedTo = '';
  #subscribedDb: BrowserDb<DynamicApp> | undefined;
  #generation = 0;
  readonly #deleted: { table: string; id: string }[] = [];
  #errorSlot: HTMLElement | undefined;
  #ctx: RowContext = { table: '', include: undefined };

  constructor() {
    super();
    this.addEventListener('change', (e) => this.#onChange(e));
    this.addEventListener('click', (e) => this.#onClick(e));
  }

  /** The database: set directly, or the nearest `<jazz-db>`'s. */
  get db(): BrowserDb<DynamicApp> | undefined {
    return this.#ctl.db;
  }

  set db(db: BrowserDb<DynamicApp> | undefined) {
    this.#ctl.db = db;
  }

  /** The current result, in order (empty until the first result). */
  get rows(): readonly JazzRow[] {
    return this.#rows;
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.#end) {
      this.#end = document.createComment(' jazz-query rows ');
      this.append(this.#end);
      this.#showState('loading');
    }
    // Back on the page after a removal: subscribe again.
    this.#subscribedTo = '';
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.isConnected) return;
    const db = this.db;
    const problem = this.#ctl.problem();
    const key = JSON.stringify([this.table, this.where, this.orderBy, this.limit, this.offset, this.include, this.select, this.tier, problem?.message]);
    if (db === this.#subscribedDb && key === this.#subscribedTo && !changed.has('query')) return;
    this.#subscribedDb = db;
    this.#subscribedTo = key;
    if (problem) this.#fail(problem, false);
    else this.#subscribe(db);
  }

  #unsubscribe(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#generation++;
  }

  #subscribe(db: BrowserDb<DynamicApp> | undefined): void {
    this.#unsubscribe();
    if (!db) return this.#showState('loading');
    let ast: QueryAst;
    let tier: Tier | undefined;
    try {
      if (!this.#template) {
        const t = this.querySelector<HTMLTemplateElement>(':scope > template:not([jazz-each])');
        if (!t) throw new JazzError('QUERY_INVALID', '<jazz-query> needs a <template> child: the markup of one row');
        this.#template = compileTemplate(t);
      }
      const relations = this.#template.relations;
      if (this.query) ast = 'ast' in this.query ? this.query.ast : this.query;
      else {
        const include = [this.include ?? '', ...relations].filter(Boolean).join(', ');
        try {
          const { table, where, orderBy, limit, offset, select } = this;
          ast = queryFromAttributes(db.app.$schema, { table, where, orderBy, limit, offset, select, include }).ast;
        } catch (e) {
          // A relation the template asked for is the template's mistake, not the attribute's.
          if (e instanceof AttributeError && e.attribute === 'include' && e.position > (this.include ?? '').length) throw new AttributeError(e.error, 'jazz-each', 0);
          throw e;
        }
      }
      checkBindings(this.#template, db.app.$schema, ast);
      if (this.tier) {
        if (!TIERS.includes(this.tier as Tier)) throw new AttributeError(new JazzError('QUERY_INVALID', `tier must be local, edge or global, got "${this.tier}"`), 'tier', 0);
        tier = this.tier as Tier;
      }
    } catch (e) {
      this.#fail(errorDetail(e));
      return;
    }
    const table = ast.table;
    const generation = this.#generation;
    let first = true;
    this.#ctx = { table, include: ast.include };
    // Views made from now on belong to this query; rows a previous query shows stay until the
    // new result replaces them (no flash of nothing), and are kept if they are in it.
    this.#list ??= new KeyedList(this.#end!, (row) => new RowView(this.#template!, row, this.#ctx, (v, el, c, value) => this.#showField(v, el, c, value)));
    if (this.#state === 'error') this.#showState('loading');
    this.#stop = db.subscribeAll(
      ast,
      ({ all, delta }) => {
        if (generation !== this.#generation) return;
        this.#rows = all;
        this.#list!.set(all);
        this.#showState(all.length ? 'ready' : 'empty');
        fire(this, 'jazz-results', { table, rows: all });
        fire(this, 'jazz-change', { table, added: delta.added, removed: delta.removed, changed: delta.changed });
        if (first) {
          first = false;
          fire(this, 'jazz-settled', { table, tier: tier ?? 'local' });
        }
      },
      {
        ...(tier ? { tier } : {}),
        onError: (e) => {
          if (generation === this.#generation) this.#fail(errorDetail(e));
        },
      },
    );
  }

  /** Shows the error state; `own`: the mistake is this element's, so it reports it too. */
  #fail(detail: JazzErrorDetail, own = true): void {
    this.#unsubscribe();
    this.#rows = [];
    this.#list?.clear();
    this.#showState('error', detail);
    if (own) report(this, detail);
  }

  #slot(name: string): HTMLElement[] {
    return [...this.querySelectorAll<HTMLElement>(`:scope > [slot="${name}"]`)];
  }

  #showState(state: State, error?: JazzErrorDetail): void {
    this.#state = state;
    this.setAttribute('state', state);
    if (state === 'error' && this.#slot('error').length === 0) {
      this.#errorSlot ??= Object.assign(document.createElement('p'), { role: 'alert' });
      this.#errorSlot.setAttribute('slot', 'error');
      this.insertBefore(this.#errorSlot, this.#end!);
    }
    for (const name of ['loading', 'empty', 'error'] as const) {
      for (const el of this.#slot(name)) el.hidden = name !== state;
    }
    if (error) {
      for (const el of this.#slot('error')) {
        const target = el.querySelector('[jazz-error-message]') ?? (el.childElementCount === 0 ? el : null);
        if (target) target.textContent = error.message;
        el.dataset['code'] = error.code;
        if (error.attribute !== undefined) el.dataset['attribute'] = error.attribute;
        else delete el.dataset['attribute'];
        if (error.position !== undefined) el.dataset['position'] = String(error.position);
        else delete el.dataset['position'];
      }
    }
  }

  #column(table: string, column: string): ColumnSchema | undefined {
    return this.db?.app.$schema.tables[table]?.columns[column];
  }

  /** Shows a row's value in a `jazz-field` element: a control's value, or any other element's text. */
  #showField(view: RowView, el: Element, column: string, value: unknown): void {
    if (isControl(el)) {
      el.setCustomValidity('');
      writeControl(el, column === 'id' ? view.row.id : value, this.#column(view.table, column));
    } else el.textContent = display(value);
  }

  #onChange(e: Event): void {
    const el = e.target as Element;
    if (!isControl(el) || !el.hasAttribute('jazz-field') || el.closest('jazz-query') !== this) return;
    const view = viewOf(el);
    const db = this.db;
    if (!view || !db) return;
    const column = el.getAttribute('jazz-field')!.trim();
    const col = this.#column(view.table, column);
    const invalid = (error: unknown): void => {
      const detail = errorDetail(error, { attribute: 'jazz-field' });
      el.setCustomValidity(detail.message);
      el.reportValidity();
      fire(el, 'jazz-error', detail);
    };
    if (!col) return invalid(new JazzError('UNKNOWN_COLUMN', `table "${view.table}" has no column "${column}"`, { table: view.table, column }));
    const read = readControl(hold(el), col);
    if (!read.ok) return invalid(new JazzError('TYPE_MISMATCH', read.message, { table: view.table, column }));
    if (!('value' in read)) return;
    el.setCustomValidity('');
    const handle = db.update(view.table, view.row.id, { [column]: read.value });
    this.#ctl.wrote(handle.batchId, el);
    handle.wait().catch(invalid);
  }

  #onClick(e: Event): void {
    const button = (e.target as Element).closest?.('[jazz-action]');
    if (!button || button.closest('jazz-query') !== this || (button as HTMLButtonElement).disabled) return;
    const db = this.db;
    if (!db) return;
    const action = button.getAttribute('jazz-action')!.trim();
    const view = viewOf(button);
    let handle;
    if (action === 'delete' && view) {
      handle = db.delete(view.table, view.row.id);
      this.#deleted.push({ table: view.table, id: view.row.id });
    } else if (action === 'restore' && view) handle = db.restore(view.table, view.row.id);
    else if (action === 'restore') {
      const last = this.#deleted.pop();
      if (last) handle = db.restore(last.table, last.id);
    } else {
      report(button, errorDetail(new JazzError('QUERY_INVALID', `jazz-action must be delete or restore, got "${action}"`), { attribute: 'jazz-action', position: 0 }));
      return;
    }
    this.#syncUndo();
    if (!handle) return;
    this.#ctl.wrote(handle.batchId, button);
    handle.wait().catch((error: unknown) => fire(button, 'jazz-error', errorDetail(error)));
  }

  /** Restore buttons outside the rows are enabled while there is a row to restore. */
  #syncUndo(): void {
    for (const b of this.querySelectorAll<HTMLButtonElement>('[jazz-action="restore"]')) {
      if (!viewOf(b) && b.closest('jazz-query') === this) b.disabled = this.#deleted.length === 0;
    }
  }

  protected override firstUpdated(): void {
    this.#syncUndo();
  }
}
