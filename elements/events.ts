/**
 * The elements' events: every one bubbles and is composed (it crosses shadow roots), with a typed
 * `detail`. README.md ("Elements") documents them in one table; keep the two in step.
 *
 * | event          | fired by                         | detail                 |
 * | -------------- | -------------------------------- | ---------------------- |
 * | `jazz-results` | `<jazz-query>`, `<jazz-history>` | `JazzResultsDetail`    |
 * | `jazz-change`  | `<jazz-query>`                   | `JazzChangeDetail`     |
 * | `jazz-settled` | `<jazz-query>`                   | `JazzSettledDetail`    |
 * | `jazz-error`   | every element                    | `JazzErrorDetail`      |
 * | `jazz-status`  | `<jazz-db>`                      | `DbStatus`             |
 * | `jazz-conflict`| `<jazz-query>` (asking for them) | `JazzConflictDetail`   |
 * | `jazz-merge`   | `<jazz-db>`                      | `JazzMergeDetail`      |
 */
import type { DbStatus, FieldConflict, Tier } from '../worker/page/index.ts';
import { AttributeError } from './query-attributes.ts';

/** A row as the elements see it: `id` plus its columns (and included relations). */
export type JazzRow = Readonly<Record<string, unknown>> & { readonly id: string };

/** `jazz-results`: the whole current result, in order, after the first result and every change. */
export interface JazzResultsDetail {
  readonly table: string;
  readonly rows: readonly JazzRow[];
  /** `<jazz-history>`: how many versions the row has (more than `rows` with a `limit`). */
  readonly total?: number;
}

/** `jazz-change`: what changed since the last result (the live query's delta). */
export interface JazzChangeDetail {
  readonly table: string;
  readonly added: readonly JazzRow[];
  readonly removed: readonly JazzRow[];
  readonly changed: readonly JazzRow[];
}

/** `jazz-settled`: the first result of the query is known at this tier. */
export interface JazzSettledDetail {
  readonly table: string;
  readonly tier: Tier;
}

/**
 * `jazz-error`: something the page wrote is wrong (a bad `where`, an unknown table or column, a
 * value that does not fit its column, no `<jazz-db>` or no schema), a write or query failed, the
 * server refused a batch, or the sync server reported a problem.
 */
export interface JazzErrorDetail {
  /** The `JazzError` code (`QUERY_PARSE`, `UNKNOWN_COLUMN`, `TYPE_MISMATCH`, ...). */
  readonly code: string;
  readonly message: string;
  /** The attribute the mistake is in (`where`, `order-by`, `table`, ...), when it is in one. */
  readonly attribute?: string | undefined;
  /** The 0-based offset of the mistake in that attribute's text. */
  readonly position?: number | undefined;
  /** The write's `batchId` (its handle's), when the server rejected a batch. */
  readonly batchId?: string;
  /** The error itself (a `JazzError` where the engine raised it). */
  readonly error: unknown;
}

/** `jazz-status`: the database's status, whenever it changes. */
export type JazzStatusDetail = DbStatus;

/**
 * `jazz-conflict`: a row of a `<jazz-query>` that asks for conflicts gained, lost or changed them
 * (conflicts.ts): `conflicts` is its `$conflicts` now, empty when they are over.
 */
export interface JazzConflictDetail {
  readonly table: string;
  readonly id: string;
  readonly conflicts: readonly FieldConflict[];
}

/**
 * `jazz-merge`: the `<jazz-db>`'s database merged branch `from` into its branch `into` (`db.merge`,
 * from the page's script or an element), written as the batch `batchId` (undo it with
 * `db.revertBatch(batchId)`) on the rows `ids`.
 */
export interface JazzMergeDetail {
  readonly from: string;
  readonly into: string;
  readonly batchId: string;
  readonly ids: readonly string[];
}

export interface JazzEventMap {
  'jazz-results': CustomEvent<JazzResultsDetail>;
  'jazz-change': CustomEvent<JazzChangeDetail>;
  'jazz-settled': CustomEvent<JazzSettledDetail>;
  'jazz-error': CustomEvent<JazzErrorDetail>;
  'jazz-status': CustomEvent<JazzStatusDetail>;
  'jazz-conflict': CustomEvent<JazzConflictDetail>;
  'jazz-merge': CustomEvent<JazzMergeDetail>;
  'jazz-progress': CustomEvent<JazzProgressDetail>;
}

/** `jazz-progress` (`<jazz-form>` storing a submit's files): bytes stored of all its files, and the file being stored. */
export interface JazzProgressDetail {
  readonly loaded: number;
  readonly total: number;
  /** The column of the file being stored. */
  readonly column: string;
  /** Its file name. */
  readonly name: string;
}

declare global {
  // Lets `el.addEventListener('jazz-change', (e) => e.detail.added)` type-check on any element,
  // and on `document` or `window`, where the events arrive too (they bubble and are composed).
  interface HTMLElementEventMap extends JazzEventMap {}
  interface DocumentEventMap extends JazzEventMap {}
  interface WindowEventMap extends JazzEventMap {}
  interface ShadowRootEventMap extends JazzEventMap {}
}

/** Dispatches one of the elements' events from `target`: bubbling, composed, not cancelable. */
export function fire<K extends keyof JazzEventMap>(target: EventTarget, type: K, detail: JazzEventMap[K]['detail']): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}

/** A mistake only the elements can see (no `<jazz-db>` around an element, no schema): a code and what to do. */
export class ElementError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ElementError';
    this.code = code;
  }
}

const warned = new Set<string>();

/** Forgets which warnings were given (for tests that reuse one page; not in index.ts's exports). */
export function forgetWarnings(): void {
  warned.clear();
}

/**
 * Reports a mistake of the page's author or a failure of the network: `jazz-error` from `target`,
 * and one `console.warn` per distinct code and message for the life of the page (an error that
 * comes back on every retry or update is not repeated in the console).
 */
export function report(target: EventTarget, detail: JazzErrorDetail): void {
  const key = `${detail.code}: ${detail.message}`;
  if (!warned.has(key)) {
    warned.add(key);
    console.warn(`jazz-elements: ${key}`);
  }
  fire(target, 'jazz-error', detail);
}

/** The `jazz-error` detail for any thrown value; `attribute`/`position` locate a mistake in markup. */
export function errorDetail(error: unknown, where: { attribute?: string; position?: number } = {}): JazzErrorDetail {
  if (error instanceof AttributeError) return errorDetail(error.error, { attribute: error.attribute, position: error.position });
  const e = error as { code?: unknown; message?: unknown; position?: unknown; details?: { position?: unknown; attribute?: unknown } } | null;
  const code = typeof e?.code === 'string' && e.code ? e.code : 'ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const position = where.position ?? (typeof e?.position === 'number' ? e.position : typeof e?.details?.position === 'number' ? e.details.position : undefined);
  const attribute = where.attribute ?? (typeof e?.details?.attribute === 'string' ? e.details.attribute : undefined);
  return {
    code,
    message,
    attribute,
    position,
    error,
  };
}
