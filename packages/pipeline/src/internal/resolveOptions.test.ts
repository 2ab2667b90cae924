import { describe, expect, it } from 'vitest';
import { DEFAULT_UPLOAD_PIPELINE_OPTIONS } from '../options';
import { resolveOptions } from './resolveOptions';
import { thrownCode } from '../../test/thrownCode';

describe('resolveOptions', () => {
  it("applies the spec's defaults", () => {
    const r = resolveOptions();
    expect(r).toMatchObject({
      queueSize: 1000,
      workers: 3,
      retryAttempts: 3,
      retryDelayMs: 5000,
      uploadTimeoutMs: 120_000,
      verbose: false,
    });
    expect(r.maxRetryDelayMs).toBe(DEFAULT_UPLOAD_PIPELINE_OPTIONS.maxRetryDelayMs);
    expect(Object.isFrozen(DEFAULT_UPLOAD_PIPELINE_OPTIONS)).toBe(true);
  });

  it('accepts values at their edges', () => {
    expect(() =>
      resolveOptions({ queueSize: 1, workers: 1, retryAttempts: 0, retryDelayMs: 0, maxRetryDelayMs: 0 }),
    ).not.toThrow();
    expect(() => resolveOptions({ retryJitterRatio: 0 })).not.toThrow();
    expect(() => resolveOptions({ retryJitterRatio: 1 })).not.toThrow();
    expect(() => resolveOptions({ uploadTimeoutMs: 1 })).not.toThrow();
    expect(() => resolveOptions({ retryDelayMs: 60_000 })).not.toThrow(); // equal to the default cap
  });

  it.each([
    ['queueSize', { queueSize: 0 }],
    ['queueSize', { queueSize: 1.5 }],
    ['workers', { workers: 0 }],
    ['retryAttempts', { retryAttempts: -1 }],
    ['retryDelayMs', { retryDelayMs: -1 }],
    ['retryDelayMs', { retryDelayMs: Number.NaN }],
    ['maxRetryDelayMs', { retryDelayMs: 60_001 }],
    ['maxRetryDelayMs', { retryDelayMs: 10, maxRetryDelayMs: 9 }],
    ['retryJitterRatio', { retryJitterRatio: 1.01 }],
    ['retryJitterRatio', { retryJitterRatio: -0.1 }],
    ['uploadTimeoutMs', { uploadTimeoutMs: 0 }],
    ['uploadTimeoutMs', { uploadTimeoutMs: 2 ** 31 }],
    ['onCompleted', { onCompleted: 'nope' as never }],
    ['verbose', { verbose: 'yes' as never }],
  ])('refuses a bad %s with INVALID_OPTION', (_name, options) => {
    expect(thrownCode(() => resolveOptions(options))).toBe('INVALID_OPTION');
  });
});
