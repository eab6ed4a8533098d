/**
 * The options of `insert` (the engine's `Db`, its batch writer and the page's client): `{ id }`, a
 * row id the caller chose (any UUID), else a new UUIDv7 is made. Anything else is refused
 * (`OPTION_INVALID`): an option that is not taken is never silently ignored. Kept apart from
 * src/db.ts so the page's client takes only this.
 */
import { JazzError } from '../util/errors.ts';
import { checkOptions } from '../util/options.ts';
import { isUuid } from './ids.ts';

/** What `insert` takes: the row's id, chosen by the caller. */
export interface InsertOptions {
  readonly id?: string;
}

/**
 * The id an insert's options choose, or undefined; anything else they carry is refused. Not checked
 * for being a UUID: the page's client sends it as it is and the worker's engine refuses a bad one
 * (`TYPE_MISMATCH` from `wait`), which keeps this small in the page's script; `insertId` checks it.
 */
export function chosenId(opts: unknown): string | undefined {
  checkOptions('insert', opts, 'id');
  return (opts as InsertOptions | undefined)?.id;
}

/** `chosenId`, checked: a UUID string, else `TYPE_MISMATCH`. */
export function insertId(opts: unknown): string | undefined {
  const id: unknown = chosenId(opts);
  if (id !== undefined && !isUuid(id)) throw new JazzError('TYPE_MISMATCH', "an insert's id is a UUID string");
  return id as string | undefined;
}
