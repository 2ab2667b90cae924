import type { Sql } from './sql';

/** An undelivered report deleted to make room. */
export interface DropRecord {
  reportId: string;
  chunks: number;
  bytes: number;
}

/** Compressed bytes of every stored blob (staged ones included): what the quota counts. O(tenants). */
export function storedBytes(sql: Sql, tenantId?: string): number {
  const row =
    tenantId === undefined
      ? sql.q('SELECT coalesce(sum(stored_bytes), 0) AS b FROM tenant_stats').get()
      : sql
          .q('SELECT coalesce(sum(stored_bytes), 0) AS b FROM tenant_stats WHERE tenant_id = ?')
          .get(tenantId);
  return (row as { b: number }).b;
}

/**
 * Frees the tenant's delivered (`uploaded`) blobs, oldest first, until `need` bytes are freed. Walks a partial
 * index of exactly those rows and stops as soon as enough is freed. Call inside a write transaction.
 */
export function freeUploaded(sql: Sql, tenantId: string, need: number): { chunks: number; bytes: number } {
  const rows = sql
    .q(
      `SELECT id, compressed_bytes FROM chunks
       WHERE tenant_id = ? AND status = 'uploaded' AND has_data = 1 ORDER BY uploaded_at, id`,
    )
    .iterate(tenantId) as IterableIterator<{ id: number; compressed_bytes: number }>;
  const ids: number[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (bytes >= need) break;
    ids.push(r.id);
    bytes += r.compressed_bytes;
  }
  const del = sql.q('DELETE FROM chunk_blobs WHERE chunk_id = ?');
  for (const id of ids) del.run(id);
  return { chunks: ids.length, bytes };
}

/**
 * Deletes the tenant's oldest committed reports holding stored data (never `keep`), whole, until `need` bytes
 * are freed. Reads only report rows (their counters). Only under `whenFull: 'drop-oldest'`.
 */
export function dropOldest(sql: Sql, tenantId: string, keep: string | undefined, need: number): DropRecord[] {
  const candidates = sql
    .q(
      `SELECT report_id, chunks_stored, stored_bytes FROM reports
       WHERE tenant_id = ? AND status != 'staging' AND stored_bytes > 0 AND report_id != ?
       ORDER BY created_at, report_id`,
    )
    .all(tenantId, keep ?? '') as { report_id: string; chunks_stored: number; stored_bytes: number }[];
  const dropped: DropRecord[] = [];
  let bytes = 0;
  const del = sql.q('DELETE FROM reports WHERE tenant_id = ? AND report_id = ?');
  for (const c of candidates) {
    if (bytes >= need) break;
    del.run(tenantId, c.report_id);
    dropped.push({ reportId: c.report_id, chunks: c.chunks_stored, bytes: c.stored_bytes });
    bytes += c.stored_bytes;
  }
  return dropped;
}
