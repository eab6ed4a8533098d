/**
 * The safe template binder of `<jazz-query>` (S4). A `<template>` is
 * compiled once into a prepared fragment and a list of bindings; each row clones the fragment and
 * fills the bindings. Data only ever reaches the DOM as a text node's `data` or through
 * `setAttribute`, never as markup, so a value like `<img onerror=...>` shows as text:
 *
 * - `{{title}}`, `{{project.name}}` in text: its own text node.
 * - `data-id="{{id}}"`, `class="todo {{state}}"` in an attribute: `setAttribute`. Bindings in
 *   event-handler attributes (`on*`), `srcdoc`, or inside `<script>`/`<style>` are refused when
 *   the template is compiled; `javascript:`-like URLs in URL attributes are replaced by `about:invalid#blocked`.
 * - `<template jazz-each="todosViaProject">`: the included rows, keyed by id, in place (made by
 *   more.ts, row-extras.ts); `jazz-each="$conflicts"`: the sides of the row's conflicts
 *   (conflicts.ts).
 * - `jazz-field="done"` on a control and `jazz-action="delete"` on a button: the element is
 *   registered with its row's view (`viewOf`), and `<jazz-query>` handles their events (with
 *   more.ts: a control's value is coerce.ts's, so `jazz-field` is one of `usesMore`'s features).
 */
import { JazzError, SYS_FIELDS, type AppSchema, type IncludeAst, type QueryAst } from '../worker/page/index.ts';
import type { JazzRow } from './events.ts';
import type { View } from './keyed-list.ts';

/** A template the binder refuses (a binding where data could become code, a bad expression). */
export class TemplateError extends Error {
  readonly code = 'TEMPLATE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** A bound path (`project.name`), with the formatters after its `|` when it has any (more.ts). */
export type Expr = readonly string[] & { readonly format?: (value: unknown) => string };

/**
 * A binding that the elements' lazy part (more.ts: conditions, classes, attributes, editing)
 * makes of an attribute: `check` tests it against the query's rows, `part` makes it live in a row.
 */
export interface Extra {
  check?(schema: AppSchema, query: QueryAst): void;
  part(el: Element, view: RowView): Part;
}

/** What more.ts adds to the binder once it is loaded (`usesMore` says when a template needs it). */
export interface Hooks {
  /** An `Extra` for this attribute, or undefined when the attribute is not one of more.ts's. */
  attr(el: Element, name: string, value: string): Extra | undefined;
  /** `due | date: "short"`: the path and its formatters. */
  pipe(text: string): Expr;
  /** `<template jazz-each="relation">`: adds the relation (and those inside it) to `relations`. */
  each(t: HTMLTemplateElement, relations: string[]): Extra;
}

export let hooks: Hooks | undefined;

export function setHooks(h: Hooks): void {
  hooks = h;
}

/** Whether a template uses what more.ts brings: `|` in a binding, `jazz-if`, `jazz-class`, `jazz-attr`, editing, `jazz-each`, `jazz-field`, `jazz-src`, `jazz-file`, elements. */
export function usesMore(t: HTMLTemplateElement): boolean {
  return /\{\{[^}]*\||jazz-(if|class|attr|edit|each|field|src|file)=|action="\s*edit|<jazz-/.test(t.innerHTML);
}

type Binding =
  | { readonly kind: 'text'; readonly node: Node; readonly expr: Expr }
  | { readonly kind: 'attr'; readonly node: Node; readonly name: string; readonly parts: readonly (string | Expr)[] }
  | { readonly kind: 'field'; readonly node: Node; readonly column: string }
  | { readonly kind: 'action'; readonly node: Node; readonly action: string }
  | { readonly kind: 'extra'; readonly node: Node; readonly extra: Extra };

type Located<B> = B extends { node: Node } ? Omit<B, 'node'> & { readonly path: readonly number[] } : never;

/** A compiled `<template>`: the fragment every row clones and where its bindings are. */
export interface CompiledTemplate {
  readonly fragment: DocumentFragment;
  readonly bindings: readonly Located<Binding>[];
  /** The relations `jazz-each` uses, as include paths (`todosViaProject`, `todosViaProject.project`). */
  readonly relations: readonly string[];
}

const EXPR_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'data', 'cite', 'background', 'ping', 'codebase', 'manifest']);

