/** Package version, for user agents and diagnostics. */
export const VERSION = '0.0.0';

export { ChunkStore } from './chunkStore';
export type {
  ChunkBlob,
  ChunkRef,
  ChunkStoreStats,
  SubmitReportOptions,
  SubmitReportResult,
} from './chunkStore';
export { ChunkError } from './internal/errors';
export { reassembleChunks } from './internal/split';
export type { StoredChunkData } from './internal/split';
export { DEFAULT_CHUNK_STORE_OPTIONS, WHEN_FULL_POLICIES } from './internal/options';
export type { ChunkStoreOptions, WhenFullPolicy } from './internal/options';
export type {
  ChunkCleanupEvent,
  ChunkCorruptEvent,
  ChunkCreatedEvent,
  ChunkEventMap,
  ChunkOversizeEvent,
  CleanupReason,
  MaintenanceErrorEvent,
  ReportDroppedEvent,
  ReportStoredEvent,
  StorageFullEvent,
} from './internal/events';

// ---- upload half (issue 7) ----
export { ChunkManager, DEFAULT_CHUNK_MANAGER_OPTIONS } from './chunkManager';
export type { ChunkManagerOptions, ChunkManagerStats, WaitOptions } from './chunkManager';
export type { UploadCounters, UploadErrorContext } from './internal/uploadEngine';
export type { DeadLetter, DeadLetterFilter, ReportOutcome, ReportProgress } from './internal/uploadQueue';
export type {
  ChunkFailedEvent,
  ChunkFailReason,
  ChunkRetryEvent,
  ChunkUploadedEvent,
  ReportFailedEvent,
  UploadErrorEvent,
} from './internal/events';
export { chunkIdempotencyKey } from './internal/uploadIdempotency';
export type { ChunkIdentity } from './internal/uploadIdempotency';
