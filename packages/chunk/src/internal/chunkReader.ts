import { ERROR_CODES, isRediverError } from '@rediver/core';
import type { DecompressionLimits } from '@rediver/core';
import type { ChunkBlob } from '../chunkStoreTypes';
import { sha256Hex } from './checksum';
import { decompressBounded } from './decompress';
import { ChunkError } from '../errors';
import { chunkTail } from './split';

/* Reading one stored chunk back, verified: the store's read path (quarantining is the store's). */

interface ChunkReadRow {
  id: number;
  status: string;
  data: Buffer | null;
  tail: Buffer | null;
  checksum: string;
  frame_checksum: string | null;
  original_bytes: number;
  compressed_bytes: number;
  total_chunks: number;
}

/** How much a read verifies: the stored frame's SHA-256 (`frame`), or the content, kept (`json`) or not (`blob`). */
export type ReadMode = 'frame' | 'blob' | 'json';

/** What a read needs from its store. */
export interface ChunkReadDeps {
  /** One row (a damaged file is announced by the store). */
  readRow(text: string, args: unknown[]): unknown;
  /** Marks a damaged chunk `corrupt`, counts it and announces it. */
  quarantine(
    chunk: { tenant: string; reportId: string; chunkIndex: number; id: number },
    failure: ChunkError,
  ): void;
  limits: DecompressionLimits;
}

/**
 * Reads and verifies one chunk of `tenant` (already checked); `undefined` when the row or its blob is gone. A damaged
 * chunk is quarantined through `deps` and its error thrown.
 */
export function readVerifiedChunk(
  deps: ChunkReadDeps,
  where: { tenant: string; reportId: string; chunkIndex: number },
  mode: ReadMode,
): { blob: ChunkBlob; json?: Uint8Array } | undefined {
  const { tenant, reportId, chunkIndex } = where;
  const keep = mode === 'json';
  const row = deps.readRow(
    `SELECT c.id, c.status, b.data, c.tail, c.checksum, c.frame_checksum, c.original_bytes,
              c.compressed_bytes, r.total_chunks
       FROM chunks c
       JOIN reports r ON r.tenant_id = c.tenant_id AND r.report_id = c.report_id
       LEFT JOIN chunk_blobs b ON b.chunk_id = c.id
       WHERE c.tenant_id = ? AND c.report_id = ? AND c.chunk_index = ? AND c.status != 'staged'`,
    [tenant, reportId, chunkIndex],
  ) as ChunkReadRow | undefined;
  if (!row || row.data === null) return undefined;
  if (row.status === 'corrupt') {
    throw new ChunkError(
      ERROR_CODES.CHECKSUM_MISMATCH,
      `chunk ${chunkIndex} of report ${reportId} is quarantined as corrupt`,
      { details: { tenantId: tenant, reportId, chunkIndex, quarantined: true } },
    );
  }
  const isFinal = chunkIndex === row.total_chunks - 1;
  const data = row.tail === null ? row.data : Buffer.concat([row.data, row.tail]);
  let failure: ChunkError | undefined;
  let decoded: ReturnType<typeof decompressBounded> | undefined;
  const mismatch = (what: string): ChunkError =>
    new ChunkError(
      ERROR_CODES.CHECKSUM_MISMATCH,
      `chunk ${chunkIndex} of report ${reportId} failed its ${what} check and was quarantined`,
      { details: { tenantId: tenant, reportId, chunkIndex } },
    );
  try {
    if (mode === 'frame' && row.frame_checksum !== null) {
      if (data.length !== row.compressed_bytes || sha256Hex(row.data) !== row.frame_checksum) {
        failure = mismatch('frame SHA-256');
      } else if (row.tail !== null) {
        // The tail is a few dozen bytes whose whole content is known: decode it and compare.
        const tail = decompressBounded(row.tail, deps.limits, true);
        if (Buffer.from(tail.data!).toString('latin1') !== chunkTail(row.total_chunks, isFinal)) {
          failure = mismatch('tail');
        }
      }
    } else {
      decoded = decompressBounded(data, deps.limits, keep);
    }
    if (decoded && (decoded.bytes !== row.original_bytes || decoded.checksum !== row.checksum)) {
      failure = mismatch('SHA-256');
    }
  } catch (err) {
    failure = isRediverError(err)
      ? err
      : new ChunkError(ERROR_CODES.DECOMPRESS_FAILED, 'chunk failed to decompress', { cause: err });
  }
  if (failure) {
    deps.quarantine({ tenant, reportId, chunkIndex, id: row.id }, failure);
    throw failure;
  }
  const blob: ChunkBlob = {
    chunkId: row.id,
    tenantId: tenant,
    reportId,
    chunkIndex,
    totalChunks: row.total_chunks,
    isFinal,
    data,
    checksum: row.checksum,
    originalBytes: row.original_bytes,
    compressedBytes: row.compressed_bytes,
  };
  return keep ? { blob, json: decoded!.data! } : { blob };
}
