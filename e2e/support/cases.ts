/**
 * The cases `e2e/worker/suites.ts` defines, found in Node: the suites are registered with stub
 * OPFS functions (nothing runs) and the harness lists them. The spec compares this list with the
 * worker's own, so a case the worker fails to register, or drops, shows up as a failure.
 * Loaded through the `vitest` alias of tsconfig.worker.json (see playwright.config.ts).
 */
import { listCases } from '../worker/harness.ts';
import { registerSuites } from '../worker/suites.ts';

let cached: string[] | undefined;

export function suiteCases(): string[] {
  if (cached) return cached;
  const unused = (): never => {
    throw new Error('Listing only: the suites run in the browser.');
  };
  registerSuites({
    prepareBlockFile: unused,
    blockFile: unused,
    openFile: unused,
    openStore: unused,
    openIdbStore: unused,
    cleanUp: unused,
  });
  cached = listCases();
  return cached;
}
