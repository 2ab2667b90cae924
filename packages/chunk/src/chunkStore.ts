import { CHUNK_STATUSES, ERROR_CODES, MAX_CHUNK_DATA_BYTES, REPORT_STATUSES } from '@rediver/core';
import type { ChunkStatus, Report, ReportStatus } from '@rediver/core';
import type BetterSqlite3 from 'better-sqlite3';
import { EventEmitter } from 'eventemitter3';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { sha256Hex } from './internal/checksum';
import { BufferPool, CompressionWorkerLost, InlineCompression, WorkerCompression } from './internal/compress';
import type { ChunkCompression, CompressedChunk } from './internal/compress';
import { openDatabase } from './internal/db';
import { decompressBounded } from './internal/decompress';
import { ChunkError } from './internal/errors';
import type { ChunkCleanupEvent, ChunkEventMap, CleanupReason } from './internal/events';
import { maxStorageBytes, resolveChunkStoreOptions } from './internal/options';
import type { ChunkStoreOptions, ResolvedChunkStoreOptions } from './internal/options';
import type { ChunkDatabase } from './internal/schema';
import { ChunkSplitter } from './internal/split';
import type { StoredChunkData } from './internal/split';

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
  /** Undelivered chunks deleted since open (quota drops, retention of failed reports). */
  undeliveredChunksDeleted: number;
}

/** Longest tenant id accepted. */
const MAX_TENANT_ID_LENGTH = 256;
/** Chunks handed to the compression worker and not yet back, at most (bounds the memory they hold). */
const MAX_CHUNKS_IN_FLIGHT = 4;
/** A long submit gives the event loop a turn this often, ms (timers, I/O, heartbeats keep running). */
const YIELD_EVERY_MS = 25;
/** SQLite page cache while a submit's rows are inserted (4 MiB; negative = KiB, as the pragma wants it). */
const SUBMIT_CACHE_SIZE = -4096;
/** Chunk rows per INSERT statement (well under SQLite's bound-parameter limit). */
const INSERT_BATCH = 100;
/** Blob bytes per INSERT statement, about (one row at least). */
const INSERT_BATCH_BYTES = 1024 * 1024;
/** Length of the standard (padded) base64 of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
/** Report states after which a report is only kept for `retentionHours`. */
const ENDED_REPORT_STATUSES: readonly ReportStatus[] = ['completed', 'failed', 'partial'];

interface PreparedChunk {
  index: number;
  data: Buffer;
  checksum: string;
  frameChecksum: string;
  originalBytes: number;
  compressedBytes: number;
  oversize: boolean;
}

interface Counters {
  droppedReports: number;
  droppedBytes: number;
  quotaRejections: number;
  corruptChunks: number;
  oversizeChunks: number;
  undeliveredChunksDeleted: number;
}

