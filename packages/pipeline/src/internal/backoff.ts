import { backoffDelayMs } from '@rediver/core';

/** Inputs of `computeRetryDelayMs`: the pipeline's retry options. */
export interface BackoffPolicy {
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly retryJitterRatio: number;
}

/**
 * Delay before retry number `retry` (1-based): core's `backoffDelayMs` with the pipeline's proportional jitter
 * (`retryDelayMs · 2^(retry−1)` plus up to `retryJitterRatio` of it, never above `maxRetryDelayMs`); a longer
 * server-requested `retryAfterMs` wins, capped at `MAX_TIMER_MS`.
 */
export function computeRetryDelayMs(
  policy: BackoffPolicy,
  retry: number,
  random: number,
  retryAfterMs?: number,
): number {
  return backoffDelayMs(
    {
      baseDelayMs: policy.retryDelayMs,
      maxDelayMs: policy.maxRetryDelayMs,
      jitter: { ratio: policy.retryJitterRatio },
    },
    { retry, random, retryAfterMs },
  );
}
