import { optionChecker } from '@rediver/core';
import type { OptionChecker } from '@rediver/core';
import { ResourceError } from '../errors';

/** The resource package's option checks for `component`: `<component>: <option> must be <rule>, got <value>`. */
export function resourceOptionChecker(component: string): OptionChecker {
  return optionChecker({
    error: (message, o) => new ResourceError('INVALID_OPTION', message, o),
    message: (option, rule, got) =>
      `${component}: ${option} must be ${rule}${got === undefined ? '' : `, got ${got}`}`,
  });
}
