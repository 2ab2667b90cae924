import {
  DEFAULT_DECOMPRESSION_LIMITS,
  ERROR_CODES,
  findUnknownOption,
  silentLogger,
  systemClock,
  unknownOptionMessage,
} from '@rediver/core';
import type { Clock, DecompressionLimits, Logger } from '@rediver/core';
import { ChunkError } from './errors';
import { check } from './internal/optionCheck';

/** What `submitReport` does when a new report would push stored bytes over `maxStorageMB`. */
export const WHEN_FULL_POLICIES = ['reject', 'drop-oldest'] as const;
/** Quota policy: `reject` refuses the new report; `drop-oldest` deletes the tenant's oldest undelivered reports. */
export type WhenFullPolicy = (typeof WHEN_FULL_POLICIES)[number];

/**
 * Delivery options that live in the spec's Chunk Manager Config table: used by `ChunkManager`'s upload engine. A
 * `ChunkStore` accepts them (one options object configures a manager and a store opened on the same file) and
 * ignores them.
 */
export interface ChunkUploadTableOptions {
  /** Pause between two uploads of one worker, ms. Default 100. */
  uploadDelayMs?: number;
  /** Upload workers. Default 2. */
  maxConcurrentUploads?: number;
  /** Retries per chunk after its first attempt. Default 3. */
  maxRetries?: number;
  /** Free a chunk's blob once it is uploaded (metadata kept). Default true. */
  autoCleanupOnUpload?: boolean;
  /** Delete a report's chunks once all are uploaded. Default true. */
  cleanupOnReportComplete?: boolean;
}

/** Storage options of `ChunkStore` (the spec's Chunk Manager Config, without the delivery rows). */
export interface ChunkStorageOptions {
  /** A report with at least this many findings is chunked. Default 2000. */
  minFindingsForChunking?: number;
  /** A report with at least this many assets is chunked. Default 200. */
  minAssetsForChunking?: number;
  /** A report whose JSON is at least this many bytes is chunked. Default 5 MiB. */
  minSizeForChunkingBytes?: number;
  /** Most findings in one chunk. Default 500. */
  maxFindingsPerChunk?: number;
  /** Most assets in one chunk. Default 100. */
  maxAssetsPerChunk?: number;
  /** Largest uncompressed chunk JSON, bytes (a single bigger finding travels alone). Default 2 MiB. */
  maxChunkSizeBytes?: number;
  /** SQLite file; `~` is expanded, the folder created, the file made 0600. Default `~/.rediver/chunks.db`. */
  databasePath?: string;
  /** Completed/failed reports are deleted this long after they finished, hours. Default 24. */
  retentionHours?: number;
  /** Most compressed chunk bytes kept on disk, MiB. Default 500. */
  maxStorageMB?: number;
  /** zstd level, 1..9. Default 3. */
  compressionLevel?: number;
  /**
   * Compress a multi-chunk report's chunks in a worker thread while the next ones are serialised
   * (about twice the throughput on two cores). Single-chunk reports are always compressed in place;
   * where no worker can start (a bundle without zstd-napi beside it) the store falls back and logs it.
   * Default true.
   */
  compressInWorker?: boolean;
  /** Period of the retention (and, with `aggressiveCleanup`, quota) sweep, minutes; 0 disables the timer. Default 15. */
  cleanupIntervalMinutes?: number;
  /** Free uploaded blobs (oldest first) when storage is over quota. Default true. */
  aggressiveCleanup?: boolean;
  /** What to do when a new report does not fit in `maxStorageMB`. Default `'reject'`. */
  whenFull?: WhenFullPolicy;
  /** Bounds applied whenever a stored chunk is decompressed. Default core's `DEFAULT_DECOMPRESSION_LIMITS`. */
  decompressionLimits?: DecompressionLimits;
  /** pino-compatible logger. Default silent. */
  logger?: Logger;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /**
   * Inspection only (e.g. an agent's `status`): opens the file read-only — no pragma that writes, no
   * migration of the file (an older file is upgraded in a private temporary copy), no cleanup timer, no
   * worker; works on a read-only file or folder. Every write throws `READ_ONLY`. Default false.
   */
  readOnly?: boolean;
}

/**
 * Options of `ChunkStore`: its storage options, plus the delivery rows of the spec's table, accepted so one options
 * object configures a manager and a store opened on the same file (a store ignores them).
 */
export interface ChunkStoreOptions extends ChunkStorageOptions, ChunkUploadTableOptions {}

/** `ChunkStoreOptions` with every value present. */
export type ResolvedChunkStoreOptions = Readonly<Required<ChunkStoreOptions>>;

const MiB = 1024 * 1024;

/** Defaults of `ChunkStoreOptions` (the Chunk Manager Config table of `docs/spec/agent-resource-management.md`). */
export const DEFAULT_CHUNK_STORE_OPTIONS: ResolvedChunkStoreOptions = Object.freeze({
  minFindingsForChunking: 2000,
  minAssetsForChunking: 200,
  minSizeForChunkingBytes: 5 * MiB,
  maxFindingsPerChunk: 500,
  maxAssetsPerChunk: 100,
  maxChunkSizeBytes: 2 * MiB,
  uploadDelayMs: 100,
  maxConcurrentUploads: 2,
  maxRetries: 3,
  databasePath: '~/.rediver/chunks.db',
  retentionHours: 24,
  maxStorageMB: 500,
  compressionLevel: 3,
  compressInWorker: true,
  autoCleanupOnUpload: true,
  cleanupOnReportComplete: true,
  cleanupIntervalMinutes: 15,
  aggressiveCleanup: true,
  whenFull: 'reject',
  decompressionLimits: DEFAULT_DECOMPRESSION_LIMITS,
  logger: silentLogger,
  clock: systemClock,
  readOnly: false,
});

