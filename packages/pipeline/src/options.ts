import type { Clock, Logger, QueueItem, RediverError, UploadResult } from '@rediver/core';

/** Options of an `UploadPipeline`. Every field is optional; defaults are `DEFAULT_UPLOAD_PIPELINE_OPTIONS`. */
export interface UploadPipelineOptions {
  /** Most items held waiting (queued or waiting for a retry); beyond it `submit` throws `QUEUE_FULL`. */
  queueSize?: number;
  /** Concurrent uploads. */
  workers?: number;
  /** Retries after the first attempt (so at most `1 + retryAttempts` attempts). */
  retryAttempts?: number;
  /** Delay before the first retry; doubles for each further retry. */
  retryDelayMs?: number;
  /** Longest backoff delay, jitter included (a server's `Retry-After` may ask for longer). */
  maxRetryDelayMs?: number;
  /** Random extra delay as a fraction of the backoff delay, 0..1 (0.2 → up to 20% more). */
  retryJitterRatio?: number;
  /** Time one attempt may take before its `AbortSignal` fires and it counts as a retryable timeout. */
  uploadTimeoutMs?: number;
  /** Log every item's progress at `info` (otherwise only give-ups, at `warn`). */
  verbose?: boolean;
  /** Called when an item is accepted (same moment as the `submitted` event). */
  onSubmitted?: (item: QueueItem) => void;
  /** Called when an item is delivered (same moment as the `completed` event). */
  onCompleted?: (item: QueueItem, result: UploadResult) => void;
  /** Called when an item is given up (same moment as the `failed` event). */
  onFailed?: (item: QueueItem, error: RediverError) => void;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Time source for timestamps and attempt deadlines (tests inject one; must agree with the timers). */
  clock?: Clock;
  /** Uniform random source in [0, 1) for jitter (tests inject one). */
  random?: () => number;
}

/** Defaults of `UploadPipelineOptions` (the values of `docs/spec/agent-resource-management.md`, plus the cap and jitter it
 * lacked). */
export const DEFAULT_UPLOAD_PIPELINE_OPTIONS = Object.freeze({
  queueSize: 1000,
  workers: 3,
  retryAttempts: 3,
  retryDelayMs: 5000,
  maxRetryDelayMs: 60_000,
  retryJitterRatio: 0.2,
  uploadTimeoutMs: 120_000,
  verbose: false,
} as const);

/** Options of one `submit`. */
export interface SubmitOptions {
  /** Job the report belongs to (carried on the item). */
  jobId?: string;
  /** Tenant the report belongs to (carried on the item). */
  tenantId?: string;
  /** Higher is served first; any safe integer (see core's `PRIORITY`). Default `PRIORITY.normal`. */
  priority?: number;
  /** Serialised size when the caller already knows it; otherwise measured as UTF-8 JSON. */
  sizeBytes?: number;
}

/** Options of `flush`. */
export interface FlushOptions {
  /** Stops waiting (rejects with `ABORTED`); the work itself goes on. */
  signal?: AbortSignal;
}

/** Options of `stop`. */
export interface StopOptions {
  /** Deliver what is queued before stopping (default `true`); `false` hands everything back at once. */
  drain?: boolean;
  /** Ends a drain early: every undelivered item is handed back. */
  signal?: AbortSignal;
}