/** Compiles a template element's content; throws a `TemplateError` for an unsafe or bad binding. */
export function compileTemplate(template: HTMLTemplateElement): CompiledTemplate {
  const fragment = template.content.cloneNode(true) as DocumentFragment;
  const bindings: Binding[] = [];
  const relations: string[] = [];
  walk(fragment, bindings, relations);
  // Every row is a run of sibling nodes; give an empty template one node to hold its place.
  if (!fragment.firstChild) fragment.append(document.createTextNode(''));
  const located = bindings.map((b) => {
    const { node, ...rest } = b;
    return { ...rest, path: pathOf(node, fragment) } as Located<Binding>;
  });
  return { fragment, bindings: located, relations };
}

/**
 * Checks that every binding names something the query's rows have: `{{x}}`, `jazz-field="x"` and
 * `jazz-each="x"` must be `id`, a column of the table (of `select`, when the query has one) or an
 * included relation, and a path like `{{project.name}}` goes on in the included table. Throws an
 * `UNKNOWN_COLUMN` `JazzError` for the first that does not, which would otherwise render empty.
 */
export function checkBindings(t: CompiledTemplate, schema: AppSchema, query: QueryAst): void {
  for (const b of t.bindings) {
    const paths = b.kind === 'text' ? [b.expr] : b.kind === 'attr' ? b.parts.filter((p) => typeof p !== 'string') : b.kind === 'field' ? [[b.column]] : [];
    for (const path of paths) checkPath(path, schema, query);
    if (b.kind === 'extra') b.extra.check?.(schema, query);
  }
}

export function checkPath(path: Expr, schema: AppSchema, query: QueryAst): void {
  for (const name of path) {
    const inc = query.include?.[name];
    if (inc) {
      query = inc.query;
      continue;
    }
    const all = !query.select || query.select.includes('*');
    const has = ['id', ...(query.select ?? []), ...(all ? Object.keys(schema.tables[query.table]!.columns) : [])];
    if (has.includes(name)) return;
    const names = [...has, ...Object.keys(query.include ?? {})].filter((n) => n !== '*').join(', ');
    throw new JazzError('UNKNOWN_COLUMN', `the template binds "${path.join('.')}", but rows of "${query.table}" have no "${name}" (they have ${names}); fix the template, or include or select it`, {
      table: query.table,
      column: name,
    });
  }
}

/**
 * Adds the system fields to what the query and its includes select when the template names one
 * (`{{$createdAt | date}}`, `jazz-if="$createdBy = …"`), since rows carry them only when asked for.
 */
export function withSystemFields(t: HTMLTemplateElement, q: QueryAst): QueryAst {
  return /\$(cre|upd)ated(At|By)\b/.test(t.innerHTML) ? sys(q) : q;
}

const sys = (q: QueryAst): QueryAst => ({
  ...q,
  select: [...(q.select ?? ['*']), ...SYS_FIELDS],
  include: q.include && Object.fromEntries(Object.entries(q.include).map(([k, i]) => [k, { ...i, query: sys(i.query) }])),
});

