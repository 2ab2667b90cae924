/**
 * @rediver/pipeline — non-blocking report uploads that never lose a report: a priority queue,
 * background workers, capped jittered retries, and a stop that hands back what it did not deliver.
 */
export { UploadPipeline } from './uploadPipeline';
export { PipelineError } from './pipelineError';
export { DEFAULT_UPLOAD_PIPELINE_OPTIONS } from './options';
export type { FlushOptions, StopOptions, SubmitOptions, UploadPipelineOptions } from './options';
export type { RetryInfo, UploadPipelineEvents } from './events';

/** Package version, for user agents and diagnostics. */
export const VERSION = '0.0.0';
