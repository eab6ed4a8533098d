/**
 * `<jazz-query table where order-by limit offset include select tier as-of>`: a live query rendered into
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
 * schema, written on `change`); `jazz-action="delete"` / `"restore"` on a button acts on the row
 * (`"undo"` anywhere is undo.ts's: the `<jazz-db undo>` list).
 * Both are the lazy part's (more.ts, row-extras.ts): a template with `jazz-field` loads it before
 * its first row, as for the other lazy features; one with a `jazz-action` (or a `jazz-action`
 * button in the element) loads it in the background, and a click before it is here waits for it.
 * A `jazz-action="restore"` button outside the rows restores the row deleted last through this
 * element (an undo), and is disabled while there is none. A write the server rejects later fires
 * `jazz-error` (with its `batchId`) from the control or button that made it if it is still on the
 * page, else from this element.
 *
 * `as-of` shows the rows as they stood at a moment (an ISO date or epoch milliseconds; the engine's
 * `asOf`): they change only if versions from before it arrive.
 *
 * `conflicts` (or a template that names `$conflicts`) gives each row `$conflicts`, its fields whose
 * concurrent edits lost, kept current; the template shows them with `jazz-each="$conflicts"` and
 * `jazz-action="pick"`, and `jazz-conflict` is fired for each row whose conflicts changed (all of
 * it is conflicts.ts's, lazy: loaded before the first row).
 *
 * `.query` (a query builder or AST) takes the place of the attributes and is used as it is; `.rows`
 * is the current result. With the attributes, relations that a `<template jazz-each>` names are
 * included without being listed in `include`.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { JazzError, type BrowserDb, type DynamicApp, type QueryAst, type QueryBuilder, type Tier } from '../worker/page/index.ts';
import { isControl } from './controls.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, fire, report, type JazzErrorDetail, type JazzRow } from './events.ts';
import { KeyedList } from './keyed-list.ts';
import { loadMore, more } from './lazy.ts';
import { AttributeError, queryFromAttributes } from './query-attributes.ts';
import { checkBindings, compileTemplate, display, withSystemFields, RowView, usesMore, viewOf, type CompiledTemplate, type RowContext } from './template.ts';

type State = 'loading' | 'ready' | 'empty' | 'error';

/**
 * A live query rendered with its `<template>` (see the module comment above).
 * @tagname jazz-query
 * @slot - A `<template>` for each row, and optionally `<template slot="empty">`, `slot="loading"`, `slot="error"`.
 * @fires jazz-results - Every result: `{ table, rows, total? }`.
 * @fires jazz-change - What changed: `{ added, removed, changed }`.
 * @fires jazz-settled - The result is at the asked tier.
 * @fires jazz-conflict - A row of the result has fields whose concurrent edits lost.
 * @fires jazz-error - A mistake or a failure: `{ code, message, ... }`.
 * @attr state - `loading`, `ready` or `error` (set by the element).
 */
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
    asOf: { type: String, attribute: 'as-of' },
    conflicts: { type: Boolean },
    into: { type: String },
    virtual: { type: Boolean },
    whereRoute: { type: String, attribute: 'where-route' },
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
  /** Show the rows as they stood at this moment: an ISO date (`2024-05-01T12:00Z`) or epoch milliseconds. */
  declare asOf: string | undefined;
  /** Rows carry `$conflicts` and `jazz-conflict` is fired (also when the template names `$conflicts`). */
  declare conflicts: boolean;
  /** The id of the element the rows go into (a `<ul>`, `<tbody>`, `<select>`): valid markup, no element between a list and its items. */
  declare into: string | undefined;
  /** Renders only the rows on screen (virtual.ts). */
  declare virtual: boolean;
  /** `#/active: done = false; #/completed: done = true`: a `where` ANDed in while the URL matches (more.ts). */
  declare whereRoute: string | undefined;
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
  /** Where the click and change listeners are: the root the rows are in (they may be outside this element). */
  #root: Node | undefined;
  /** Bumped when the page state a `where` follows changes (more.ts). */
  #page = 0;
  #virt: { set(rows: readonly JazzRow[], total?: number): void } | undefined;
  /** Rows a plain (not `virtual`) list adds to the DOM per task: 200 first, then as many as take ~12 ms (#render). */
  #step = 200;
  /** The next slice of a big result, scheduled (#render). */
  #slice: ReturnType<typeof setTimeout> | 0 = 0;
  readonly #change = (e: Event): void => this.#onChange(e);
  readonly #click = (e: Event): void => this.#onClick(e);

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
    this.#root = this.getRootNode();
    this.#root.addEventListener('change', this.#change);
    this.#root.addEventListener('click', this.#click);
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
    this.#root?.removeEventListener('change', this.#change);
    this.#root?.removeEventListener('click', this.#click);
    this.#unsubscribe();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.isConnected) return;
    const db = this.db;
    const problem = this.#ctl.problem();
    const key = JSON.stringify([
      this.table,
      this.where,
      this.orderBy,
      this.limit,
      this.offset,
      this.include,
      this.select,
      this.tier,
      this.asOf,
      this.conflicts,
      this.whereRoute,
      this.#page,
      problem?.message,
    ]);
    if (db === this.#subscribedDb && key === this.#subscribedTo && !changed.has('query')) return;
    this.#subscribedDb = db;
    this.#subscribedTo = key;
    if (problem) this.#fail(problem, false);
    else this.#subscribe(db);
  }

  #unsubscribe(): void {
    this.#stop?.();
    more?.unfollow(this);
    this.#stop = undefined;
    this.#generation++;
  }

  #subscribe(db: BrowserDb<DynamicApp> | undefined): void {
    this.#unsubscribe();
    if (!db) return this.#showState('loading');
    let ast: QueryAst;
    let tier: Tier | undefined;
    let asOf: number | undefined;
    let conflicts: boolean | undefined;
    try {
      const t = this.querySelector<HTMLTemplateElement>(':scope > template:not([jazz-each])');
      if (!t) throw new JazzError('TEMPLATE_INVALID', '<jazz-query> needs a <template> child: the markup of one row');
      conflicts = this.conflicts || t.innerHTML.includes('$conflicts');
      // The lazy parts this query uses are loaded first (lazy.ts); the rows wait for them.
      const follows = !this.query && (this.whereRoute || this.where?.includes('{{'));
      if ((usesMore(t) || follows || this.into || this.virtual || conflicts || this.tier || this.asOf) && !more?.ready(this.virtual)) {
        const generation = this.#generation;
        loadMore()
          .then(() => more!.ready(this.virtual, true))
          .then(
            () => generation === this.#generation && this.#subscribe(db),
            (e: unknown) => this.#fail(errorDetail(e)),
          );
        return;
      }
      // What a jazz-action does is more.ts's too: loaded now, in the background (the rows do not wait).
      if (!more && (t.innerHTML.includes('jazz-action') || this.querySelector('[jazz-action]'))) loadMore().catch(() => {});
      this.#template ??= compileTemplate(t);
      const relations = this.#template.relations;
      if (this.query) ast = 'ast' in this.query ? this.query.ast : this.query;
      else {
        const include = [this.include ?? '', ...relations].filter(Boolean).join(', ');
        try {
          const { table, orderBy, limit, offset, select } = this;
          const attributes = { table, where: this.where, orderBy, limit, offset, select, include };
          ast = follows ? more!.follow(this, db.app.$schema, attributes, this.whereRoute, () => (this.#page++, this.requestUpdate())) : queryFromAttributes(db.app.$schema, attributes).ast;
        } catch (e) {
          // A relation the template asked for is the template's mistake, not the attribute's.
          if (e instanceof AttributeError && e.attribute === 'include' && e.position > (this.include ?? '').length) throw new AttributeError(e.error, 'jazz-each', 0);
          throw e;
        }
      }
      ast = withSystemFields(t, ast);
      checkBindings(this.#template, db.app.$schema, ast);
      if (this.tier || this.asOf) ({ tier, asOf } = more!.timeOptions(this.tier, this.asOf));
    } catch (e) {
      this.#fail(errorDetail(e));
      return;
    }
    const table = ast.table;
    const generation = this.#generation;
    let first = true;
    this.#ctx = { table, include: ast.include, owner: this, remove: (view, by) => this.#act('delete', view, by) };
    // Views made from now on belong to this query; rows a previous query shows stay until the
    // new result replaces them (no flash of nothing), and are kept if they are in it.
    if (!this.#list) {
      const list = (end: Node): KeyedList<RowView> => new KeyedList(end, (row) => new RowView(this.#template!, row, this.#ctx, (v, el, c, value) => this.#showField(v, el, c, value)));
      try {
        [this.#list, this.#virt] = this.into || this.virtual ? more!.rows(this, this.into, this.virtual, list) : [list(this.#end!)];
      } catch (e) {
        return this.#fail(errorDetail(e));
      }
    }
    if (this.#state === 'error') this.#showState('loading');
    this.#stop = db.subscribeAll(
      ast,
      ({ all, delta, partial, total }) => {
        if (generation !== this.#generation) return;
        this.#rows = all;
        this.#render(0, total);
        this.#showState(all.length ? 'ready' : 'empty');
        // A long result's first rows come first (`firstRows`): shown, busy, no events yet.
        this.ariaBusy = partial ? 'true' : null;
        if (partial) return;
        fire(this, 'jazz-results', { table, rows: all });
        fire(this, 'jazz-change', { table, added: delta.added, removed: delta.removed, changed: delta.changed });
        if (conflicts) more!.conflictEvents(this, table, all);
        if (first) {
          first = false;
          fire(this, 'jazz-settled', { table, tier: tier ?? 'local' });
        }
      },
      {
        tier,
        asOf,
        conflicts,
        firstRows: 200,
        onError: (e) => {
          if (generation === this.#generation) this.#fail(errorDetail(e));
        },
      },
    );
  }

  /**
   * Shows `#rows`. Without `virtual`, a big result goes into the DOM a slice per task, so no task
   * holds the page for long (10,000 rows at once took ~250 ms of script and layout): what is shown
   * is always the result's first rows, growing a slice a task (sized from the last one's time:
   * the browser renders a frame between two tasks, so many small slices would take a frame each).
   */
  #render(grow: number, total?: number): void {
    const all = this.#rows;
    // A virtual list's first rows come with the result's length when the worker knows it: the
    // list takes its whole height at once, the rest of the rows fill in.
    if (this.#virt) return this.#virt.set(all, total);
    const n = Math.max(this.#step, this.#list!.views.length + grow);
    const t = performance.now();
    this.#list!.set(all.slice(0, n));
    if (grow) this.#step = Math.min(5e3, Math.max(50, (grow * 12) / (performance.now() - t)));
    if (all.length > n)
      this.#slice ||= setTimeout(() => {
        this.#slice = 0;
        this.#render(this.#step);
      });
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

  /**
   * Shows a row's value in a `jazz-field` element: a control's value (more.ts's: a template with
   * `jazz-field` loads it before its first row), or any other element's text.
   */
  #showField(view: RowView, el: Element, column: string, value: unknown): void {
    if (isControl(el)) {
      el.setCustomValidity('');
      more!.writeControl(el, column === 'id' ? view.row.id : value, this.db?.app.$schema.tables[view.table]?.columns[column]);
    } else el.textContent = display(value);
  }

  /** A row's `jazz-field` control, or the control that edits the row in place (`jazz-edit`), changed: more.ts saves it. */
  #onChange(e: Event): void {
    const db = this.db;
    if (db) more?.saveField(e.target as Element, this, db, (batchId, el) => this.#ctl.wrote(batchId, el));
  }

  #onClick(e: Event): void {
    const button = (e.target as Element).closest?.('[jazz-action]');
    const view = button ? viewOf(button) : undefined;
    // A row's button (its rows may be in another element: `into`), or one of this element's own.
    if (!button || (view ? view.ctx.owner !== this : button.closest('jazz-query') !== this) || (button as HTMLButtonElement).disabled) return;
    this.#act(button.getAttribute('jazz-action')!.trim(), view, button);
  }

  /**
   * Does a `jazz-action`: more.ts's (row-extras.ts `act`), loaded first when nothing loaded it yet,
   * actions done in the order of the clicks. `edit` is more.ts's too (it starts editing in place).
   */
  #act(action: string, view: RowView | undefined, button: Element): void {
    const db = this.db;
    if (!db || action === 'edit') return;
    const act = (): void =>
      more!.act(
        db,
        action,
        view,
        button,
        this.#deleted,
        (batchId) => this.#ctl.wrote(batchId, button),
        () => this.#syncUndo(),
      );
    if (more) act();
    else loadMore().then(act, (e: unknown) => report(button, errorDetail(e)));
  }

  /** Restore buttons outside the rows are enabled while there is a row to restore. */
  #syncUndo(): void {
    for (const b of this.querySelectorAll<HTMLButtonElement>('[jazz-action="restore"]')) {
      if (!viewOf(b) && b.closest('jazz-query') === this) b.disabled = !this.#deleted.length;
    }
  }

  protected override firstUpdated(): void {
    this.#syncUndo();
  }
}