function walk(parent: Node, out: Binding[], relations: string[]): void {
  for (let node = parent.firstChild; node; ) {
    const next = node.nextSibling;
    if (node.nodeType === 3) splitText(node as Text, out);
    else if (node.nodeType === 1) {
      const el = node as Element;
      if (el.localName === 'template' && el.hasAttribute('jazz-each')) {
        // An included relation repeated in the row: more.ts's (row-extras.ts).
        const end = document.createComment(' /jazz-each ');
        el.replaceWith(document.createComment(' jazz-each '), end);
        out.push({ kind: 'extra', node: end, extra: hooks!.each(el as HTMLTemplateElement, relations) });
      } else {
        bindAttributes(el, out);
        if (el.localName === 'script' || el.localName === 'style') {
          if (el.textContent?.includes('{{')) throw new TemplateError(`bindings inside <${el.localName}> are not allowed: data must never become code`);
        } else if (el.localName !== 'template') walk(el, out, relations);
      }
    }
    node = next;
  }
}

function bindAttributes(el: Element, out: Binding[]): void {
  // More's bindings come after the element's attribute bindings, so a class they toggle is kept
  // when a bound class attribute is set.
  const extras: Binding[] = [];
  for (const attr of [...el.attributes]) {
    const name = attr.name.toLowerCase();
    const extra = hooks?.attr(el, name, attr.value);
    if (extra) extras.push({ kind: 'extra', node: el, extra });
    if (name === 'jazz-field') out.push({ kind: 'field', node: el, column: attr.value.trim() });
    else if (name === 'jazz-action') out.push({ kind: 'action', node: el, action: attr.value.trim() });
    if (!attr.value.includes('{{')) continue;
    if (name.startsWith('on') || name === 'srcdoc') {
      throw new TemplateError(`cannot bind data into <${el.localName}>'s ${name}: it would run as code; use a listener in script`);
    }
    out.push({ kind: 'attr', node: el, name: attr.name, parts: parseParts(attr.value) });
    // The prepared fragment never carries the raw text (a src="{{url}}" would be fetched).
    el.removeAttribute(attr.name);
  }
  out.push(...extras);
}

function splitText(node: Text, out: Binding[]): void {
  const text = node.data;
  if (!text.includes('{{')) return;
  const parts = parseParts(text);
  const parent = node.parentNode!;
  for (const p of parts) {
    const t = document.createTextNode(typeof p === 'string' ? p : '');
    parent.insertBefore(t, node);
    if (typeof p !== 'string') out.push({ kind: 'text', node: t, expr: p });
  }
  parent.removeChild(node);
}

function parseParts(text: string): (string | Expr)[] {
  const parts: (string | Expr)[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`"{{" without "}}" in "${text}"`);
    const expr = text.slice(open + 2, close).trim();
    const piped = hooks && expr.includes('|');
    if (!piped && !EXPR_RE.test(expr)) throw new TemplateError(`{{${expr}}} is not a field: write a column or a path like {{project.name}}`);
    if (open > i) parts.push(text.slice(i, open));
    parts.push(piped ? hooks!.pipe(expr) : expr.split('.'));
    i = close + 2;
  }
  if (i < text.length) parts.push(text.slice(i));
  return parts;
}

function pathOf(node: Node, root: Node): number[] {
  const path: number[] = [];
  for (let n = node; n !== root; n = n.parentNode!) {
    let i = 0;
    for (let s = n.previousSibling; s; s = s.previousSibling) i++;
    path.push(i);
  }
  return path.reverse();
}

function nodeAt(root: Node, path: readonly number[]): Node {
  let n = root;
  for (const i of path) n = n.childNodes[i]!;
  return n;
}

