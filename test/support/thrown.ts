/**
 * The error `fn` throws, checked to be a `type` (anything else is rethrown); a test fails
 * when `fn` does not throw. For asserting on a validation error's fields rather than only
 * that something threw.
 */
export function thrown<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}
