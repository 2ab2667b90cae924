import type { ChunkData, ChunkStatus, Report, ReportStatus } from '@rediver/core';
import type { ReportProgress } from './deliveryTypes';

/* The public types of `ChunkStore`'s methods (the class is in chunkStore.ts). */

/** Options of `submitReport`. */
export interface SubmitReportOptions {
  /** Tenant owning the report; every later read, delete and cleanup is scoped to it. */
  tenantId: string;
  /** Higher uploads first. Default 0. */
  priority?: number;
}

/** Outcome of `submitReport` (and of a streamed report's `commit()`). */
export interface SubmitReportResult {
  reportId: string;
  totalChunks: number;
  /** False when the same report (same content) was already stored: nothing was written. */
  created: boolean;
  /** Sum of the chunks' uncompressed JSON bytes. */
  originalBytes: number;
  /** Sum of the chunks' compressed bytes. */
  compressedBytes: number;
}

/** A stored chunk's verified data: its zstd frames as stored (never recompressed). */
export interface ChunkBlob {
  /** Row id (stable, tenant-scoped). */
  chunkId: number;
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  isFinal: boolean;
  /**
   * Standard zstd data of the chunk's `ChunkData` JSON: one frame, or (chunks stored since 0.x streaming) two
   * concatenated frames — the body, then the tail with `total_chunks` and `is_final`. Any zstd decoder
   * (fzstd, the `zstd` CLI, the platform's) reads concatenated frames as one stream.
   */
  data: Uint8Array;
  /** Hex SHA-256 of the uncompressed JSON (verified before returning). */
  checksum: string;
  originalBytes: number;
  compressedBytes: number;
}

/** Options of `readChunk`. */
export interface ReadChunkOptions {
  /** `'full'` (default): decompress and check the content's SHA-256; `'frame'`: check the stored frame's SHA-256. */
  verify?: 'full' | 'frame';
}

/** Identifies one chunk of a tenant: its row id, or report id and index. */
export type ChunkRef = number | { reportId: string; chunkIndex: number };

/** Counts and bytes of the store (or of one tenant). Read from counter rows: O(tenants), never O(chunks). */
export interface ChunkStoreStats {
  /** Committed reports by status (a streamed report is counted once committed). */
  reports: Record<ReportStatus, number>;
  /** Committed chunks by status. */
  chunks: Record<ChunkStatus, number>;
  /** Compressed bytes of the committed chunks' blobs still stored. */
  storedBytes: number;
  /** Uncompressed bytes of every committed chunk row (stored or freed). */
  originalBytes: number;
  /** Compressed bytes of every committed chunk row (stored or freed). */
  compressedBytes: number;
  /** Streamed reports being written (not committed: invisible to uploads and to the counts above). */
  stagingReports: number;
  /** Compressed bytes their chunks hold so far (they count against the quota). */
  stagedBytes: number;
  /** `maxStorageMB` in bytes. */
  maxStorageBytes: number;
  /** (stored + staged bytes of the whole store) / maxStorageBytes, even for a tenant's stats. */
  quotaUsed: number;
  /** Undelivered reports deleted by `whenFull: 'drop-oldest'` since open. */
  droppedReports: number;
  /** Undelivered compressed bytes deleted since open. */
  droppedBytes: number;
  /** Reports refused with `STORAGE_QUOTA` since open. */
  quotaRejections: number;
  /** Chunks quarantined as `corrupt` since open. */
  corruptChunks: number;
  /** Oversize single-finding chunks stored since open. */
  oversizeChunks: number;
  /** Undelivered chunks deleted since open (quota drops, retention of failed reports). */
  undeliveredChunksDeleted: number;
}

/** A stored report, as `listReports` gives it: its progress and its times. */
export interface StoredReportSummary extends ReportProgress {
  createdAt: number;
  updatedAt: number;
}

/** Filter of `listReports`. */
export interface ListReportsOptions {
  /** Only these statuses (default: all). */
  statuses?: readonly ReportStatus[];
  /** Most rows (default 200). */
  limit?: number;
}

/** A damaged database file moved aside at open (kept for forensics). */
export interface SetAsideFile {
  /** Where the store was. */
  readonly path: string;
  /** Where the damaged file is now (its `-wal`/`-shm` got the same suffix). */
  readonly movedTo: string;
  /** Epoch ms. */
  readonly at: number;
  /** What SQLite said. */
  readonly reason: string;
}

/**
 * Chunk JSON as stored: `ChunkData`, plus (chunk 0 only) the report's top-level fields ChunkData has no
 * place for, so a stored report can be reassembled whole. The platform ignores unknown fields.
 */
export interface StoredChunkData extends ChunkData {
  version?: string;
  $schema?: string;
  dependencies?: Report['dependencies'];
  properties?: Report['properties'];
}