/** A field's value on a row: own properties only (never `constructor`, `__proto__`). */
export function valueAt(row: unknown, expr: Expr): unknown {
  let v = row;
  for (const key of expr) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** How a bound path reads on a row: through its formatters, or as `display` shows it. */
export function show(row: unknown, expr: Expr): string {
  const v = valueAt(row, expr);
  return expr.format ? expr.format(v) : display(v);
}

/** How a value reads as text. */
export function display(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return v.map(display).join(', ');
  return JSON.stringify(v);
}

function safeAttr(name: string, value: string): string {
  if (!URL_ATTRS.has(name.toLowerCase())) return value;
  // Browsers ignore tabs and newlines in a scheme and leading control characters and spaces.
  const scheme = value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
  if (scheme.startsWith('javascript:') || scheme.startsWith('vbscript:') || (scheme.startsWith('data:') && !scheme.startsWith('data:image/'))) return 'about:invalid#blocked';
  return value;
}

/** Where a row's view lives in the schema: its table and the includes its row carries, and the element that shows it. */
export interface RowContext {
  readonly table: string;
  readonly include: Readonly<Record<string, IncludeAst>> | undefined;
  /** The element whose rows these are: it handles their fields and actions. */
  readonly owner?: Element;
  /** Deletes the view's row (an emptied `jazz-edit` with `jazz-empty="delete"`), written by `by`. */
  readonly remove?: (view: RowView, by: Element) => void;
  /** The row a nested copy belongs to (a side of its `$conflicts`: conflicts.ts). */
  readonly parent?: RowView;
}

const owners = new WeakMap<Element, RowView>();

/** The row view a `jazz-field` control or `jazz-action` button belongs to. */
export function viewOf(el: Element): RowView | undefined {
  return owners.get(el);
}

export interface Part {
  update(row: JazzRow, old: JazzRow | undefined): void;
  dispose?(): void;
}

/** One row's nodes and bindings. */
export class RowView implements View {
  row: JazzRow;
  readonly table: string;
  readonly ctx: RowContext;
  readonly first: Node;
  readonly last: Node;
  readonly #parts: Part[] = [];
  /** `jazz-field` controls, with their column: the element that owns the view writes them. */
  readonly fields: { readonly el: Element; readonly column: string }[] = [];
  readonly onField: (view: RowView, el: Element, column: string, value: unknown) => void;

  /**
   * `onField(view, el, column, value)` is called to show a column's value in a field (the element
   * knows the schema, so it does the formatting).
   */
  constructor(t: CompiledTemplate, row: JazzRow, ctx: RowContext, onField: (view: RowView, el: Element, column: string, value: unknown) => void) {
    this.row = row;
    this.table = ctx.table;
    this.ctx = ctx;
    this.onField = onField;
    const clone = document.importNode(t.fragment, true);
    // Resolve every path before anything changes the clone's shape.
    const nodes = t.bindings.map((b) => nodeAt(clone, b.path));
    this.first = clone.firstChild!;
    this.last = clone.lastChild!;
    t.bindings.forEach((b, i) => {
      const node = nodes[i]!;
      switch (b.kind) {
        case 'text':
          this.#parts.push(textPart(node as Text, b.expr));
          break;
        case 'attr':
          this.#parts.push(attrPart(node as Element, b.name, b.parts));
          break;
        case 'field': {
          const el = node as Element;
          owners.set(el, this);
          this.fields.push({ el, column: b.column });
          const column = b.column;
          this.#parts.push({
            update: (r, old) => {
              const v = r[column];
              if (!old || !Object.is(old[column], v)) this.onField(this, el, column, v);
            },
          });
          break;
        }
        case 'action':
          owners.set(node as Element, this);
          break;
        case 'extra':
          owners.set(node as Element, this);
          this.#parts.push(b.extra.part(node as Element, this));
          break;
      }
    });
    for (const p of this.#parts) p.update(row, undefined);
  }

  update(row: JazzRow): void {
    const old = this.row;
    this.row = row;
    for (const p of this.#parts) p.update(row, old);
  }

  dispose(): void {
    for (const p of this.#parts) p.dispose?.();
  }
}

function textPart(node: Text, expr: Expr): Part {
  return {
    update(row) {
      const s = show(row, expr);
      if (node.data !== s) node.data = s;
    },
  };
}

function attrPart(el: Element, name: string, parts: readonly (string | Expr)[]): Part {
  let last: string | undefined;
  return {
    update(row) {
      const value = safeAttr(name, parts.map((p) => (typeof p === 'string' ? p : show(row, p))).join(''));
      if (value !== last) el.setAttribute(name, (last = value));
    },
  };
}
