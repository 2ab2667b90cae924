import { ERROR_CODES } from '@rediver/core';
import { ChunkError } from '../errors';
import type { ChunkCleanupEvent, CleanupReason } from '../events';
import { maxStorageBytes } from '../options';
import type { StoreInternals } from '../reportWriter';
import type { ChunkRef } from '../chunkStoreTypes';
import { dropOldest, freeUploaded, storedBytes } from './quota';
import type { DropRecord } from './quota';
import type { StoreCounters } from './storeStats';

/** What cleanup needs from its store. */
export interface CleanupDeps extends Pick<StoreInternals, 'options' | 'sql' | 'emit' | 'vacuum'> {
  readonly counters: StoreCounters;
  /** One synchronous write transaction; a full disk comes out as `DISK_FULL`. */
  write<T>(what: string, fn: () => T): T;
}

/**
 * The chunk store's deletions: freeing a chunk's blob, a report's chunks, a tenant down to a size, reports past
 * retention, and blobs over the quota; each one a `chunk:cleanup` event (and `report:dropped` for an undelivered
 * report dropped to make room). The store checks that it is writable and the tenant before calling.
 */
export class StoreCleanup {
  readonly #d: CleanupDeps;

  constructor(deps: CleanupDeps) {
    this.#d = deps;
  }

