import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/** Hex SHA-256 of `data` (the checksum stored with every chunk: of its uncompressed JSON). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An incremental SHA-256 (for streamed verification). */
export function sha256Stream(): Hash {
  return createHash('sha256');
}
