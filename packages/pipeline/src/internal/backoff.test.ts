import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '@rediver/core';
import { computeRetryDelayMs } from './backoff';

const policy = { retryDelayMs: 5000, maxRetryDelayMs: 60_000, retryJitterRatio: 0.2 };

describe('computeRetryDelayMs', () => {
  it('doubles from the base delay: 5 s, 10 s, 20 s without jitter', () => {
    expect([1, 2, 3].map((r) => computeRetryDelayMs(policy, r, 0))).toEqual([5000, 10_000, 20_000]);
  });

  it('adds at most retryJitterRatio of the delay', () => {
    expect(computeRetryDelayMs(policy, 1, 0.5)).toBe(5500);
    expect(computeRetryDelayMs(policy, 3, 0.999_999)).toBe(24_000);
  });

  it('never exceeds maxRetryDelayMs, jitter included', () => {
    const capped = { ...policy, maxRetryDelayMs: 8000 };
    expect(computeRetryDelayMs(capped, 1, 0.999)).toBeLessThanOrEqual(8000);
    expect(computeRetryDelayMs(capped, 2, 0)).toBe(8000);
    expect(computeRetryDelayMs(capped, 30, 0.5)).toBe(8000);
  });

  it('honours a longer Retry-After, not a shorter one', () => {
    expect(computeRetryDelayMs(policy, 1, 0, 30_000)).toBe(30_000);
    expect(computeRetryDelayMs(policy, 1, 0, 100)).toBe(5000);
    expect(computeRetryDelayMs(policy, 1, 0, Number.POSITIVE_INFINITY)).toBe(5000);
    expect(computeRetryDelayMs(policy, 1, 0, 1e15)).toBe(MAX_TIMER_MS);
  });

  it('stays within [min(cap, base), min(cap, base·(1+ratio))] for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retryDelayMs, extra, ratio, retry, u) => {
          const p = { retryDelayMs, maxRetryDelayMs: retryDelayMs + extra, retryJitterRatio: ratio };
          const base = retryDelayMs * 2 ** (retry - 1);
          const d = computeRetryDelayMs(p, retry, u);
          expect(d).toBeGreaterThanOrEqual(Math.floor(Math.min(p.maxRetryDelayMs, base)));
          expect(d).toBeLessThanOrEqual(Math.ceil(Math.min(p.maxRetryDelayMs, base * (1 + ratio))));
        },
      ),
      { numRuns: 300 },
    );
  });
});
