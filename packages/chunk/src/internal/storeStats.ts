import { CHUNK_STATUSES, REPORT_STATUSES } from '@rediver/core';
import type { ChunkStatus, ReportStatus } from '@rediver/core';
import type { ChunkStoreStats, ListReportsOptions, StoredReportSummary } from '../chunkStoreTypes';
import { storedBytes } from './quota';
import type { Sql } from './sql';

/* The store's figures: counts and bytes from the counter rows, and the committed reports' list (no chunk read). */

/** The store's own counters (drops, rejections, quarantines), kept in memory since open. */
export type StoreCounters = Pick<
  ChunkStoreStats,
  | 'droppedReports'
  | 'droppedBytes'
  | 'quotaRejections'
  | 'corruptChunks'
  | 'oversizeChunks'
  | 'undeliveredChunksDeleted'
>;

/** Counts and bytes, for one tenant (checked) or the whole store, from the counter rows (O(tenants)). */
export function readStoreStats(
  sql: Sql,
  tenant: string | undefined,
  maxBytes: number,
  counters: StoreCounters,
): ChunkStoreStats {
  const sums = [
    ...REPORT_STATUSES.map((s) => `reports_${s}`),
    'reports_staging',
    ...CHUNK_STATUSES.map((s) => `chunks_${s}`),
    'original_bytes',
    'compressed_bytes',
    'stored_bytes',
    'staged_bytes',
  ]
    .map((c) => `coalesce(sum(${c}), 0) AS ${c}`)
    .join(', ');
  const row = (
    tenant === undefined
      ? sql.q(`SELECT ${sums} FROM tenant_stats`).get()
      : sql.q(`SELECT ${sums} FROM tenant_stats WHERE tenant_id = ?`).get(tenant)
  ) as Record<string, number>;
  const reports = Object.fromEntries(REPORT_STATUSES.map((s) => [s, row[`reports_${s}`] ?? 0])) as Record<
    ReportStatus,
    number
  >;
  const chunks = Object.fromEntries(CHUNK_STATUSES.map((s) => [s, row[`chunks_${s}`] ?? 0])) as Record<
    ChunkStatus,
    number
  >;
  const max = maxBytes;
  const staged = row.staged_bytes ?? 0;
  return {
    reports,
    chunks,
    storedBytes: (row.stored_bytes ?? 0) - staged,
    originalBytes: row.original_bytes ?? 0,
    compressedBytes: row.compressed_bytes ?? 0,
    stagingReports: row.reports_staging ?? 0,
    stagedBytes: staged,
    maxStorageBytes: max,
    quotaUsed: storedBytes(sql) / max,
    ...counters,
  };
}

/** The tenant's (checked) committed reports, oldest first (narrow rows: no chunk is read). */
export function listStoredReports(
  sql: Sql,
  tenant: string,
  options: ListReportsOptions,
): StoredReportSummary[] {
  const statuses = options.statuses ?? REPORT_STATUSES;
  const limit = options.limit ?? 200;
  const rows = sql
    .q(
      `SELECT * FROM reports WHERE tenant_id = ? AND status != 'staging'
         AND status IN (SELECT value FROM json_each(?)) ORDER BY created_at, report_id LIMIT ?`,
    )
    .all(tenant, JSON.stringify(statuses), limit) as Record<string, unknown>[];
  return rows.map((r) => {
    const completed = r.status === 'completed';
    const total = r.total_chunks as number;
    return {
      tenantId: tenant,
      reportId: r.report_id as string,
      status: r.status as ReportStatus,
      priority: r.priority as number,
      totalChunks: total,
      uploadedChunks: completed ? total : (r.chunks_uploaded as number),
      failedChunks: completed ? 0 : (r.chunks_failed as number),
      pendingChunks: completed ? 0 : (r.chunks_pending as number),
      totalBytes: r.compressed_bytes as number,
      uploadedBytes: completed ? (r.compressed_bytes as number) : (r.bytes_uploaded as number),
      createdAt: r.created_at as number,
      updatedAt: r.updated_at as number,
      lastError: r.last_error as string | null,
    };
  });
}
