/**
 * `src/query/where-parser.ts` and `src/query/where-object.ts` as `dist/jazz-worker.js` is built
 * (vite.config.ts puts this module in their place for builder.ts's imports). The page turns
 * `where` strings and objects into expressions (`QueryBuilder.where`, the elements' `where`
 * attribute) and sends the worker query ASTs, so nothing in the worker reads either form; the
 * parser and the object reader would be ~2.5 and ~1.6 kB of the worker's 80 kB gzipped for
 * nothing. A `where` that reached the worker anyway says so at once instead of misreading it.
 */
import type { Expr } from '../src/query/ast.ts';
import { JazzError } from '../src/util/errors.ts';

export function parseWhere(text: string): Expr {
  throw new JazzError('QUERY_INVALID', `the database worker takes conditions as expressions; parse "${text}" on the page (jazz.js) before sending it`);
}

export function whereFromObject(_obj: unknown): Expr {
  throw new JazzError('QUERY_INVALID', 'the database worker takes conditions as expressions; build them from objects on the page (jazz.js) before sending them');
}
