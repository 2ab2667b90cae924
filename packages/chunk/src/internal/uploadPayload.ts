import type { ChunkUploadRequest } from '@rediver/core';
import { MAX_CHUNK_DATA_BYTES } from '@rediver/core';

/** A stored chunk, as the engine sends it. */
export interface StoredChunkPayload {
  readonly reportId: string;
  readonly chunkIndex: number;
  readonly totalChunks: number;
  /** The stored zstd frame, sent as is (never recompressed). */
  readonly data: Uint8Array;
  /** Hex SHA-256 of the uncompressed `ChunkData` JSON. */
  readonly checksum: string;
}

/** Length of the standard base64 of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * The platform's chunk body built from the stored frame: `compression: "zstd"`, standard base64 (with padding),
 * `is_final` on the last index, plus the `checksum` extension the real server ignores. Returns `undefined` when the
 * base64 would exceed the platform's 10 MiB `data` limit (the caller dead-letters: resending cannot help).
 */
export function buildChunkUploadRequest(chunk: StoredChunkPayload): ChunkUploadRequest | undefined {
  if (base64Length(chunk.data.byteLength) > MAX_CHUNK_DATA_BYTES) return undefined;
  const data = Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength).toString(
    'base64',
  );
  return {
    report_id: chunk.reportId,
    chunk_index: chunk.chunkIndex,
    total_chunks: chunk.totalChunks,
    compression: 'zstd',
    data,
    is_final: chunk.chunkIndex === chunk.totalChunks - 1,
    checksum: chunk.checksum,
  };
}
