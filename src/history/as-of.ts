/**
 * Queries as they stood at a moment: `db.all(query, { asOf })`. The state of a row at a moment is
 * the merge of its versions with a timestamp up to and including that moment (every HLC tick of
 * that millisecond), leaving out rejected batches; a row deleted by then, or created after, is not
 * there. The query (where, order, limit and offset, select, includes, system fields) is then
 * answered over those states with the same predicate and order as live queries.
 *
 * Decisions:
 * - No index holds the past, so an as-of query reads every row of the tables it names (a query
 *   limited to ids, `id = x`, reads only those): rows unchanged since the moment as they are now,
 *   rows changed since merged again from their history. Live queries stay the fast path; this is
 *   for looking back. `npm run bench -- history` measures it beside the same query now.
 * - It answers from what this replica holds, which is what its user may read now (a client only
 *   holds rows the server let it read), and only that: a client holds the rows its live queries
 *   have asked for since it started following them, so a row created and deleted while nothing
 *   here followed it is not in its past.
 * - A forward include whose target does not match the include's own query gives null, a reverse
 *   include an array, as in live queries.
 */
import type { Engine } from '../engine/engine.ts';
import type { Expr, QueryAst } from '../query/ast.ts';
import { compilePredicate } from '../query/predicate.ts';
import { rowComparator } from '../query/compare.ts';
import { shaper } from '../query/ivm/shape.ts';
import type { OutRow } from '../query/ivm/view.ts';
import { decodeVisibleRow, sysValues, visibleSpan } from '../rows/version.ts';
import { isUuid } from '../rows/ids.ts';
import { HLC_COUNTER } from '../clock/hlc.ts';
import { JazzError } from '../util/errors.ts';
import { mergeAll } from './history.ts';

type Row = Record<string, unknown> & { id: string };
type Columns = (table: string) => readonly (readonly [string, string])[] | undefined;

/** Epoch milliseconds of an `asOf` option (a Date or a number), checked. */
export function asOfMillis(asOf: unknown): number {
  const ms = asOf instanceof Date ? asOf.getTime() : asOf;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new JazzError('OPTION_INVALID', `asOf is a Date or epoch milliseconds, got ${asOf instanceof Date ? 'an invalid Date' : typeof asOf}`);
  }
  return Math.floor(ms);
}

/** Every table the query reads, includes too. */
export function tablesOf(q: QueryAst, out = new Set<string>()): Set<string> {
  out.add(q.table);
  for (const inc of Object.values(q.include ?? {})) tablesOf(inc.query, out);
  return out;
}

/**
 * The rows of a table at a moment, by id (system fields included); only those of `ids` when given.
 * A row whose newest version is from before the moment reads as it is now; one created after it
 * is skipped; only the others are merged again from their history.
 */
export function rowsAt(engine: Engine, table: string, ms: number, ids?: readonly string[]): Map<string, Row> {
  const limit = ms * HLC_COUNTER + (HLC_COUNTER - 1);
  const t = engine.table(table);
  const out = new Map<string, Row>();
  const take = (id: string, bytes: Uint8Array) => {
    const span = visibleSpan(bytes);
    if (span.createdTs > limit) return; // created after the moment
    if (span.maxTs <= limit) {
      // Unchanged since: as it is now.
      const row = decodeVisibleRow(bytes, t.cat, id, true);
      if (row) out.set(id, row as Row);
      return;
    }
    const state = mergeAll(
      t.cat,
      engine.history(t, id).filter((v) => v.ts <= limit && !engine.isRejected(v.batchId)),
    );
    if (state && !state.deleted) out.set(id, { id, ...state.values, ...sysValues(state) });
  };
  if (ids) {
    for (const id of ids) {
      const bytes = isUuid(id) ? engine.visibleBytes(t, id) : undefined;
      if (bytes) take(id, bytes);
    }
  } else for (const { id, bytes } of engine.visibleEntries(table)) take(id, bytes);
  return out;
}

/** The row ids a where clause is limited to (`id = x`, `id in [...]`, ANDed with anything), if it is. */
function idsOf(e: Expr): string[] | undefined {
  if (e.op === 'cmp' && e.column === 'id' && e.cmp === 'eq' && typeof e.value === 'string') return [e.value];
  if (e.op === 'in' && e.column === 'id') return e.values.filter((v): v is string => typeof v === 'string');
  if (e.op === 'and') {
    for (const a of e.args) {
      const ids = idsOf(a);
      if (ids) return ids;
    }
  }
  return undefined;
}

/** The query's result at `ms`, in the schema version's names (`columns`). */
export function queryAsOf(engine: Engine, q: QueryAst, ms: number, columns: Columns): OutRow[] {
  return queryRows(q, (t, ids) => rowsAt(engine, t, ms, ids), columns);
}

/**
 * A query over rows that `load` gives per table (all of them, or those of `ids`): the past
 * (`rowsAt`) or a branch (branches.ts `rowsOn`), with the semantics of live queries.
 */
export function queryRows(q: QueryAst, load: (table: string, ids?: readonly string[]) => Map<string, Row>, columns: Columns): OutRow[] {
  const tables = new Map<string, Map<string, Row>>();
  const rowsOf = (t: string) => {
    let m = tables.get(t);
    if (!m) tables.set(t, (m = load(t)));
    return m;
  };
  // The top query limited to some ids reads only those rows (its includes read their tables whole).
  const ids = idsOf(q.where);
  const groups = new Map<string, Map<unknown, Row[]>>();
  const run = (q: QueryAst, candidates: Iterable<Row>): OutRow[] => {
    const pred = compilePredicate(q.where);
    let rows = [...candidates].filter(pred);
    rows.sort(rowComparator(q.orderBy) as (a: Row, b: Row) => number);
    const offset = q.offset ?? 0;
    rows = rows.slice(offset, q.limit === undefined ? undefined : offset + q.limit);
    const shape = shaper(q, columns(q.table), true);
    return rows.map((r) => {
      const row: Row = { ...r };
      for (const [name, inc] of Object.entries(q.include ?? {})) {
        const target = rowsOf(inc.query.table);
        if (inc.kind === 'forward') {
          const ref = r[inc.column];
          const hit = typeof ref === 'string' ? target.get(ref) : undefined;
          row[name] = hit ? (run(inc.query, [hit])[0] ?? null) : null;
        } else {
          const key = `${inc.query.table}.${inc.column}`;
          let g = groups.get(key);
          if (!g) {
            g = new Map();
            for (const c of target.values()) {
              const k = c[inc.column];
              if (k === null || k === undefined) continue;
              let list = g.get(k);
              if (!list) g.set(k, (list = []));
              list.push(c);
            }
            groups.set(key, g);
          }
          row[name] = run(inc.query, g.get(r.id) ?? []);
        }
      }
      return shape(row);
    });
  };
  return run(q, (ids && !tables.has(q.table) ? load(q.table, ids) : rowsOf(q.table)).values());
}
