import { RediverError } from '@rediver/core';
import type { ErrorCode, RediverErrorOptions } from '@rediver/core';

/** The error class of `@rediver/chunk`; check by `code` with core's `isRediverError`. */
export class ChunkError extends RediverError {
  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ChunkError';
  }
}
