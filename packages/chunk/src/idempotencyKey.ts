import { createHash } from 'node:crypto';

/** What identifies one chunk's content for the platform. */
export interface ChunkIdentity {
  readonly tenantId: string;
  readonly reportId: string;
  readonly chunkIndex: number;
  /** Hex SHA-256 of the chunk's uncompressed JSON. */
  readonly checksum: string;
}

/**
 * The chunk's idempotency key: hex SHA-256 of `tenant|report|index|checksum`. Stable across restarts (derived from
 * stored facts only), so a re-send after a crash carries the same key and a deduplicating server applies it once.
 * Unambiguous although a tenant id may contain `|`: the three fields after it cannot (report ids are
 * `[A-Za-z0-9_-]`, the index is decimal, the checksum hex), so the string splits one way only.
 */
export function chunkIdempotencyKey(chunk: ChunkIdentity): string {
  return createHash('sha256')
    .update(`${chunk.tenantId}|${chunk.reportId}|${chunk.chunkIndex}|${chunk.checksum}`)
    .digest('hex');
}
