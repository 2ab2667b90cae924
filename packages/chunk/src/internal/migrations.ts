import type BetterSqlite3 from 'better-sqlite3';

/** One schema step. Applied in `version` order, each in its own transaction, never edited once shipped. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema's history. To change the schema, APPEND a migration (never edit one that shipped):
 * databases in the field are upgraded step by step at open.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'reports and chunks',
    sql: `
      CREATE TABLE reports (
        tenant_id        TEXT    NOT NULL,
        report_id        TEXT    NOT NULL,
        status           TEXT    NOT NULL
                         CHECK (status IN ('pending', 'uploading', 'completed', 'failed', 'partial')),
        priority         INTEGER NOT NULL DEFAULT 0,
        total_chunks     INTEGER NOT NULL,
        content_hash     TEXT    NOT NULL,
        original_bytes   INTEGER NOT NULL,
        compressed_bytes INTEGER NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        completed_at     INTEGER,
        last_error       TEXT,
        PRIMARY KEY (tenant_id, report_id)
      );
      CREATE TABLE chunks (
        id               INTEGER PRIMARY KEY,
        tenant_id        TEXT    NOT NULL,
        report_id        TEXT    NOT NULL,
        chunk_index      INTEGER NOT NULL,
        status           TEXT    NOT NULL
                         CHECK (status IN ('pending', 'uploading', 'uploaded', 'failed', 'corrupt')),
        data             BLOB,
        checksum         TEXT    NOT NULL,
        original_bytes   INTEGER NOT NULL,
        compressed_bytes INTEGER NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL DEFAULT 0,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        uploaded_at      INTEGER,
        UNIQUE (tenant_id, report_id, chunk_index),
        FOREIGN KEY (tenant_id, report_id) REFERENCES reports (tenant_id, report_id) ON DELETE CASCADE
      );
      -- The upload engine's pick: due chunks by status.
      CREATE INDEX chunks_status_next_attempt ON chunks (status, next_attempt_at);
      -- The upload engine's per-report pick (next pending chunk in index order) and progress counts.
      CREATE INDEX chunks_report_status_index ON chunks (tenant_id, report_id, status, chunk_index);
      -- Scheduling (priority first, oldest first) and retention/quota scans (by status and age).
      CREATE INDEX reports_status_priority_created ON reports (status, priority, created_at);
      CREATE INDEX reports_tenant_created ON reports (tenant_id, created_at);
    `,
  },
  {
    version: 2,
    name: 'chunks.frame_checksum',
    // Hex SHA-256 of the stored zstd frame: lets the upload path verify the bytes it sends without
    // decompressing them (NULL on rows stored before this migration: those get the full check).
    sql: `ALTER TABLE chunks ADD COLUMN frame_checksum TEXT;`,
  },
]);

/** Creates the bookkeeping table and applies every migration newer than the database. Synchronous. */
export function migrate(sqlite: BetterSqlite3.Database, now: number): number {
  sqlite.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current =
    (sqlite.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const record = sqlite.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    sqlite
      .transaction(() => {
        sqlite.exec(m.sql);
        record.run(m.version, m.name, now);
      })
      .immediate();
  }
  return MIGRATIONS.length === 0 ? current : Math.max(current, MIGRATIONS[MIGRATIONS.length - 1]!.version);
}
