/**
 * What the elements use of the engine beyond the page client's API: value checks for form
 * controls, and compiled conditions for `jazz-if`/`jazz-class`. Elements reach the engine only
 * through worker/page (the layer rule that the architecture test in scripts/ checks); this is not
 * part of the public API.
 */
export { checkValue } from '../../src/schema/schema.ts';
export { checkExpr } from '../../src/query/validate.ts';
export { compilePredicate, type Predicate } from '../../src/query/predicate.ts';
export { TIERS } from '../../src/engine/tiers.ts';
