/** Limits of the platform's API. Enforced on both ends: refuse early rather than be refused late. */

/** Characters allowed in a report id (the platform's rule). */
export const REPORT_ID_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
/** Shortest report id. */
export const MIN_REPORT_ID_LENGTH = 1;
/** Longest report id. */
export const MAX_REPORT_ID_LENGTH = 256;
/** Most chunks one report may be split into. */
export const MAX_TOTAL_CHUNKS = 10_000;
/** Largest `data` field (base64 of the compressed chunk) the platform accepts. */
export const MAX_CHUNK_DATA_BYTES = 10 * 1024 * 1024;

/** Bounds applied while decompressing a body, before the memory is spent. */
export interface DecompressionLimits {
  /** Largest compressed input. */
  readonly maxCompressedBytes: number;
  /** Largest decompressed output. */
  readonly maxDecompressedBytes: number;
  /** Largest decompressed/compressed ratio. */
  readonly maxRatio: number;
}

/** The platform's limits on ingest routes (reports and chunks). */
export const INGEST_DECOMPRESSION_LIMITS: DecompressionLimits = Object.freeze({
  maxCompressedBytes: 20 * 1024 * 1024,
  maxDecompressedBytes: 100 * 1024 * 1024,
  maxRatio: 200,
});

/** The platform's generic limits elsewhere (and the chunk-decompression limits of `docs/spec/platform-api.md`). */
export const DEFAULT_DECOMPRESSION_LIMITS: DecompressionLimits = Object.freeze({
  maxCompressedBytes: 10 * 1024 * 1024,
  maxDecompressedBytes: 50 * 1024 * 1024,
  maxRatio: 100,
});

/** Bodies above this size are worth compressing on the wire. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/** True when `id` is a valid report id: 1..256 characters of `[A-Za-z0-9_-]`. */
export function isValidReportId(id: unknown): id is string {
  return typeof id === 'string' && REPORT_ID_PATTERN.test(id);
}
