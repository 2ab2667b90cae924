import { suggestName } from '@rediver/core';

/**
 * What a message about an unknown option adds: ` (did you mean X?)` when a known name is close to `key`, else
 * ` (options: a, b, …)` when `listOptions`, else nothing.
 */
export function didYouMean(key: string, known: readonly string[], listOptions: boolean): string {
  const hint = suggestName(key, known);
  if (hint !== undefined) return ` (did you mean ${hint}?)`;
  return listOptions ? ` (options: ${known.join(', ')})` : '';
}
