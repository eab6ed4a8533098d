/**
 * The context that carries a `<jazz-db>`'s database to the elements inside it (the Lit context
 * protocol, `@lit/context`): a descendant dispatches a `context-request` event that bubbles and is
 * composed, so it reaches its `<jazz-db>` from inside any number of shadow roots.
 */
import { createContext } from '@lit/context';
import type { BrowserDb, DynamicApp } from '../worker/page/index.ts';

/** The database an element works on; `undefined` until its `<jazz-db>` has a schema. */
export type JazzDbValue = BrowserDb<DynamicApp> | undefined;

/** The context key `<jazz-db>` provides and the other elements consume (with updates). */
export const jazzDbContext = createContext<JazzDbValue>(Symbol.for('jazz-elements/db'));
