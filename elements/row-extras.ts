/**
 * What more.ts adds to a row template besides formatters (lazy: part of `jazz-more.js`):
 *
 * - **Conditions**: `jazz-if="assignee is not null"` shows the element only while the row matches
 *   (it sets `hidden`, so its state is kept); `jazz-class="completed: done = true; late: due < 1798137000000"`
 *   toggles each class; `jazz-attr="disabled: done = true; open: priority > 2"` toggles each boolean
 *   attribute (`checked` and `selected` also set the property, which is what a control shows).
 *   A condition is the `where` grammar (src/query/where-parser.ts): parsed when the template is
 *   compiled and checked against the row's table like a query's `where`, then run as the engine's
 *   own predicate (src/query/predicate.ts) on each row. Nothing is evaluated as code, and a
 *   mistake is a `jazz-error` with the attribute and the position in it.
 * - **Editing in place**: `jazz-edit="title"` on an input or textarea makes it the row's editor:
 *   hidden until editing starts, then filled with the column's value and focused, with the
 *   `editing` class on the row's top elements. `jazz-action="edit"` starts it: a click on a
 *   button, a double-click (or Enter or F2 when focused) on anything else. Enter or leaving the
 *   field saves (written like a `jazz-field`, on `change`: trimmed and coerced by the schema), Escape
 *   cancels, and with `jazz-empty="delete"` saving an empty text deletes the row.
 * - **A `<jazz-query>`'s fields and actions**: saving a `jazz-field` control (or an editor) on
 *   `change` (`saveField`), and `jazz-action="delete"` / `"restore"` / `"pick"` (`act`); the
 *   query calls them.
 * - **Conflicts** (conflicts.ts): `<template jazz-each="$conflicts">` repeats the sides of the
 *   row's conflicts, and conditions read `$conflicts` as the names of the fields in conflict.
 */
import { parseWhere, QueryBuilder, type AppSchema, type BrowserDb, type DynamicApp, type Expr, type QueryAst } from '../worker/page/index.ts';
import { checkExpr, compilePredicate, type Predicate } from '../worker/page/engine-parts.ts';
import { readControl, writeControl } from './coerce.ts';
import { hold, isControl, type Control } from './controls.ts';
import { errorDetail, fire, report } from './events.ts';
import { AttributeError, columnPosition } from './query-attributes.ts';
import { splitOutside } from './format.ts';
import { KeyedList, nodesOf } from './keyed-list.ts';
import { checkBindings, checkPath, compileTemplate, RowView, TemplateError, viewOf, type Extra, type RowContext } from './template.ts';
import { conditionRow, conflictEach, withConflicts } from './conflicts.ts';
import { JazzError } from '../worker/page/index.ts';
import type { JazzRow } from './events.ts';

interface Condition {
  readonly name: string;
  readonly text: string;
  /** Where the condition starts in the attribute's text. */
  readonly pos: number;
  readonly expr: Expr;
  readonly test: Predicate;
}

/** `name: condition; name: condition` (or one bare condition for `jazz-if`), each parsed. */
function conditions(attribute: string, value: string, named: boolean): Condition[] {
  return splitOutside(value, ';')
    .filter((item) => item.text.trim())
    .map((item) => {
      let name = '';
      let text = item.text;
      let pos = item.pos;
      if (named) {
        const m = /^\s*([^\s:;]+)\s*:/.exec(text);
        if (!m) throw new AttributeError(new JazzError('ATTRIBUTE_INVALID', `${attribute} takes "name: condition; ...", got "${text.trim()}"`), attribute, item.pos);
        name = m[1]!;
        if (attribute === 'jazz-attr' && (/^on/i.test(name) || name.toLowerCase() === 'srcdoc')) throw new TemplateError(`jazz-attr cannot toggle ${name}: it would run as code`);
        text = text.slice(m[0].length);
        pos += m[0].length;
      }
      try {
        const expr = parseWhere(text);
        return { name, text, pos, expr, test: compilePredicate(expr) };
      } catch (e) {
        const at = (e as { position?: number }).position;
        throw new AttributeError(e as JazzError, attribute, pos + (typeof at === 'number' ? at : 0));
      }
    });
}

