/** Inputs of `retryDelayMs`. */
export interface BackoffPolicy {
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly retryJitterRatio: number;
}

/**
 * Delay before retry number `retry` (1-based): `retryDelayMs · 2^(retry−1)` plus up to
 * `retryJitterRatio` of it at random, never above `maxRetryDelayMs`; a longer server-requested
 * `retryAfterMs` wins (bounded only by what a timer can hold).
 */
export function computeRetryDelayMs(
  policy: BackoffPolicy,
  retry: number,
  random: number,
  retryAfterMs?: number,
): number {
  const base = policy.retryDelayMs * 2 ** (retry - 1);
  const jittered = Math.min(policy.maxRetryDelayMs, base + base * policy.retryJitterRatio * random);
  const delay = Math.round(jittered);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > delay) {
    return Math.min(Math.ceil(retryAfterMs), MAX_TIMER_MS);
  }
  return delay;
}

/** Longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;
