/**
 * @rediver/pipeline — non-blocking report uploads that never lose a report: a priority queue,
 * background workers, capped jittered retries, and a stop that hands back what it did not deliver.
 */
// What a user needs to submit reports and handle this package's errors, from this one import.
export type {
  ErrorCode,
  PipelineStats,
  Priority,
  QueueItem,
  RediverError,
  Report,
  ReportUploader,
  UploadAttemptOptions,
  UploadResult,
} from '@rediver/core';
export { isRediverError, isRetryableError, PRIORITY } from '@rediver/core';
export { UploadPipeline } from './uploadPipeline';
export type { PipelineErrorCode } from './pipelineError';
export { PIPELINE_ERROR_CODES, PipelineError } from './pipelineError';
export { DEFAULT_UPLOAD_PIPELINE_OPTIONS } from './options';
export type { FlushOptions, StopOptions, SubmitOptions, UploadPipelineOptions } from './options';
export type { RetryInfo, UploadPipelineEvents } from './events';

export { VERSION } from './version';
