/**
 * Typed errors. Every failure a user can cause is a `JazzError` with a stable `code` and a message
 * that says what to do. Codes are part of the public API: add new ones, never rename old ones.
 */
export type ErrorCode =
  | 'SCHEMA_INVALID'
  | 'QUERY_PARSE'
  /** A query that cannot run: a bad order, limit, include or condition (a bad option is OPTION_INVALID). */
  | 'QUERY_INVALID'
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_COLUMN'
  | 'TYPE_MISMATCH'
  | 'MISSING_VALUE'
  | 'ROW_NOT_FOUND'
  | 'ROW_DELETED'
  | 'ROW_EXISTS'
  | 'BATCH_NOT_FOUND'
  /** An option the call does not take, or a value it cannot use: options are never silently ignored. */
  | 'OPTION_INVALID'
  /** Something this database cannot do where it is asked (a transaction on a branch, a second open). */
  | 'UNSUPPORTED'
  | 'BRANCH_NOT_FOUND'
  /** A branch name taken by another line, or a branch others started from. */
  | 'BRANCH_CONFLICT'
  /** A transaction whose function threw: nothing of it was written. */
  | 'TRANSACTION_ABORTED'
  /** The page script, the worker file or the server speak different protocol versions. */
  | 'PROTOCOL_MISMATCH'
  /** An element's attribute that is not a query (jazz-action, into, jazz-class, row-id, order). */
  | 'ATTRIBUTE_INVALID'
  /** An element's template: missing, or binding where data could become code. */
  | 'TEMPLATE_INVALID'
  | 'NO_SERVER'
  | 'BATCH_REJECTED'
  | 'TOO_LARGE'
  | 'MIGRATION_INVALID'
  | 'TRANSACTION_CONFLICT'
  | 'PERMISSION_DENIED'
  | 'CLOSED'
  | 'STORAGE_CORRUPT'
  | 'STORAGE_FORMAT'
  | 'STORAGE_QUOTA'
  | 'STORAGE_IO'
  | 'STORAGE_LOCKED'
  /**
   * A file that does not exist, was deleted, or may not be read: one code for all three, so a
   * file's existence does not leak to someone who may not read it (src/files).
   */
  | 'FILE_NOT_FOUND'
  /**
   * A file whose parts are missing or do not match its record (sizes, SHA-256), or that its writer
   * has not finished (a stream still open, or whose writer went away): src/files.
   */
  | 'FILE_INCOMPLETE';

/** A code a `JazzError` may carry: the engine's, or one the sync server sent (src/sync/wire-errors.ts). */
export type AnyErrorCode = ErrorCode | keyof typeof import('../sync/wire-errors.ts').SERVER_ERROR_CODES;

export class JazzError extends Error {
  readonly code: AnyErrorCode;
  /** Extra structured facts about the failure (column, position, ...), safe to serialise. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AnyErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'JazzError';
    this.code = code;
    this.details = details;
  }

  /** The plain form used on the wire (worker ↔ page, client ↔ server). */
  toJSON(): { name: string; code: AnyErrorCode; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: { ...this.details } };
  }
}

/** A query string that does not parse; `position` is the 0-based offset of the mistake. */
export class QueryParseError extends JazzError {
  readonly position: number;
  constructor(message: string, text: string, position: number) {
    super('QUERY_PARSE', `${message} at position ${position}: ${pointAt(text, position)}`, { position, text });
    this.name = 'QueryParseError';
    this.position = position;
  }
}

function pointAt(text: string, position: number): string {
  const before = text.slice(Math.max(0, position - 20), position);
  const after = text.slice(position, position + 20);
  return `"${before}⟨here⟩${after}"`;
}
