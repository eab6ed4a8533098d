/**
 * Opening the page's client in a spec: `e2e/client.html` puts `createDb` and `s` on `window.jazz`
 * (e2e/page/harness.ts); `openClient` opens a database there and keeps `{ app, db }` in `window.t`
 * for the spec's later `page.evaluate` calls.
 */
import type { Page } from '@playwright/test';
import type { EnginePage } from './engines.ts';

/** The schema the client specs use. */
export const SCHEMA = {
  tables: {
    projects: { name: 'string' },
    todos: {
      title: 'string',
      done: { type: 'boolean', default: false },
      priority: { type: 'int', optional: true },
      projectId: { ref: 'projects', optional: true },
    },
  },
} as const;

export interface OpenOptions {
  readonly dbName: string;
  readonly driver?: 'opfs' | 'idb' | 'memory';
  /** Another worker script (e2e/worker/no-opfs.worker.ts ...) instead of worker/worker.ts. */
  readonly workerUrl?: string;
  /** Where the page is (default /e2e/client.html on the e2e server). */
  readonly url?: string;
  /** A sync server for the database (`createDb`'s `server`, e.g. `ws://127.0.0.1:4000`); none by default. */
  readonly server?: string;
  /** The app on that server (`createDb`'s `appId`). */
  readonly appId?: string;
  /** The sync client's reconnect backoff (`createDb`'s `backoff`). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Keep the page's console warnings from before `createDb` on, in `window.t.warnings`. */
  readonly collectWarnings?: boolean;
  /** Another schema (its JSON form) instead of `SCHEMA`. */
  readonly schema?: unknown;
  /** A branch to read and write on (`createDb`'s `branch`). */
  readonly branch?: string;
  /** Migrations (their JSON form) for `createDb`. */
  readonly migrations?: readonly unknown[];
}

/** Loads the client page and opens a database on it; resolves once the worker has opened it. */
export async function openClient(page: Page | EnginePage, opts: OpenOptions): Promise<void> {
  await page.goto(opts.url ?? '/e2e/client.html');
  // Firefox and WebKit pages (support/engines.ts) evaluate the same functions as Playwright's.
  await (page as Page).evaluate(pageReady);
  await (page as Page).evaluate(
    async ([schema, opts]) => {
      const { createDb, s } = window.jazz;
      const warnings: string[] = [];
      if (opts.collectWarnings) {
        const warn = console.warn.bind(console);
        console.warn = (...args: unknown[]) => (warnings.push(args.map(String).join(' ')), warn(...args));
      }
      const app = s.fromJSON((opts.schema ?? schema) as never);
      const db = createDb({
        app,
        ...(opts.migrations ? { migrations: opts.migrations } : {}),
        driver: { type: opts.driver ?? 'opfs', dbName: opts.dbName },
        ...(opts.workerUrl ? { workerUrl: new URL(opts.workerUrl, location.href) } : {}),
        ...(opts.server !== undefined ? { server: opts.server } : {}),
        ...(opts.appId !== undefined ? { appId: opts.appId } : {}),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        ...(opts.branch !== undefined ? { branch: opts.branch } : {}),
      });
      await db.ready;
      window.t = { app, db, warnings };
    },
    [SCHEMA, opts] as const,
  );
}

/** Resolves in the page once its harness script has run (`data-ready="yes"` on the root). */
export function pageReady(): Promise<void> {
  return new Promise((resolve) => {
    const check = (): unknown => (document.documentElement.dataset['ready'] === 'yes' ? resolve() : setTimeout(check, 10));
    check();
  });
}
