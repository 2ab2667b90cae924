import type BetterSqlite3 from 'better-sqlite3';

/** One schema step. Applied in `version` order, each in its own transaction, never edited once shipped. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * Runs with foreign keys off (a table rebuild: dropping the old `reports` would otherwise cascade into its
   * chunks). The pragma cannot change inside a transaction, so it is switched around it and the result checked
   * with `foreign_key_check` before the commit.
   */
  readonly rebuild?: boolean;
}

/** Per-status counter columns, so every trigger below adds and subtracts the same way. */
const CHUNK_COUNTERS = ['staged', 'pending', 'uploading', 'uploaded', 'failed', 'corrupt'] as const;
const REPORT_COUNTERS = ['staging', 'pending', 'uploading', 'completed', 'failed', 'partial'] as const;

/** `col = col + sign * (row.status = 'x')` for every status. */
function byStatus(prefix: string, statuses: readonly string[], row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  return statuses.map((s) => `${prefix}${s} = ${prefix}${s} ${sign} (${row}.status = '${s}')`).join(', ');
}

/** What one chunk row adds to its report's counters (`sign` -: what it takes away). */
function reportCounters(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  return [
    `chunks_pending = chunks_pending ${sign} (${row}.status IN ('pending', 'uploading'))`,
    `chunks_uploaded = chunks_uploaded ${sign} (${row}.status = 'uploaded')`,
    `chunks_failed = chunks_failed ${sign} (${row}.status IN ('failed', 'corrupt'))`,
    `chunks_stored = chunks_stored ${sign} ${row}.has_data`,
    `bytes_uploaded = bytes_uploaded ${sign} (${row}.status = 'uploaded') * ${row}.compressed_bytes`,
    `stored_bytes = stored_bytes ${sign} ${row}.has_data * ${row}.compressed_bytes`,
  ].join(', ');
}

/** What one chunk row adds to its tenant's counters. Staged rows only count as disk use. */
function tenantChunkCounters(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  return [
    byStatus('chunks_', CHUNK_COUNTERS, row, sign),
    `original_bytes = original_bytes ${sign} (${row}.status != 'staged') * ${row}.original_bytes`,
    `compressed_bytes = compressed_bytes ${sign} (${row}.status != 'staged') * ${row}.compressed_bytes`,
    `stored_bytes = stored_bytes ${sign} ${row}.has_data * ${row}.compressed_bytes`,
    `staged_bytes = staged_bytes ${sign} (${row}.status = 'staged') * ${row}.has_data * ${row}.compressed_bytes`,
  ].join(', ');
}

const ENSURE_TENANT = (row: 'NEW' | 'OLD'): string =>
  `INSERT INTO tenant_stats (tenant_id) VALUES (${row}.tenant_id) ON CONFLICT (tenant_id) DO NOTHING;`;

/**
 * Migration 3, for delivery at scale (a million findings): blobs move to their own table and every per-chunk figure lives in a narrow counter
 * row kept by triggers in the same transaction as the change, so no statement on a per-chunk path (claim,
 * ack, progress, settle, quota check, stats) reads blob pages or scans a report's chunks. Adds the `staging`
 * report status and `staged` chunk status of the streaming submit, and the chunk's `tail` frame.
 */
