/**
 * Every error code that crosses the sync connection, in one list (the `code` of `error` and
 * `reject` frames, and the cause of a close): the engine's own codes (`ErrorCode`: a batch that
 * failed a check carries the check's code) and the ones only the server or the connection give,
 * listed here with what each means. A client treats a code it does not know (from a newer
 * server) as an error of that message, never as a reason to fail.
 */
import type { ErrorCode } from '../util/errors.ts';

export const SERVER_ERROR_CODES = {
  UNAUTHORIZED: 'the credentials are missing or were refused',
  TOKEN_EXPIRED: 'the token expired: sign in again',
  AUTH_NOT_CONFIGURED: 'the server has no way to check this kind of credential',
  UNKNOWN_APP: 'the server has no app with this id',
  NO_SCHEMA: 'the app has no schema published yet',
  SCHEMA_MISMATCH: "the server does not know the client's schema version",
  AUTHOR_MISMATCH: 'a version names another author than the signed-in user',
  RATE_LIMITED: 'the client sent more messages per second than the server allows',
  TOO_MANY_SUBSCRIPTIONS: 'the connection has the most subscriptions the server allows',
  TOO_MANY_ROWS: 'the connection holds the most rows the server allows',
  BRANCH_REJECTED: 'a branch write the server refused (with the reason)',
  PROTOCOL: 'a malformed or unexpected message',
  STORAGE: "the server's store cannot write now: the client keeps its batches and retries",
  SERVER: 'the server is shutting down or restarting',
  INTERNAL: 'the server failed to handle the message (its log has the stack)',
} as const;

/** A code a server sends: the engine's, or one of `SERVER_ERROR_CODES`. */
export type WireErrorCode = ErrorCode | keyof typeof SERVER_ERROR_CODES;
