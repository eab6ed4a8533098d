/**
 * A from-scratch query evaluator over plain rows, for differential tests: no indexes, no plans, no
 * incremental state. It shares only the value semantics (predicate and order) with the engine.
 */
import type { QueryAst } from '../query/ast.ts';
import { compilePredicate } from '../query/predicate.ts';
import { rowComparator } from '../query/compare.ts';

export type Tables = ReadonlyMap<string, ReadonlyMap<string, Record<string, unknown>>>;
type Rows = Record<string, unknown>[];

export function evaluate(tables: Tables, q: QueryAst): Rows {
  return run(tables, q, [...(tables.get(q.table)?.values() ?? [])], new Map());
}

function run(tables: Tables, q: QueryAst, candidates: Rows, groups: Map<string, Map<unknown, Rows>>): Rows {
  const pred = compilePredicate(q.where);
  let rows = candidates.filter(pred);
  rows.sort(rowComparator(q.orderBy) as (a: Record<string, unknown>, b: Record<string, unknown>) => number);
  const offset = q.offset ?? 0;
  rows = rows.slice(offset, q.limit === undefined ? undefined : offset + q.limit);
  return rows.map((r) => {
    const out: Record<string, unknown> = q.select ? { id: r.id } : { ...r };
    if (q.select) for (const c of q.select) out[c] = r[c];
    for (const [name, inc] of Object.entries(q.include ?? {})) {
      const table = tables.get(inc.query.table)!;
      if (inc.kind === 'forward') {
        const target = r[inc.column] === null ? undefined : table.get(r[inc.column] as string);
        out[name] = target ? (run(tables, inc.query, [target], groups)[0] ?? null) : null;
      } else {
        const gk = `${inc.query.table}.${inc.column}`;
        let g = groups.get(gk);
        if (!g) {
          g = new Map();
          for (const c of table.values()) {
            const k = c[inc.column];
            if (!g.has(k)) g.set(k, []);
            g.get(k)!.push(c);
          }
          groups.set(gk, g);
        }
        out[name] = run(tables, inc.query, g.get(r.id) ?? [], groups);
      }
    }
    return out;
  });
}
