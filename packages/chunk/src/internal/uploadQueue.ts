import type BetterSqlite3 from 'better-sqlite3';
import type { Sql } from './sql';
import type { ReportStatus } from '@rediver/core';
import type { DeadLetter, DeadLetterFilter, ReportOutcome, ReportProgress } from '../deliveryTypes';

export type { DeadLetter, DeadLetterFilter, ReportOutcome, ReportProgress } from '../deliveryTypes';

/** A report that has chunks waiting to be sent. */
export interface ActiveReport {
  readonly tenantId: string;
  readonly reportId: string;
  readonly priority: number;
  readonly createdAt: number;
}

/** A chunk claimed for upload (status `uploading` in the database). */
export interface ClaimedChunk {
  readonly id: number;
  readonly tenantId: string;
  readonly reportId: string;
  readonly chunkIndex: number;
  readonly totalChunks: number;
  readonly checksum: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly originalBytes: number;
  readonly compressedBytes: number;
}

/** Result of a chunk reaching a final state (uploaded or dead-lettered). */
export interface SettleResult {
  /** False when the chunk row was gone (deleted by cleanup meanwhile): nothing was written. */
  changed: boolean;
  /** Blob bytes freed by `autoCleanupOnUpload`. */
  blobBytesFreed: number;
  /** Chunk rows deleted by `cleanupOnReportComplete`. */
  chunksDeleted: number;
  /** Set when this chunk settled the whole report. */
  outcome: ReportOutcome | undefined;
  progress: ReportProgress | undefined;
}

interface ReportRow {
  tenant_id: string;
  report_id: string;
  status: ReportStatus | 'staging';
  priority: number;
  total_chunks: number;
  compressed_bytes: number;
  last_error: string | null;
  chunks_pending: number;
  chunks_uploaded: number;
  chunks_failed: number;
  bytes_uploaded: number;
}

interface ChunkPickRow {
  id: number;
  chunk_index: number;
  checksum: string;
  attempts: number;
  original_bytes: number;
  compressed_bytes: number;
}

interface DeadLetterRow {
  tenant_id: string;
  report_id: string;
  chunk_index: number;
  total_chunks: number;
  status: 'failed' | 'corrupt';
  attempts: number;
  last_error: string | null;
  checksum: string;
  compressed_bytes: number;
  has_data: number;
}

/**
 * Every statement on a per-chunk path (claim, ack, retry, dead letter, progress, settle, drain) reads narrow rows
 * by key — the chunk's own row, its report's counter row, the tenants' counter rows — never a blob page and
 * never all chunks of a report (migration 3 keeps the counters with triggers; `queryPlans.test.ts` checks the
 * plans). Deleting a completed report's chunks is once per report.
 */
