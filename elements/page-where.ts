/**
 * Queries that follow the page (lazy: part of more.ts), so filters, search boxes and tabs need no
 * script. `<jazz-query>` and `<jazz-count>` take both:
 *
 * - **Values from the page in `where`**: `where="title contains {{#search}} and done = {{?done}}"`.
 *   `{{#id}}` is the value of the form control with that id (a checkbox's is whether it is
 *   checked), `{{?name}}` the URL's search parameter `name`, `{{hash}}` the URL's hash without
 *   `#` and a leading `/`. Each is a *value*, never grammar: the `where` is parsed once with a
 *   placeholder in its place, and the page's text replaces the placeholder in the parsed query,
 *   converted to the column's type (trimmed; `true`/`false` for a boolean; a number). A comparison
 *   whose value is empty matches every row (an empty search box filters nothing); one whose value
 *   does not fit the column (letters for a number) matches none. The query follows the control's
 *   `input` and `change` and the URL's `hashchange` and `popstate`.
 * - **`where-route`**: `where-route="#/active: done = false; #/completed: done = true"`, a `where`
 *   per URL, ANDed with `where` while the URL matches: a key `#/x` matches the hash (no hash is
 *   `#/`), a key `?name=value` the search parameter. No match adds nothing. Every alternative is
 *   checked against the schema when the query is built, matching or not.
 */
import { JazzError, QueryBuilder, type AppSchema, type ColumnSchema, type Expr, type QueryAst, type Value } from '../worker/page/index.ts';
import { readControl } from './coerce.ts';
import { splitOutside } from './format.ts';
import { AttributeError, columnPosition, queryFromAttributes, type QueryAttributes } from './query-attributes.ts';

