import type { Priority } from './job';
import type { Report } from './report';

/** Counters of an upload pipeline. Invariant: submitted = completed + failed + returned + inProgress + queueLength. */
export interface PipelineStats {
  submitted: number;
  completed: number;
  failed: number;
  /** Retry attempts scheduled (not items). */
  retries: number;
  /** Items being uploaded or waiting for a retry. */
  inProgress: number;
  queueLength: number;
  /** Serialised bytes of accepted items. */
  totalBytes: number;
  /** Items handed back undelivered by `stop()`. */
  returned: number;
}

/** One report waiting in, or moving through, the pipeline. */
export interface QueueItem {
  id: string;
  report: Report;
  jobId?: string;
  tenantId?: string;
  priority: Priority;
  /** Attempts made so far. */
  attempts: number;
  /** Epoch ms of submission. */
  submittedAt: number;
  /** Serialised size, bytes. */
  sizeBytes: number;
  lastError?: { message: string; code?: string };
}

/** What an uploader reports after delivering a report. */
export interface UploadResult {
  reportId: string;
  scanId?: string;
  assetsCreated: number;
  assetsUpdated: number;
  findingsCreated: number;
  findingsUpdated: number;
  findingsSkipped: number;
  durationMs?: number;
}
