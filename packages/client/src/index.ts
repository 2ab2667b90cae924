/**
 * @rediver/client — the Rediver platform's agent API over a pooled keep-alive HTTP client, with request
 * compression, response validation and one error classification (`ClientError`).
 */
export type { PollCommandsOptions, RequestOptions } from './client';
export { createClient, RediverClient } from './client';
export type { ClientErrorOptions } from './clientError';
export { ClientError, isClientError } from './clientError';
export type { ClientOptions } from './clientOptions';
export { DEFAULT_CLIENT_OPTIONS } from './clientOptions';
export { parseRetryAfter } from './retryAfter';
export { VERSION } from './version';