/** Checks each condition against the rows' table (and `select`), like a query's `where`. */
function check(attribute: string, list: readonly Condition[], schema: AppSchema, query: QueryAst): void {
  for (const c of list) {
    try {
      // `$conflicts` is the fields in conflict, as text (conflicts.ts).
      checkExpr(withConflicts(schema, query.table), query.table, c.expr, false);
      for (const column of columnsOf(c.expr)) {
        if (column !== 'id' && column !== '$conflicts' && query.select && !query.select.includes(column)) {
          throw new JazzError('UNKNOWN_COLUMN', `${attribute} reads "${column}", which the query does not select`, { table: query.table, column });
        }
      }
    } catch (e) {
      if (e instanceof JazzError) throw new AttributeError(e, attribute, c.pos + columnPosition(c.text, e));
      throw e;
    }
  }
}

function columnsOf(e: Expr): string[] {
  if (e.op === 'and' || e.op === 'or') return e.args.flatMap(columnsOf);
  if (e.op === 'not') return columnsOf(e.arg);
  return e.op === 'true' ? [] : [e.column];
}

const PROPERTIES = new Set(['checked', 'selected']);

/** Starts editing a row, by the view: set by the `jazz-edit` control of that row. */
const editors = new WeakMap<RowView, () => void>();

/** The `Extra` for one of more.ts's row attributes; undefined for any other attribute. */
export function rowExtra(el: Element, name: string, value: string): Extra | undefined {
  if (name === 'jazz-if') {
    const list = conditions(name, value, false);
    return {
      check: (schema, query) => check(name, list, schema, query),
      part: (node) => ({
        update: (row) => {
          const r = conditionRow(row);
          (node as HTMLElement).hidden = !list.every((c) => c.test(r));
        },
      }),
    };
  }
  if (name === 'jazz-class' || name === 'jazz-attr') {
    const list = conditions(name, value, true);
    return {
      check: (schema, query) => check(name, list, schema, query),
      part: (node) => ({
        update: (row) => {
          const r = conditionRow(row);
          for (const c of list) {
            const on = c.test(r);
            if (name === 'jazz-class') node.classList.toggle(c.name, on);
            else {
              node.toggleAttribute(c.name, on);
              if (PROPERTIES.has(c.name)) (node as unknown as Record<string, boolean>)[c.name] = on;
            }
          }
        },
      }),
    };
  }
  if (name === 'jazz-edit') return editor(value.trim());
  if (name === 'jazz-action' && value.trim() === 'edit') return trigger(el);
  return undefined;
}

const RELATION_RE = /^[A-Za-z_$][\w$]*$/;

/**
 * `<template jazz-each="todosViaProject">` in a row: the rows of that included relation (an array,
 * or the one row of a forward ref), keyed by id, where the template was. The relation, and those
 * its own `jazz-each` templates name, are added to `relations` (the query includes them).
 */
export function each(t: HTMLTemplateElement, relations: string[]): Extra {
  const relation = t.getAttribute('jazz-each')!.trim();
  if (relation === '$conflicts') return conflictEach(t);
  if (!RELATION_RE.test(relation)) throw new TemplateError(`jazz-each takes a relation name like "todosViaProject", got "${relation}"`);
  const nested = compileTemplate(t);
  relations.push(relation, ...nested.relations.map((r) => `${relation}.${r}`));
  return {
    check(schema, query) {
      checkPath([relation], schema, query);
      const inc = query.include?.[relation];
      if (inc) checkBindings(nested, schema, inc.query);
    },
    part(end, view) {
      const inc = view.ctx.include?.[relation];
      const ctx: RowContext = { ...view.ctx, table: inc?.query.table ?? '', include: inc?.query.include };
      const list = new KeyedList<RowView>(end, (row) => new RowView(nested, row, ctx, view.onField));
      let last: unknown;
      return {
        update(row) {
          const v = row[relation];
          if (v === last) return;
          last = v;
          list.set(Array.isArray(v) ? v : v && typeof v === 'object' ? [v as JazzRow] : []);
        },
        dispose: () => list.clear(),
      };
    },
  };
}

