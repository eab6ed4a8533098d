/** What a client tells the server it holds for a query: its local rows, includes too, with digests. */
import type { Engine } from '../engine/engine.ts';
import type { QueryAst } from '../query/ast.ts';
import type { HaveEntry } from './protocol.ts';

export function haveOf(engine: Engine, q: QueryAst, rows: readonly { readonly id: string; readonly [k: string]: unknown }[], out: HaveEntry[] = [], seen = new Set<string>()): HaveEntry[] {
  for (const row of rows) {
    const key = `${q.table}\u0000${row.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      const d = engine.rowDigest(q.table, row.id);
      if (d) out.push([q.table, row.id, d]);
    }
    for (const [name, inc] of Object.entries(q.include ?? {})) {
      const nested = row[name];
      const list = Array.isArray(nested) ? nested : nested ? [nested] : [];
      haveOf(engine, inc.query, list as { id: string }[], out, seen);
    }
  }
  return out;
}
