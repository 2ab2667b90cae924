import type { RediverErrorOptions } from '@rediver/core';
import { errorCodes, RediverError } from '@rediver/core';

/** The codes `@rediver/pipeline` throws, rejects with or reports on `failed` (the README's Errors table says when). */
export const PIPELINE_ERROR_CODES = errorCodes(
  'INVALID_OPTION',
  'CLOSED',
  'QUEUE_FULL',
  'REPORT_ID_INVALID',
  'VALIDATION_FAILED',
  'ABORTED',
  'TIMEOUT',
  'INTERNAL',
);
/** A code `@rediver/pipeline` raises itself (an uploader's own errors reach `failed` with their codes). */
export type PipelineErrorCode = (typeof PIPELINE_ERROR_CODES)[keyof typeof PIPELINE_ERROR_CODES];

/** The error of `@rediver/pipeline`: check it by `code` with `isRediverError` (re-exported here). */
export class PipelineError extends RediverError {
  constructor(code: PipelineErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'PipelineError';
  }
}
