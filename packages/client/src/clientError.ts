import type { ErrorCode, RediverErrorOptions } from '@rediver/core';
import { isRediverError, RediverError } from '@rediver/core';

/** Options of a `ClientError`: core's plus the request it came from. */
export interface ClientErrorOptions extends RediverErrorOptions {
  /** HTTP method of the failed request. */
  method?: string;
  /** Path of the failed request (no query string, no credentials). */
  path?: string;
}

const CLIENT_BRAND = Symbol.for('@rediver/client-error');

/** A failed platform API call, classified once: `code`, `retryable`, `retryAfterMs`, `status`. */
export class ClientError extends RediverError {
  /** HTTP method of the failed request (empty when no request was made). */
  readonly method: string;
  /** Path of the failed request (empty when no request was made). */
  readonly path: string;
  /** Brand checked by `isClientError` (works across duplicated installs). */
  readonly [CLIENT_BRAND] = true;

  constructor(code: ErrorCode, message: string, options: ClientErrorOptions = {}) {
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
