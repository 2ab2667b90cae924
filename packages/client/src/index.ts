/**
 * @rediver/client — the Rediver platform's agent API over a pooled keep-alive HTTP client, with request
 * compression, response validation and one error classification (`ClientError`).
 */
// What a user needs to call the API and handle this package's errors, from this one import.
export type {
  ChunkUploadRequest,
  ChunkUploadResponse,
  Command,
  ErrorCode,
  FingerprintCheckResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  IngestResponse,
  RediverError,
  Report,
  UploadAttemptOptions,
  UploadResult,
} from '@rediver/core';
export { isRediverError, isRetryableError } from '@rediver/core';
export type { PollCommandsOptions, RequestOptions } from './client';
export { createClient, RediverClient } from './client';
export type { ClientErrorCode, ClientErrorOptions } from './clientError';
export { CLIENT_ERROR_CODES, ClientError, isClientError } from './clientError';
export type { ClientOptions } from './clientOptions';
export { DEFAULT_CLIENT_OPTIONS } from './clientOptions';
export { parseRetryAfter } from '@rediver/core';
export { VERSION } from './version';
