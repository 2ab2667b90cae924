import type { SystemMetrics } from '@rediver/core';

/** Payload of the `throttle` event. */
export interface ThrottleEvent {
  /** The sample that crossed a threshold. */
  metrics: SystemMetrics;
  /** Every figure over its limit, e.g. `CPU 90.5% >= 85%, memory 91% >= 85%`. */
  reason: string;
  /** Epoch ms throttling started. */
  throttledAt: number;
}

/** Payload of the `resume` event. */
export interface ResumeEvent {
  /** The sample that completed the cooldown. */
  metrics: SystemMetrics;
  /** Epoch ms throttling had started. */
  throttledAt: number;
  /** How long throttling lasted, ms. */
  throttledForMs: number;
}

/** Codes of `warning` events. */
export const RESOURCE_WARNING_CODES = Object.freeze({
  /** The metrics source threw; the sample was skipped and the state left as it was. */
  SAMPLE_FAILED: 'SAMPLE_FAILED',
  /** A slot handle was released a second time; ignored (counted in `doubleReleases`). */
  DOUBLE_RELEASE: 'DOUBLE_RELEASE',
  /** A callback option or event listener threw; the controller carried on. */
  LISTENER_FAILED: 'LISTENER_FAILED',
} as const);
/** A `warning` code. */
export type ResourceWarningCode = (typeof RESOURCE_WARNING_CODES)[keyof typeof RESOURCE_WARNING_CODES];

/** Payload of the `warning` event: something went wrong that the controller absorbed. */
export interface ResourceWarning {
  code: ResourceWarningCode;
  message: string;
  /** The thrown value, when there was one. */
  error?: unknown;
}

/** The controller's typed event map (eventemitter3). */
export interface ResourceControllerEvents {
  /** Throttling started: new jobs beyond `minConcurrentJobs` are refused. */
  throttle: [event: ThrottleEvent];
  /** Throttling cleared after the cooldown: admission back to `maxConcurrentJobs`. */
  resume: [event: ResumeEvent];
  /** Every successful sample, after the state was updated from it. */
  sample: [metrics: SystemMetrics];
  /** An absorbed failure (see `RESOURCE_WARNING_CODES`). */
  warning: [warning: ResourceWarning];
}
