import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { isRediverError, RediverError } from '@rediver/core';

/** Options of a `ClientError`: core's plus the request it came from. */
export interface ClientErrorOptions extends RediverErrorOptions {
  /** HTTP method of the failed request. */
  method?: string;
  /** Path of the failed request (no query string, no credentials). */
  path?: string;
}

/** The codes `@rediver/client` rejects with (see the README's Errors table). */
export const CLIENT_ERROR_CODES = Object.freeze({
  /** Connection refused / reset / DNS / socket error (retryable). */
  NETWORK: 'NETWORK',
  /** No complete answer within `timeoutMs` (retryable). */
  TIMEOUT: 'TIMEOUT',
  /** HTTP 5xx or 408 (retryable; `retryAfterMs` when the server sent `Retry-After`). */
  SERVER_ERROR: 'SERVER_ERROR',
  /** HTTP 429 (retryable; `retryAfterMs` from `Retry-After`). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** HTTP 401/403: the API key was refused. */
  AUTH_FAILED: 'AUTH_FAILED',
  /** Another 4xx, or an ingest answer with non-empty `errors`. */
  REQUEST_REJECTED: 'REQUEST_REJECTED',
  /** A 2xx answer that is not the documented shape (or over 16 MiB), or an unexpected status such as a redirect. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** The caller's `signal` fired. */
  ABORTED: 'ABORTED',
  /** A call after `close()`. */
  CLOSED: 'CLOSED',
  /** `createClient`: a bad option value or an unknown option key. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** A bad argument (command id, `limit`, chunk fields, idempotency key, a body that is not JSON); nothing sent. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** A report or chunk id breaks the platform's rule; nothing sent. */
  REPORT_ID_INVALID: 'REPORT_ID_INVALID',
  /** A chunk's `data` is over the platform's 10 MiB; nothing sent. */
  REPORT_TOO_LARGE: 'REPORT_TOO_LARGE',
  /** undici refused the request as malformed: a bug in this package. */
  INTERNAL: 'INTERNAL',
} as const satisfies Record<string, ErrorCode>);
/** A code `@rediver/client` rejects with. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES];

const CLIENT_BRAND = Symbol.for('@rediver/client-error');

/** A failed platform API call, classified once: `code`, `retryable`, `retryAfterMs`, `status`. */
export class ClientError extends RediverError {
  /** HTTP method of the failed request (empty when no request was made). */
  readonly method: string;
  /** Path of the failed request (empty when no request was made). */
  readonly path: string;
  /** Brand checked by `isClientError` (works across duplicated installs). */
  readonly [CLIENT_BRAND] = true;

  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ClientError';
    this.method = options.method ?? '';
    this.path = options.path ?? '';
  }

  /** JSON form for logs: core's fields plus the request's method and path. */
  override toJSON(): ReturnType<RediverError['toJSON']> & { method: string; path: string } {
    return { ...super.toJSON(), method: this.method, path: this.path };
  }
}

/** True when `value` is a `ClientError` (from any installed copy), optionally with one of `codes`. */
export function isClientError(value: unknown, ...codes: ErrorCode[]): value is ClientError {
  return (
    isRediverError(value, ...codes) && (value as unknown as Record<symbol, unknown>)[CLIENT_BRAND] === true
  );
}
