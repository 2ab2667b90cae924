import type { Asset, Finding, ReportMetadata, ToolInfo } from './report';

/** Wire compressions of a chunk's `data`. */
export const CHUNK_COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
/** A chunk's `data` compression. Empty means zstd on the platform. */
export type ChunkCompression = (typeof CHUNK_COMPRESSIONS)[number];

/** The JSON inside a chunk's `data`: one self-contained slice of a report. */
export interface ChunkData {
  report_id: string;
  chunk_index: number;
  total_chunks: number;
  /** Chunk 0 only. */
  tool?: ToolInfo;
  /** Chunk 0 only. */
  metadata?: ReportMetadata;
  assets?: Asset[];
  findings?: Finding[];
  /** True on the last chunk. */
  is_final: boolean;
}

/** Body of `POST /api/v1/agent/ingest/chunk`. */
export interface ChunkUploadRequest {
  report_id: string;
  chunk_index: number;
  total_chunks: number;
  compression: ChunkCompression;
  /** Standard base64 of the compressed `ChunkData` JSON. */
  data: string;
  is_final: boolean;
  /** Extension: hex SHA-256 of the uncompressed `ChunkData` JSON (the real server ignores it). */
  checksum?: string;
}

/** Answer to a chunk upload (201). */
export interface ChunkUploadResponse {
  chunk_id: string;
  report_id: string;
  chunk_index: number;
  status: string;
  assets_created: number;
  assets_updated: number;
  findings_created: number;
  findings_updated: number;
  findings_skipped: number;
}

/** Life of a stored chunk. */
export const CHUNK_STATUSES = ['pending', 'uploading', 'uploaded', 'failed', 'corrupt'] as const;
/** Life of a stored chunk. */
export type ChunkStatus = (typeof CHUNK_STATUSES)[number];

/** Life of a stored report. */
export const REPORT_STATUSES = ['pending', 'uploading', 'completed', 'failed', 'partial'] as const;
/** Life of a stored report. */
export type ReportStatus = (typeof REPORT_STATUSES)[number];
