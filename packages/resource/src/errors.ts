import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { RediverError } from '@rediver/core';

/** The codes `@rediver/resource` throws (see the README's Errors section). */
export const RESOURCE_ERROR_CODES = Object.freeze({
  /** A bad option or argument (construction, `setMaxConcurrentJobs`, `acquireSlotBlocking`). */
  INVALID_OPTION: 'INVALID_OPTION',
  /** The controller (or source) was closed; also waiters still queued at `close()`. */
  CLOSED: 'CLOSED',
  /** A wait's `signal` fired (`cause` = the signal's reason). */
  ABORTED: 'ABORTED',
  /** A wait's `timeoutMs` passed. */
  TIMEOUT: 'TIMEOUT',
} as const satisfies Record<string, ErrorCode>);
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
