import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { errorCodes, isRediverError, RediverError } from '@rediver/core';

/** Options of a `ClientError`: core's plus the request it came from. */
export interface ClientErrorOptions extends RediverErrorOptions {
  /** HTTP method of the failed request. */
  method?: string;
  /** Path of the failed request (no query string, no credentials). */
  path?: string;
}

/** The codes `@rediver/client` rejects with (the README's Errors table says when, and which are retryable). */
export const CLIENT_ERROR_CODES = errorCodes(
  'NETWORK',
  'TIMEOUT',
  'SERVER_ERROR',
  'RATE_LIMITED',
  'AUTH_FAILED',
  'REQUEST_REJECTED',
  'INVALID_RESPONSE',
  'ABORTED',
  'CLOSED',
  'INVALID_OPTION',
  'VALIDATION_FAILED',
  'REPORT_ID_INVALID',
  'REPORT_TOO_LARGE',
  'INTERNAL',
);
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
