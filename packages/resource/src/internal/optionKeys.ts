import { findUnknownOption, unknownOptionMessage } from '@rediver/core';
import { ResourceError } from '../errors';

/** The `INVALID_OPTION` error for a key `component` does not know (did-you-mean), or undefined when all are known. */
export function unknownKeyError(
  component: string,
  options: object,
  known: readonly string[],
): ResourceError | undefined {
  const unknown = findUnknownOption(options, known);
  if (unknown === undefined) return undefined;
  return new ResourceError('INVALID_OPTION', unknownOptionMessage(component, unknown, known), {
    details: { option: unknown.key },
  });
}
