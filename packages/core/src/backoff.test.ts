import { describe, expect, it } from 'vitest';
import type { BackoffPolicy } from './backoff';
import { backoffDelayMs } from './backoff';
import { MAX_TIMER_MS } from './timers';

const policy = (jitter: BackoffPolicy['jitter'], extra: Partial<BackoffPolicy> = {}): BackoffPolicy => ({
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  jitter,
  ...extra,
});

describe('backoffDelayMs', () => {
  it('doubles per retry and caps at maxDelayMs', () => {
    const p = policy('none');
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(p, { retry, random: 0.5 }))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000,
    ]);
  });

  it('full jitter spans [0, step], equal jitter [step/2, step]', () => {
    expect(backoffDelayMs(policy('full'), { retry: 3, random: 0 })).toBe(0);
    expect(backoffDelayMs(policy('full'), { retry: 3, random: 0.999_999 })).toBe(4000);
    expect(backoffDelayMs(policy('equal'), { retry: 3, random: 0 })).toBe(2000);
    expect(backoffDelayMs(policy('equal'), { retry: 3, random: 0.999_999 })).toBe(4000);
  });

  it('proportional jitter adds up to ratio·step, the sum capped at maxDelayMs', () => {
    expect(backoffDelayMs(policy({ ratio: 0.5 }), { retry: 1, random: 1 })).toBe(1500);
    expect(backoffDelayMs(policy({ ratio: 0.5 }), { retry: 5, random: 1 })).toBe(24_000);
    expect(backoffDelayMs(policy({ ratio: 0.5 }), { retry: 6, random: 1 })).toBe(30_000);
  });

  it('honours Retry-After as a minimum, rounded up', () => {
    expect(backoffDelayMs(policy('none'), { retry: 1, random: 0, retryAfterMs: 5000.2 })).toBe(5001);
    expect(backoffDelayMs(policy('none'), { retry: 1, random: 0, retryAfterMs: 10 })).toBe(1000);
    // Longer than maxDelayMs: the server wins.
    expect(backoffDelayMs(policy('none'), { retry: 1, random: 0, retryAfterMs: 600_000 })).toBe(600_000);
  });

  it('caps Retry-After at maxRetryAfterMs and always at MAX_TIMER_MS', () => {
    const capped = policy('equal', { maxRetryAfterMs: 60_000 });
    expect(backoffDelayMs(capped, { retry: 1, random: 0, retryAfterMs: 3_600_000 })).toBe(60_000);
    const days30 = 30 * 86_400_000;
    expect(backoffDelayMs(policy('equal'), { retry: 1, random: 0, retryAfterMs: days30 })).toBe(MAX_TIMER_MS);
    expect(backoffDelayMs(policy('equal'), { retry: 1, random: 0, retryAfterMs: MAX_TIMER_MS + 1 })).toBe(
      MAX_TIMER_MS,
    );
    expect(
      backoffDelayMs(policy('equal', { maxRetryAfterMs: 2 ** 40 }), {
        retry: 1,
        random: 0,
        retryAfterMs: 2 ** 40,
      }),
    ).toBe(MAX_TIMER_MS);
  });

  it('ignores absent, negative, zero and non-finite Retry-After', () => {
    for (const retryAfterMs of [undefined, -1, 0, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(backoffDelayMs(policy('none'), { retry: 2, random: 0, retryAfterMs })).toBe(2000);
    }
  });

  it('stays a finite integer within the timer cap for huge retries and caps', () => {
    const p = policy('full', { maxDelayMs: Number.MAX_SAFE_INTEGER });
    const d = backoffDelayMs(p, { retry: 100_000, random: 0.7 });
    expect(Number.isSafeInteger(d)).toBe(true);
    expect(d).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(backoffDelayMs(policy('none', { baseDelayMs: 0 }), { retry: 5000, random: 0.5 })).toBe(0);
  });
});
