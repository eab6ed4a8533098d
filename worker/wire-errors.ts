/**
 * Errors across the page ↔ worker boundary. Comlink's own "throw" handler keeps only an error's
 * name, message and stack; ours also keeps a `JazzError`'s `code` and `details`, so the page
 * catches the same typed error the engine threw (`e.code === 'ROW_NOT_FOUND'`). Installed by both
 * sides (the worker entry and the page client) before any call.
 */
import * as Comlink from 'comlink';
import { JazzError, QueryParseError, type AnyErrorCode } from '../src/util/errors.ts';
import type { WireError } from './protocol.ts';

/** A thrown value as plain data; anything that is not a `JazzError` gets an empty `code`. */
export function toWireError(e: unknown): WireError {
  if (e instanceof JazzError) return e.toJSON();
  if (e instanceof Error) return { name: e.name, code: '', message: e.message, details: {} };
  return { name: 'Error', code: '', message: String(e), details: {} };
}

/** Rebuilds the error: a `JazzError` (or `QueryParseError`) when it had a code, else a plain `Error`. */
export function fromWireError(w: WireError): Error {
  if (!w.code) return Object.assign(new Error(w.message), { name: w.name });
  if (w.code === 'QUERY_PARSE' && typeof w.details['position'] === 'number') {
    // Rebuild without re-deriving the message: QueryParseError's constructor formats its own.
    const e = Object.create(QueryParseError.prototype) as QueryParseError;
    return Object.assign(e, new JazzError('QUERY_PARSE', w.message, w.details), { name: w.name, position: w.details['position'] });
  }
  const e = new JazzError(w.code as AnyErrorCode, w.message, w.details);
  if (w.name && w.name !== 'JazzError') e.name = w.name;
  return e;
}

let installed = false;

/** Makes Comlink carry `JazzError`s whole. Idempotent. */
export function installWireErrors(): void {
  if (installed) return;
  installed = true;
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (value instanceof JazzError) return [{ isError: 'jazz', value: value.toJSON() }, []];
      return base.serialize(thrown);
    },
    deserialize(serialized: unknown) {
      const s = serialized as { isError: unknown; value: WireError };
      if (s.isError === 'jazz') throw fromWireError(s.value);
      return base.deserialize(serialized);
    },
  });
}