interface DropRecord {
  reportId: string;
  chunks: number;
  bytes: number;
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
  readonly #inline: InlineCompression;
  readonly #worker: WorkerCompression | undefined;
  /** Chunk buffers back from the worker, for the next chunks (set in the constructor: it needs the options). */
  readonly #pool: BufferPool;
  /** Pragmas changed for the duration of submits (see `#pragmaWhile`). */
  readonly #heldPragmas = new Map<string, { before: number; users: number }>();
  /** Submits in progress (`close()` waits for them). */
  readonly #submits = new Set<Promise<unknown>>();
  readonly #counters: Counters = {
    droppedReports: 0,
    droppedBytes: 0,
    quotaRejections: 0,
    corruptChunks: 0,
    oversizeChunks: 0,
    undeliveredChunksDeleted: 0,
  };
  #timer: ReturnType<typeof setInterval> | undefined;
  #maintenance: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(options: ChunkStoreOptions = {}) {
    super();
    this.options = resolveChunkStoreOptions(options);
    // Buffers up to a full chunk (with the pool's slack) are kept; an oversize finding's is not.
    this.#pool = new BufferPool(MAX_CHUNKS_IN_FLIGHT + 2, 2 * this.options.maxChunkSizeBytes + 64 * 1024);
    this.#inline = new InlineCompression(this.options.compressionLevel);
    this.#worker = this.options.compressInWorker
      ? new WorkerCompression(this.options.compressionLevel, this.options.logger, this.#pool)
      : undefined;
    const open = openDatabase(this.options.databasePath, this.options.clock.now());
    this.#sqlite = open.sqlite;
    this.#db = open.db;
    this.path = open.path;
    if (this.options.cleanupIntervalMinutes > 0) {
      this.#timer = setInterval(() => this.#runMaintenance(), this.options.cleanupIntervalMinutes * 60_000);
      this.#timer.unref();
    }
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

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
  }

  /** @internal Runs `fn` in one Kysely transaction. */
  async transaction<T>(fn: (trx: Transaction<ChunkDatabase>) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return this.#db.transaction().execute(fn);
  }

  /**
   * True when the report reaches a chunking threshold: `minFindingsForChunking` findings,
   * `minAssetsForChunking` assets, or `minSizeForChunkingBytes` bytes of JSON (each inclusive).
   */
  needsChunking(report: Report): boolean {
    const o = this.options;
    if ((report.findings?.length ?? 0) >= o.minFindingsForChunking) return true;
    if ((report.assets?.length ?? 0) >= o.minAssetsForChunking) return true;
    return Buffer.byteLength(JSON.stringify(report), 'utf8') >= o.minSizeForChunkingBytes;
  }

  /**
   * Splits, compresses and stores a report and all its chunks in one transaction (all or nothing).
   * Same id and same content again: a no-op (`created: false`); different content: `REPORT_CONFLICT`.
   * Refuses before storing: `REPORT_ID_INVALID`, `REPORT_TOO_LARGE` (platform limits), `STORAGE_QUOTA`.
   */
  async submitReport(report: Report, options: SubmitReportOptions): Promise<SubmitReportResult> {
    this.#assertOpen();
    const running = this.#submit(report, options);
    this.#submits.add(running);
    try {
      return await running;
    } finally {
      this.#submits.delete(running);
    }
  }

  async #submit(report: Report, options: SubmitReportOptions): Promise<SubmitReportResult> {
    const tenantId = checkTenant(options?.tenantId);
    const priority = options.priority ?? 0;
    if (!Number.isSafeInteger(priority)) {
      throw new ChunkError(
        ERROR_CODES.VALIDATION_FAILED,
        `priority must be an integer (got ${String(priority)})`,
      );
    }
    const allocate = (bytes: number): Buffer => this.#pool.take(bytes);
    // The content hash is computed where the chunks are compressed (off this thread with a worker).
    let splitter = new ChunkSplitter(report, this.options, { allocate, hash: false });
    const reportId = splitter.reportId;
    const existing = await this.#findReport(tenantId, reportId);
    if (existing) return resubmitted(existing, hashOnly(report, this.options));

    let prepared: { chunks: PreparedChunk[]; contentHash: string; usedWorker: boolean };
    try {
      prepared = await this.#prepareChunks(splitter);
    } catch (err) {
      if (!(err instanceof CompressionWorkerLost)) throw err;
      // The worker died with chunks in it: do it all again on this thread.
      splitter = new ChunkSplitter(report, this.options, { allocate, hash: false });
      prepared = await this.#prepareChunks(splitter, this.#inline);
    }
    const { chunks, contentHash, usedWorker } = prepared;
    const totalChunks = splitter.count;
    const originalBytes = chunks.reduce((s, c) => s + c.originalBytes, 0);
    const compressedBytes = chunks.reduce((s, c) => s + c.compressedBytes, 0);
    const now = this.options.clock.now();
    const max = this.maxStorageBytes;
    if (compressedBytes > max) {
      this.#rejectQuota(tenantId, reportId, compressedBytes, await this.#storedBytes(), max);
    }

    let freed: { chunks: number; bytes: number } = { chunks: 0, bytes: 0 };
    let dropped: DropRecord[] = [];
    let storedBefore = 0;
    // The insert writes megabytes of blobs, and SQLite would keep up to a whole page cache of them
    // (16 MB in better-sqlite3's build) resident: a 4 MiB cache while it runs keeps the submit's memory
    // down (measured on a 15 MB report: +16 MB resident with the default, +4 MB); reads get theirs back.
    const restoreCache = this.#pragmaWhile('cache_size', SUBMIT_CACHE_SIZE);
    // A commit that passes `wal_autocheckpoint` pages also copies the WAL into the file, and fsyncs it,
    // right there on this thread (measured: ~60 of ~150 ms for 15 MB). With the worker, that checkpoint
    // runs there instead, after the commit; otherwise SQLite's automatic one stays.
    const offThreadCheckpoint = usedWorker && this.#worker?.available() === true;
    const restoreCheckpoint = offThreadCheckpoint ? this.#pragmaWhile('wal_autocheckpoint', 0) : () => {};
    try {
      await this.#db.transaction().execute(async (trx) => {
        // Insert the report row first: it takes the write lock, so the quota read below cannot race
        // another writer, and a concurrent submit of the same id fails here on the primary key.
        await trx
          .insertInto('reports')
          .values({
            tenant_id: tenantId,
            report_id: reportId,
            status: 'pending',
            priority,
            total_chunks: totalChunks,
            content_hash: contentHash,
            original_bytes: originalBytes,
            compressed_bytes: compressedBytes,
            created_at: now,
            updated_at: now,
            completed_at: null,
            last_error: null,
          })
          .execute();
        storedBefore = await storedBytesIn(trx);
        if (storedBefore + compressedBytes > max) {
          if (this.options.aggressiveCleanup) {
            freed = await freeUploaded(trx, tenantId, storedBefore + compressedBytes - max);
          }
          let stored = storedBefore - freed.bytes;
          if (stored + compressedBytes > max && this.options.whenFull === 'drop-oldest') {
            dropped = await dropOldest(trx, tenantId, reportId, stored + compressedBytes - max);
            stored -= dropped.reduce((s, d) => s + d.bytes, 0);
          }
          if (stored + compressedBytes > max) throw new QuotaSignal(stored);
        }
        for (let i = 0; i < chunks.length;) {
          // Up to INSERT_BATCH rows and about INSERT_BATCH_BYTES of blobs per statement: SQLite holds a
          // statement's bound blobs while it runs, and big statements cost resident memory.
          let end = i + 1;
          for (let bytes = chunks[i]!.compressedBytes; end < chunks.length && end - i < INSERT_BATCH; end++) {
            bytes += chunks[end]!.compressedBytes;
            if (bytes > INSERT_BATCH_BYTES) break;
          }
          const batch = chunks.slice(i, end);
          i = end;
          await trx
            .insertInto('chunks')
            .values(
              batch.map((c) => ({
                tenant_id: tenantId,
                report_id: reportId,
                chunk_index: c.index,
                status: 'pending' as const,
                data: c.data,
                checksum: c.checksum,
                frame_checksum: c.frameChecksum,
                original_bytes: c.originalBytes,
                compressed_bytes: c.compressedBytes,
                last_error: null,
                created_at: now,
                uploaded_at: null,
              })),
            )
            .execute();
        }
      });
    } catch (err) {
      restoreCache();
      restoreCheckpoint();
      if (err instanceof QuotaSignal) this.#rejectQuota(tenantId, reportId, compressedBytes, err.stored, max);
      if (isUniqueViolation(err)) {
        const again = await this.#findReport(tenantId, reportId);
        if (again) return resubmitted(again, contentHash);
      }
      throw err;
    }

    restoreCache();
    restoreCheckpoint();
    if (offThreadCheckpoint) this.#checkpointOffThread();
    // Committed: now tell the world (listeners run outside the transaction).
    if (freed.bytes > 0 || dropped.length > 0) {
      this.emit('storage:full', {
        tenantId,
        reportId,
        policy: this.options.whenFull,
        action: dropped.length > 0 ? 'dropped-oldest' : 'freed-uploaded',
        neededBytes: compressedBytes,
        storedBytes: storedBefore,
        maxStorageBytes: max,
      });
    }
    if (freed.bytes > 0) {
      this.#cleanupEvent({
        tenantId,
        reason: 'quota-free',
        chunksDeleted: 0,
        blobsFreed: freed.chunks,
        bytesFreed: freed.bytes,
        undelivered: false,
      });
    }
    for (const d of dropped) this.#dropped(tenantId, d, 'quota-drop');
    if (freed.bytes > 0 || dropped.length > 0) await this.#vacuum();
    for (const c of chunks) {
      if (c.oversize) {
        this.#counters.oversizeChunks += 1;
        this.options.logger.warn(
          { tenantId, reportId, chunkIndex: c.index, bytes: c.originalBytes },
          'a single finding exceeds maxChunkSizeBytes and travels alone',
        );
        this.emit('chunk:oversize', {
          tenantId,
          reportId,
          chunkIndex: c.index,
          bytes: c.originalBytes,
          maxChunkSizeBytes: this.options.maxChunkSizeBytes,
        });
      }
      this.emit('chunk:created', {
        tenantId,
        reportId,
        chunkIndex: c.index,
        totalChunks,
        originalBytes: c.originalBytes,
        compressedBytes: c.compressedBytes,
      });
    }
    this.options.logger.debug(
      { tenantId, reportId, totalChunks, originalBytes, compressedBytes },
      'report stored',
    );
    this.emit('report:stored', {
      tenantId,
      reportId,
      totalChunks,
      priority,
      originalBytes,
      compressedBytes,
    });
    return { reportId, totalChunks, created: true, originalBytes, compressedBytes };
  }

  /**
   * Reads one chunk's stored zstd frame after verifying its checksum. `undefined` when the row or its
   * blob is gone; throws `CHECKSUM_MISMATCH` (or `DECOMPRESS_LIMIT`/`DECOMPRESS_FAILED`) after
   * quarantining the chunk as `corrupt` and emitting `chunk:corrupt`.
   */
  async readChunkBlob(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<ChunkBlob | undefined> {
    const read = await this.#readVerified(tenantId, reportId, chunkIndex, 'blob');
    return read?.blob;
  }

  /**
   * The upload path's read: like `readChunkBlob`, but verifies the SHA-256 of the stored frame (recorded
   * at submit, right after compressing the checksummed JSON) instead of decompressing it, so a torn or
   * altered blob is still caught before it is sent, at a fraction of the cost. Rows stored before
   * migration 2 (no frame checksum) get `readChunkBlob`'s full verification.
   */
  async readChunkFrame(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<ChunkBlob | undefined> {
    const read = await this.#readVerified(tenantId, reportId, chunkIndex, 'frame');
    return read?.blob;
  }

  /** Reads and decodes one chunk (verified as `readChunkBlob`); `undefined` when the row or blob is gone. */
  async decompressChunk(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<StoredChunkData | undefined> {
    const read = await this.#readVerified(tenantId, reportId, chunkIndex, 'json');
    if (!read) return undefined;
    return JSON.parse(
      Buffer.from(read.json!.buffer, read.json!.byteOffset, read.json!.byteLength).toString('utf8'),
    ) as StoredChunkData;
  }

  /** Frees one chunk's blob (row and metadata kept). Returns the bytes freed (0 when nothing to free). */
  async deleteChunkData(tenantId: string, ref: ChunkRef): Promise<number> {
    this.#assertOpen();
    const tenant = checkTenant(tenantId);
    let q = this.#db
      .updateTable('chunks')
      .set({ data: null })
      .where('tenant_id', '=', tenant)
      .where('data', 'is not', null);
    q =
      typeof ref === 'number'
        ? q.where('id', '=', ref)
        : q.where('report_id', '=', ref.reportId).where('chunk_index', '=', ref.chunkIndex);
    const row = await q.returning(['report_id', 'compressed_bytes', 'status']).executeTakeFirst();
    if (!row) return 0;
    const delivered = row.status === 'uploaded';
    this.#cleanupEvent({
      tenantId: tenant,
      reason: delivered ? 'upload' : 'manual',
      reportId: row.report_id,
      chunksDeleted: 0,
      blobsFreed: 1,
      bytesFreed: row.compressed_bytes,
      undelivered: !delivered,
    });
    await this.#vacuum(false);
    return row.compressed_bytes;
  }

  /** Deletes every chunk row of a report (the report row stays). Returns the number of chunks deleted. */
  async deleteReportChunks(tenantId: string, reportId: string): Promise<number> {
    this.#assertOpen();
    const tenant = checkTenant(tenantId);
    const rows = await this.#db
      .deleteFrom('chunks')
      .where('tenant_id', '=', tenant)
      .where('report_id', '=', reportId)
      .returning(['status', 'compressed_bytes', sql<number>`data IS NOT NULL`.as('stored')])
      .execute();
    if (rows.length === 0) return 0;
    let bytes = 0;
    let undelivered = false;
    for (const r of rows) {
      if (r.stored) {
        bytes += r.compressed_bytes;
        if (r.status !== 'uploaded') undelivered = true;
      }
    }
    this.#cleanupEvent({
      tenantId: tenant,
      reason: 'report',
      reportId,
      chunksDeleted: rows.length,
      blobsFreed: 0,
      bytesFreed: bytes,
      undelivered,
    });
    await this.#vacuum();
    return rows.length;
  }

  /**
   * Frees the tenant's data, oldest first, until its stored bytes are at most `maxBytes`: uploaded blobs
   * first; undelivered reports only under `whenFull: 'drop-oldest'` (each a `report:dropped` event).
   */
  async cleanupToSize(tenantId: string, maxBytes: number): Promise<{ bytesFreed: number; chunks: number }> {
    this.#assertOpen();
    const tenant = checkTenant(tenantId);
    if (!Number.isFinite(maxBytes) || maxBytes < 0) {
      throw new ChunkError(
        ERROR_CODES.VALIDATION_FAILED,
        `maxBytes must be a number >= 0 (got ${String(maxBytes)})`,
      );
    }
    let freed = { chunks: 0, bytes: 0 };
    let dropped: DropRecord[] = [];
    await this.#db.transaction().execute(async (trx) => {
      const stored = await storedBytesIn(trx, tenant);
      if (stored <= maxBytes) return;
      freed = await freeUploaded(trx, tenant, stored - maxBytes);
      if (stored - freed.bytes > maxBytes && this.options.whenFull === 'drop-oldest') {
        dropped = await dropOldest(trx, tenant, undefined, stored - freed.bytes - maxBytes);
      }
    });
    if (freed.chunks > 0) {
      this.#cleanupEvent({
        tenantId: tenant,
        reason: 'size',
        chunksDeleted: 0,
        blobsFreed: freed.chunks,
        bytesFreed: freed.bytes,
        undelivered: false,
      });
    }
    for (const d of dropped) this.#dropped(tenant, d, 'size');
    const bytesFreed = freed.bytes + dropped.reduce((s, d) => s + d.bytes, 0);
    if (bytesFreed > 0) await this.#vacuum();
    return { bytesFreed, chunks: freed.chunks + dropped.reduce((s, d) => s + d.chunks, 0) };
  }

  /**
   * Deletes reports (and their chunks) that ended — `completed`, `failed` or `partial` — more than
   * `retentionHours` ago, tenant by tenant. Runs on the `cleanupIntervalMinutes` timer too.
   */
  async runRetentionCleanup(): Promise<{ reportsDeleted: number; bytesFreed: number }> {
    this.#assertOpen();
    const cutoff = this.options.clock.now() - this.options.retentionHours * 3_600_000;
    const expired = await this.#db
      .selectFrom('reports')
      .select(['tenant_id', 'report_id'])
      .where('status', 'in', ENDED_REPORT_STATUSES)
      .where(sql<number>`coalesce(completed_at, updated_at)`, '<', cutoff)
      .orderBy('created_at')
      .execute();
    let bytesFreed = 0;
    let reportsDeleted = 0;
    for (const r of expired) {
      const gone = await this.#db.transaction().execute(async (trx) => {
        const chunks = await trx
          .selectFrom('chunks')
          .select(['status', 'compressed_bytes', sql<number>`data IS NOT NULL`.as('stored')])
          .where('tenant_id', '=', r.tenant_id)
          .where('report_id', '=', r.report_id)
          .execute();
        const del = await trx
          .deleteFrom('reports')
          .where('tenant_id', '=', r.tenant_id)
          .where('report_id', '=', r.report_id)
          .where('status', 'in', ENDED_REPORT_STATUSES)
          .executeTakeFirst();
        return del.numDeletedRows > 0n ? chunks : undefined;
      });
      if (!gone) continue;
      reportsDeleted += 1;
      let bytes = 0;
      let undeliveredChunks = 0;
      for (const c of gone) {
        if (!c.stored) continue;
        bytes += c.compressed_bytes;
        if (c.status !== 'uploaded') undeliveredChunks += 1;
      }
      bytesFreed += bytes;
      this.#counters.undeliveredChunksDeleted += undeliveredChunks;
      this.#cleanupEvent({
        tenantId: r.tenant_id,
        reason: 'retention',
        reportId: r.report_id,
        chunksDeleted: gone.length,
        blobsFreed: 0,
        bytesFreed: bytes,
        undelivered: undeliveredChunks > 0,
      });
    }
    if (reportsDeleted > 0) await this.#vacuum();
    return { reportsDeleted, bytesFreed };
  }

  /** Counts and bytes, for one tenant or the whole store. */
  async getStats(tenantId?: string): Promise<ChunkStoreStats> {
    this.#assertOpen();
    const tenant = tenantId === undefined ? undefined : checkTenant(tenantId);
    let rq = this.#db
      .selectFrom('reports')
      .select(['status', sql<number>`count(*)`.as('n')])
      .groupBy('status');
    if (tenant !== undefined) rq = rq.where('tenant_id', '=', tenant);
    let cq = this.#db
      .selectFrom('chunks')
      .select([
        'status',
        sql<number>`count(*)`.as('n'),
        sql<number>`coalesce(sum(original_bytes), 0)`.as('orig'),
        sql<number>`coalesce(sum(compressed_bytes), 0)`.as('comp'),
        sql<number>`coalesce(sum(CASE WHEN data IS NOT NULL THEN compressed_bytes ELSE 0 END), 0)`.as(
          'stored',
        ),
      ])
      .groupBy('status');
    if (tenant !== undefined) cq = cq.where('tenant_id', '=', tenant);
    const [reportRows, chunkRows, total] = [
      await rq.execute(),
      await cq.execute(),
      await this.#storedBytes(),
    ];
    const reports = Object.fromEntries(REPORT_STATUSES.map((s) => [s, 0])) as Record<ReportStatus, number>;
    for (const r of reportRows) reports[r.status] = r.n;
    const chunks = Object.fromEntries(CHUNK_STATUSES.map((s) => [s, 0])) as Record<ChunkStatus, number>;
    let originalBytes = 0;
    let compressedBytes = 0;
    let storedBytes = 0;
    for (const c of chunkRows) {
      chunks[c.status] = c.n;
      originalBytes += c.orig;
      compressedBytes += c.comp;
      storedBytes += c.stored;
    }
    const max = this.maxStorageBytes;
    return {
      reports,
      chunks,
      storedBytes,
      originalBytes,
      compressedBytes,
      maxStorageBytes: max,
      quotaUsed: total / max,
      ...this.#counters,
    };
  }

  /**
   * Returns freed pages to the file system (incremental vacuum + WAL checkpoint) so the file shrinks.
   * Cleanup methods of the store do this themselves; call it after freeing blobs by other means.
   */
  async compact(): Promise<void> {
    this.#assertOpen();
    await this.#vacuum();
  }

  /** Stops the cleanup timer, waits for a running sweep and closes the database. Idempotent (same promise). */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await this.#maintenance;
      await Promise.allSettled(this.#submits);
      await this.#worker?.close();
      await this.#db.destroy();
    })();
    return this.#closePromise;
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Sets pragma `name` to `value` until the returned function is called; overlapping calls (concurrent
   * submits) share one change and the last one restores the value from before the first.
   */
  #pragmaWhile(name: 'cache_size' | 'wal_autocheckpoint', value: number): () => void {
    const held = this.#heldPragmas.get(name);
    if (held === undefined) {
      const before = Number(this.#sqlite.pragma(name, { simple: true }));
      this.#sqlite.pragma(`${name} = ${value}`);
      this.#heldPragmas.set(name, { before, users: 1 });
    } else held.users += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const h = this.#heldPragmas.get(name)!;
      if (--h.users > 0) return;
      this.#heldPragmas.delete(name);
      if (this.#sqlite.open) this.#sqlite.pragma(`${name} = ${h.before}`);
    };
  }

  /**
   * Asks the worker to checkpoint the WAL (PASSIVE, its own connection) after a big commit. Best effort:
   * if it cannot, SQLite's automatic checkpoint does it at a later commit on this connection.
   */
  #checkpointOffThread(): void {
    this.#worker?.checkpoint(this.path).then(
      (r) => this.options.logger.debug({ ...r }, 'WAL checkpointed off the main thread'),
      (err: unknown) =>
        this.options.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'off-thread WAL checkpoint failed; a later commit checkpoints',
        ),
    );
  }

  #assertOpen(): void {
    if (this.#closePromise !== undefined)
      throw new ChunkError(ERROR_CODES.CLOSED, 'the chunk store is closed');
  }

  async #findReport(tenantId: string, reportId: string): Promise<ExistingReport | undefined> {
    return this.#db
      .selectFrom('reports')
      .select(['report_id', 'content_hash', 'total_chunks', 'original_bytes', 'compressed_bytes'])
      .where('tenant_id', '=', tenantId)
      .where('report_id', '=', reportId)
      .executeTakeFirst();
  }

  async #storedBytes(): Promise<number> {
    return storedBytesIn(this.#db);
  }

  /**
   * Cuts, renders, compresses and checks every chunk, refusing what the platform (or our reads) would
   * refuse. With a worker, chunks are compressed there while this thread serialises the next ones; each
   * is written with the chunk count guessed so far, and those whose guess was wrong are re-headed
   * (decompressed, head replaced, compressed again) once the count is known. The output is the same
   * byte for byte either way.
   */
  async #prepareChunks(
    splitter: ChunkSplitter,
    only?: ChunkCompression,
  ): Promise<{ chunks: PreparedChunk[]; contentHash: string; usedWorker: boolean }> {
    const limits = this.options.decompressionLimits;
    const reportId = splitter.reportId;
    const tooLarge = (i: number, originalBytes: number, why: string): never => {
      throw new ChunkError(ERROR_CODES.REPORT_TOO_LARGE, `chunk ${i} of report ${reportId} ${why}`, {
        details: { reportId, chunkIndex: i, originalBytes },
      });
    };
    const checkJsonSize = (i: number, bytes: number): void => {
      if (bytes > limits.maxDecompressedBytes) {
        tooLarge(
          i,
          bytes,
          `is ${bytes} bytes of JSON, over the ${limits.maxDecompressedBytes}-byte decompression limit`,
        );
      }
    };
    const jobs: Promise<CompressedChunk>[] = [];
    const cuts: { total: number; headBytes: number; oversize: boolean }[] = [];
    let backend: ChunkCompression | undefined = only;
    let hash = -1;
    let inFlight = 0;
    let yieldedAt = performance.now();
    try {
      for (let cut = splitter.next(); cut !== undefined; cut = splitter.next()) {
        const total = cut.last ? cut.index + 1 : splitter.estimateTotal();
        if (backend === undefined) {
          // One chunk in all: nothing to overlap, compress here. More: the worker, when there is one.
          backend = !cut.last && this.#worker?.available() === true ? this.#worker : this.#inline;
        }
        if (hash < 0) hash = backend.beginHash(splitter.contentPrefix());
        const json = splitter.render(cut, total);
        checkJsonSize(cut.index, json.length); // before compressing it, then again after any re-head
        // Where the rendered JSON starts in the cut's buffer: its head is what lies before the members.
        const start = json.byteOffset - cut.buffer.byteOffset;
        cuts.push({ total, headBytes: cut.bodyAt - start, oversize: cut.oversize });
        inFlight += 1;
        // The cut's buffer is ours alone: a worker may take it.
        const job = backend.compress(json, true, {
          hash,
          at: cut.findingsAt - start,
          end: cut.findingsEnd - start,
        });
        jobs.push(job);
        void job.then(
          () => (inFlight -= 1),
          () => (inFlight -= 1),
        );
        // Bound what waits in the worker; and let the event loop breathe during a long report.
        while (inFlight > MAX_CHUNKS_IN_FLIGHT) await Promise.race(jobs.slice(-MAX_CHUNKS_IN_FLIGHT - 1));
        if (performance.now() - yieldedAt > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          yieldedAt = performance.now();
        }
      }
    } catch (err) {
      if (hash >= 0) backend?.dropHash(hash);
      await Promise.allSettled(jobs);
      throw err;
    }
    const contentHashJob = backend!.endHash(hash);
    const done = await Promise.allSettled([...jobs, contentHashJob]);
    const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const contentHash = (done.pop() as PromiseFulfilledResult<string>).value;
    const compressed = done.map((d) => (d as PromiseFulfilledResult<CompressedChunk>).value);

    // Chunks written with a wrong guess of the count get their right head.
    const totalChunks = splitter.count;
    const wrong = cuts.flatMap((c, i) => (c.total === totalChunks ? [] : [i]));
    const fixed = await Promise.allSettled(
      wrong.map((i) =>
        backend!.rehead(compressed[i]!.data, cuts[i]!.headBytes, Buffer.from(splitter.head(i, totalChunks))),
      ),
    );
    fixed.forEach((f, j) => {
      if (f.status === 'rejected') throw f.reason;
      compressed[wrong[j]!] = f.value;
    });

    const chunks = compressed.map((c, i) => {
      const { data, originalBytes } = c;
      checkJsonSize(i, originalBytes); // a re-head can add a few bytes (a guess of 99 that became 100)
      if (base64Length(data.length) > MAX_CHUNK_DATA_BYTES || data.length > limits.maxCompressedBytes) {
        tooLarge(
          i,
          originalBytes,
          `compresses to ${data.length} bytes, over the platform's ${MAX_CHUNK_DATA_BYTES}-byte base64 data limit`,
        );
      }
      if (originalBytes > limits.maxRatio * data.length) {
        tooLarge(
          i,
          originalBytes,
          `compresses ${(originalBytes / data.length).toFixed(0)}:1, over the ${limits.maxRatio}:1 decompression ratio limit`,
        );
      }
      return {
        index: i,
        data,
        checksum: c.checksum,
        frameChecksum: c.frameChecksum,
        originalBytes,
        compressedBytes: data.length,
        oversize: cuts[i]!.oversize,
      };
    });
    return { chunks, contentHash, usedWorker: backend === this.#worker };
  }

  #rejectQuota(tenantId: string, reportId: string, needed: number, stored: number, max: number): never {
    this.#counters.quotaRejections += 1;
    this.options.logger.warn(
      { tenantId, reportId, neededBytes: needed, storedBytes: stored, maxStorageBytes: max },
      'chunk store full: report refused',
    );
    this.emit('storage:full', {
      tenantId,
      reportId,
      policy: this.options.whenFull,
      action: 'rejected',
      neededBytes: needed,
      storedBytes: stored,
      maxStorageBytes: max,
    });
    throw new ChunkError(
      ERROR_CODES.STORAGE_QUOTA,
      `report ${reportId} needs ${needed} bytes but the chunk store holds ${stored} of its ${max}-byte quota (maxStorageMB); ` +
        'wait for uploads to finish, raise maxStorageMB, or use whenFull: "drop-oldest"',
      { details: { tenantId, reportId, neededBytes: needed, storedBytes: stored, maxStorageBytes: max } },
    );
  }

  async #readVerified(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
    mode: 'frame' | 'blob' | 'json',
  ): Promise<{ blob: ChunkBlob; json?: Uint8Array } | undefined> {
    const keep = mode === 'json';
    this.#assertOpen();
    const tenant = checkTenant(tenantId);
    const row = await this.#db
      .selectFrom('chunks')
      .innerJoin('reports', (j) =>
        j
          .onRef('reports.tenant_id', '=', 'chunks.tenant_id')
          .onRef('reports.report_id', '=', 'chunks.report_id'),
      )
      .select([
        'chunks.id',
        'chunks.status',
        'chunks.data',
        'chunks.checksum',
        'chunks.frame_checksum',
        'chunks.original_bytes',
        'chunks.compressed_bytes',
        'reports.total_chunks',
      ])
      .where('chunks.tenant_id', '=', tenant)
      .where('chunks.report_id', '=', reportId)
      .where('chunks.chunk_index', '=', chunkIndex)
      .executeTakeFirst();
    if (!row || row.data === null) return undefined;
    if (row.status === 'corrupt') {
      throw new ChunkError(
        ERROR_CODES.CHECKSUM_MISMATCH,
        `chunk ${chunkIndex} of report ${reportId} is quarantined as corrupt`,
        {
          details: { tenantId: tenant, reportId, chunkIndex, quarantined: true },
        },
      );
    }
    let failure: ChunkError | undefined;
    let decoded: ReturnType<typeof decompressBounded> | undefined;
    try {
      if (mode === 'frame' && row.frame_checksum !== null) {
        if (row.data.length !== row.compressed_bytes || sha256Hex(row.data) !== row.frame_checksum) {
          failure = new ChunkError(
            ERROR_CODES.CHECKSUM_MISMATCH,
            `chunk ${chunkIndex} of report ${reportId} failed its frame SHA-256 check and was quarantined`,
            { details: { tenantId: tenant, reportId, chunkIndex } },
          );
        }
      } else {
        decoded = decompressBounded(row.data, this.options.decompressionLimits, keep);
      }
      if (decoded && (decoded.bytes !== row.original_bytes || decoded.checksum !== row.checksum)) {
        failure = new ChunkError(
          ERROR_CODES.CHECKSUM_MISMATCH,
          `chunk ${chunkIndex} of report ${reportId} failed its SHA-256 check and was quarantined`,
          { details: { tenantId: tenant, reportId, chunkIndex } },
        );
      }
    } catch (err) {
      failure =
        err instanceof ChunkError
          ? err
          : new ChunkError(ERROR_CODES.DECOMPRESS_FAILED, 'chunk failed to decompress', { cause: err });
    }
    if (failure) {
      await this.#db
        .updateTable('chunks')
        .set({ status: 'corrupt', last_error: `${failure.code}: ${failure.message}` })
        .where('id', '=', row.id)
        .where('tenant_id', '=', tenant)
        .execute();
      this.#counters.corruptChunks += 1;
      this.options.logger.error(
        { tenantId: tenant, reportId, chunkIndex, code: failure.code },
        'stored chunk is corrupt; quarantined',
      );
      this.emit('chunk:corrupt', { tenantId: tenant, reportId, chunkIndex, error: failure });
      throw failure;
    }
    const blob: ChunkBlob = {
      chunkId: row.id,
      tenantId: tenant,
      reportId,
      chunkIndex,
      totalChunks: row.total_chunks,
      isFinal: chunkIndex === row.total_chunks - 1,
      data: row.data,
      checksum: row.checksum,
      originalBytes: row.original_bytes,
      compressedBytes: row.compressed_bytes,
    };
    return keep ? { blob, json: decoded!.data! } : { blob };
  }

  #cleanupEvent(event: ChunkCleanupEvent): void {
    if (event.undelivered) {
      this.options.logger.warn({ ...event }, 'undelivered chunk data deleted');
    }
    this.emit('chunk:cleanup', event);
  }

  #dropped(tenantId: string, d: DropRecord, reason: CleanupReason): void {
    this.#counters.droppedReports += 1;
    this.#counters.droppedBytes += d.bytes;
    this.#counters.undeliveredChunksDeleted += d.chunks;
    this.options.logger.warn(
      { tenantId, reportId: d.reportId, chunks: d.chunks, bytes: d.bytes },
      'chunk store full: dropped an undelivered report',
    );
    this.emit('report:dropped', { tenantId, reportId: d.reportId, chunks: d.chunks, bytes: d.bytes });
    this.#cleanupEvent({
      tenantId,
      reason,
      reportId: d.reportId,
      chunksDeleted: d.chunks,
      blobsFreed: 0,
      bytesFreed: d.bytes,
      undelivered: true,
    });
  }

  /**
   * Returns freed pages to the OS (auto_vacuum=INCREMENTAL) and, after bulk deletions, checkpoints the
   * WAL so the main file really shrinks. Runs on Kysely's connection so it never lands inside another
   * caller's open transaction.
   */
  async #vacuum(checkpoint = true): Promise<void> {
    await this.#db.connection().execute(async () => {
      this.#sqlite.pragma('incremental_vacuum');
      if (checkpoint) this.#sqlite.pragma('wal_checkpoint(TRUNCATE)');
    });
  }

  #runMaintenance(): void {
    if (this.#maintenance || this.closed) return;
    this.#maintenance = (async () => {
      try {
        await this.runRetentionCleanup();
        if (this.options.aggressiveCleanup) await this.#freeOverQuota();
      } catch (error) {
        this.options.logger.error({ err: error }, 'chunk store maintenance failed; retried on the next tick');
        this.emit('maintenance:error', { error });
      } finally {
        this.#maintenance = undefined;
      }
    })();
  }

  /** Over quota (e.g. `maxStorageMB` lowered since the data was stored): frees uploaded blobs, tenant by tenant. */
  async #freeOverQuota(): Promise<void> {
    const max = this.maxStorageBytes;
    let over = (await this.#storedBytes()) - max;
    if (over <= 0) return;
    const tenants = await this.#db
      .selectFrom('reports')
      .select('tenant_id')
      .distinct()
      .orderBy('tenant_id')
      .execute();
    for (const { tenant_id } of tenants) {
      if (over <= 0) break;
      const freed = await this.#db.transaction().execute((trx) => freeUploaded(trx, tenant_id, over));
      if (freed.chunks > 0) {
        over -= freed.bytes;
        this.#cleanupEvent({
          tenantId: tenant_id,
          reason: 'quota-free',
          chunksDeleted: 0,
          blobsFreed: freed.chunks,
          bytesFreed: freed.bytes,
          undelivered: false,
        });
      }
    }
    await this.#vacuum();
  }
}

