import type { ChunkUploadResponse, RediverError } from '@rediver/core';
import type { WhenFullPolicy } from './options';
import type { ReportProgress } from './internal/uploadQueue';

/** A chunk was stored. */
export interface ChunkCreatedEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  originalBytes: number;
  compressedBytes: number;
}

/** Why chunk data was deleted. `quota-drop` deletes undelivered data (only under `whenFull: 'drop-oldest'`). */
export type CleanupReason =
  'upload' | 'report' | 'retention' | 'size' | 'quota-free' | 'quota-drop' | 'manual';

/** Chunk data (blobs, or whole reports) was deleted. */
export interface ChunkCleanupEvent {
  tenantId: string;
  reason: CleanupReason;
  /** Set when one report is concerned. */
  reportId?: string;
  /** Chunk rows deleted. */
  chunksDeleted: number;
  /** Blobs freed (row kept, data NULL). */
  blobsFreed: number;
  /** Compressed bytes released. */
  bytesFreed: number;
  /** True when data not yet delivered was deleted. */
  undelivered: boolean;
}

/** A stored chunk failed its checksum (or would not decompress) and was quarantined as `corrupt`. */
export interface ChunkCorruptEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  error: RediverError;
}

/** A single finding (with its assets) is bigger than `maxChunkSizeBytes` and travels alone. */
export interface ChunkOversizeEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  bytes: number;
  maxChunkSizeBytes: number;
}

/** A report and all its chunks were stored. */
export interface ReportStoredEvent {
  tenantId: string;
  reportId: string;
  totalChunks: number;
  priority: number;
  originalBytes: number;
  compressedBytes: number;
}

/** A report did not fit in the quota; `action` says what was done about it. */
export interface StorageFullEvent {
  tenantId: string;
  reportId: string;
  policy: WhenFullPolicy;
  action: 'rejected' | 'freed-uploaded' | 'dropped-oldest';
  neededBytes: number;
  storedBytes: number;
  maxStorageBytes: number;
}

/** An undelivered report was deleted to make room (`whenFull: 'drop-oldest'`). */
export interface ReportDroppedEvent {
  tenantId: string;
  reportId: string;
  chunks: number;
  bytes: number;
}

/**
 * The database file was damaged (truncated, garbage, a torn WAL) at open: it was moved aside (kept, with its
 * -wal/-shm, for forensics) and a fresh store started. `ChunkStore.setAside` and `ChunkStore.listSetAside` say it
 * too. Reports that were only in the damaged file are not delivered.
 */
export interface StoreSetAsideEvent {
  /** Where the store was (a fresh one is there now). */
  path: string;
  /** Where the damaged file is now. */
  movedTo: string;
  /** Epoch ms. */
  at: number;
  /** SQLite's error. */
  reason: string;
}

/**
 * SQLite reported the open file damaged (SQLITE_CORRUPT, SQLITE_NOTADB) while running. Once per open store. The next
 * open checks the file and sets it aside (`store:set-aside`): close and reopen the store (or restart the agent).
 */
export interface StoreCorruptEvent {
  path: string;
  reason: string;
}

/**
 * A background maintenance run (retention/quota sweep) failed; it is retried on the next tick.
 * @deprecated Listen to `error` (`source: 'maintenance'`).
 */
export interface MaintenanceErrorEvent {
  error: unknown;
}

/** Which background activity failed. */
export type ChunkErrorSource = 'maintenance' | 'upload';

/**
 * Payload of `error`, the one way background failures are reported: a maintenance sweep (retried on the next tick)
 * or the upload engine's bookkeeping (the chunk is retried later). `error` is a `ChunkError` (`INTERNAL` unless the
 * failure had its own code, e.g. `DISK_FULL`).
 */
export interface ChunkErrorEvent {
  error: RediverError;
  source: ChunkErrorSource;
  tenantId?: string;
  reportId?: string;
  chunkIndex?: number;
}

/**
 * Typed event map of `@rediver/chunk` (eventemitter3): one payload per event, `domain:verb` names, `error` for
 * background failures. Storage events are emitted by `ChunkStore`; the upload engine adds its events below and emits
 * them on the same emitter.
 */