function editor(column: string): Extra {
  return {
    check: (schema, query) => {
      if (query.select ? query.select.includes(column) : Object.hasOwn(schema.tables[query.table]?.columns ?? {}, column)) return;
      throw new AttributeError(new JazzError('UNKNOWN_COLUMN', `jazz-edit names "${column}", which the rows do not have`, { column }), 'jazz-edit', 0);
    },
    part: (node, view) => {
      const el = node as HTMLInputElement;
      el.hidden = true;
      let editing = false;
      const tops = (): Element[] => nodesOf(view).filter((n): n is Element => n instanceof Element);
      const end = (): void => {
        if (!editing) return;
        editing = false;
        el.hidden = true;
        for (const t of tops()) t.classList.remove('editing');
      };
      editors.set(view, () => {
        if (editing) return;
        editing = true;
        writeControl(el, view.row[column], undefined);
        el.setCustomValidity('');
        for (const t of tops()) t.classList.add('editing');
        el.hidden = false;
        el.focus();
        el.setSelectionRange?.(el.value.length, el.value.length);
      });
      el.addEventListener('keydown', (e) => {
        if (e.isComposing) return;
        if (e.key === 'Enter' && el.localName === 'input') el.blur();
        else if (e.key === 'Escape') {
          // Put the row's value back first: leaving the field then changes nothing.
          writeControl(el, view.row[column], undefined);
          el.setCustomValidity('');
          el.blur();
        }
      });
      // Saving is the `change` the browser fires as the field is left (the query writes it); an
      // emptied field with jazz-empty="delete" deletes the row instead.
      el.addEventListener('change', (e) => {
        if (el.value.trim() || el.getAttribute('jazz-empty') !== 'delete') return;
        e.stopPropagation();
        end();
        view.ctx.remove?.(view, el);
      });
      el.addEventListener('focusout', () => {
        // A value that does not fit keeps the editor open with its message.
        if (el.validity.valid) end();
      });
      el.addEventListener('input', () => el.setCustomValidity(''));
      return { update: () => {} };
    },
  };
}

function trigger(el: Element): Extra {
  const button = el.localName === 'button';
  return {
    part: (node, view) => {
      const start = (): void => editors.get(view)?.();
      node.addEventListener(button ? 'click' : 'dblclick', start);
      if (!button) node.addEventListener('keydown', (e) => ((e as KeyboardEvent).key === 'Enter' || (e as KeyboardEvent).key === 'F2') && start());
      return { update: () => {} };
    },
  };
}

/**
 * `<jazz-query into="id">`: where its rows go, as a marker at the end of that element (a `<ul>`,
 * `<ol>`, `<tbody>`, `<select>`), so no element stands between a list and its items; with
 * `virtual` and no `into`, a `<div>` it adds. Throws when `into` names no element.
 */
export function rowsEnd(query: Element, into: string | undefined): Node {
  const target = into ? (query.getRootNode() as Document | ShadowRoot).getElementById(into) : query.appendChild(document.createElement('div'));
  if (!target) throw new AttributeError(new JazzError('ATTRIBUTE_INVALID', `into="${into}" names no element: give the list (<ul>, <tbody>, <select>, ...) that id`), 'into', 0);
  return target.appendChild(document.createComment(' jazz-query rows '));
}

