import { isRediverError, RediverError } from '@rediver/core';
import type { ErrorCode, RediverErrorOptions } from '@rediver/core';

/** The ingest server's error: a core `RediverError` whose `status` is the HTTP status it answers with. */
export class IngestServerError extends RediverError {
  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'IngestServerError';
  }
}

/**
 * True when `value` is an `IngestServerError` (from any installed copy: checked by core's brand and the error's
 * `name`, not `instanceof`), optionally with one of `codes`. Another package's `RediverError` is not one.
 */
export function isIngestServerError(value: unknown, ...codes: ErrorCode[]): value is IngestServerError {
  return isRediverError(value, ...codes) && value.name === 'IngestServerError';
}