const MARK = '\u0000$page:';
const TRUE: Expr = { op: 'true' };
const SOURCE_RE = /^(#[\w-]+|\?[\w.-]+|hash)$/;

/** The URL's hash as a route: `#/active` and `#active` are `active`; no hash, `#` and `#/` are `""`. */
export function hashRoute(hash: string): string {
  return hash.replace(/^#\/?/, '');
}

/** Whether the route key (`#/active`, `?tab=open`) matches the page's URL now. */
export function routeMatches(key: string): boolean {
  if (key.startsWith('#')) return hashRoute(location.hash) === hashRoute(key);
  const [name = '', value = ''] = key.slice(1).split('=');
  return new URLSearchParams(location.search).get(name) === value;
}

export interface Following {
  /** The `where` text with each `{{…}}` replaced by a placeholder literal. */
  readonly where: string | undefined;
  /** The query with the page's values in place of the placeholders, and the route's `where` ANDed. */
  apply(schema: AppSchema, ast: QueryAst): QueryAst;
  stop(): void;
}

/** Follows the page for `host`'s `where` and `where-route`; `changed` is called once what they read changes. */
export function followPage(host: Element, where: string | undefined, route: string | undefined, changed: () => void): Following {
  const sources: string[] = [];
  const text = where?.replace(/\{\{([^}]*)\}\}/g, (_, s: string, at: number) => {
    const src = s.trim();
    if (!SOURCE_RE.test(src)) {
      throw new AttributeError(
        new JazzError('QUERY_INVALID', `{{${src}}} in a where: write {{#id}} for a form control's value, {{?name}} for the URL's search parameter, {{hash}} for its hash`),
        'where',
        at,
      );
    }
    sources.push(src);
    return `"\\u0000$page:${sources.length - 1}"`;
  });
  const routes = splitOutside(route ?? '', ';')
    .filter((r) => r.text.trim())
    .map((r) => {
      const m = /^\s*([#?][^\s:]*)\s*:/.exec(r.text);
      if (!m) throw new AttributeError(new JazzError('QUERY_INVALID', `where-route takes "#/route: where; ?param=value: where", got "${r.text.trim()}"`), 'where-route', r.pos);
      return { key: m[1]!, text: r.text.slice(m[0].length), pos: r.pos + m[0].length };
    });
  const root = host.getRootNode() as Document | ShadowRoot;
  const read = (src: string): string => {
    if (src === 'hash') return hashRoute(location.hash);
    if (src[0] === '?') return new URLSearchParams(location.search).get(src.slice(1)) ?? '';
    const el = root.getElementById(src.slice(1)) as HTMLInputElement | null;
    return !el ? '' : el.type === 'checkbox' ? String(el.checked) : (el.value ?? '');
  };
  const state = (): string => JSON.stringify([sources.map(read), routes.findIndex((r) => routeMatches(r.key))]);
  const seen = state();
  const check = (e: Event): void => {
    const id = (e.target as Element | null)?.id;
    if (e.type !== 'input' && e.type !== 'change' ? true : sources.includes(`#${id}`)) {
      if (state() !== seen) changed();
    }
  };
  const windowEvents = ['hashchange', 'popstate'];
  for (const t of windowEvents) addEventListener(t, check);
  root.addEventListener('input', check);
  root.addEventListener('change', check);
  return {
    where: text,
    apply(schema, ast) {
      const values = sources.map(read);
      let expr = put(schema, ast.table, ast.where, values);
      let matched = false;
      for (const r of routes) {
        let routed: Expr;
        try {
          routed = QueryBuilder.forTable(schema, ast.table).where(r.text).ast.where;
        } catch (e) {
          const at = (e as JazzError).details?.['position'];
          throw new AttributeError(e as JazzError, 'where-route', r.pos + (typeof at === 'number' ? at : columnPosition(r.text, e as JazzError)));
        }
        // The first route that matches is the one; the others are only checked.
        if (matched || !routeMatches(r.key)) continue;
        matched = true;
        expr = expr.op === 'true' ? routed : { op: 'and', args: [expr, routed] };
      }
      return { ...ast, where: expr };
    },
    stop() {
      for (const t of windowEvents) removeEventListener(t, check);
      root.removeEventListener('input', check);
      root.removeEventListener('change', check);
    },
  };
}

/** `e` with the page's values in place of its placeholders. */
function put(schema: AppSchema, table: string, e: Expr, values: readonly string[]): Expr {
  const sub = (x: Expr): Expr => put(schema, table, x, values);
  switch (e.op) {
    case 'and': {
      const args = e.args.map(sub).filter((a) => a.op !== 'true');
      return args.length === 0 ? TRUE : args.length === 1 ? args[0]! : { op: 'and', args };
    }
    case 'or': {
      const args = e.args.map(sub);
      return args.some((a) => a.op === 'true') ? TRUE : { op: 'or', args };
    }
    case 'not': {
      const arg = sub(e.arg);
      return arg.op === 'true' ? TRUE : { op: 'not', arg };
    }
    case 'cmp':
    case 'contains': {
      const i = placeholder(e.value);
      if (i < 0) return e;
      let col = schema.tables[table]!.columns[e.column] ?? { type: 'ref', ref: table };
      if (e.op === 'contains' && col.type === 'array') col = col.items!;
      const v = fitText(col, values[i]!);
      if (v === undefined) return TRUE;
      return v === NONE ? { op: 'in', column: e.column, values: [] } : { ...e, value: v };
    }
    case 'in': {
      if (!e.values.some((v) => placeholder(v) >= 0)) return e;
      const col = schema.tables[table]!.columns[e.column]!;
      const out: Value[] = [];
      for (const v of e.values) {
        const i = placeholder(v);
        if (i < 0) out.push(v);
        else {
          const x = fitText(col, values[i]!);
          if (x === undefined) return TRUE;
          if (x !== NONE) out.push(x);
        }
      }
      return { ...e, values: out };
    }
    default:
      return e;
  }
}

function placeholder(v: unknown): number {
  return typeof v === 'string' && v.startsWith(MARK) ? Number(v.slice(MARK.length)) : -1;
}

const NONE = Symbol('no row');

/**
 * The page's text as a value of `col`, read as a form control's text is (coerce.ts): undefined
 * when empty (match every row), NONE when it does not fit.
 */
function fitText(col: ColumnSchema, raw: string): Value | typeof NONE | undefined {
  if (raw.trim() === '') return undefined;
  const read = readControl({ type: 'text', value: raw, checked: false, selected: [], allowEmpty: false }, col);
  return read.ok && 'value' in read ? (read.value as Value) : NONE;
}

/** What each element follows now, to stop it. */
const following = new WeakMap<Element, Following>();

/**
 * The query of `host`'s attributes, with the page's values in it and its `where-route` applied;
 * `changed` is called once what it reads changes (the host builds it again). Stops what `host`
 * followed before.
 */
export function follow(host: Element, schema: AppSchema, attributes: QueryAttributes, route: string | undefined, changed: () => void): QueryAst {
  unfollow(host);
  const page = followPage(host, attributes.where ?? undefined, route, changed);
  following.set(host, page);
  return page.apply(schema, queryFromAttributes(schema, { ...attributes, where: page.where }).ast);
}

/** Stops following the page for `host`. */
export function unfollow(host: Element): void {
  following.get(host)?.stop();
  following.delete(host);
}