/** `<jazz-form row-id>`: shows the row in the form's controls (a mistake is the form's `jazz-error`, `attribute: 'row-id'`). */
export async function showRow(form: Element, db: BrowserDb<DynamicApp>, table: string, id: string, controls: readonly Control[]): Promise<void> {
  try {
    const row = await db.one(QueryBuilder.forTable(db.app.$schema, table).where({ id }));
    if (!row) throw new JazzError('ROW_NOT_FOUND', `${table} has no row ${id}`, { table, id });
    const columns = db.app.$schema.tables[table]!.columns;
    for (const el of controls) if (columns[el.name]) writeControl(el, row[el.name], columns[el.name]);
  } catch (e) {
    report(form, errorDetail(e, { attribute: 'row-id' }));
  }
}

/**
 * A `change` of a row's `jazz-field` control, or of its `jazz-edit` editor, in `owner`'s rows (a
 * `<jazz-query>`): the column's new value, trimmed and coerced by the schema (coerce.ts), written
 * to the row. A value that does not fit, or a write that fails, shows on the control and fires
 * `jazz-error` from it; `wrote` is the owner's `DbController.wrote`.
 */
export function saveField(el: Element, owner: Element, db: BrowserDb<DynamicApp>, wrote: (batchId: string, by: Element) => void): void {
  const view = viewOf(el);
  const column = el.getAttribute('jazz-field') ?? el.getAttribute('jazz-edit');
  if (!isControl(el) || column === null || view?.ctx.owner !== owner) return;
  const col = db.app.$schema.tables[view.table]?.columns[column.trim()];
  const invalid = (error: unknown): void => {
    const detail = errorDetail(error, { attribute: 'jazz-field' });
    el.setCustomValidity(detail.message);
    el.reportValidity();
    fire(el, 'jazz-error', detail);
  };
  if (!col) return invalid(new JazzError('UNKNOWN_COLUMN', `table "${view.table}" has no column "${column.trim()}"`, { table: view.table, column }));
  const read = readControl(hold(el), col);
  if (!read.ok) return invalid(new JazzError('TYPE_MISMATCH', read.message, { table: view.table, column }));
  if (!('value' in read)) return;
  el.setCustomValidity('');
  const handle = db.update(view.table, view.row.id, { [column.trim()]: read.value });
  wrote(handle.batchId, el);
  handle.wait().catch(invalid);
}

/**
 * A `<jazz-query>`'s `jazz-action` other than `edit`: `delete` the button's row (remembered in
 * `deleted`, the query's undo list), `restore` it, or, on a button outside the rows, restore the
 * row deleted last; `pick` the value of a side of a conflict (conflicts.ts) for its row's field.
 * `undo` is undo.ts's (a listener of the document's). `wrote` is the query's `DbController.wrote`
 * for the button; `syncUndo` enables the query's restore buttons while there is a row to restore.
 */
export function act(
  db: BrowserDb<DynamicApp>,
  action: string,
  view: RowView | undefined,
  button: Element,
  deleted: { table: string; id: string }[],
  wrote: (batchId: string) => void,
  syncUndo: () => void,
): void {
  let handle: { batchId: string; wait(): Promise<unknown> } | undefined;
  if (action === 'delete' && view) {
    handle = db.delete(view.table, view.row.id);
    deleted.push({ table: view.table, id: view.row.id });
  } else if (action === 'restore' && view) handle = db.restore(view.table, view.row.id);
  else if (action === 'pick' && view?.ctx.parent) handle = db.update(view.table, view.ctx.parent.row.id, { [view.row['field'] as string]: view.row['value'] });
  else if (action === 'undo') return;
  else if (action === 'restore') {
    const last = deleted.pop();
    if (last) handle = db.restore(last.table, last.id);
  } else {
    report(
      button,
      errorDetail(new JazzError('ATTRIBUTE_INVALID', `jazz-action must be delete, restore, edit, pick (in a side of $conflicts) or undo, got "${action}"`), { attribute: 'jazz-action', position: 0 }),
    );
    return;
  }
  syncUndo();
  if (!handle) return;
  wrote(handle.batchId);
  handle.wait().catch((error: unknown) => fire(button, 'jazz-error', errorDetail(error)));
}
