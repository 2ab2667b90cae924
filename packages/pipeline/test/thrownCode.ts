import { isRediverError } from '@rediver/core';

/** The `code` of the RediverError `fn` throws, `undefined` if it does not throw. */
export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isRediverError(err) ? err.code : 'not a RediverError';
  }
  return undefined;
}