export const QUEUE_SQL = Object.freeze({
  resetInterrupted: `UPDATE chunks SET status = 'pending' WHERE status = 'uploading'`,
  activeReports: `
      SELECT tenant_id, report_id, priority, created_at FROM reports
      WHERE chunks_pending > 0 AND status IN ('pending', 'uploading')`,
  // `+next_attempt_at` keeps that term off the (status, next_attempt_at) index: the planner then walks
  // (tenant_id, report_id, status, chunk_index) in index order and stops at the first due row, instead of
  // collecting every pending chunk of the database and sorting them (measured: a temp B-tree per claim).
  pickOfReport: `
      SELECT id, chunk_index, checksum, attempts, original_bytes, compressed_bytes FROM chunks
      WHERE tenant_id = ? AND report_id = ? AND status = 'pending' AND +next_attempt_at <= ?
      ORDER BY chunk_index LIMIT ?`,
  reportUploading: `
      UPDATE reports SET status = 'uploading', updated_at = ?
      WHERE tenant_id = ? AND report_id = ? AND status = 'pending'`,
  nextDue: `
      SELECT id, next_attempt_at AS due FROM chunks WHERE status = 'pending' ORDER BY next_attempt_at LIMIT ?`,
  outstanding: `SELECT coalesce(sum(chunks_pending + chunks_uploading), 0) AS n FROM tenant_stats`,
  blobBytes: `SELECT has_data * compressed_bytes AS bytes FROM chunks WHERE id = ?`,
  uploaded: `
      UPDATE chunks SET status = 'uploaded', uploaded_at = ?, last_error = NULL
      WHERE id = ? AND status IN ('pending', 'uploading')`,
  dropBlob: `DELETE FROM chunk_blobs WHERE chunk_id = ?`,
  retry: `
      UPDATE chunks SET status = 'pending', attempts = ?, next_attempt_at = ?, last_error = ?
      WHERE id = ? AND status IN ('pending', 'uploading')`,
  failed: `
      UPDATE chunks SET status = 'failed', attempts = ?, last_error = ?
      WHERE id = ? AND status IN ('pending', 'uploading')`,
  report: `
      SELECT tenant_id, report_id, status, priority, total_chunks, compressed_bytes, last_error,
             chunks_pending, chunks_uploaded, chunks_failed, bytes_uploaded
      FROM reports WHERE tenant_id = ? AND report_id = ?`,
  reportStatus: `SELECT status FROM reports WHERE tenant_id = ? AND report_id = ?`,
  lastChunkError: `
      SELECT last_error FROM chunks
      WHERE tenant_id = ? AND report_id = ? AND status IN ('failed', 'corrupt') AND last_error IS NOT NULL
      ORDER BY chunk_index LIMIT 1`,
  settleReport: `
      UPDATE reports SET status = ?, updated_at = ?, completed_at = ?, last_error = ?
      WHERE tenant_id = ? AND report_id = ?`,
  deleteChunks: `DELETE FROM chunks WHERE tenant_id = ? AND report_id = ?`,
  requeueFailed: `
      UPDATE chunks SET status = 'pending', attempts = 0, next_attempt_at = 0, last_error = NULL
      WHERE tenant_id = ? AND report_id = ? AND status = 'failed' AND has_data = 1`,
  reopenReport: `
      UPDATE reports SET status = 'uploading', updated_at = ?, completed_at = NULL, last_error = NULL
      WHERE tenant_id = ? AND report_id = ?`,
});

type Statements = { readonly [K in keyof typeof QUEUE_SQL]: BetterSqlite3.Statement };

/** The queue's statements, prepared once on `sql`'s connection. */
export function prepareStatements(sql: Sql): Statements {
  return Object.fromEntries(Object.entries(QUEUE_SQL).map(([k, text]) => [k, sql.q(text)])) as Statements;
}

/**
 * The upload engine's view of the chunk database: small synchronous prepared statements (better-sqlite3), each
 * state change in one transaction so a crash leaves either the old or the new state. Chunks are read one at a
 * time, as they are sent, never a report at once.
 */
export class UploadQueue {
  readonly #sql: Sql;
  readonly #stmt: Statements;
  /**
   * Chunks claimed by this process (id → tenant): in flight, or between their claim and their record. The claim
   * lives here, not in the row: the row stays `pending` until its outcome is recorded, so a crash leaves exactly
   * the state a restart wants, at no write per claim. One manager per file (README).
   */
  readonly #claimed = new Map<number, string>();

  constructor(sql: Sql) {
    this.#sql = sql;
    this.#stmt = prepareStatements(sql);
  }

