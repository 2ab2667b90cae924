import type { FaultOptions } from '../ingestServerOptions';

/** Counters of injected faults. */
export interface FaultCounts {
  latency: number;
  reset: number;
  rateLimited: number;
  error: number;
}

/** The fault to inject into one request (after any latency). */
export type FaultDecision = 'none' | 'reset' | 'rateLimited' | 'error';

/** Draws the fault for one request: reset, then 429, then 503, each with its own random draw. */
export function decideFault(faults: FaultOptions, random: () => number): FaultDecision {
  if (faults.resetRate > 0 && random() < faults.resetRate) return 'reset';
  if (faults.rateLimitRate > 0 && random() < faults.rateLimitRate) return 'rateLimited';
  if (faults.errorRate > 0 && random() < faults.errorRate) return 'error';
  return 'none';
}
