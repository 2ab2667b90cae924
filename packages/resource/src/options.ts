import type { Clock, Logger, SystemMetrics } from '@rediver/core';
import type { MetricsSource } from './metricsSource';

/** Options of `ResourceController` (the Resource Controller table of `docs/spec/agent-resource-management.md`, plus
 * event-loop and PSI limits). */
export interface ResourceControllerOptions {
  /** CPU percent (of the effective CPUs) at which to throttle, 0 < x <= 100. */
  cpuThreshold?: number;
  /** Memory percent (of the cgroup limit or host memory) at which to throttle, 0 < x <= 100. */
  memoryThreshold?: number;
  /** Event-loop delay p99 at which to throttle, ms; off when undefined. */
  eventLoopDelayThresholdMs?: number;
  /** CPU pressure (PSI `some avg10`, percent) at which to throttle; off when undefined. */
  cpuPressureThreshold?: number;
  /** Memory pressure (PSI `some avg10`, percent) at which to throttle; off when undefined. */
  memoryPressureThreshold?: number;
  /** Jobs admitted at once when not throttled, integer >= 1; default the effective CPUs (rounded up). */
  maxConcurrentJobs?: number;
  /** Jobs admitted at once even while throttled, integer 0..maxConcurrentJobs. */
  minConcurrentJobs?: number;
  /** Time between samples, ms (the first sample is taken by `start()`). */
  sampleIntervalMs?: number;
  /** How long every figure must stay below its threshold before throttling clears, ms. */
  cooldownMs?: number;
  /** Log every sample at `info` instead of `debug`. */
  verbose?: boolean;
  /** Called when throttling starts (same moment as the `throttle` event). */
  onThresholdExceeded?: (metrics: SystemMetrics, reason: string) => void;
  /** Called when throttling clears (same moment as the `resume` event). */
  onThresholdCleared?: (metrics: SystemMetrics) => void;
  /** Where figures come from; default a `SystemMetricsSource` the controller creates and closes. */
  metricsSource?: MetricsSource;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Time source for `throttledAt` and the cooldown; injectable for tests. */
  clock?: Clock;
}

/** Defaults of `ResourceControllerOptions` (`maxConcurrentJobs`: the metrics source's effective CPUs). */
export const DEFAULT_RESOURCE_CONTROLLER_OPTIONS = Object.freeze({
  cpuThreshold: 85,
  memoryThreshold: 85,
  eventLoopDelayThresholdMs: undefined,
  cpuPressureThreshold: undefined,
  memoryPressureThreshold: undefined,
  maxConcurrentJobs: undefined,
  minConcurrentJobs: 1,
  sampleIntervalMs: 5000,
  cooldownMs: 30_000,
  verbose: false,
} as const);

/** Options of `acquireSlotBlocking`. */
export interface AcquireSlotOptions {
  /** Aborting rejects the wait with a `ResourceError` of code `ABORTED` (the signal's reason as `cause`). */
  signal?: AbortSignal;
  /** Give up after this long, ms (0: only if a slot is free now); rejects with code `TIMEOUT`. */
  timeoutMs?: number;
}