interface ExistingReport {
  report_id: string;
  content_hash: string;
  total_chunks: number;
  original_bytes: number;
  compressed_bytes: number;
}

/** Thrown inside the submit transaction to roll it back when the report cannot fit. */
class QuotaSignal extends Error {
  constructor(readonly stored: number) {
    super('quota');
  }
}

/** The report's content hash: the split run to its end, every chunk cut into one reused buffer. */
function hashOnly(report: Report, limits: ResolvedChunkStoreOptions): string {
  let scratch = Buffer.allocUnsafeSlow(0);
  const allocate = (bytes: number): Buffer => {
    if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(bytes);
    return scratch.subarray(0, bytes);
  };
  const splitter = new ChunkSplitter(report, limits, { allocate });
  while (splitter.next() !== undefined);
  return splitter.contentHash();
}

function resubmitted(existing: ExistingReport, contentHash: string): SubmitReportResult {
  if (existing.content_hash !== contentHash) {
    throw new ChunkError(
      ERROR_CODES.REPORT_CONFLICT,
      `report ${existing.report_id} was already stored with different content; give the new scan a new report id`,
      { details: { reportId: existing.report_id } },
    );
  }
  return {
    reportId: existing.report_id,
    totalChunks: existing.total_chunks,
    created: false,
    originalBytes: existing.original_bytes,
    compressedBytes: existing.compressed_bytes,
  };
}

