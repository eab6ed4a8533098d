/**
 * What `import { describe, it, expect } from 'vitest'` means inside the browser tests: the
 * registration functions of `harness.ts`, and Vitest's own `expect` (the `@vitest/expect` package
 * Vitest itself is built on, set up the way Vitest sets it up), so the contract suites keep exactly
 * the assertions they have under Vitest.
 *
 * Aliased in for `vitest` by `e2e/vite.config.ts` (the worker bundle), by `tsconfig.worker.json`
 * (its type check) and by `playwright.config.ts` (the specs list the suites' cases in Node).
 * Only what the suites use is here; a suite needing more fails the type check, not silently.
 */
import { ASYMMETRIC_MATCHERS_OBJECT, ChaiStyleAssertions, GLOBAL_EXPECT, JestAsymmetricMatchers, JestChaiExpect, JestExtend, chai, getState, setState } from '@vitest/expect';
import type { ExpectStatic } from '@vitest/expect';

export { afterEach, beforeEach, describe, it, test } from './harness.ts';
export type { TestContext } from './harness.ts';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

function createExpect(): ExpectStatic {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect);
    setState({ assertionCalls: assertionCalls + 1 }, expect);
    return chai.expect(value, message);
  }) as unknown as ExpectStatic;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
  setState(
    {
      assertionCalls: 0,
      isExpectingAssertions: false,
      isExpectingAssertionsError: null,
      expectedAssertionsNumber: null,
      expectedAssertionsNumberErrorGen: null,
    },
    expect,
  );
  (globalThis as Record<symbol, unknown>)[GLOBAL_EXPECT] = expect;
  return expect;
}

export const expect: ExpectStatic = createExpect();
