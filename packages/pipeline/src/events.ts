import type { BackgroundErrorEvent, QueueItem, RediverError, UploadResult } from '@rediver/core';
import type { PipelineError } from './pipelineError';

/** Details of a scheduled retry. */
export interface RetryInfo {
  /** The error of the failed attempt. */
  error: RediverError;
  /** Which retry this is (1 for the first). */
  retry: number;
  /** Wait before the retry, ms (backoff with jitter, or the server's `Retry-After` if longer). */
  delayMs: number;
}

/** Payload of `item:retry`: the item and the retry scheduled for it. */
export interface ItemRetryEvent extends RetryInfo {
  item: QueueItem;
}

/** Payload of `error`: a callback option or listener threw (logged; the pipeline carried on). */
export interface PipelineErrorEvent extends BackgroundErrorEvent<'listener'> {
  error: PipelineError;
}

/**
 * Events of an `UploadPipeline` (eventemitter3): one payload per event, `domain:verb` names, `error` for background
 * failures. Listeners that throw are logged and reported as `error`, never propagated. The former positional events
 * (`submitted`, `completed`, `failed`, `retry`, `returned`, `idle`) still fire and are deprecated.
 */
export interface UploadPipelineEvents {
  /** An item was accepted. */
  'item:submitted': (event: { item: QueueItem }) => void;
  /** An item was delivered. */
  'item:completed': (event: { item: QueueItem; result: UploadResult }) => void;
  /** An item was given up: not retryable, or out of retries. */
  'item:failed': (event: { item: QueueItem; error: RediverError }) => void;
  /** An attempt failed and a retry is scheduled. */
  'item:retry': (event: ItemRetryEvent) => void;
  /** `stop` handed these undelivered items back (also its return value). */
  'pipeline:returned': (event: { items: readonly QueueItem[] }) => void;
  /** Nothing is queued, in flight or waiting for a retry any more. */
  'pipeline:idle': () => void;
  /** A callback option or listener threw (code `INTERNAL`, the thrown value as `cause`). */
  error: (event: PipelineErrorEvent) => void;
  /** @deprecated Use `item:submitted`. */
  submitted: (item: QueueItem) => void;
  /** @deprecated Use `item:completed`. */
  completed: (item: QueueItem, result: UploadResult) => void;
  /** @deprecated Use `item:failed`. */
  failed: (item: QueueItem, error: RediverError) => void;
  /** @deprecated Use `item:retry`. */
  retry: (item: QueueItem, info: RetryInfo) => void;
  /** @deprecated Use `pipeline:returned`. */
  returned: (items: readonly QueueItem[]) => void;
  /** @deprecated Use `pipeline:idle`. */
  idle: () => void;
}
