import type { ChunkStatus, ReportStatus } from '@rediver/core';

/* The public types of the chunk engine's delivery: counters, progress, dead letters (ChunkManager's methods). */

/** Where an error passed to `onError` happened. */
export interface UploadErrorContext {
  tenantId?: string;
  reportId?: string;
  chunkIndex?: number;
}

/** Counters since start (every give-up is counted). */
export interface UploadCounters {
  /** Chunks acknowledged. */
  uploaded: number;
  /** Compressed bytes acknowledged. */
  bytesUploaded: number;
  /** Retryable failures that were scheduled for a retry. */
  retries: number;
  /** Chunks dead-lettered (including quarantined ones). */
  deadLettered: number;
  /** Reports settled `completed`. */
  reportsCompleted: number;
  /** Reports settled `partial` or `failed`. */
  reportsFailed: number;
  /** Chunks returned to pending by shutdown. */
  released: number;
  /** Unexpected engine errors. */
  errors: number;
  /** Requests answered with back pressure (429, 503, timeouts, dropped connections). */
  backPressure: number;
}

/** Upload progress of one report. Bytes are the stored (compressed) bytes, i.e. what travels. */
export interface ReportProgress {
  tenantId: string;
  reportId: string;
  status: ReportStatus;
  priority: number;
  totalChunks: number;
  uploadedChunks: number;
  /** Dead-lettered chunks (`failed` or `corrupt`). */
  failedChunks: number;
  /** Chunks still to send (pending, waiting for a retry, or in flight). */
  pendingChunks: number;
  totalBytes: number;
  uploadedBytes: number;
  /** Last recorded error of the report (set when it settles failed or partial). */
  lastError: string | null;
}

/** A dead-lettered chunk: kept, with its blob when it has one, until `retryFailed` or retention. */
export interface DeadLetter {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  /** `failed` (refused or out of retries; can be re-queued) or `corrupt` (quarantined by its checksum). */
  status: Extract<ChunkStatus, 'failed' | 'corrupt'>;
  attempts: number;
  lastError: string | null;
  checksum: string;
  compressedBytes: number;
  /** False when the blob is gone (then it cannot be re-sent). */
  hasData: boolean;
}

/** Filter of `listDeadLetters`. */
export interface DeadLetterFilter {
  tenantId?: string;
  reportId?: string;
  /** Most rows returned. Default 1000. */
  limit?: number;
}

/** How a report ended once every chunk was settled. */
export type ReportOutcome = Extract<ReportStatus, 'completed' | 'partial' | 'failed'>;
