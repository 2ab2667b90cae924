import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './uploadBackoff';

const policy = { baseDelayMs: 1000, maxDelayMs: 8000 };

describe('retryDelayMs', () => {
  it('doubles per retry, jittered between half and the full step', () => {
    for (const [retry, step] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
    ] as const) {
      expect(retryDelayMs(retry, policy, undefined, () => 0)).toBe(step / 2);
      expect(retryDelayMs(retry, policy, undefined, () => 0.999999)).toBe(step);
    }
  });

  it('caps the exponential step at maxDelayMs', () => {
    expect(retryDelayMs(10, policy, undefined, () => 0.999999)).toBe(8000);
    expect(retryDelayMs(60, policy, undefined, () => 0.5)).toBe(6000);
  });

  it('spreads retries with the random source (jitter)', () => {
    const seen = new Set([0, 0.25, 0.5, 0.75].map((r) => retryDelayMs(3, policy, undefined, () => r)));
    expect(seen.size).toBe(4);
  });

  it('never comes back sooner than Retry-After, even above the cap', () => {
    expect(retryDelayMs(1, policy, 5000, () => 0)).toBe(5000);
    expect(retryDelayMs(1, policy, 30_000, () => 1)).toBe(30_000);
    expect(retryDelayMs(4, policy, 100, () => 0)).toBe(4000);
    expect(retryDelayMs(1, policy, 1500.2, () => 0)).toBe(1501);
  });

  it('ignores a missing, zero or nonsensical Retry-After', () => {
    expect(retryDelayMs(1, policy, 0, () => 0)).toBe(500);
    expect(retryDelayMs(1, policy, Number.NaN, () => 0)).toBe(500);
    expect(retryDelayMs(1, policy, -1, () => 0)).toBe(500);
  });
});
