import { MAX_TIMER_MS } from './timers';

/**
 * How the random part of a backoff step is drawn (`step` = `baseDelayMs · 2^(retry−1)`, capped at `maxDelayMs`):
 * - `'full'`: uniform in `[0, step]` ("full jitter": spreads a herd best, but a retry may come at once);
 * - `'equal'`: `step/2` fixed plus uniform in `[0, step/2]` ("equal jitter": never sooner than half the step);
 * - `{ ratio }`: `step` plus uniform in `[0, ratio · step]`, the sum capped at `maxDelayMs` (proportional jitter);
 * - `'none'`: exactly `step`.
 */
export type BackoffJitter = 'full' | 'equal' | 'none' | { readonly ratio: number };

/** A retry policy: exponential steps, a cap, a jitter, and how far a server's `Retry-After` is honoured. */
export interface BackoffPolicy {
  /** Delay before the first retry (before jitter), ms. */
  readonly baseDelayMs: number;
  /** Longest backoff step, jitter included, ms (a server's `Retry-After` may ask for longer). */
  readonly maxDelayMs: number;
  /** How the step is randomised. */
  readonly jitter: BackoffJitter;
  /**
   * Longest server-requested delay honoured, ms; default and upper bound `MAX_TIMER_MS`. A `Retry-After` above it
   * is treated as this value (the retry still comes no sooner than the capped request).
   */
  readonly maxRetryAfterMs?: number;
}

/** The inputs of one backoff decision. */
export interface BackoffInput {
  /** Which retry this is: 1 for the first retry after the first failure. */
  readonly retry: number;
  /** A uniform random number in `[0, 1)` (a pure function takes the draw, the caller owns the source). */
  readonly random: number;
  /** The server's requested delay (`parseRetryAfter`), ms, when it sent one. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * The delay before a retry, ms: an integer in `[0, MAX_TIMER_MS]`, so `setTimeout` never overflows.
 *
 * The one meaning of `Retry-After` in the SDK: **a minimum**. The delay is the larger of the jittered backoff step
 * and the server's request; the request is first capped at `maxRetryAfterMs` (default `MAX_TIMER_MS`, ~24.8 days),
 * because a timer cannot hold more and a hostile or broken header must not park a retry forever. An absent, negative
 * or non-finite `retryAfterMs` is ignored.
 */
export function backoffDelayMs(policy: BackoffPolicy, input: BackoffInput): number {
  const maxDelayMs = Math.min(Math.max(0, policy.maxDelayMs), MAX_TIMER_MS);
  // The exponent is bounded so that a long outage (retry 10_000) never turns a finite base into Infinity or NaN.
  const exponent = Math.min(Math.max(0, input.retry - 1), 64);
  const base = Math.max(0, policy.baseDelayMs);
  const step = Math.min(maxDelayMs, base * 2 ** exponent);
  const r = Math.min(Math.max(0, input.random), 1);
  const jitter = policy.jitter;
  let delay: number;
  if (jitter === 'full') delay = step * r;
  else if (jitter === 'equal') delay = step / 2 + (step * r) / 2;
  else if (jitter === 'none') delay = step;
  else delay = Math.min(maxDelayMs, step + step * jitter.ratio * r);
  delay = Math.round(delay);
  const ra = input.retryAfterMs;
  if (ra !== undefined && Number.isFinite(ra) && ra > 0) {
    const cap = Math.min(policy.maxRetryAfterMs ?? MAX_TIMER_MS, MAX_TIMER_MS);
    delay = Math.max(delay, Math.min(Math.ceil(ra), cap));
  }
  return Math.min(delay, MAX_TIMER_MS);
}
