import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  errorCodes,
  isRediverError,
  isRetryableError,
  RediverError,
  RETRYABLE_ERROR_CODES,
} from './errors';

describe('RediverError', () => {
  it('carries code, message, cause and default retryability', () => {
    const cause = new Error('socket hang up');
    const err = new RediverError('NETWORK', 'cannot reach the platform at https://x', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('NETWORK');
    expect(err.message).toContain('cannot reach');
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(true);
    expect(err.name).toBe('RediverError');
  });

  it('defaults retryable from the code and lets the caller override it', () => {
    expect(new RediverError('REQUEST_REJECTED', 'bad').retryable).toBe(false);
    expect(new RediverError('SERVER_ERROR', 'boom').retryable).toBe(true);
    expect(new RediverError('SERVER_ERROR', 'boom', { retryable: false }).retryable).toBe(false);
    expect(new RediverError('RATE_LIMITED', 'slow down', { retryAfterMs: 3000 }).retryAfterMs).toBe(3000);
  });

  it('retries exactly the transient remote failures; back-pressure codes are not retryable', () => {
    // A retry loop may repeat these unchanged; QUEUE_FULL and STORAGE_QUOTA need another path (persist, wait
    // for a drain, free space), so their flag and every message about them must not promise a retry.
    expect([...RETRYABLE_ERROR_CODES].sort()).toEqual(['NETWORK', 'RATE_LIMITED', 'SERVER_ERROR', 'TIMEOUT']);
    expect(new RediverError('QUEUE_FULL', 'full').retryable).toBe(false);
    expect(new RediverError('STORAGE_QUOTA', 'over quota').retryable).toBe(false);
  });

  it('errorCodes makes the frozen subset map of a package', () => {
    const codes = errorCodes('CLOSED', 'TIMEOUT');
    expect(codes).toEqual({ CLOSED: 'CLOSED', TIMEOUT: 'TIMEOUT' });
    expect(Object.isFrozen(codes)).toBe(true);
    const closed: 'CLOSED' = codes.CLOSED;
    expect(closed).toBe('CLOSED');
    // @ts-expect-error only core's codes
    errorCodes('NOT_A_CODE');
  });

  it('every code maps to itself', () => {
    for (const [k, v] of Object.entries(ERROR_CODES)) expect(k).toBe(v);
  });

  it('serialises without the stack', () => {
    const json = JSON.parse(JSON.stringify(new RediverError('QUEUE_FULL', 'full', { status: 503 })));
    expect(json).toEqual({
      name: 'RediverError',
      code: 'QUEUE_FULL',
      message: 'full',
      retryable: false,
      status: 503,
    });
  });
});

describe('isRediverError', () => {
  it('recognises the error and filters by code', () => {
    const err = new RediverError('QUEUE_FULL', 'full');
    expect(isRediverError(err)).toBe(true);
    expect(isRediverError(err, 'QUEUE_FULL')).toBe(true);
    expect(isRediverError(err, 'STORAGE_QUOTA', 'QUEUE_FULL')).toBe(true);
    expect(isRediverError(err, 'STORAGE_QUOTA')).toBe(false);
  });

  it('rejects look-alikes that are not branded', () => {
    expect(isRediverError(new Error('x'))).toBe(false);
    expect(isRediverError({ code: 'QUEUE_FULL', message: 'x' })).toBe(false);
    expect(isRediverError(null)).toBe(false);
    expect(isRediverError('QUEUE_FULL')).toBe(false);
  });

  it('works across duplicated installs (a different class with the same brand)', () => {
    // A second copy of the package defines its own class but uses the same global symbol.
    class OtherCopyError extends Error {
      readonly code = 'QUEUE_FULL';
      readonly retryable = false;
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('@rediver/error'), { value: true });
      }
    }
    const foreign = new OtherCopyError('full');
    expect(foreign instanceof RediverError).toBe(false);
    expect(isRediverError(foreign, 'QUEUE_FULL')).toBe(true);
  });

  it('isRetryableError is false for unknown errors', () => {
    expect(isRetryableError(new Error('x'))).toBe(false);
    expect(isRetryableError(new RediverError('TIMEOUT', 't'))).toBe(true);
  });
});
