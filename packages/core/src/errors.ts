/**
 * Stable error codes of every Rediver package. Check errors by `code` (with `isRediverError`),
 * never by `instanceof`: two installed copies of a package have two classes but the same codes.
 */
export const ERROR_CODES = Object.freeze({
  /** An option has an invalid value (thrown at construction). */
  INVALID_OPTION: 'INVALID_OPTION',
  /** A configuration file or environment value is invalid. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** Input failed validation (schema, types, sizes). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** A report id breaks the rule: 1..256 characters of `[A-Za-z0-9_-]`. */
  REPORT_ID_INVALID: 'REPORT_ID_INVALID',
  /** A report cannot be delivered within the platform's limits (chunk data size, chunk count). */
  REPORT_TOO_LARGE: 'REPORT_TOO_LARGE',
  /** The same report id was stored before with different content. */
  REPORT_CONFLICT: 'REPORT_CONFLICT',
  /** Something asked for does not exist (in this tenant). */
  NOT_FOUND: 'NOT_FOUND',
  /**
   * The upload queue is full; nothing was accepted. Back-pressure, not retryable: take another path (persist the
   * report, wait for the queue to drain) rather than call again in a retry loop.
   */
  QUEUE_FULL: 'QUEUE_FULL',
  /**
   * Local storage is over its quota (a limit the caller configured); nothing was stored. Back-pressure, not
   * retryable: it succeeds only after deliveries free space, the quota is raised, or `whenFull` drops old data.
   */
  STORAGE_QUOTA: 'STORAGE_QUOTA',
  /**
   * The disk (file system) holding local storage is full (ENOSPC, SQLITE_FULL); nothing was written and
   * what was stored before is intact. Not retryable as is: it succeeds only once disk space is freed.
   */
  DISK_FULL: 'DISK_FULL',
  /** The component was opened read-only (for inspection) and refuses writes. */
  READ_ONLY: 'READ_ONLY',
  /** Stored data failed its checksum. */
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  /** Decompression would exceed a size or ratio limit. */
  DECOMPRESS_LIMIT: 'DECOMPRESS_LIMIT',
  /** Data failed to decompress (broken frame). */
  DECOMPRESS_FAILED: 'DECOMPRESS_FAILED',
  /** A body's encoding is not supported. */
  UNSUPPORTED_ENCODING: 'UNSUPPORTED_ENCODING',
  /** The component is closed or stopping and takes no more work. */
  CLOSED: 'CLOSED',
  /** The operation was aborted through its `AbortSignal`. */
  ABORTED: 'ABORTED',
  /** The operation did not finish in time. */
  TIMEOUT: 'TIMEOUT',
  /** A network error (connection refused, reset, DNS). */
  NETWORK: 'NETWORK',
  /** The server failed (5xx) or asked for a later retry (408). */
  SERVER_ERROR: 'SERVER_ERROR',
  /** The server rate-limited the request (429). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The API key was refused (401/403). */
  AUTH_FAILED: 'AUTH_FAILED',
  /** The server refused the request (4xx other than 401/403/408/429). */
  REQUEST_REJECTED: 'REQUEST_REJECTED',
  /** The server's answer did not have the expected shape. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** A scanner failed to run or produced unreadable output. */
  SCANNER_FAILED: 'SCANNER_FAILED',
  /** A scanner went over its CPU or memory cap and was stopped (`details`: resource, used, cap, unit). */
  SCANNER_OVER_BUDGET: 'SCANNER_OVER_BUDGET',
  /** Something another live process holds (e.g. an agent's data folder); `details` names the holder. */
  LOCKED: 'LOCKED',
  /** An unexpected internal failure (a bug); reported, never swallowed. */
  INTERNAL: 'INTERNAL',
} as const);
/** A stable error code. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * The subset of `ERROR_CODES` a package throws, as the same frozen `{ CODE: 'CODE' }` map, typed exactly:
 * `export const FOO_ERROR_CODES = errorCodes('INVALID_OPTION', 'CLOSED')`.
 */
export function errorCodes<const C extends readonly ErrorCode[]>(
  ...codes: C
): Readonly<{ [K in C[number]]: K }> {
  return Object.freeze(Object.fromEntries(codes.map((c) => [c, c]))) as { [K in C[number]]: K };
}

/**
 * Codes a retry loop may repeat unchanged, after a backoff: transient failures of the network or the
 * platform that end by themselves. Local back-pressure (`QUEUE_FULL`, `STORAGE_QUOTA`) is deliberately not
 * here: calling again does not relieve it; the caller has to do something else (persist, wait for a drain,
 * free space), so its messages say what to do instead of "retry later".
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TIMEOUT',
  'NETWORK',
  'SERVER_ERROR',
  'RATE_LIMITED',
]);

/** Options of a `RediverError`. */
export interface RediverErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Overrides the code's default retryability (`RETRYABLE_ERROR_CODES`). */
  retryable?: boolean;
  /** Server-requested delay before a retry (from `Retry-After`), ms. */
  retryAfterMs?: number;
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** Structured context (never secrets). */
  details?: Readonly<Record<string, unknown>>;
}

const BRAND = Symbol.for('@rediver/error');

/** The one error class of the SDK: a stable `code`, an actionable message, and `cause`. */
export class RediverError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /**
   * Whether a retry loop may repeat the operation unchanged after a backoff (`RETRYABLE_ERROR_CODES`:
   * network, timeout, 5xx/408, 429). False for back-pressure (`QUEUE_FULL`, `STORAGE_QUOTA`) and for
   * anything a retry cannot fix.
   */
  readonly retryable: boolean;
  /** Server-requested delay before a retry, ms. */
  readonly retryAfterMs: number | undefined;
  /** HTTP status, when the error came from a response. */
  readonly status: number | undefined;
  /** Structured context. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Brand checked by `isRediverError` (works across duplicated installs). */
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: RediverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RediverError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_ERROR_CODES.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.details = options.details;
  }

  /** JSON form for logs and audit lines. */
  toJSON(): { name: string; code: ErrorCode; message: string; retryable: boolean; status?: number } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
    };
  }
}

/** True when `value` is a `RediverError` (from any installed copy), optionally with one of `codes`. */
export function isRediverError(value: unknown, ...codes: ErrorCode[]): value is RediverError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return codes.length === 0 || codes.includes((value as RediverError).code);
}

/** True when a retry loop may repeat the failed operation after a backoff (`retryable`). Unknown errors are not retryable. */
export function isRetryableError(value: unknown): boolean {
  return isRediverError(value) && value.retryable;
}
