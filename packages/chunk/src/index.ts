export { VERSION } from './version';

export { ChunkStore } from './chunkStore';
export type {
  ChunkBlob,
  ChunkRef,
  ChunkStoreStats,
  ListReportsOptions,
  ReadChunkOptions,
  StoredReportSummary,
  SubmitReportOptions,
  SubmitReportResult,
} from './chunkStoreTypes';
export { ReportWriter } from './reportWriter';
export type { BeginReportOptions, CommitReportOptions, ReportHeader } from './reportWriter';
export type { SetAsideFile } from './chunkStoreTypes';
export { ChunkError } from './errors';
// Re-exported from @rediver/core so one import handles this package's errors.
export { ERROR_CODES, isRediverError, isRetryableError } from '@rediver/core';
export type { ErrorCode, RediverError } from '@rediver/core';
export { reassembleChunks } from './reassemble';
export type { StoredChunkData } from './chunkStoreTypes';
export { DEFAULT_CHUNK_STORE_OPTIONS, WHEN_FULL_POLICIES } from './options';
export type {
  ChunkStorageOptions,
  ChunkStoreOptions,
  ChunkUploadTableOptions,
  WhenFullPolicy,
} from './options';
export type {
  ChunkCleanupEvent,
  ChunkCorruptEvent,
  ChunkCreatedEvent,
  ChunkErrorEvent,
  ChunkErrorSource,
  ChunkEventMap,
  ChunkOversizeEvent,
  CleanupReason,
  MaintenanceErrorEvent,
  ReportDroppedEvent,
  ReportStoredEvent,
  StorageFullEvent,
  StoreCorruptEvent,
  StoreSetAsideEvent,
} from './events';

// ---- upload half: the engine that delivers stored chunks ----
export { ChunkManager, DEFAULT_CHUNK_MANAGER_OPTIONS } from './chunkManager';
export type {
  ChunkEventSource,
  ChunkManagerOptions,
  ChunkManagerStats,
  ChunkUploadOptions,
  WaitOptions,
} from './chunkManager';
export type { UploadCounters, UploadErrorContext } from './deliveryTypes';
export type { DeadLetter, DeadLetterFilter, ReportOutcome, ReportProgress } from './deliveryTypes';
export type {
  ChunkFailedEvent,
  ChunkFailReason,
  ChunkRetryEvent,
  ChunkUploadedEvent,
  ReportFailedEvent,
  UploadBacklogEvent,
  UploadErrorEvent,
  UploadLimitEvent,
} from './events';
export { chunkIdempotencyKey } from './idempotencyKey';
export type { ChunkIdentity } from './idempotencyKey';