const MIGRATION_3 = `
  CREATE TABLE reports_v3 (
    tenant_id        TEXT    NOT NULL,
    report_id        TEXT    NOT NULL,
    status           TEXT    NOT NULL
                     CHECK (status IN ('staging', 'pending', 'uploading', 'completed', 'failed', 'partial')),
    priority         INTEGER NOT NULL DEFAULT 0,
    total_chunks     INTEGER NOT NULL,
    content_hash     TEXT    NOT NULL,
    original_bytes   INTEGER NOT NULL,
    compressed_bytes INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    last_error       TEXT,
    -- Process id of the writer while 'staging' (a staging report of a live process is not discarded).
    staged_by        INTEGER,
    chunks_pending   INTEGER NOT NULL DEFAULT 0,
    chunks_uploaded  INTEGER NOT NULL DEFAULT 0,
    chunks_failed    INTEGER NOT NULL DEFAULT 0,
    chunks_stored    INTEGER NOT NULL DEFAULT 0,
    bytes_uploaded   INTEGER NOT NULL DEFAULT 0,
    stored_bytes     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, report_id)
  );
  INSERT INTO reports_v3 (tenant_id, report_id, status, priority, total_chunks, content_hash, original_bytes,
                          compressed_bytes, created_at, updated_at, completed_at, last_error)
    SELECT tenant_id, report_id, status, priority, total_chunks, content_hash, original_bytes,
           compressed_bytes, created_at, updated_at, completed_at, last_error FROM reports;
  CREATE TABLE chunks_v3 (
    id               INTEGER PRIMARY KEY,
    tenant_id        TEXT    NOT NULL,
    report_id        TEXT    NOT NULL,
    chunk_index      INTEGER NOT NULL,
    status           TEXT    NOT NULL
                     CHECK (status IN ('staged', 'pending', 'uploading', 'uploaded', 'failed', 'corrupt')),
    has_data         INTEGER NOT NULL DEFAULT 0 CHECK (has_data IN (0, 1)),
    -- The chunk's last zstd frame (its total_chunks and is_final), written at commit; NULL when the blob
    -- holds the whole JSON in one frame (every chunk stored before this migration).
    tail             BLOB,
    checksum         TEXT    NOT NULL,
    frame_checksum   TEXT,
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
  INSERT INTO chunks_v3 (id, tenant_id, report_id, chunk_index, status, has_data, checksum, frame_checksum,
                         original_bytes, compressed_bytes, attempts, next_attempt_at, last_error, created_at,
                         uploaded_at)
    SELECT id, tenant_id, report_id, chunk_index, status, data IS NOT NULL, checksum, frame_checksum,
           original_bytes, compressed_bytes, attempts, next_attempt_at, last_error, created_at, uploaded_at
    FROM chunks;
  -- The blobs, alone: a chunk row is a few dozen bytes, and changing it never copies a blob.
  CREATE TABLE chunk_blobs (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    data     BLOB    NOT NULL
  );
  INSERT INTO chunk_blobs (chunk_id, data) SELECT id, data FROM chunks WHERE data IS NOT NULL;
  DROP TABLE chunks;
  DROP TABLE reports;
  ALTER TABLE reports_v3 RENAME TO reports;
  ALTER TABLE chunks_v3 RENAME TO chunks;
  CREATE INDEX chunks_status_next_attempt ON chunks (status, next_attempt_at);
  CREATE INDEX chunks_report_status_index ON chunks (tenant_id, report_id, status, chunk_index);
  CREATE INDEX reports_status_priority_created ON reports (status, priority, created_at);
  CREATE INDEX reports_tenant_created ON reports (tenant_id, created_at);
  -- The upload pick: reports with chunks to send.
  CREATE INDEX reports_active ON reports (chunks_pending) WHERE chunks_pending > 0;
  -- Quota freeing: a tenant's delivered blobs, oldest first.
  CREATE INDEX chunks_uploaded_stored ON chunks (tenant_id, uploaded_at, id)
    WHERE status = 'uploaded' AND has_data = 1;

  UPDATE reports SET
    chunks_pending  = (SELECT count(*) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.status IN ('pending', 'uploading')),
    chunks_uploaded = (SELECT count(*) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.status = 'uploaded'),
    chunks_failed   = (SELECT count(*) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.status IN ('failed', 'corrupt')),
    chunks_stored   = (SELECT count(*) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.has_data = 1),
    bytes_uploaded  = (SELECT coalesce(sum(compressed_bytes), 0) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.status = 'uploaded'),
    stored_bytes    = (SELECT coalesce(sum(compressed_bytes), 0) FROM chunks c WHERE c.tenant_id = reports.tenant_id
                       AND c.report_id = reports.report_id AND c.has_data = 1);

  CREATE TABLE tenant_stats (
    tenant_id         TEXT    PRIMARY KEY,
    ${REPORT_COUNTERS.map((s) => `reports_${s} INTEGER NOT NULL DEFAULT 0,`).join(' ')}
    ${CHUNK_COUNTERS.map((s) => `chunks_${s} INTEGER NOT NULL DEFAULT 0,`).join(' ')}
    original_bytes    INTEGER NOT NULL DEFAULT 0,
    compressed_bytes  INTEGER NOT NULL DEFAULT 0,
    stored_bytes      INTEGER NOT NULL DEFAULT 0,
    staged_bytes      INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO tenant_stats (tenant_id) SELECT DISTINCT tenant_id FROM reports;
  UPDATE tenant_stats SET
    ${REPORT_COUNTERS.map(
      (s) =>
        `reports_${s} = (SELECT count(*) FROM reports r WHERE r.tenant_id = tenant_stats.tenant_id AND r.status = '${s}')`,
    ).join(', ')},
    ${CHUNK_COUNTERS.map(
      (s) =>
        `chunks_${s} = (SELECT count(*) FROM chunks c WHERE c.tenant_id = tenant_stats.tenant_id AND c.status = '${s}')`,
    ).join(', ')},
    original_bytes = (SELECT coalesce(sum(original_bytes), 0) FROM chunks c WHERE c.tenant_id = tenant_stats.tenant_id),
    compressed_bytes = (SELECT coalesce(sum(compressed_bytes), 0) FROM chunks c WHERE c.tenant_id = tenant_stats.tenant_id),
    stored_bytes = (SELECT coalesce(sum(stored_bytes), 0) FROM reports r WHERE r.tenant_id = tenant_stats.tenant_id);

  CREATE TRIGGER reports_counted_insert AFTER INSERT ON reports BEGIN
    ${ENSURE_TENANT('NEW')}
    UPDATE tenant_stats SET ${byStatus('reports_', REPORT_COUNTERS, 'NEW', '+')} WHERE tenant_id = NEW.tenant_id;
  END;
  CREATE TRIGGER reports_counted_status AFTER UPDATE OF status ON reports WHEN OLD.status != NEW.status BEGIN
    UPDATE tenant_stats SET ${byStatus('reports_', REPORT_COUNTERS, 'OLD', '-')} WHERE tenant_id = OLD.tenant_id;
    UPDATE tenant_stats SET ${byStatus('reports_', REPORT_COUNTERS, 'NEW', '+')} WHERE tenant_id = NEW.tenant_id;
  END;
  CREATE TRIGGER reports_counted_delete AFTER DELETE ON reports BEGIN
    UPDATE tenant_stats SET ${byStatus('reports_', REPORT_COUNTERS, 'OLD', '-')} WHERE tenant_id = OLD.tenant_id;
  END;
  CREATE TRIGGER chunks_counted_insert AFTER INSERT ON chunks BEGIN
    ${ENSURE_TENANT('NEW')}
    UPDATE tenant_stats SET ${tenantChunkCounters('NEW', '+')} WHERE tenant_id = NEW.tenant_id;
    UPDATE reports SET ${reportCounters('NEW', '+')}
      WHERE tenant_id = NEW.tenant_id AND report_id = NEW.report_id;
  END;
  CREATE TRIGGER chunks_counted_update
    AFTER UPDATE OF status, has_data, original_bytes, compressed_bytes ON chunks BEGIN
    UPDATE tenant_stats SET ${tenantChunkCounters('OLD', '-')} WHERE tenant_id = OLD.tenant_id;
    UPDATE tenant_stats SET ${tenantChunkCounters('NEW', '+')} WHERE tenant_id = NEW.tenant_id;
    UPDATE reports SET ${reportCounters('OLD', '-')}
      WHERE tenant_id = OLD.tenant_id AND report_id = OLD.report_id;
    UPDATE reports SET ${reportCounters('NEW', '+')}
      WHERE tenant_id = NEW.tenant_id AND report_id = NEW.report_id;
  END;
  CREATE TRIGGER chunks_counted_delete AFTER DELETE ON chunks BEGIN
    UPDATE tenant_stats SET ${tenantChunkCounters('OLD', '-')} WHERE tenant_id = OLD.tenant_id;
    UPDATE reports SET ${reportCounters('OLD', '-')}
      WHERE tenant_id = OLD.tenant_id AND report_id = OLD.report_id;
  END;
  -- A blob deleted by any path (ack, cleanup, quota) clears its chunk's flag, which moves the counters.
  CREATE TRIGGER chunk_blobs_freed AFTER DELETE ON chunk_blobs BEGIN
    UPDATE chunks SET has_data = 0 WHERE id = OLD.chunk_id AND has_data = 1;
  END;
`;

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
  { version: 3, name: 'blobs apart, counters, staging', sql: MIGRATION_3, rebuild: true },
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
    const foreignKeys = sqlite.pragma('foreign_keys', { simple: true }) as number;
    if (m.rebuild) sqlite.pragma('foreign_keys = OFF');
    try {
      sqlite
        .transaction(() => {
          sqlite.exec(m.sql);
          if (m.rebuild && (sqlite.pragma('foreign_key_check') as unknown[]).length > 0) {
            throw new Error(`migration ${m.version} left rows that break a foreign key`);
          }
          record.run(m.version, m.name, now);
        })
        .immediate();
    } finally {
      if (m.rebuild) sqlite.pragma(`foreign_keys = ${foreignKeys}`);
    }
  }
  return MIGRATIONS.length === 0 ? current : Math.max(current, MIGRATIONS[MIGRATIONS.length - 1]!.version);
}
