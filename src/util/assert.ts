/**
 * Assertions catch programmer errors (TigerStyle): a failed assertion means a bug in our code,
 * never bad input. Bad input is rejected with a typed rejection instead.
 */

/** Thrown when an internal invariant does not hold. Never caught inside the engine. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Throws AssertionError with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch the type system proves unreachable (exhaustive switches). */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
