/** Invariant checks. A failed assert is a bug in jazz-elements, never a user error. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new Error(`jazz-elements internal error: ${message}`);
}

export function unreachable(value: never): never {
  throw new Error(`jazz-elements internal error: unreachable case ${JSON.stringify(value)}`);
}
