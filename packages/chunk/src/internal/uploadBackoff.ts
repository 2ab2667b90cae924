import { backoffDelayMs } from '@rediver/core';

/** How long to wait before retrying a failed chunk upload. */
export interface BackoffPolicy {
  /** Delay before the first retry (before jitter), ms. */
  readonly baseDelayMs: number;
  /** Cap of the exponential part, ms. A server's `Retry-After` may exceed it. */
  readonly maxDelayMs: number;
}

/**
 * Delay before retry number `retry` (1 = first retry): core's `backoffDelayMs` with "equal jitter" — half the
 * step is fixed, half random — so a herd of agents that failed together spreads out but no retry is ever
 * immediate. A server's `Retry-After` is a floor: we never come back sooner than asked — up to `MAX_TIMER_MS`
 * (a larger value is treated as that: ~24.8 days, never an overflowing timer).
 */
export function retryDelayMs(
  retry: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  return backoffDelayMs(
    { baseDelayMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs, jitter: 'equal' },
    { retry, random: random(), retryAfterMs },
  );
}