function checkTenant(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || tenantId.length === 0 || tenantId.length > MAX_TENANT_ID_LENGTH) {
    throw new ChunkError(
      ERROR_CODES.VALIDATION_FAILED,
      `tenantId must be a string of 1..${MAX_TENANT_ID_LENGTH} characters`,
    );
  }
  return tenantId;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

async function storedBytesIn(db: Kysely<ChunkDatabase>, tenantId?: string): Promise<number> {
  let q = db
    .selectFrom('chunks')
    .select(sql<number>`coalesce(sum(compressed_bytes), 0)`.as('b'))
    .where('data', 'is not', null);
  if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
  const row = await q.executeTakeFirstOrThrow();
  return row.b;
}

/** Frees the tenant's uploaded (delivered) blobs, oldest first, until `need` bytes are freed. */
async function freeUploaded(
  trx: Kysely<ChunkDatabase>,
  tenantId: string,
  need: number,
): Promise<{ chunks: number; bytes: number }> {
  const rows = await trx
    .selectFrom('chunks')
    .select(['id', 'compressed_bytes'])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'uploaded')
    .where('data', 'is not', null)
    .orderBy('uploaded_at')
    .orderBy('id')
    .execute();
  const ids: number[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (bytes >= need) break;
    ids.push(r.id);
    bytes += r.compressed_bytes;
  }
  for (let i = 0; i < ids.length; i += 500) {
    await trx
      .updateTable('chunks')
      .set({ data: null })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
  }
  return { chunks: ids.length, bytes };
}

