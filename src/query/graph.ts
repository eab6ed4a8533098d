/**
 * Compiles a query into its graph:
 *
 *   Source (index scan / lookup / ids, in query order) → Filter → Take → Join per include → ResultView
 *
 * Nodes appear only when the query needs them. The source is attached to the engine (it receives
 * the table's changes directly) for top-level queries; the graphs of included rows are fed by their
 * parent's Join instead.
 */
import type { Engine } from '../engine/engine.ts';
import type { Expr, QueryAst } from './ast.ts';
import { planQuery } from './plan.ts';
import { rowComparator } from './compare.ts';
import { compilePredicate, type Predicate } from './predicate.ts';
import { readsSystemFields } from './validate.ts';
import { Source } from './ivm/source.ts';
import { Filter } from './ivm/filter.ts';
import { Take } from './ivm/take.ts';
import { Join } from './ivm/join.ts';
import { ResultView, type FirstRows } from './ivm/view.ts';
import { shaper } from './ivm/shape.ts';
import type { Input } from './ivm/operator.ts';

export interface Graph {
  readonly source: Source;
  readonly view: ResultView;
  /** Holds rows past a limited window for its later changes (`Take.prefetch`); no-op without a limit. */
  prefetch(): void;
  destroy(): void;
}

export interface GraphOptions {
  /** Hand a long result's first rows over before the rest is read (see ResultView.hydrate). */
  readonly first?: FirstRows;
  /** A condition ANDed to the query's own (an include's link to its parent). */
  readonly extra?: Expr;
  /** Receive the table's changes from the engine (top-level queries). */
  readonly attach: boolean;
  /** Called synchronously whenever the result changes. */
  readonly onChange: () => void;
  /** A row check per table (the read permission of a session); applied at every level. */
  readonly readFilter?: (table: string) => Predicate | undefined;
  /**
   * Whether the read check of a table reads system fields (`$createdBy`, ...): then the table's rows
   * are read with them. (A check that meets a row without them reads them itself, more slowly.)
   */
  readonly readFilterSys?: (table: string) => boolean;
  /**
   * How result rows of a table look to the reader: (output name, internal name) pairs of the
   * columns it has, or undefined to return rows as stored (a schema version's view, view.ts).
   * Applied at every level.
   */
  readonly columns?: (table: string) => readonly (readonly [string, string])[] | undefined;
}

/** What builds a graph: `buildGraph`, handed to Join for the graphs of included rows (so join.ts does not import this module back). */
export type BuildGraph = (engine: Engine, q: QueryAst, opts: GraphOptions) => Graph;

export function buildGraph(engine: Engine, q: QueryAst, opts: GraphOptions): Graph {
  const t = engine.table(q.table);
  const where: Expr = !opts.extra ? q.where : q.where.op === 'true' ? opts.extra : { op: 'and', args: [opts.extra, q.where] };
  const cmp = rowComparator(q.orderBy);
  const plan = planQuery(engine, t, { ...q, where });
  // Rows carry their system fields only where the query or the read check needs them.
  const sys = readsSystemFields(q, opts.extra) || (opts.readFilterSys?.(q.table) ?? false);
  const source = new Source(engine, t, plan, cmp, sys);
  let head: Input = source;
  const allowed = opts.readFilter?.(q.table);
  if (allowed) head = new Filter(head, allowed);
  if (where.op !== 'true') head = new Filter(head, compilePredicate(where));
  const take = q.limit !== undefined || (q.offset ?? 0) > 0 ? new Take(head, cmp, q.limit ?? Infinity, q.offset ?? 0) : undefined;
  if (take) head = take;
  for (const [name, inc] of Object.entries(q.include ?? {})) head = new Join(head, engine, name, inc, opts, buildGraph);
  const view = new ResultView(head, cmp, shaper(q, opts.columns?.(q.table), sys), opts.onChange);
  if (opts.attach) source.attach();
  // The result's length before reading it, where it is the table's count of live rows: every row,
  // read through an index that holds each once (not an array column's, one entry per element).
  const everyRow = plan.kind === 'scan' && !plan.prefix && plan.column?.schema.type !== 'array' && where.op === 'true' && !allowed && !take;
  view.hydrate(opts.first, everyRow ? () => t.liveCount : undefined);
  return {
    source,
    view,
    prefetch: () => take?.prefetch(),
    destroy: () => view.destroy(),
  };
}
