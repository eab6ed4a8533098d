/**
 * Options are checked, never silently ignored: an option a call does not take (a typo, or another
 * library's name for something, such as jazz-tools' `env` or `userBranch`) is `OPTION_INVALID`,
 * naming the options it does take. Small on purpose: the page's client uses it too.
 */
import { JazzError } from './errors.ts';

/** Throws `OPTION_INVALID` for a key of `opts` not among `known` (space-separated names). */
export function checkOptions(what: string, opts: unknown, known: string): void {
  if (opts === undefined) return;
  if (!opts || typeof opts !== 'object' || Array.isArray(opts)) throw new JazzError('OPTION_INVALID', `${what}'s options are an object`);
  for (const k of Object.keys(opts))
    if (!` ${known} `.includes(` ${k} `)) throw new JazzError('OPTION_INVALID', `${what} has no option "${k}"; it takes ${known.replaceAll(' ', ', ')}`, { option: k });
}
