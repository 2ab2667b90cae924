import type { BackgroundErrorEvent, SystemMetrics } from '@rediver/core';
import type { ResourceError } from './errors';

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

/** What failed in the background: a sample of the metrics source, or a callback/listener of the user's. */
export type ResourceErrorSource = 'sample' | 'listener';

/** Payload of the `error` event (the one way background failures are reported). */
export interface ResourceErrorEvent extends BackgroundErrorEvent<ResourceErrorSource> {
  error: ResourceError;
}

/**
 * The controller's typed event map (eventemitter3): one payload per event, `domain:verb` names. The plain names
 * (`throttle`, `resume`, `sample`, `warning`) are deprecated aliases, emitted with the same payload.
 */
export interface ResourceControllerEvents {
  /** Throttling started: new jobs beyond `minConcurrentJobs` are refused. */
  'resource:throttled': (event: ThrottleEvent) => void;
  /** Throttling cleared after the cooldown: admission back to `maxConcurrentJobs`. */
  'resource:resumed': (event: ResumeEvent) => void;
  /** Every successful sample, after the state was updated from it. */
  'resource:sampled': (metrics: SystemMetrics) => void;
  /** An absorbed irregularity (see `RESOURCE_WARNING_CODES`); failures also come as `error`. */
  'resource:warning': (warning: ResourceWarning) => void;
  /** A background failure (a sample, a callback or listener that threw); the controller carried on. */
  error: (event: ResourceErrorEvent) => void;
  /** @deprecated Use `resource:throttled`. */
  throttle: (event: ThrottleEvent) => void;
  /** @deprecated Use `resource:resumed`. */
  resume: (event: ResumeEvent) => void;
  /** @deprecated Use `resource:sampled`. */
  sample: (metrics: SystemMetrics) => void;
  /** @deprecated Use `resource:warning` (and `error` for failures). */
  warning: (warning: ResourceWarning) => void;
}
