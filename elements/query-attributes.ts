/**
 * Builds a `<jazz-query>`'s query from its attributes (`table`, `where`, `order-by`, `limit`,
 * `offset`, `select`, `include`) with the schema-checking query builder. Every mistake is a
 * `AttributeError` that wraps the engine's `JazzError` and says which attribute it is in and where
 * in its text (`position`, 0-based), so the element can point at it: the `where` grammar's own
 * `QueryParseError`s keep their position, and an unknown or unfit column is found in the text.
 */
import { JazzError, QueryBuilder, type AppSchema, type Direction, type IncludeInput } from '../worker/page/index.ts';

/** The query attributes of `<jazz-query>`, as written. */
export interface QueryAttributes {
  readonly table?: string | null;
  readonly where?: string | null;
  readonly orderBy?: string | null;
  readonly limit?: string | null;
  readonly offset?: string | null;
  readonly select?: string | null;
  readonly include?: string | null;
}

/** One comma-separated item of an attribute, with its offset in the attribute's text. */
interface Item {
  readonly text: string;
  readonly pos: number;
}

/** Builds the query; a mistake throws an `AttributeError` (anything else is a bug and rethrown). */
export function queryFromAttributes(schema: AppSchema, a: QueryAttributes): QueryBuilder<any, any> {
  const table = (a.table ?? '').trim();
  if (!table) throw located(new JazzError('QUERY_INVALID', 'give <jazz-query> a table attribute, like table="todos"'), 'table', 0);
  let q = at(
    'table',
    () => QueryBuilder.forTable(schema, table),
    () => 0,
  );

  const where = a.where ?? '';
  if (where.trim())
    q = at(
      'where',
      () => q.where(where),
      (e) => columnPosition(where, e),
    );

  for (const term of items(a.orderBy)) {
    const m = /^(\S+)(?:\s+(\S+))?$/.exec(term.text);
    const column = m?.[1] ?? term.text;
    const dir = (m?.[2] ?? 'asc').toLowerCase();
    if (!m || (dir !== 'asc' && dir !== 'desc')) {
      const bad = m?.[2] ? term.pos + term.text.lastIndexOf(m[2]) : term.pos;
      throw located(new JazzError('QUERY_INVALID', `order-by takes "column [asc|desc], ...", got "${term.text}"`), 'order-by', bad);
    }
    q = at(
      'order-by',
      () => q.orderBy(column, dir as Direction),
      () => term.pos,
    );
  }

  const limit = wholeNumber(a.limit, 'limit');
  if (limit !== undefined) q = q.limit(limit);
  const offset = wholeNumber(a.offset, 'offset');
  if (offset !== undefined) q = q.offset(offset);

  const select = items(a.select);
  if (select.length) {
    for (const c of select)
      at(
        'select',
        () => q.select(c.text),
        () => c.pos,
      );
    q = q.select(...select.map((c) => c.text));
  }

  const include = items(a.include);
  if (include.length) q = withIncludes(schema, q, include);
  return q;
}

/**
 * `include="project, todosViaProject.project"`: a comma-separated list of relations, a dot for a
 * relation of the included rows.
 */
function withIncludes(schema: AppSchema, q: QueryBuilder<any, any>, paths: readonly Item[]): QueryBuilder<any, any> {
  const groups = new Map<string, { pos: number; rest: Item[] }>();
  for (const p of paths) {
    const dot = p.text.indexOf('.');
    const head = dot < 0 ? p.text : p.text.slice(0, dot);
    const g = groups.get(head) ?? { pos: p.pos, rest: [] };
    if (dot >= 0) g.rest.push({ text: p.text.slice(dot + 1), pos: p.pos + dot + 1 });
    groups.set(head, g);
  }
  const spec: Record<string, IncludeInput> = {};
  for (const [name, g] of groups) {
    const plain = at(
      'include',
      () => q.include({ [name]: true }),
      () => g.pos,
    );
    if (g.rest.length === 0) spec[name] = true;
    else {
      const childTable = plain.ast.include![name]!.query.table;
      spec[name] = withIncludes(schema, QueryBuilder.forTable(schema, childTable), g.rest);
    }
  }
  return q.include(spec);
}

/** Runs `fn`; a `JazzError` from it is located in `attribute` (at `position(e)`) and rethrown. */
function at<T>(attribute: string, fn: () => T, position: (e: JazzError) => number): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof JazzError) throw located(e, attribute, typeof e.details['position'] === 'number' ? (e.details['position'] as number) : position(e));
    throw e;
  }
}

/** A mistake located in an element's attribute: the engine's error, the attribute, the offset in it. */
export class AttributeError extends Error {
  readonly error: JazzError;
  readonly attribute: string;
  readonly position: number;
  constructor(error: JazzError, attribute: string, position: number) {
    super(`${attribute}: ${error.message}`);
    this.name = 'AttributeError';
    this.error = error;
    this.attribute = attribute;
    this.position = position;
  }
}

function located(e: JazzError, attribute: string, position: number): AttributeError {
  return new AttributeError(e, attribute, position);
}

function items(text: string | null | undefined): Item[] {
  const out: Item[] = [];
  if (!text) return out;
  let start = 0;
  for (const part of text.split(',')) {
    const lead = part.length - part.trimStart().length;
    const t = part.trim();
    if (t) out.push({ text: t, pos: start + lead });
    start += part.length + 1;
  }
  return out;
}

function wholeNumber(text: string | null | undefined, attribute: string): number | undefined {
  if (text == null || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw located(new JazzError('QUERY_INVALID', `${attribute} must be a whole number ≥ 0, got "${text}"`), attribute, 0);
  return n;
}

/**
 * Where the column an error names is written in a `where` text: the first identifier (or
 * backquoted name) outside string literals that equals it; 0 when the error names none.
 */
export function columnPosition(where: string, e: JazzError): number {
  const column = e.details['column'];
  if (typeof column !== 'string') return 0;
  let i = 0;
  while (i < where.length) {
    const c = where[i]!;
    if (c === '"' || c === "'") {
      i++;
      while (i < where.length && where[i] !== c) i += where[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      const start = i++;
      let name = '';
      while (i < where.length) {
        if (where[i] === '`' && where[i + 1] === '`') (name += '`'), (i += 2);
        else if (where[i] === '`') break;
        else name += where[i++];
      }
      i++;
      if (name === column) return start;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < where.length && /[A-Za-z0-9_]/.test(where[i]!)) i++;
      if (where.slice(start, i) === column) return start;
    } else i++;
  }
  return 0;
}
