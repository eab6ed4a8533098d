/**
 * `src/query/where-parser.ts` as `dist/jazz-worker.js` is built (vite.config.ts puts this module in
 * its place for builder.ts's import). The page parses `where` strings (`QueryBuilder.where`, the
 * elements' `where` attribute) and sends the worker query ASTs, so nothing in the worker parses
 * text; the parser would be ~2.5 kB of the worker's 80 kB gzipped for nothing. A `where` string
 * that reached the worker anyway says so at once instead of misreading it.
 */
import type { Expr } from '../src/query/ast.ts';
import { JazzError } from '../src/util/errors.ts';

export function parseWhere(text: string): Expr {
  throw new JazzError('QUERY_INVALID', `the database worker takes conditions as expressions; parse "${text}" on the page (jazz.js) before sending it`);
}
