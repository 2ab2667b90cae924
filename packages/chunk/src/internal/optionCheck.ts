import { ERROR_CODES, optionChecker } from '@rediver/core';
import { ChunkError } from '../errors';

/** The chunk package's option checks: `<option> must be <rule> (got <value>)`, `INVALID_OPTION`, `details.option`. */
export const check = optionChecker({
  error: (message, options) => new ChunkError(ERROR_CODES.INVALID_OPTION, message, options),
});
