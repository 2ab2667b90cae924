// Builds large backlogs fast: one report goes through submitReport, then its rows are copied in SQL under new
// report ids (same frames and checksums, so every copy reads and verifies like the original).
import type BetterSqlite3 from 'better-sqlite3';

/** Copies report `from` (rows and chunks, statuses included) to `to` in one transaction. */
export function copyStoredReport(
  sqlite: BetterSqlite3.Database,
  tenantId: string,
  from: string,
  to: string,
): void {
  sqlite.transaction(() => {
    sqlite
      .prepare(
        `INSERT INTO reports (tenant_id, report_id, status, priority, total_chunks, content_hash, original_bytes,
                              compressed_bytes, created_at, updated_at, completed_at, last_error)
         SELECT tenant_id, ?, status, priority, total_chunks, content_hash, original_bytes, compressed_bytes,
                created_at, updated_at, completed_at, last_error
         FROM reports WHERE tenant_id = ? AND report_id = ?`,
      )
      .run(to, tenantId, from);
    sqlite
      .prepare(
        `INSERT INTO chunks (tenant_id, report_id, chunk_index, status, has_data, tail, checksum, original_bytes,
                             compressed_bytes, frame_checksum, attempts, next_attempt_at, last_error, created_at, uploaded_at)
         SELECT tenant_id, ?, chunk_index, status, has_data, tail, checksum, original_bytes, compressed_bytes,
                frame_checksum, attempts, next_attempt_at, last_error, created_at, uploaded_at
         FROM chunks WHERE tenant_id = ? AND report_id = ?`,
      )
      .run(to, tenantId, from);
    sqlite
      .prepare(
        `INSERT INTO chunk_blobs (chunk_id, data)
         SELECT n.id, b.data FROM chunks n
         JOIN chunks o ON o.tenant_id = n.tenant_id AND o.report_id = ? AND o.chunk_index = n.chunk_index
         JOIN chunk_blobs b ON b.chunk_id = o.id
         WHERE n.tenant_id = ? AND n.report_id = ?`,
      )
      .run(from, tenantId, to);
  })();
}