  /** One write transaction of the engine: not fsynced (see `Sql.write`). */
  #write<T>(fn: () => T): T {
    return this.#sql.write(fn, false);
  }

  /** Chunks left `uploading` by a crash go back to `pending`. Returns how many. */
  resetInterrupted(): number {
    return this.#write(() => this.#stmt.resetInterrupted.run().changes);
  }

  /** Reports with at least one pending chunk (due or not). */
  activeReports(): ActiveReport[] {
    return (this.#stmt.activeReports.all() as Array<Record<string, unknown>>).map((r) => ({
      tenantId: r.tenant_id as string,
      reportId: r.report_id as string,
      priority: r.priority as number,
      createdAt: r.created_at as number,
    }));
  }

  /**
   * Claims the report's lowest-index due pending chunk not already claimed, or `undefined`. The report goes
   * `pending → uploading` at its first claim.
   */
  claim(report: ActiveReport, now: number): ClaimedChunk | undefined {
    const rows = this.#stmt.pickOfReport.all(
      report.tenantId,
      report.reportId,
      now,
      this.#claimed.size + 1,
    ) as ChunkPickRow[];
    const row = rows.find((c) => !this.#claimed.has(c.id));
    if (row === undefined) return undefined;
    const r = this.#stmt.report.get(report.tenantId, report.reportId) as ReportRow | undefined;
    if (r === undefined || r.status === 'staging') return undefined;
    if (r.status === 'pending') {
      this.#write(() => this.#stmt.reportUploading.run(now, report.tenantId, report.reportId));
    }
    this.#claimed.set(row.id, report.tenantId);
    return {
      id: row.id,
      tenantId: report.tenantId,
      reportId: report.reportId,
      chunkIndex: row.chunk_index,
      totalChunks: r.total_chunks,
      checksum: row.checksum,
      attempts: row.attempts,
      originalBytes: row.original_bytes,
      compressedBytes: row.compressed_bytes,
    };
  }

  /** Chunks claimed and not yet recorded (of one tenant, or all). */
  claimedCount(tenantId?: string): number {
    if (tenantId === undefined) return this.#claimed.size;
    let n = 0;
    for (const t of this.#claimed.values()) if (t === tenantId) n += 1;
    return n;
  }

  /** Earliest `next_attempt_at` of a pending chunk not claimed, or `undefined` when there is none. */
  nextDueAt(): number | undefined {
    const rows = this.#stmt.nextDue.all(this.#claimed.size + 1) as Array<{ id: number; due: number }>;
    return rows.find((r) => !this.#claimed.has(r.id))?.due;
  }

  /** Chunks pending or in flight. */
  outstanding(): number {
    return (this.#stmt.outstanding.get() as { n: number }).n;
  }

  /** Acknowledged: `uploaded`, blob dropped when asked; settles the report when it was the last one. */
  markUploaded(
    chunk: ClaimedChunk,
    now: number,
    cleanup: { dropBlob: boolean; deleteOnComplete: boolean },
  ): SettleResult {
    this.#claimed.delete(chunk.id);
    return this.#write((): SettleResult => {
      const before = cleanup.dropBlob
        ? ((this.#stmt.blobBytes.get(chunk.id) as { bytes: number | null } | undefined)?.bytes ?? 0)
        : 0;
      if (this.#stmt.uploaded.run(now, chunk.id).changes !== 1) return unchanged();
      if (cleanup.dropBlob && before > 0) this.#stmt.dropBlob.run(chunk.id);
      return { ...this.#settle(chunk, now, cleanup.deleteOnComplete), changed: true, blobBytesFreed: before };
    });
  }

  /** A retryable failure: back to `pending`, due at `nextAttemptAt`. False when the row is gone. */
  markRetry(chunk: ClaimedChunk, attempts: number, nextAttemptAt: number, lastError: string): boolean {
    this.#claimed.delete(chunk.id);
    return this.#write(
      () => this.#stmt.retry.run(attempts, nextAttemptAt, lastError, chunk.id).changes === 1,
    );
  }

  /** Dead-letters the chunk (`failed`, blob kept) and settles the report when nothing else is left. */
  markFailed(chunk: ClaimedChunk, attempts: number, lastError: string, now: number): SettleResult {
    this.#claimed.delete(chunk.id);
    return this.#write((): SettleResult => {
      if (this.#stmt.failed.run(attempts, lastError, chunk.id).changes !== 1) return unchanged();
      return { ...this.#settle(chunk, now, false), changed: true, blobBytesFreed: 0 };
    });
  }

  /** The store quarantined the chunk (`corrupt`): settles the report when nothing else is left. */
  afterQuarantine(chunk: ClaimedChunk, now: number): SettleResult {
    this.#claimed.delete(chunk.id);
    return this.#write((): SettleResult => ({
      ...this.#settle(chunk, now, false),
      changed: true,
      blobBytesFreed: 0,
    }));
  }

  /** Aborted by shutdown: unclaimed (the row is still `pending`), no attempt counted. */
  release(chunk: ClaimedChunk): void {
    this.#claimed.delete(chunk.id);
  }

  /** Progress of one report, or `undefined` when the tenant has no such report. */
  progress(tenantId: string, reportId: string): ReportProgress | undefined {
    const report = this.#stmt.report.get(tenantId, reportId) as ReportRow | undefined;
    return report === undefined || report.status === 'staging' ? undefined : this.#progressOf(report);
  }

  /**
   * The report's status (`staging` while a streamed report is not committed), or `undefined` when the tenant has
   * no such report (one primary-key lookup).
   */
  status(tenantId: string, reportId: string): ReportStatus | 'staging' | undefined {
    return (this.#stmt.reportStatus.get(tenantId, reportId) as { status: ReportStatus } | undefined)?.status;
  }

  /** Re-queues the report's dead-lettered (`failed`) chunks that still have their blob. Returns how many. */
  requeueFailed(tenantId: string, reportId: string, now: number): number {
    return this.#write((): number => {
      const n = this.#stmt.requeueFailed.run(tenantId, reportId).changes;
      if (n > 0) this.#stmt.reopenReport.run(now, tenantId, reportId);
      return n;
    });
  }

  /** Dead-lettered chunks, by tenant, report and index. */
  listDeadLetters(filter: DeadLetterFilter = {}): DeadLetter[] {
    const where: string[] = [`c.status IN ('failed', 'corrupt')`];
    const args: unknown[] = [];
    if (filter.tenantId !== undefined) {
      where.push('c.tenant_id = ?');
      args.push(filter.tenantId);
    }
    if (filter.reportId !== undefined) {
      where.push('c.report_id = ?');
      args.push(filter.reportId);
    }
    args.push(filter.limit ?? 1000);
    const rows = this.#sql.sqlite
      .prepare(
        `SELECT c.tenant_id, c.report_id, c.chunk_index, r.total_chunks, c.status, c.attempts, c.last_error,
                c.checksum, c.compressed_bytes, c.has_data
         FROM chunks c JOIN reports r ON r.tenant_id = c.tenant_id AND r.report_id = c.report_id
         WHERE ${where.join(' AND ')}
         ORDER BY c.tenant_id, c.report_id, c.chunk_index LIMIT ?`,
      )
      .all(...args) as DeadLetterRow[];
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      reportId: r.report_id,
      chunkIndex: r.chunk_index,
      totalChunks: r.total_chunks,
      status: r.status,
      attempts: r.attempts,
      lastError: r.last_error,
      checksum: r.checksum,
      compressedBytes: r.compressed_bytes,
      hasData: r.has_data === 1,
    }));
  }

  #settle(
    chunk: ClaimedChunk,
    now: number,
    deleteOnComplete: boolean,
  ): Omit<SettleResult, 'changed' | 'blobBytesFreed'> {
    const report = this.#stmt.report.get(chunk.tenantId, chunk.reportId) as ReportRow | undefined;
    if (report === undefined) return { chunksDeleted: 0, outcome: undefined, progress: undefined };
    const progress = this.#progressOf(report);
    if (progress.pendingChunks > 0 || (report.status !== 'pending' && report.status !== 'uploading')) {
      return { chunksDeleted: 0, outcome: undefined, progress };
    }
    let outcome: ReportOutcome;
    let lastError: string | null = null;
    if (progress.failedChunks === 0 && progress.uploadedChunks >= progress.totalChunks) {
      outcome = 'completed';
    } else {
      outcome = progress.uploadedChunks > 0 ? 'partial' : 'failed';
      lastError =
        (this.#stmt.lastChunkError.get(chunk.tenantId, chunk.reportId) as { last_error: string } | undefined)
          ?.last_error ?? `${progress.totalChunks - progress.uploadedChunks} chunk(s) not delivered`;
    }
    this.#stmt.settleReport.run(outcome, now, now, lastError, chunk.tenantId, chunk.reportId);
    const chunksDeleted =
      outcome === 'completed' && deleteOnComplete
        ? this.#stmt.deleteChunks.run(chunk.tenantId, chunk.reportId).changes
        : 0;
    return { chunksDeleted, outcome, progress: { ...progress, status: outcome, lastError } };
  }

  /** A report's progress from its counter row (no chunk row is read). */
  #progressOf(report: ReportRow): ReportProgress {
    const base = {
      tenantId: report.tenant_id,
      reportId: report.report_id,
      status: report.status as ReportStatus,
      priority: report.priority,
      totalChunks: report.total_chunks,
      totalBytes: report.compressed_bytes,
      lastError: report.last_error,
    };
    if (report.status === 'completed') {
      return {
        ...base,
        uploadedChunks: report.total_chunks,
        failedChunks: 0,
        pendingChunks: 0,
        uploadedBytes: report.compressed_bytes,
      };
    }
    return {
      ...base,
      uploadedChunks: report.chunks_uploaded,
      uploadedBytes: report.bytes_uploaded,
      failedChunks: report.chunks_failed,
      pendingChunks: report.chunks_pending,
    };
  }
}

function unchanged(): SettleResult {
  return { changed: false, blobBytesFreed: 0, chunksDeleted: 0, outcome: undefined, progress: undefined };
}