/**
 * Keys of `ChunkManager`'s own options: a store accepts (and ignores) them, so one options object (an
 * agent's `chunk` section) configures a manager and a store opened on the same file for inspection.
 */
export const CHUNK_MANAGER_ONLY_KEYS: readonly string[] = Object.freeze([
  'uploader',
  'retryBaseDelayMs',
  'retryMaxDelayMs',
  'uploadTimeoutMs',
  'closeTimeoutMs',
  'adaptive',
  'maxConcurrentUploadsCeiling',
  'onProgress',
  'onComplete',
  'onError',
]);

/** Largest chunk JSON we accept as `maxChunkSizeBytes`: our own reads must be able to decompress it. */
export const MAX_CHUNK_SIZE_BYTES_LIMIT = DEFAULT_DECOMPRESSION_LIMITS.maxDecompressedBytes;

/** Resolves options against the defaults; an invalid explicit value throws `INVALID_OPTION` (never clamped). */
export function resolveChunkStoreOptions(options: ChunkStoreOptions = {}): ResolvedChunkStoreOptions {
  const known = [...Object.keys(DEFAULT_CHUNK_STORE_OPTIONS), ...CHUNK_MANAGER_ONLY_KEYS];
  const unknown = findUnknownOption(options ?? {}, known);
  if (unknown !== undefined) {
    throw new ChunkError(ERROR_CODES.INVALID_OPTION, unknownOptionMessage('ChunkStore', unknown, known), {
      details: { option: unknown.key },
    });
  }
  const o = { ...DEFAULT_CHUNK_STORE_OPTIONS };
  for (const [k, v] of Object.entries(options ?? {})) {
    if (v !== undefined && !CHUNK_MANAGER_ONLY_KEYS.includes(k)) (o as Record<string, unknown>)[k] = v;
  }
  check.integer('minFindingsForChunking', o.minFindingsForChunking, { min: 1 });
  check.integer('minAssetsForChunking', o.minAssetsForChunking, { min: 1 });
  check.integer('minSizeForChunkingBytes', o.minSizeForChunkingBytes, { min: 1 });
  check.integer('maxFindingsPerChunk', o.maxFindingsPerChunk, { min: 1 });
  check.integer('maxAssetsPerChunk', o.maxAssetsPerChunk, { min: 1 });
  check.integer('maxChunkSizeBytes', o.maxChunkSizeBytes, { min: 1024, max: MAX_CHUNK_SIZE_BYTES_LIMIT });
  check.integer('uploadDelayMs', o.uploadDelayMs, { min: 0 });
  check.integer('maxConcurrentUploads', o.maxConcurrentUploads, { min: 1, max: 64 });
  check.integer('maxRetries', o.maxRetries, { min: 0 });
  if (typeof o.databasePath !== 'string' || o.databasePath.length === 0) {
    throw check.invalid('databasePath', 'a non-empty path', o.databasePath);
  }
  check.number('retentionHours', o.retentionHours, { min: 0, exclusiveMin: true });
  check.number('maxStorageMB', o.maxStorageMB, { min: 0, exclusiveMin: true });
  check.integer('compressionLevel', o.compressionLevel, { min: 1, max: 9 });
  check.boolean('compressInWorker', o.compressInWorker);
  check.boolean('autoCleanupOnUpload', o.autoCleanupOnUpload);
  check.boolean('cleanupOnReportComplete', o.cleanupOnReportComplete);
  if (
    typeof o.cleanupIntervalMinutes !== 'number' ||
    !Number.isFinite(o.cleanupIntervalMinutes) ||
    o.cleanupIntervalMinutes < 0
  ) {
    throw check.invalid(
      'cleanupIntervalMinutes',
      'a number >= 0 (0 disables the timer)',
      o.cleanupIntervalMinutes,
    );
  }
  check.boolean('aggressiveCleanup', o.aggressiveCleanup);
  check.boolean('readOnly', o.readOnly);
  check.oneOf('whenFull', o.whenFull, WHEN_FULL_POLICIES);
  const l = o.decompressionLimits;
  if (typeof l !== 'object' || l === null) throw check.invalid('decompressionLimits', 'an object', l);
  check.integer('decompressionLimits.maxCompressedBytes', l.maxCompressedBytes, { min: 1 });
  check.integer('decompressionLimits.maxDecompressedBytes', l.maxDecompressedBytes, { min: 1 });
  check.number('decompressionLimits.maxRatio', l.maxRatio, { min: 0, exclusiveMin: true });
  return Object.freeze(o);
}

/** `maxStorageMB` in bytes. */
export function maxStorageBytes(o: ResolvedChunkStoreOptions): number {
  return Math.floor(o.maxStorageMB * MiB);
}
