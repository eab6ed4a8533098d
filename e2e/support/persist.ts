/**
 * The restart test's steps (`e2e/persist.html`, run by `e2e/page/persist-run.ts`), shared by the
 * Chromium spec (client-persistence.spec.ts) and the Firefox and WebKit one (engines/storage.spec.ts).
 */
export interface PersistCase {
  readonly dbName: string;
  readonly driver: 'opfs' | 'idb';
  /** Closed by the page before the browser goes (the others are left open, as a closed tab leaves them). */
  readonly close: boolean;
}

export const PERSIST_CASES: readonly PersistCase[] = [
  { dbName: 'persist-opfs', driver: 'opfs', close: false },
  { dbName: 'persist-opfs-closed', driver: 'opfs', close: true },
  { dbName: 'persist-idb', driver: 'idb', close: false },
];

/** The page that runs `step` over `cases`. */
export function persistUrl(step: 'write' | 'read', cases: readonly PersistCase[] = PERSIST_CASES): string {
  return `/e2e/persist.html?step=${step}&cases=${cases.map((c) => `${c.dbName}:${c.driver}:${c.close ? 1 : 0}`).join(',')}`;
}

/** What the read step finds of one database when everything written is there. */
export const KEPT = [{ name: 'kept and renamed', todos: 200, first: 'todo 000', last: 'todo 199' }];
