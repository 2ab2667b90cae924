import type { ErrorCode, RediverErrorOptions } from './errors';
import { isRediverError, RediverError } from './errors';

/** The OS (and SQLite) saying the disk, or the user's disk quota, is full. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
/** SQLite's write and fsync I/O errors: a full disk only when the OS said so (SQLite keeps errno out of its code). */
const IO_WRITE = new Set(['SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC']);
const SAYS_FULL = /ENOSPC|no space|disk is full/i;
/** A read-only file system or database: a write can never succeed there. */
const READ_ONLY = new Set(['EROFS']);
/** Permission refused: read-only for this process only when it was writing (or opening to write). */
const PERMISSION = new Set(['EACCES', 'EPERM', 'SQLITE_CANTOPEN']);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
]);

function stringProp(err: unknown, key: 'code' | 'name' | 'message'): string {
  const value = typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : '';
}

/**
 * The SDK's code for a system error (a Node `errno` error, a SQLite error, an abort or timeout), or `undefined`
 * when `err` is none of those it knows. `DISK_FULL`: ENOSPC, EDQUOT, SQLITE_FULL (and SQLite's write/fsync I/O
 * errors when they say the disk is full). `READ_ONLY`: EROFS, SQLITE_READONLY*; EACCES, EPERM and SQLITE_CANTOPEN*
 * too when `writing`. `TIMEOUT`: ETIMEDOUT, a `TimeoutError`. `ABORTED`: an `AbortError`. `NETWORK`: connection
 * refused, reset or aborted, EPIPE, DNS failures, unreachable networks.
 */
export function systemErrorCode(err: unknown, writing = false): ErrorCode | undefined {
  const code = stringProp(err, 'code');
  const message = stringProp(err, 'message');
  if (DISK_FULL.has(code)) return 'DISK_FULL';
  if (IO_WRITE.has(code) && SAYS_FULL.test(`${message} ${String(err)}`)) return 'DISK_FULL';
  if (/database or disk is full/i.test(message)) return 'DISK_FULL';
  if (READ_ONLY.has(code) || code.startsWith('SQLITE_READONLY')) return 'READ_ONLY';
  if (writing && (PERMISSION.has(code) || code.startsWith('SQLITE_CANTOPEN'))) return 'READ_ONLY';
  if (code === 'ETIMEDOUT' || stringProp(err, 'name') === 'TimeoutError') return 'TIMEOUT';
  if (code === 'ABORT_ERR' || stringProp(err, 'name') === 'AbortError') return 'ABORTED';
  if (NETWORK.has(code)) return 'NETWORK';
  return undefined;
}

/** Options of `toRediverError`. */
export interface ToRediverErrorOptions {
  /** What failed, the message's prefix: `'audit log: write failed'` gives `audit log: write failed: Error: …`. */
  readonly what?: string;
  /** The failed operation wrote or opened for writing: permission errors then mean `READ_ONLY`. */
  readonly writing?: boolean;
  /**
   * The codes the package throws (its `errorCodes(...)` map or a list). A system code outside them becomes
   * `fallbackCode`, so a package never throws a code it does not document.
   */
  readonly codes?: Readonly<Record<string, ErrorCode>> | readonly ErrorCode[];
  /** Builds the package's error subclass; default `new RediverError(code, message, options)`. */
  readonly create?: (code: ErrorCode, message: string, options: RediverErrorOptions) => RediverError;
}

/**
 * `err` as a `RediverError`: a `RediverError` (from any installed copy) is returned as it is; a system error gets
 * the code `systemErrorCode` gives it (when the package throws that code); anything else gets `fallbackCode`.
 * The original is kept as `cause`; retryability follows the code (`RETRYABLE_ERROR_CODES`).
 */
export function toRediverError(
  err: unknown,
  fallbackCode: ErrorCode,
  options: ToRediverErrorOptions = {},
): RediverError {
  if (isRediverError(err)) return err;
  const mapped = systemErrorCode(err, options.writing);
  const allowed = options.codes === undefined ? undefined : Object.values(options.codes);
  const code =
    mapped !== undefined && (allowed === undefined || allowed.includes(mapped)) ? mapped : fallbackCode;
  const message = options.what === undefined ? String(err) : `${options.what}: ${String(err)}`;
  const create = options.create ?? ((c, m, o) => new RediverError(c, m, o));
  return create(code, message, { cause: err });
}
