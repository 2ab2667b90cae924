import type { ChunkStatus, ReportStatus } from '@rediver/core';
import type { Generated } from 'kysely';

/** Row of `reports`: one stored report (all times epoch ms). */
export interface ReportsTable {
  tenant_id: string;
  report_id: string;
  status: ReportStatus;
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
}

/** Row of `chunks`: one chunk of a report. */
export interface ChunksTable {
  id: Generated<number>;
  tenant_id: string;
  report_id: string;
  chunk_index: number;
  status: ChunkStatus;
  /** One standard zstd frame of the chunk's JSON; NULL once freed (`deleteChunkData`). */
  data: Uint8Array | null;
  /** Hex SHA-256 of the uncompressed `ChunkData` JSON. */
  checksum: string;
  /** Hex SHA-256 of the stored zstd frame (migration 2; NULL on older rows). */
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
  schema_migrations: SchemaMigrationsTable;
}