  /** Frees one chunk's blob (row and metadata kept). Returns the bytes freed (0 when nothing to free). */
  deleteChunkData(tenant: string, ref: ChunkRef): number {
    const row = (
      typeof ref === 'number'
        ? this.#d.sql
            .q(
              `SELECT id, report_id, status, compressed_bytes FROM chunks
               WHERE tenant_id = ? AND id = ? AND has_data = 1 AND status != 'staged'`,
            )
            .get(tenant, ref)
        : this.#d.sql
            .q(
              `SELECT id, report_id, status, compressed_bytes FROM chunks
               WHERE tenant_id = ? AND report_id = ? AND chunk_index = ? AND has_data = 1 AND status != 'staged'`,
            )
            .get(tenant, ref.reportId, ref.chunkIndex)
    ) as { id: number; report_id: string; status: string; compressed_bytes: number } | undefined;
    if (!row) return 0;
    this.#d.write('freeing a chunk', () =>
      this.#d.sql.q('DELETE FROM chunk_blobs WHERE chunk_id = ?').run(row.id),
    );
    const delivered = row.status === 'uploaded';
    this.cleanupEvent({
      tenantId: tenant,
      reason: delivered ? 'upload' : 'manual',
      reportId: row.report_id,
      chunksDeleted: 0,
      blobsFreed: 1,
      bytesFreed: row.compressed_bytes,
      undelivered: !delivered,
    });
    this.#d.vacuum(false);
    return row.compressed_bytes;
  }

  /** Deletes every chunk row of a report (the report row stays). Returns the number of chunks deleted. */
  deleteReportChunks(tenant: string, reportId: string): number {
    const rows = this.#d.write(
      'deleting chunks',
      () =>
        this.#d.sql
          .q(
            `DELETE FROM chunks WHERE tenant_id = ? AND report_id = ? AND status != 'staged'
             RETURNING status, compressed_bytes, has_data`,
          )
          .all(tenant, reportId) as { status: string; compressed_bytes: number; has_data: number }[],
    );
    if (rows.length === 0) return 0;
    let bytes = 0;
    let undelivered = false;
    for (const r of rows) {
      if (r.has_data === 1) {
        bytes += r.compressed_bytes;
        if (r.status !== 'uploaded') undelivered = true;
      }
    }
    this.cleanupEvent({
      tenantId: tenant,
      reason: 'report',
      reportId,
      chunksDeleted: rows.length,
      blobsFreed: 0,
      bytesFreed: bytes,
      undelivered,
    });
    this.#d.vacuum();
    return rows.length;
  }

  /**
   * Frees the tenant's data, oldest first, until its stored bytes are at most `maxBytes`: uploaded blobs
   * first; undelivered reports only under `whenFull: 'drop-oldest'` (each a `report:dropped` event).
   */
  cleanupToSize(tenant: string, maxBytes: number): { bytesFreed: number; chunks: number } {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) {
      throw new ChunkError(
        ERROR_CODES.VALIDATION_FAILED,
        `maxBytes must be a number >= 0 (got ${String(maxBytes)})`,
      );
    }
    let freed = { chunks: 0, bytes: 0 };
    let dropped: DropRecord[] = [];
    this.#d.write('cleaning up', () => {
      const stored = storedBytes(this.#d.sql, tenant);
      if (stored <= maxBytes) return;
      freed = freeUploaded(this.#d.sql, tenant, stored - maxBytes);
      if (stored - freed.bytes > maxBytes && this.#d.options.whenFull === 'drop-oldest') {
        dropped = dropOldest(this.#d.sql, tenant, undefined, stored - freed.bytes - maxBytes);
      }
    });
    if (freed.chunks > 0) {
      this.cleanupEvent({
        tenantId: tenant,
        reason: 'size',
        chunksDeleted: 0,
        blobsFreed: freed.chunks,
        bytesFreed: freed.bytes,
        undelivered: false,
      });
    }
    for (const d of dropped) this.dropped(tenant, d, 'size');
    const bytesFreed = freed.bytes + dropped.reduce((s, d) => s + d.bytes, 0);
    if (bytesFreed > 0) this.#d.vacuum();
    return { bytesFreed, chunks: freed.chunks + dropped.reduce((s, d) => s + d.chunks, 0) };
  }

  /**
   * Deletes reports (and their chunks) that ended — `completed`, `failed` or `partial` — more than
   * `retentionHours` ago, tenant by tenant. Runs on the `cleanupIntervalMinutes` timer too.
   */
  runRetentionCleanup(): { reportsDeleted: number; bytesFreed: number } {
    const cutoff = this.#d.options.clock.now() - this.#d.options.retentionHours * 3_600_000;
    const expired = this.#d.sql
      .q(
        `SELECT tenant_id, report_id FROM reports
         WHERE status IN ('completed', 'failed', 'partial') AND coalesce(completed_at, updated_at) < ?
         ORDER BY created_at`,
      )
      .all(cutoff) as { tenant_id: string; report_id: string }[];
    let bytesFreed = 0;
    let reportsDeleted = 0;
    for (const r of expired) {
      const gone = this.#d.write('retention cleanup', () => {
        const report = this.#d.sql
          .q(
            `SELECT chunks_pending + chunks_uploaded + chunks_failed AS chunks, stored_bytes FROM reports
             WHERE tenant_id = ? AND report_id = ? AND status IN ('completed', 'failed', 'partial')`,
          )
          .get(r.tenant_id, r.report_id) as { chunks: number; stored_bytes: number } | undefined;
        if (report === undefined) return undefined;
        // Undelivered chunks still holding data: only dead letters can be left in an ended report.
        const undelivered = (
          this.#d.sql
            .q(
              `SELECT count(*) AS n FROM chunks WHERE tenant_id = ? AND report_id = ?
               AND status IN ('failed', 'corrupt', 'pending') AND has_data = 1`,
            )
            .get(r.tenant_id, r.report_id) as { n: number }
        ).n;
        this.#d.sql
          .q('DELETE FROM reports WHERE tenant_id = ? AND report_id = ?')
          .run(r.tenant_id, r.report_id);
        return { ...report, undelivered };
      });
      if (!gone) continue;
      reportsDeleted += 1;
      bytesFreed += gone.stored_bytes;
      this.#d.counters.undeliveredChunksDeleted += gone.undelivered;
      this.cleanupEvent({
        tenantId: r.tenant_id,
        reason: 'retention',
        reportId: r.report_id,
        chunksDeleted: gone.chunks,
        blobsFreed: 0,
        bytesFreed: gone.stored_bytes,
        undelivered: gone.undelivered > 0,
      });
    }
    if (reportsDeleted > 0) this.#d.vacuum();
    return { reportsDeleted, bytesFreed };
  }

  cleanupEvent(event: ChunkCleanupEvent): void {
    if (event.undelivered) {
      this.#d.options.logger.warn({ ...event }, 'undelivered chunk data deleted');
    }
    this.#d.emit('chunk:cleanup', event);
  }

  dropped(tenantId: string, d: DropRecord, reason: CleanupReason): void {
    this.#d.counters.droppedReports += 1;
    this.#d.counters.droppedBytes += d.bytes;
    this.#d.counters.undeliveredChunksDeleted += d.chunks;
    this.#d.options.logger.warn(
      { tenantId, reportId: d.reportId, chunks: d.chunks, bytes: d.bytes },
      'chunk store full: dropped an undelivered report',
    );
    this.#d.emit('report:dropped', { tenantId, reportId: d.reportId, chunks: d.chunks, bytes: d.bytes });
    this.cleanupEvent({
      tenantId,
      reason,
      reportId: d.reportId,
      chunksDeleted: d.chunks,
      blobsFreed: 0,
      bytesFreed: d.bytes,
      undelivered: true,
    });
  }

  /** Over quota (e.g. `maxStorageMB` lowered since the data was stored): frees uploaded blobs, tenant by tenant. */
  freeOverQuota(): void {
    let over = storedBytes(this.#d.sql) - maxStorageBytes(this.#d.options);
    if (over <= 0) return;
    const tenants = this.#d.sql.q('SELECT tenant_id FROM tenant_stats ORDER BY tenant_id').all() as {
      tenant_id: string;
    }[];
    for (const { tenant_id } of tenants) {
      if (over <= 0) break;
      const need = over;
      const freed = this.#d.write('freeing delivered data', () => freeUploaded(this.#d.sql, tenant_id, need));
      if (freed.chunks > 0) {
        over -= freed.bytes;
        this.cleanupEvent({
          tenantId: tenant_id,
          reason: 'quota-free',
          chunksDeleted: 0,
          blobsFreed: freed.chunks,
          bytesFreed: freed.bytes,
          undelivered: false,
        });
      }
    }
    this.#d.vacuum();
  }
}
