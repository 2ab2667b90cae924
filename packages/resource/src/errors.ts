import type { RediverErrorOptions } from '@rediver/core';
import { errorCodes, RediverError } from '@rediver/core';

/** The codes `@rediver/resource` throws (the README's Errors table says when). */
export const RESOURCE_ERROR_CODES = errorCodes('INVALID_OPTION', 'CLOSED', 'ABORTED', 'TIMEOUT', 'INTERNAL');
/** A code `@rediver/resource` throws. */
export type ResourceErrorCode = (typeof RESOURCE_ERROR_CODES)[keyof typeof RESOURCE_ERROR_CODES];

/**
 * The error class of `@rediver/resource`, with one of `RESOURCE_ERROR_CODES`. Check with
 * `isRediverError(err, 'TIMEOUT')` (re-exported here), not `instanceof`.
 */
export class ResourceError extends RediverError {
  constructor(code: ResourceErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ResourceError';
  }
}
