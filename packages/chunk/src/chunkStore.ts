import { Component, ERROR_CODES, isRediverError } from '@rediver/core';
import type { Report } from '@rediver/core';
import type BetterSqlite3 from 'better-sqlite3';
import { EventEmitter } from 'eventemitter3';
import type { Kysely } from 'kysely';
import { BufferPool, InlineCompression, WorkerCompression } from './internal/compress';
import { kyselyOf, listSetAside, openDatabase } from './internal/db';
import type { SetAsideFile } from './internal/db';
import { decoderLoaded, loadDecoder } from './internal/decompress';
import { ChunkError } from './errors';
import type { ChunkEventMap } from './events';
import { maxStorageBytes, resolveChunkStoreOptions } from './options';
import type { ChunkStoreOptions, ResolvedChunkStoreOptions } from './options';
import { StoreCleanup } from './internal/cleanup';
import type { ChunkDatabase } from './internal/schema';
import { Sql } from './internal/sql';
import { readVerifiedChunk } from './internal/chunkReader';
import { PragmaHolds, vacuum } from './internal/tuning';
import type { HeldPragma } from './internal/tuning';
import { listStoredReports, readStoreStats } from './internal/storeStats';
import type { StoreCounters } from './internal/storeStats';
import type { ReadMode } from './internal/chunkReader';
import { isCorrupt, storageError } from './internal/sqliteErrors';
import type { StoredChunkData } from './internal/split';
import { checkTenant, isStagingHere, processAlive, ReportWriter } from './reportWriter';
import type { BeginReportOptions, StoreInternals } from './reportWriter';

import type {
  ChunkBlob,
  ChunkRef,
  ChunkStoreStats,
  ListReportsOptions,
  ReadChunkOptions,
  StoredReportSummary,
  SubmitReportOptions,
  SubmitReportResult,
} from './chunkStoreTypes';

/** Extra reserved per staged chunk for its tail frame, written at commit: the quota then holds at commit. */
const TAIL_RESERVE_BYTES = 64;
export { base64Length } from './internal/uploadPayload';

/** @internal Emits on a store (for the upload engine of this package: `emit` is not public). */
export let storeEmit: <E extends keyof ChunkEventMap>(
  store: ChunkStore,
  event: E,
  payload: Parameters<ChunkEventMap[E]>[0],
) => void;

/**
 * Durable, compact storage of chunked reports in SQLite (better-sqlite3): splitting, zstd compression,
 * checksums, bomb-safe reads, tenant-scoped cleanup and a hard disk quota. Reports are written whole
 * (`submitReport`) or streamed finding by finding (`beginReport`), on one code path.
 */
export class ChunkStore extends Component<ChunkEventMap> {
  static {
    storeEmit = (store, event, payload) =>
      store.emit(event, ...([payload] as Parameters<ChunkEventMap[typeof event]>));
  }

