import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { RediverError } from '@rediver/core';

/** The codes `@rediver/pipeline` throws, rejects with or reports on `failed` (see the README's Errors section). */
export const PIPELINE_ERROR_CODES = Object.freeze({
  /** A bad option value or an unknown option key (constructor, `submit`, `flush`, `stop`). */
  INVALID_OPTION: 'INVALID_OPTION',
  /** `submit` after `stop()`/`close()`; also the abort reason of attempts cut by `stop`. */
  CLOSED: 'CLOSED',
  /** `submit`: `queueSize` items already wait. Back-pressure, not retryable: persist the report or wait for `idle`. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** `submit`: `report.metadata.id` breaks the platform's rule. */
  REPORT_ID_INVALID: 'REPORT_ID_INVALID',
  /** `submit`: not a report object, not JSON-serialisable, bad `priority` or `sizeBytes`. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** `flush`: its `signal` fired. */
  ABORTED: 'ABORTED',
  /** `failed` event: an attempt took longer than `uploadTimeoutMs`. */
  TIMEOUT: 'TIMEOUT',
  /** `failed` event: the uploader threw something that is not a `RediverError`. */
  INTERNAL: 'INTERNAL',
} as const satisfies Record<string, ErrorCode>);
/** A code `@rediver/pipeline` raises itself (an uploader's own errors reach `failed` with their codes). */
export type PipelineErrorCode = (typeof PIPELINE_ERROR_CODES)[keyof typeof PIPELINE_ERROR_CODES];

/** The error of `@rediver/pipeline`: check it by `code` with `isRediverError` (re-exported here). */
export class PipelineError extends RediverError {
  constructor(code: PipelineErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(code, message, options);
    this.name = 'PipelineError';
  }
}
