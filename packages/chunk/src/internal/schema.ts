import type { ChunkStatus, ReportStatus } from '@rediver/core';
import type { Generated } from 'kysely';

/** Report status in the database: the public ones plus `staging` (a streaming submit not committed yet). */
export type StoredReportStatus = ReportStatus | 'staging';
/** Chunk status in the database: the public ones plus `staged` (a chunk of a report not committed yet). */
export type StoredChunkStatus = ChunkStatus | 'staged';

/** Row of `reports`: one stored report (all times epoch ms). */
export interface ReportsTable {
  tenant_id: string;
  report_id: string;
  status: StoredReportStatus;
  priority: Generated<number>;
  total_chunks: number;
  /** Hex SHA-256 of the report's canonical JSON (idempotent resubmit). */
  content_hash: string;
  original_bytes: number;
  compressed_bytes: number;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  last_error: string | null;
  /** Process id of the writer while `staging`. */
  staged_by: number | null;
  /** Counters kept by triggers (migration 3): pending + uploading rows. */
  chunks_pending: Generated<number>;
  chunks_uploaded: Generated<number>;
  /** failed + corrupt rows. */
  chunks_failed: Generated<number>;
  /** Rows whose blob is still stored. */
  chunks_stored: Generated<number>;
  bytes_uploaded: Generated<number>;
  /** Compressed bytes of the blobs still stored. */
  stored_bytes: Generated<number>;
}

/** Row of `tenant_stats`: one tenant's counters, kept by triggers (migration 3). */
export interface TenantStatsTable {
  tenant_id: string;
  reports_staging: number;
  reports_pending: number;
  reports_uploading: number;
  reports_completed: number;
  reports_failed: number;
  reports_partial: number;
  chunks_staged: number;
  chunks_pending: number;
  chunks_uploading: number;
  chunks_uploaded: number;
  chunks_failed: number;
  chunks_corrupt: number;
  /** Of committed chunk rows. */
  original_bytes: number;
  compressed_bytes: number;
  /** Compressed bytes of every stored blob, staged ones included (the quota counts them). */
  stored_bytes: number;
  staged_bytes: number;
}

/** Row of `chunk_blobs`: a chunk's stored zstd frame (all of it, or all but its tail). */
export interface ChunkBlobsTable {
  chunk_id: number;
  data: Uint8Array;
}

/** Row of `chunks`: one chunk of a report. */
export interface ChunksTable {
  id: Generated<number>;
  tenant_id: string;
  report_id: string;
  chunk_index: number;
  status: StoredChunkStatus;
  /** 1 while its blob is in `chunk_blobs`. */
  has_data: Generated<number>;
  /** The chunk's last zstd frame (`total_chunks`, `is_final`), NULL when the blob is the whole JSON. */
  tail: Uint8Array | null;
  /** Hex SHA-256 of the uncompressed `ChunkData` JSON. */
  checksum: string;
  /** Hex SHA-256 of the stored blob (migration 2; NULL on older rows); the tail is checked by its content. */
  frame_checksum: string | null;
  original_bytes: number;
  compressed_bytes: number;
  attempts: Generated<number>;
  next_attempt_at: Generated<number>;
  last_error: string | null;
  created_at: number;
  uploaded_at: number | null;
}

/** Row of `schema_migrations`: one applied migration. */
export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

/** The chunk database as Kysely sees it. */
export interface ChunkDatabase {
  reports: ReportsTable;
  chunks: ChunksTable;
  chunk_blobs: ChunkBlobsTable;
  tenant_stats: TenantStatsTable;
  schema_migrations: SchemaMigrationsTable;
}