  /** The resolved options. */
  readonly options: ResolvedChunkStoreOptions;
  /** Absolute path of the database file. */
  readonly path: string;
  /** True when opened with `readOnly: true`: every write throws `READ_ONLY`. */
  readonly readOnly: boolean;
  /** Damaged files this open moved aside before starting fresh (see `listSetAside` for every one). */
  readonly setAside: readonly SetAsideFile[];
  readonly #sqlite: BetterSqlite3.Database;
  readonly #sql: Sql;
  /** Deletions: a chunk's blob, a report's chunks, down to a size, retention, over quota. */
  readonly #cleanup: StoreCleanup;
  #db: Kysely<ChunkDatabase> | undefined;
  readonly #inline: InlineCompression;
  readonly #worker: WorkerCompression | undefined;
  /** Chunk buffers back from the worker, for the next chunks. */
  readonly #pool: BufferPool;
  /** Pragmas changed for the duration of commits (see `#pragmaWhile`); set up once the connection is open. */
  #heldPragmas!: PragmaHolds;
  /** Writers not committed or aborted yet (`close()` settles them). */
  readonly #writers = new Set<ReportWriter>();
  /** Whole-report submits in progress (`close()` lets them finish). */
  readonly #submits = new Set<Promise<unknown>>();
  readonly #counters: StoreCounters = {
    droppedReports: 0,
    droppedBytes: 0,
    quotaRejections: 0,
    corruptChunks: 0,
    oversizeChunks: 0,
    undeliveredChunksDeleted: 0,
  };
  #timer: ReturnType<typeof setInterval> | undefined;
  #corruptSeen = false;
  #maintenance: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(options: ChunkStoreOptions = {}) {
    super(new EventEmitter());
    this.options = resolveChunkStoreOptions(options);
    this.readOnly = this.options.readOnly;
    this.#pool = new BufferPool(6, 2 * this.options.maxChunkSizeBytes + 64 * 1024);
    this.#inline = new InlineCompression(this.options.compressionLevel);
    this.#worker =
      this.options.compressInWorker && !this.readOnly
        ? new WorkerCompression(this.options.compressionLevel, this.options.logger, this.#pool)
        : undefined;
    const setAside: SetAsideFile[] = [];
    const now = this.options.clock.now();
    let open: ReturnType<typeof openDatabase>;
    try {
      open = openDatabase(this.options.databasePath, now, {
        readOnly: this.readOnly,
        onSetAside: (file) => setAside.push(file),
      });
    } catch (err) {
      // A full disk during a migration: its transaction rolled back, the file is as it was.
      void this.#worker?.close();
      throw storageError(err, 'opening the chunk store');
    }
    this.#sqlite = open.sqlite;
    this.#heldPragmas = new PragmaHolds(open.sqlite);
    this.#sql = new Sql(open.sqlite);
    this.#sql.onError = (err) => this.#watchCorrupt(err);
    this.#cleanup = new StoreCleanup({
      options: this.options,
      sql: this.#sql,
      counters: this.#counters,
      emit: (event, payload) => this.emit(event, ...([payload] as Parameters<ChunkEventMap[typeof event]>)),
      vacuum: (checkpoint) => this.#vacuum(checkpoint),
      write: <T>(what: string, fn: () => T): T => this.#write(what, fn),
    });
    this.path = open.path;
    this.setAside = Object.freeze(setAside);
    for (const file of setAside) {
      this.options.logger.error(
        { path: file.path, movedTo: file.movedTo, reason: file.reason },
        'the chunk store was damaged: moved aside (kept for forensics), a fresh store was started',
      );
      // Listeners are attached after the constructor: tell them on the next turn (and `setAside` says it now).
      setImmediate(() => this.emit('store:set-aside', { ...file }));
    }
    if (!this.readOnly) {
      this.#discardStaleStaging();
      if (this.options.cleanupIntervalMinutes > 0) {
        this.#timer = setInterval(() => this.#runMaintenance(), this.options.cleanupIntervalMinutes * 60_000);
        this.#timer.unref();
      }
    }
  }

  /**
   * Opens a store (same as `new ChunkStore(options)`, which is the one way to open it).
   * @deprecated Use `new ChunkStore(options)`.
   */
  static async open(options: ChunkStoreOptions = {}): Promise<ChunkStore> {
    return new ChunkStore(options);
  }

  /**
   * Damaged stores ever set aside next to `databasePath` (by any process): what `status` reports. They are
   * never deleted by this package.
   */
  static listSetAside(databasePath: string): { movedTo: string; bytes: number; at: number }[] {
    return listSetAside(databasePath);
  }

  /** @internal The Kysely instance (reads of this package's tools), created (and Kysely loaded) on first use. */
  get db(): Kysely<ChunkDatabase> {
    return (this.#db ??= kyselyOf(this.#sqlite));
  }

  /** @internal The raw better-sqlite3 handle (synchronous hot paths of this package). */
  get sqlite(): BetterSqlite3.Database {
    return this.#sqlite;
  }

  /** @internal The connection's prepared statements and write transactions. */
  get sql(): Sql {
    return this.#sql;
  }

  /** `maxStorageMB` in bytes. */
  get maxStorageBytes(): number {
    return maxStorageBytes(this.options);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
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
   * Starts a streamed report: findings are added as they come (`addFinding`, `addFindings`, `addAll`), cut
   * into chunks as the chunks fill and written to disk as they are cut, so memory stays bounded whatever the
   * report's size; `commit()` makes the report visible to uploads and stats in one transaction, `abort()`
   * discards it. Until committed nothing of it is visible, and a crash leaves nothing half-visible (staged
   * chunks are discarded at the next open). The chunks are the same, byte for byte, as `submitReport` of the
   * whole report. Same id and same content as a stored report: `commit()` is a no-op (`created: false`);
   * different content: `REPORT_CONFLICT`.
   */
  async beginReport(options: BeginReportOptions): Promise<ReportWriter> {
    this.#assertWritable();
    const writer = new ReportWriter(this.#internals(), options);
    this.#writers.add(writer);
    try {
      await writer.open();
    } catch (err) {
      this.#writers.delete(writer);
      throw err;
    }
    return writer;
  }

  /**
   * Splits, compresses and stores a report and all its chunks (all or nothing: the report becomes visible in
   * one transaction). Same id and same content again: a no-op (`created: false`); different content:
   * `REPORT_CONFLICT`. Refuses: `REPORT_ID_INVALID`, `REPORT_TOO_LARGE` (platform limits), `STORAGE_QUOTA`
   * (our quota), `DISK_FULL` (the disk). The same path as `beginReport`, fed the report's findings.
   */
  async submitReport(report: Report, options: SubmitReportOptions): Promise<SubmitReportResult> {
    this.#assertWritable();
    if (typeof report !== 'object' || report === null) {
      throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'report must be an object');
    }
    const { findings, ...header } = report;
    if (findings !== undefined && !Array.isArray(findings)) {
      throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'report.findings must be an array');
    }
    const begin: BeginReportOptions = { tenantId: options?.tenantId, header };
    if (options?.priority !== undefined) begin.priority = options.priority;
    const running = this.#submitWhole(begin, findings ?? []);
    this.#submits.add(running);
    try {
      return await running;
    } finally {
      this.#submits.delete(running);
    }
  }

  async #submitWhole(
    begin: BeginReportOptions,
    findings: Report['findings'] & object,
  ): Promise<SubmitReportResult> {
    for (let attempt = 0; ; attempt++) {
      // Without the worker on the second attempt: it died with chunks of this report in it.
      const writer = new ReportWriter(this.#internals(), begin, attempt > 0);
      this.#writers.add(writer);
      try {
        await writer.open();
        await writer.addFindings(findings);
        return await writer.commit();
      } catch (err) {
        await writer.abort(err);
        if (attempt === 0 && writer.workerLost) continue;
        throw err;
      } finally {
        this.#writers.delete(writer);
      }
    }
  }

  /**
   * Reads one chunk's stored zstd data (`ref`: the chunk's report and index) after verifying it: `verify: 'full'`
   * (default) decompresses it and checks the SHA-256 of its content; `'frame'` (the upload path's read) checks the
   * SHA-256 of the stored frame recorded at compression and the tail's exact content instead, at a fraction of the
   * cost (rows stored before migration 2 have no frame checksum and get the full check). `undefined` when the row or
   * its blob is gone; a damaged chunk is quarantined as `corrupt` (`chunk:corrupt`) and `CHECKSUM_MISMATCH` (or
   * `DECOMPRESS_LIMIT`/`DECOMPRESS_FAILED`) is thrown.
   */
  async readChunk(
    tenantId: string,
    ref: { reportId: string; chunkIndex: number },
    options: ReadChunkOptions = {},
  ): Promise<ChunkBlob | undefined> {
    const verify = options.verify ?? 'full';
    if (verify !== 'full' && verify !== 'frame') {
      throw new ChunkError(
        ERROR_CODES.INVALID_OPTION,
        `verify must be 'full' or 'frame' (got ${String(verify)})`,
        {
          details: { option: 'verify' },
        },
      );
    }
    if (typeof ref !== 'object' || ref === null) {
      throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'ref must be { reportId, chunkIndex }');
    }
    if (!decoderLoaded()) await loadDecoder();
    return this.#readVerified(tenantId, ref.reportId, ref.chunkIndex, verify === 'full' ? 'blob' : 'frame')
      ?.blob;
  }

  /**
   * Reads one chunk's stored zstd data after verifying its checksum. `undefined` when the row or its
   * blob is gone; throws `CHECKSUM_MISMATCH` (or `DECOMPRESS_LIMIT`/`DECOMPRESS_FAILED`) after
   * quarantining the chunk as `corrupt` and emitting `chunk:corrupt`.
   * @deprecated Use `readChunk(tenantId, { reportId, chunkIndex })`.
   */
  async readChunkBlob(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<ChunkBlob | undefined> {
    if (!decoderLoaded()) await loadDecoder();
    return this.#readVerified(tenantId, reportId, chunkIndex, 'blob')?.blob;
  }

  /**
   * The upload path's read: like `readChunkBlob`, but verifies the SHA-256 of the stored body frame
   * (recorded when it was compressed) and the tail frame's exact content instead of decompressing the
   * body, so a torn or altered blob is still caught before it is sent, at a fraction of the cost. Rows
   * stored before migration 2 (no frame checksum) get `readChunkBlob`'s full verification.
   * @deprecated Use `readChunk(tenantId, { reportId, chunkIndex }, { verify: 'frame' })`.
   */
  async readChunkFrame(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<ChunkBlob | undefined> {
    if (!decoderLoaded()) await loadDecoder();
    return this.#readVerified(tenantId, reportId, chunkIndex, 'frame')?.blob;
  }

  /** Reads and decodes one chunk (verified as `readChunkBlob`); `undefined` when the row or blob is gone. */
  async decompressChunk(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ): Promise<StoredChunkData | undefined> {
    if (!decoderLoaded()) await loadDecoder();
    const read = this.#readVerified(tenantId, reportId, chunkIndex, 'json');
    if (!read) return undefined;
    return JSON.parse(
      Buffer.from(read.json!.buffer, read.json!.byteOffset, read.json!.byteLength).toString('utf8'),
    ) as StoredChunkData;
  }

  /** Frees one chunk's blob (row and metadata kept). Returns the bytes freed (0 when nothing to free). */
  async deleteChunkData(tenantId: string, ref: ChunkRef): Promise<number> {
    this.#assertWritable();
    return this.#cleanup.deleteChunkData(checkTenant(tenantId), ref);
  }

  /** Deletes every chunk row of a report (the report row stays). Returns the number of chunks deleted. */
  async deleteReportChunks(tenantId: string, reportId: string): Promise<number> {
    this.#assertWritable();
    return this.#cleanup.deleteReportChunks(checkTenant(tenantId), reportId);
  }

  /**
   * Frees the tenant's data, oldest first, until its stored bytes are at most `maxBytes`: uploaded blobs
   * first; undelivered reports only under `whenFull: 'drop-oldest'` (each a `report:dropped` event).
   */
  async cleanupToSize(tenantId: string, maxBytes: number): Promise<{ bytesFreed: number; chunks: number }> {
    this.#assertWritable();
    return this.#cleanup.cleanupToSize(checkTenant(tenantId), maxBytes);
  }

  /**
   * Deletes reports (and their chunks) that ended — `completed`, `failed` or `partial` — more than
   * `retentionHours` ago, tenant by tenant. Runs on the `cleanupIntervalMinutes` timer too.
   */
  async runRetentionCleanup(): Promise<{ reportsDeleted: number; bytesFreed: number }> {
    this.#assertWritable();
    return this.#cleanup.runRetentionCleanup();
  }

  /** Counts and bytes, for one tenant or the whole store, from the counter rows (O(tenants)). */
  async getStats(tenantId?: string): Promise<ChunkStoreStats> {
    this.#assertOpen();
    const tenant = tenantId === undefined ? undefined : checkTenant(tenantId);
    return readStoreStats(this.#sql, tenant, this.maxStorageBytes, this.#counters);
  }

  /** The tenant's committed reports, oldest first (narrow rows: no chunk is read). */
  async listReports(tenantId: string, options: ListReportsOptions = {}): Promise<StoredReportSummary[]> {
    this.#assertOpen();
    return listStoredReports(this.#sql, checkTenant(tenantId), options);
  }

  /**
   * Returns freed pages to the file system (incremental vacuum + WAL checkpoint) so the file shrinks.
   * Cleanup methods of the store do this themselves; call it after freeing blobs by other means.
   */
  async compact(): Promise<void> {
    this.#assertWritable();
    this.#vacuum();
  }

  /**
   * Stops the cleanup timer, waits for a running sweep and for submits in progress, discards streamed reports
   * left uncommitted, and closes the database. Idempotent (same promise).
   */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await this.#maintenance;
      await Promise.allSettled(this.#submits);
      await Promise.allSettled([...this.#writers].map((w) => w.settleOnClose()));
      await this.#worker?.close();
      this.#sqlite.close();
    })();
    return this.#closePromise;
  }

  /**
   * SQLite found the file damaged while running (a disk error, someone else's write): announced once with
   * `store:corrupt`. The open connection cannot be trusted to repair it; the next open (after `close()`, e.g. an
   * agent restart) checks the file and sets it aside.
   */
  #watchCorrupt(err: unknown): void {
    if (!isCorrupt(err) || this.#corruptSeen) return;
    this.#corruptSeen = true;
    const reason = `${(err as { code?: string }).code ?? 'SQLITE_CORRUPT'}: ${(err as Error).message}`;
    this.options.logger.error(
      { path: this.path, reason },
      'the chunk store file is damaged; reopen the store to set it aside and start a fresh one',
    );
    this.emit('store:corrupt', { path: this.path, reason });
  }

  /** What a `ReportWriter` needs from its store. */
  #internals(): StoreInternals {
    return {
      options: this.options,
      sql: this.#sql,
      pool: this.#pool,
      inline: this.#inline,
      worker: this.#worker,
      maxStorageBytes: this.maxStorageBytes,
      tailReserveBytes: TAIL_RESERVE_BYTES,
      assertOpen: () => this.#assertWritable(),
      emit: (event, payload) => this.emit(event, ...([payload] as Parameters<ChunkEventMap[typeof event]>)),
      counters: this.#counters,
      cleanupEvent: (e) => this.#cleanup.cleanupEvent(e),
      dropped: (tenantId, d) => this.#cleanup.dropped(tenantId, d, 'quota-drop'),
      vacuum: (checkpoint) => this.#vacuum(checkpoint),
      pragmaWhile: (name, value) => this.#pragmaWhile(name, value),
      checkpointOffThread: () => this.#checkpointOffThread(),
      forget: (w) => this.#writers.delete(w),
    };
  }

  /**
   * Staged chunks of a streamed report whose writer is gone (a crash, a kill, a close without commit) are
   * deleted at open: nothing half-written ever becomes visible. A report staged by another live process
   * (two stores on one file) is left to it.
   */
  #discardStaleStaging(): void {
    const staging = this.#sql
      .q(`SELECT tenant_id, report_id, staged_by FROM reports WHERE status = 'staging'`)
      .all() as { tenant_id: string; report_id: string; staged_by: number | null }[];
    const stale = staging.filter((r) =>
      r.staged_by === process.pid
        ? !isStagingHere(this.path, r.tenant_id, r.report_id)
        : r.staged_by === null || !processAlive(r.staged_by),
    );
    if (stale.length === 0) return;
    this.#write('discarding staged reports', () => {
      for (const r of stale) {
        this.#sql
          .q(`DELETE FROM reports WHERE tenant_id = ? AND report_id = ? AND status = 'staging'`)
          .run(r.tenant_id, r.report_id);
      }
    });
    this.options.logger.warn(
      { reports: stale.map((r) => `${r.tenant_id}/${r.report_id}`) },
      'discarded streamed reports that were never committed (their writer stopped)',
    );
    this.#vacuum();
  }

  #readVerified(
    tenantId: string,
    reportId: string,
    chunkIndex: number,
    mode: ReadMode,
  ): { blob: ChunkBlob; json?: Uint8Array } | undefined {
    this.#assertOpen();
    const tenant = checkTenant(tenantId);
    return readVerifiedChunk(
      {
        readRow: (text, args) => this.#readRow(text, args),
        quarantine: (chunk, failure) => this.#quarantine(chunk, failure),
        limits: this.options.decompressionLimits,
      },
      { tenant, reportId, chunkIndex },
      mode,
    );
  }

  /** One read; a damaged file is announced (see `#watchCorrupt`). */
  #readRow(text: string, args: unknown[]): unknown {
    try {
      return this.#sql.q(text).get(...args);
    } catch (err) {
      this.#watchCorrupt(err);
      throw err;
    }
  }

  /** Marks a damaged chunk `corrupt` (unless read-only), counts, logs and announces it (`chunk:corrupt`). */
  #quarantine(
    chunk: { tenant: string; reportId: string; chunkIndex: number; id: number },
    failure: ChunkError,
  ): void {
    const { tenant, reportId, chunkIndex, id } = chunk;
    if (!this.readOnly) {
      this.#write('quarantining a chunk', () =>
        this.#sql
          .q(`UPDATE chunks SET status = 'corrupt', last_error = ? WHERE id = ? AND tenant_id = ?`)
          .run(`${failure.code}: ${failure.message}`, id, tenant),
      );
    }
    this.#counters.corruptChunks += 1;
    this.options.logger.error(
      { tenantId: tenant, reportId, chunkIndex, code: failure.code },
      'stored chunk is corrupt; quarantined',
    );
    this.emit('chunk:corrupt', { tenantId: tenant, reportId, chunkIndex, error: failure });
  }

  /** One synchronous write transaction; a full disk comes out as `DISK_FULL`. */
  #write<T>(what: string, fn: () => T): T {
    try {
      return this.#sql.write(fn);
    } catch (err) {
      throw storageError(err, what);
    }
  }

  /** Returns freed pages to the OS and checkpoints the WAL (see `vacuum`). Best effort. */
  #vacuum(checkpoint = true): void {
    vacuum(this.#sqlite, this.options.logger, checkpoint);
  }

  #runMaintenance(): void {
    if (this.#maintenance || this.closed) return;
    this.#maintenance = (async () => {
      try {
        await this.runRetentionCleanup();
        if (this.options.aggressiveCleanup) this.#cleanup.freeOverQuota();
      } catch (error) {
        this.options.logger.error({ err: error }, 'chunk store maintenance failed; retried on the next tick');
        const failure = isRediverError(error)
          ? error
          : new ChunkError(ERROR_CODES.INTERNAL, `chunk store maintenance failed: ${String(error)}`, {
              cause: error,
            });
        this.emit('error', { error: failure, source: 'maintenance' });
        this.emit('maintenance:error', { error });
      } finally {
        this.#maintenance = undefined;
      }
    })();
  }

  /** Sets pragma `name` to `value` until the returned function is called (see `PragmaHolds`). */
  #pragmaWhile(name: HeldPragma, value: number): () => void {
    return this.#heldPragmas.hold(name, value);
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

  #assertWritable(): void {
    this.#assertOpen();
    if (this.readOnly) {
      throw new ChunkError(ERROR_CODES.READ_ONLY, 'the chunk store was opened read-only (readOnly: true)');
    }
  }
}
