import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { RediverError } from '@rediver/core';

/** The error of `@rediver/pipeline`: check it by `code` with core's `isRediverError`. */
export class PipelineError extends RediverError {
  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'PipelineError';
  }
}
