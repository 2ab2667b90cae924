import { ERROR_CODES } from '@rediver/core';
import type { ChunkData, ChunkStatus, Report, ReportStatus } from '@rediver/core';
import { EventEmitter } from 'eventemitter3';
import type { Kysely, Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from './internal/db';
import { ChunkError } from './internal/errors';
import type { ChunkEventMap } from './internal/events';
import { maxStorageBytes, resolveChunkStoreOptions } from './internal/options';
import type { ChunkStoreOptions, ResolvedChunkStoreOptions } from './internal/options';
import type { ChunkDatabase } from './internal/schema';

/** Options of `submitReport`. */
export interface SubmitReportOptions {
  /** Tenant owning the report; every later read, delete and cleanup is scoped to it. */
  tenantId: string;
  /** Higher uploads first. Default 0. */
  priority?: number;
}

/** Outcome of `submitReport`. */
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

/** A stored chunk's verified blob: the zstd frame as stored (never recompressed). */
export interface ChunkBlob {
  /** Row id (stable, tenant-scoped). */
  chunkId: number;
  tenantId: string;
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  isFinal: boolean;
  /** One standard zstd frame of the chunk's `ChunkData` JSON. */
  data: Uint8Array;
  /** Hex SHA-256 of the uncompressed JSON (verified before returning). */
  checksum: string;
  originalBytes: number;
  compressedBytes: number;
}

/** Identifies one chunk of a tenant: its row id, or report id and index. */
export type ChunkRef = number | { reportId: string; chunkIndex: number };

/** Counts and bytes of the store (or of one tenant). */
export interface ChunkStoreStats {
  reports: Record<ReportStatus, number>;
  chunks: Record<ChunkStatus, number>;
  /** Compressed bytes of the blobs still stored. */
  storedBytes: number;
  /** Uncompressed bytes of every chunk row (stored or freed). */
  originalBytes: number;
  /** Compressed bytes of every chunk row (stored or freed). */
  compressedBytes: number;
  /** `maxStorageMB` in bytes. */
  maxStorageBytes: number;
  /** storedBytes / maxStorageBytes (whole store, even for a tenant's stats). */
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
}

/**
 * Durable, compact storage of chunked reports in SQLite (better-sqlite3 + kysely): splitting, zstd
 * compression, checksums, bomb-safe reads, tenant-scoped cleanup and a hard disk quota.
 */
export class ChunkStore extends EventEmitter<ChunkEventMap> {
  /** The resolved options. */
  readonly options: ResolvedChunkStoreOptions;
  /** Absolute path of the database file. */
  readonly path: string;
  readonly #sqlite: BetterSqlite3.Database;
  readonly #db: Kysely<ChunkDatabase>;
  #closePromise: Promise<void> | undefined;

  constructor(options: ChunkStoreOptions = {}) {
    super();
    this.options = resolveChunkStoreOptions(options);
    const open = openDatabase(this.options.databasePath, this.options.clock.now());
    this.#sqlite = open.sqlite;
    this.#db = open.db;
    this.path = open.path;
  }

  /** Opens a store (same as `new ChunkStore(options)`). */
  static async open(options: ChunkStoreOptions = {}): Promise<ChunkStore> {
    return new ChunkStore(options);
  }

  /** @internal The Kysely instance (for the upload engine of this package). */
  get db(): Kysely<ChunkDatabase> {
    return this.#db;
  }

  /** @internal The raw better-sqlite3 handle (synchronous hot paths of this package). */
  get sqlite(): BetterSqlite3.Database {
    return this.#sqlite;
  }

  /** `maxStorageMB` in bytes. */
  get maxStorageBytes(): number {
    return maxStorageBytes(this.options);
  }

  /** @internal Runs `fn` in one Kysely transaction. */
  async transaction<T>(fn: (trx: Transaction<ChunkDatabase>) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return this.#db.transaction().execute(fn);
  }

  /** True when the report crosses a chunking threshold (findings, assets or JSON size). */
  needsChunking(report: Report): boolean {
    void report;
    throw notYet('needsChunking');
  }

  /** Splits, compresses and stores a report and all its chunks in one transaction. */
  async submitReport(report: Report, options: SubmitReportOptions): Promise<SubmitReportResult> {
    void report;
    void options;
    throw notYet('submitReport');
  }

  /**
   * Reads one chunk's stored zstd frame after verifying its checksum. `undefined` when the row or its
   * blob is gone; throws `CHECKSUM_MISMATCH` (or `DECOMPRESS_LIMIT`/`DECOMPRESS_FAILED`) after
   * quarantining the chunk as `corrupt` and emitting `chunk:corrupt`.
   */
  async readChunkBlob(tenantId: string, reportId: string, chunkIndex: number): Promise<ChunkBlob | undefined> {
    void tenantId;
    void reportId;
    void chunkIndex;
    throw notYet('readChunkBlob');
  }

  /** Reads and decodes one chunk (verified as `readChunkBlob`). */
  async decompressChunk(tenantId: string, reportId: string, chunkIndex: number): Promise<ChunkData | undefined> {
    void tenantId;
    void reportId;
    void chunkIndex;
    throw notYet('decompressChunk');
  }

  /** Frees one chunk's blob (row and metadata kept). Returns the bytes freed (0 when nothing to free). */
  async deleteChunkData(tenantId: string, ref: ChunkRef): Promise<number> {
    void tenantId;
    void ref;
    throw notYet('deleteChunkData');
  }

  /** Deletes every chunk row of a report (the report row stays). Returns the number of chunks deleted. */
  async deleteReportChunks(tenantId: string, reportId: string): Promise<number> {
    void tenantId;
    void reportId;
    throw notYet('deleteReportChunks');
  }

  /** Frees the tenant's data, oldest first, until its stored bytes are at most `maxBytes`. */
  async cleanupToSize(tenantId: string, maxBytes: number): Promise<{ bytesFreed: number; chunks: number }> {
    void tenantId;
    void maxBytes;
    throw notYet('cleanupToSize');
  }

  /** Deletes completed/failed reports that finished more than `retentionHours` ago. */
  async runRetentionCleanup(): Promise<{ reportsDeleted: number; bytesFreed: number }> {
    throw notYet('runRetentionCleanup');
  }

  /** Counts and bytes, for one tenant or the whole store. */
  async getStats(tenantId?: string): Promise<ChunkStoreStats> {
    void tenantId;
    throw notYet('getStats');
  }

  /** Stops the cleanup timer and closes the database. Idempotent (same promise). */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      await this.#db.destroy();
    })();
    return this.#closePromise;
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closePromise !== undefined) throw new ChunkError(ERROR_CODES.CLOSED, 'the chunk store is closed');
  }
}

function notYet(name: string): ChunkError {
  return new ChunkError(ERROR_CODES.INTERNAL, `${name} is not implemented yet`);
}
