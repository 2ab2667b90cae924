/** The longest delay a Node timer takes (2^31 - 1 ms, ~24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long to wait before retrying a failed chunk upload. */
export interface BackoffPolicy {
  /** Delay before the first retry (before jitter), ms. */
  readonly baseDelayMs: number;
  /** Cap of the exponential part, ms. A server's `Retry-After` may exceed it. */
  readonly maxDelayMs: number;
}

/**
 * Delay before retry number `retry` (1 = first retry): exponential (`base * 2^(retry-1)`, capped) with
 * "equal jitter" — half the step is fixed, half random — so a herd of agents that failed together spreads out
 * but no retry is ever immediate. A server's `Retry-After` is a floor: we never come back sooner than asked —
 * up to `MAX_TIMER_MS` (a larger value is treated as that: ~24.8 days, never an overflowing timer).
 */
export function retryDelayMs(
  retry: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(step / 2 + (random() * step) / 2);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    return Math.max(jittered, Math.min(MAX_TIMER_MS, Math.ceil(retryAfterMs)));
  }
  return jittered;
}
