import type { QueueItem, RediverError, UploadResult } from '@rediver/core';

/** Details of a scheduled retry. */
export interface RetryInfo {
  /** The error of the failed attempt. */
  error: RediverError;
  /** Which retry this is (1 for the first). */
  retry: number;
  /** Wait before the retry, ms (backoff with jitter, or the server's `Retry-After` if longer). */
  delayMs: number;
}

/** Events of an `UploadPipeline` (eventemitter3). Listeners that throw are logged, never propagated. */
export interface UploadPipelineEvents {
  /** An item was accepted. */
  submitted: (item: QueueItem) => void;
  /** An item was delivered. */
  completed: (item: QueueItem, result: UploadResult) => void;
  /** An item was given up: not retryable, or out of retries. */
  failed: (item: QueueItem, error: RediverError) => void;
  /** An attempt failed and a retry is scheduled. */
  retry: (item: QueueItem, info: RetryInfo) => void;
  /** `stop` handed these undelivered items back (also its return value). */
  returned: (items: readonly QueueItem[]) => void;
  /** Nothing is queued, in flight or waiting for a retry any more. */
  idle: () => void;
}
