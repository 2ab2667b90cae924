import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { RediverError } from '@rediver/core';

/**
 * The error class of `@rediver/resource`. Codes used: `INVALID_OPTION` (construction, bad arguments),
 * `CLOSED` (the controller was closed), `ABORTED` (a wait's signal fired), `TIMEOUT` (a wait's
 * `timeoutMs` passed). Check with `isRediverError(err, 'TIMEOUT')`, not `instanceof`.
 */
export class ResourceError extends RediverError {
  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ResourceError';
  }
}