/**
 * Deletes the tenant's oldest reports holding stored data (never `keep`), whole, until `need` bytes are
 * freed. Only called under `whenFull: 'drop-oldest'`.
 */
async function dropOldest(
  trx: Kysely<ChunkDatabase>,
  tenantId: string,
  keep: string | undefined,
  need: number,
): Promise<DropRecord[]> {
  let q = trx
    .selectFrom('chunks')
    .innerJoin('reports', (j) =>
      j
        .onRef('reports.tenant_id', '=', 'chunks.tenant_id')
        .onRef('reports.report_id', '=', 'chunks.report_id'),
    )
    .select([
      'chunks.report_id',
      sql<number>`count(*)`.as('chunks'),
      sql<number>`sum(chunks.compressed_bytes)`.as('bytes'),
      sql<number>`min(reports.created_at)`.as('created'),
    ])
    .where('chunks.tenant_id', '=', tenantId)
    .where('chunks.data', 'is not', null)
    .groupBy('chunks.report_id')
    .orderBy('created')
    .orderBy('chunks.report_id');
  if (keep !== undefined) q = q.where('chunks.report_id', '!=', keep);
  const candidates = await q.execute();
  const dropped: DropRecord[] = [];
  let bytes = 0;
  for (const c of candidates) {
    if (bytes >= need) break;
    await trx
      .deleteFrom('reports')
      .where('tenant_id', '=', tenantId)
      .where('report_id', '=', c.report_id)
      .execute();
    dropped.push({ reportId: c.report_id, chunks: c.chunks, bytes: c.bytes });
    bytes += c.bytes;
  }
  return dropped;
}