export interface ChunkEventMap {
  'chunk:created': (event: ChunkCreatedEvent) => void;
  'chunk:cleanup': (event: ChunkCleanupEvent) => void;
  'chunk:corrupt': (event: ChunkCorruptEvent) => void;
  'chunk:oversize': (event: ChunkOversizeEvent) => void;
  'report:stored': (event: ReportStoredEvent) => void;
  'report:dropped': (event: ReportDroppedEvent) => void;
  'storage:full': (event: StorageFullEvent) => void;
  /** @deprecated Use `error` (`source: 'maintenance'`). */
  'maintenance:error': (event: MaintenanceErrorEvent) => void;
  /** A background failure (maintenance sweep, upload bookkeeping); the store and engine carry on. */
  error: (event: ChunkErrorEvent) => void;
  'store:set-aside': (event: StoreSetAsideEvent) => void;
  'store:corrupt': (event: StoreCorruptEvent) => void;
  // ---- upload engine events (owned by the upload half; add below this line) ----
  'chunk:uploaded': (event: ChunkUploadedEvent) => void;
  'chunk:retry': (event: ChunkRetryEvent) => void;
  'chunk:failed': (event: ChunkFailedEvent) => void;
  'report:progress': (event: ReportProgress) => void;
  'report:completed': (event: ReportProgress) => void;
  'report:failed': (event: ReportFailedEvent) => void;
  /** @deprecated Use `error` (`source: 'upload'`). */
  'upload:error': (event: UploadErrorEvent) => void;
  'upload:limit': (event: UploadLimitEvent) => void;
  'upload:backlog': (event: UploadBacklogEvent) => void;
}

// ---- upload engine event payloads ----

/** A chunk was acknowledged by the platform. */
export interface ChunkUploadedEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  /** Attempt that succeeded (1 = first try). */
  attempt: number;
  originalBytes: number;
  compressedBytes: number;
  idempotencyKey: string;
  response: ChunkUploadResponse;
}

/**
 * An upload attempt failed with a transient error (network, timeout, 408, 429, 5xx); the chunk is due again
 * after `delayMs`. Transient failures never dead-letter: past `maxRetries` the retries go on, `escalated`.
 */
export interface ChunkRetryEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  /** Retry number about to happen (1 = first retry); it may exceed `maxRetries`. */
  retry: number;
  /** The `maxRetries` option: retries at the normal level before each further one is a warning. */
  maxRetries: number;
  /** True once `retry` > `maxRetries`: the chunk keeps failing (logged as a warning; still retried). */
  escalated: boolean;
  /** Delay the engine chose: backoff with jitter, never less than the server's `Retry-After`. */
  delayMs: number;
  /** The server's `Retry-After`, ms, when it sent one. */
  retryAfterMs: number | undefined;
  error: RediverError;
}

/**
 * Why a chunk was dead-lettered: only permanent causes. (`retries-exhausted` is no longer produced: transient
 * failures are retried without limit; it stays in the type for code written against earlier versions.)
 */
export type ChunkFailReason = 'rejected' | 'retries-exhausted' | 'corrupt' | 'too-large' | 'data-missing';

/** A chunk was dead-lettered (status `failed`, or `corrupt` when quarantined); other chunks go on. */
export interface ChunkFailedEvent {
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  /** Attempts made (0 when it never left the disk). */
  attempts: number;
  reason: ChunkFailReason;
  error: RediverError;
}

/** A report settled with at least one dead-lettered chunk (`status` is `partial` or `failed`). */
export interface ReportFailedEvent extends ReportProgress {
  error: RediverError;
}

/** The engine hit an unexpected error (e.g. a database write failed); the chunk is retried later. */
export interface UploadErrorEvent {
  error: RediverError;
  tenantId?: string;
  reportId?: string;
  chunkIndex?: number;
}

/** The adaptive concurrency limit changed (`adaptive: true`). */
export interface UploadLimitEvent {
  previous: number;
  limit: number;
  /** `increase`: quick clean answers at the limit; `back-pressure`: 429/503/timeouts; `rtt`: RTT above its baseline. */
  reason: 'increase' | 'back-pressure' | 'rtt';
  /** Mean RTT of the window that decided, ms. */
  rttMs: number | undefined;
  /** Moving RTT baseline, ms. */
  baselineRttMs: number;
}

/** Delivery figures after each settled or retried chunk: what a progress line needs, no polling. */
export interface UploadBacklogEvent {
  /** Committed chunks not delivered yet (pending, waiting for a retry, or in flight), all tenants. */
  outstandingChunks: number;
  inFlight: number;
  /** Uploads allowed at once now. */
  concurrencyLimit: number;
  /** Since start: chunks and compressed bytes acknowledged, dead letters, retries. */
  uploaded: number;
  bytesUploaded: number;
  deadLettered: number;
  retries: number;
}
