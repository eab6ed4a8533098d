/**
 * The messages between a Playwright spec (through its page) and the test workers. One request at
 * a time; every request gets exactly one reply. Errors travel as `{ type: 'error' }` with the
 * error's name, code and message, never as thrown objects.
 */
import type { CaseResult } from './harness.ts';

/** To `contract.worker.ts`. */
export type ContractRequest =
  /** The full names of the cases the worker registered. */
  | { readonly type: 'list' }
  /** Run one case (with its hooks). */
  | { readonly type: 'run'; readonly name: string };

export type ContractReply = { readonly type: 'list'; readonly cases: readonly string[] } | { readonly type: 'result'; readonly result: CaseResult } | WorkerFailure;

/** To `persistence.worker.ts`. */
export type PersistenceRequest =
  /** Open `dbName`, commit `entries` (hex key → hex value) in one transaction, wait for it to be durable. */
  | { readonly type: 'write'; readonly dbName: string; readonly entries: Readonly<Record<string, string>>; readonly close: boolean }
  /** Open `dbName`, check its integrity, return every entry (hex), close it. */
  | { readonly type: 'read'; readonly dbName: string }
  /** Delete `dbName` from OPFS. */
  | { readonly type: 'delete'; readonly dbName: string };

export type PersistenceReply =
  | { readonly type: 'written' }
  | { readonly type: 'entries'; readonly entries: Readonly<Record<string, string>>; readonly integrityEntries: number }
  | { readonly type: 'deleted' }
  | WorkerFailure;

/** A request that failed: the error as plain data. */
export interface WorkerFailure {
  readonly type: 'error';
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

/** The plain form of a thrown value. */
export function failure(e: unknown): WorkerFailure {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { type: 'error', name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { type: 'error', name: 'Error', message: String(e) };
}

/** What `holders.worker.ts` posts on the BroadcastChannel `jazz-e2e-holders` (see there). */
export interface HolderEvent {
  readonly worker: string;
  /** `ended`: posted by the monitor page when the worker's liveness lock was released (it ended). */
  readonly event: 'open' | 'close' | 'open-refused' | 'ended';
  readonly t: number;
  readonly file: string;
  readonly error?: string;
}
