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
