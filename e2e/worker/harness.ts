/**
 * A tiny test runner with Vitest's registration API (`describe`, `it`, `beforeEach`, `afterEach`),
 * so the contract suites in `src/store/testing/` run unchanged where Vitest cannot: inside a
 * dedicated worker in Chromium. `vitest-shim.ts` re-exports it, with Vitest's own `expect`, under
 * the name `vitest` (a Vite alias in `e2e/vite.config.ts`).
 *
 * Semantics kept from Vitest, as far as the suites rely on them: `describe` bodies run at once and
 * register; hooks of every enclosing `describe` run around each test (`beforeEach` outermost first,
 * `afterEach` innermost first, and always); calling `skip` on the test context ends a test as skipped (the spec counts that as a failure); a test fails on
 * the first thrown error or rejected promise, or when it runs past its timeout.
 *
 * Platform-neutral on purpose: the Playwright specs load it in Node too, to list the cases a suite
 * defines independently of the worker that runs them.
 */

/** What a test body receives; the part of Vitest's `TestContext` the suites use. */
export interface TestContext {
  readonly task: { readonly name: string };
  /** Ends the test as skipped. */
  skip(note?: string): never;
}

export type TestFunction = (ctx: TestContext) => unknown;
export type HookFunction = () => unknown;

/** The outcome of one case, as reported to the Playwright spec. */
export interface CaseResult {
  /** Every enclosing describe's name and the test's, joined with " > ". */
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly ms: number;
  /** The first error (and any from afterEach hooks), with stack, when it failed. */
  readonly errors: readonly string[];
  /** What the case printed with console.log / warn / error. */
  readonly logs: readonly string[];
}

interface Suite {
  readonly name: string;
  readonly parent: Suite | undefined;
  readonly beforeEach: HookFunction[];
  readonly afterEach: HookFunction[];
}

interface Case {
  readonly name: string;
  readonly suite: Suite;
  readonly fn: TestFunction;
  readonly timeout: number;
}

const DEFAULT_TIMEOUT = 60_000;
const SEPARATOR = ' > ';

const root: Suite = { name: '', parent: undefined, beforeEach: [], afterEach: [] };
let current: Suite = root;
const cases = new Map<string, Case>();

/** Registers a group; `body` runs now and registers tests and hooks inside it. */
export function describe(name: string, body: () => void): void {
  const suite: Suite = { name, parent: current, beforeEach: [], afterEach: [] };
  const outer = current;
  current = suite;
  try {
    const result: unknown = body();
    if (result instanceof Promise) throw new Error(`describe("${name}") got an async body; register tests synchronously.`);
  } finally {
    current = outer;
  }
}

/** Registers a test. */
export function it(name: string, fn: TestFunction, timeout = DEFAULT_TIMEOUT): void {
  const full = fullName(current, name);
  if (cases.has(full)) throw new Error(`Two tests are named "${full}".`);
  cases.set(full, { name: full, suite: current, fn, timeout });
}

export { it as test };

export function beforeEach(fn: HookFunction): void {
  current.beforeEach.push(fn);
}

export function afterEach(fn: HookFunction): void {
  current.afterEach.push(fn);
}

/** The full names of every registered test, in registration order. */
export function listCases(): string[] {
  return [...cases.keys()];
}

/** Runs one registered test with its hooks. Never throws: failures are in the result. */
export async function runCase(name: string): Promise<CaseResult> {
  const test = cases.get(name);
  if (!test) return { name, status: 'failed', ms: 0, errors: [`No test is named "${name}".`], logs: [] };
  const chain: Suite[] = [];
  for (let s: Suite | undefined = test.suite; s; s = s.parent) chain.unshift(s);
  const errors: string[] = [];
  let skipped = false;
  const logs = captureConsole();
  const started = performance.now();
  try {
    try {
      for (const suite of chain) for (const hook of suite.beforeEach) await withTimeout(hook, test.timeout, 'beforeEach');
      const ctx: TestContext = {
        task: { name: test.name },
        skip(note?: string): never {
          throw new SkipSignal(note);
        },
      };
      await withTimeout(() => test.fn(ctx), test.timeout, 'the test');
    } catch (e) {
      if (e instanceof SkipSignal) skipped = true;
      else errors.push(describeError(e));
    }
    for (const suite of [...chain].reverse()) {
      for (const hook of [...suite.afterEach].reverse()) {
        try {
          await withTimeout(hook, test.timeout, 'afterEach');
        } catch (e) {
          errors.push(`in afterEach: ${describeError(e)}`);
        }
      }
    }
  } finally {
    logs.restore();
  }
  const status = errors.length > 0 ? 'failed' : skipped ? 'skipped' : 'passed';
  return { name, status, ms: Math.round(performance.now() - started), errors, logs: logs.lines };
}

function fullName(suite: Suite, name: string): string {
  const parts = [name];
  for (let s: Suite | undefined = suite; s && s !== root; s = s.parent) parts.unshift(s.name);
  return parts.join(SEPARATOR);
}

class SkipSignal extends Error {
  constructor(note?: string) {
    super(note ?? 'skipped');
  }
}

async function withTimeout(fn: () => unknown, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const head = `${e.name}${code !== undefined ? ` [${String(code)}]` : ''}: ${e.message}`;
    const stack = e.stack ?? '';
    // V8 stacks start with "Name: message"; keep the frames only.
    const frames = stack
      .split('\n')
      .filter((line) => line.trimStart().startsWith('at '))
      .slice(0, 12);
    return [head, ...frames].join('\n');
  }
  return String(e);
}

/** Collects console output while a case runs (the suites print their random seeds). */
function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  for (const level of ['log', 'warn', 'error'] as const) {
    console[level] = (...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : safeString(a))).join(' '));
      saved[level].apply(console, args);
    };
  }
  return {
    lines,
    restore() {
      Object.assign(console, saved);
    },
  };
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}
