import { describe, expect, it } from 'vitest';
import { errorCodes, isRediverError, RediverError } from './errors';
import { systemErrorCode, toRediverError } from './systemErrors';

function sysError(code: string, message = `${code}: something`): Error {
  return Object.assign(new Error(message), { code });
}

class FooError extends RediverError {}

describe('systemErrorCode', () => {
  it('maps a full disk or quota to DISK_FULL', () => {
    expect(systemErrorCode(sysError('ENOSPC'))).toBe('DISK_FULL');
    expect(systemErrorCode(sysError('EDQUOT'))).toBe('DISK_FULL');
    expect(systemErrorCode(sysError('SQLITE_FULL'))).toBe('DISK_FULL');
    expect(systemErrorCode(sysError('SQLITE_IOERR_WRITE', 'disk I/O error: ENOSPC'))).toBe('DISK_FULL');
    expect(systemErrorCode(sysError('SQLITE_IOERR_WRITE', 'disk I/O error'))).toBeUndefined();
    expect(systemErrorCode(new Error('database or disk is full'))).toBe('DISK_FULL');
  });

  it('maps read-only file systems always, permissions only when writing', () => {
    expect(systemErrorCode(sysError('EROFS'))).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('SQLITE_READONLY_DBMOVED'))).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('EACCES'))).toBeUndefined();
    expect(systemErrorCode(sysError('EACCES'), true)).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('EPERM'), true)).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('SQLITE_CANTOPEN'), true)).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('SQLITE_CANTOPEN_ISDIR'), true)).toBe('READ_ONLY');
    expect(systemErrorCode(sysError('SQLITE_CANTOPEN'))).toBeUndefined();
  });

  it('maps timeouts, aborts and network failures', () => {
    expect(systemErrorCode(sysError('ETIMEDOUT'))).toBe('TIMEOUT');
    expect(systemErrorCode(new DOMException('t', 'TimeoutError'))).toBe('TIMEOUT');
    expect(systemErrorCode(new DOMException('a', 'AbortError'))).toBe('ABORTED');
    expect(systemErrorCode(sysError('ECONNRESET'))).toBe('NETWORK');
    expect(systemErrorCode(sysError('ENOTFOUND'))).toBe('NETWORK');
  });

  it('knows nothing of other values', () => {
    for (const v of [new Error('boom'), sysError('ENOENT'), 'text', 42, null, undefined, { code: 7 }]) {
      expect(systemErrorCode(v)).toBeUndefined();
    }
  });
});

describe('toRediverError', () => {
  it('returns a RediverError as it is', () => {
    const e = new RediverError('QUEUE_FULL', 'full');
    expect(toRediverError(e, 'INTERNAL')).toBe(e);
  });

  it('maps system errors, keeps the cause and the retryability of the code', () => {
    const cause = sysError('ECONNREFUSED');
    const e = toRediverError(cause, 'INTERNAL', { what: 'ship failed' });
    expect(e.code).toBe('NETWORK');
    expect(e.retryable).toBe(true);
    expect(e.cause).toBe(cause);
    expect(e.message).toBe('ship failed: Error: ECONNREFUSED: something');
    expect(toRediverError(sysError('ENOSPC'), 'INTERNAL').retryable).toBe(false);
  });

  it('falls back for unknown errors and for codes the package does not throw', () => {
    expect(toRediverError(new Error('boom'), 'INTERNAL').code).toBe('INTERNAL');
    const codes = errorCodes('INVALID_OPTION', 'DISK_FULL', 'INTERNAL');
    expect(toRediverError(sysError('EDQUOT'), 'INTERNAL', { codes }).code).toBe('DISK_FULL');
    expect(toRediverError(sysError('EROFS'), 'INTERNAL', { codes }).code).toBe('INTERNAL');
    expect(toRediverError(sysError('EROFS'), 'INTERNAL', { codes: ['READ_ONLY', 'INTERNAL'] }).code).toBe(
      'READ_ONLY',
    );
  });

  it("builds the package's own class", () => {
    const e = toRediverError('x', 'INTERNAL', { create: (c, m, o) => new FooError(c, m, o) });
    expect(e).toBeInstanceOf(FooError);
    expect(isRediverError(e, 'INTERNAL')).toBe(true);
  });
});
