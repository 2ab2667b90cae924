import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { ClosableBase, closeOnce, COMMAND_STATUSES } from '@rediver/core';
import type {
  Asset,
  ChunkUploadResponse,
  Command,
  CommandStatus,
  Finding,
  IngestResponse,
  ReportMetadata,
  ToolInfo,
} from '@rediver/core';
import { IngestServerError } from './ingestServerError';
import type { PreparedChunk, PreparedReport } from './internal/bodyJobs';
import { MAX_ASSETS_PER_CHUNKED_REPORT, MAX_FINDINGS_PER_CHUNKED_REPORT } from './internal/contentLimits';
import { FindingIndex } from './internal/findingIndex';
import { prepareAssets, prepareFindings, sha256 } from './internal/prepare';
import type { PreparedAsset, PreparedFinding } from './internal/prepare';

export { findingFingerprint } from './internal/prepare';

/** What one report (whole or chunked) delivered so far, per tenant. */
export interface ReportStats {
  reportId: string;
  /** `ingest` for a whole report, `chunks` for a chunked one. */
  source: 'ingest' | 'chunks';
  /** Chunks announced by the envelope (null for a whole report). */
  totalChunks: number | null;
  /** Distinct chunks applied. */
  chunksReceived: number;
  /** Findings carried by the applied chunks or reports (repeats of a report count again). */
  findingsReceived: number;
  /** Assets carried by the applied chunks or reports. */
  assetsReceived: number;
  /** True once every chunk arrived (always true for a whole report). */
  complete: boolean;
  /** Tool that produced the report, when known. */
  toolName: string | null;
  /** ISO time of the last change. */
  updatedAt: string;
}

/** Totals of one tenant. */
export interface TenantTotals {
  reports: number;
  completeReports: number;
  /** Distinct findings stored (upserted by fingerprint). */
  findings: number;
  findingsReceived: number;
  /** Distinct assets stored (by type and value). */
  assets: number;
  chunks: number;
  /** Agents that sent a heartbeat. */
  agents: number;
  heartbeats: number;
  /** Commands by status. */
  commands: Record<CommandStatus, number>;
}

/** Everything stored for one tenant. */
export interface TenantStats {
  tenantId: string;
  totals: TenantTotals;
  reports: ReportStats[];
}

/** Stats of every tenant (or of the one asked for). */
export interface IngestStats {
  tenants: TenantStats[];
}

/** Input of `enqueueCommand`. */
export interface EnqueueCommandInput {
  tenantId: string;
  /** Command kind, e.g. `scan`. */
  type: string;
  payload?: Record<string, unknown>;
  /** Higher is served first; default 0. */
  priority?: number;
  /** Only this agent (X-Agent-ID) receives it; any agent of the tenant when unset. */
  agentId?: string;
  /** Epoch ms after which it is no longer handed out. */
  expiresAt?: number;
}

/** A stored command with its lifecycle fields. */
export interface StoredCommand extends Command {
  status: CommandStatus;
  tenant_id: string;
  agent_id?: string;
  result?: Record<string, unknown>;
  error_message?: string;
  updated_at: string;
}

/** A lifecycle call on a command. */
export type CommandAction = 'acknowledge' | 'start' | 'complete' | 'fail';

/** The last heartbeat of an agent. */
export interface HeartbeatRecord {
  tenantId: string;
  agentId: string;
  body: Record<string, unknown>;
  receivedAt: string;
  count: number;
}

/** An answer the server stored and replays for a repeated request. */
export interface StoredAnswer<T> {
  statusCode: number;
  body: T;
  /** True when this is the stored answer of an earlier identical request (nothing was applied). */
  replayed: boolean;
}

/** The validated content of one chunk, ready to apply. */
export interface ChunkToApply {
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  /** Hex SHA-256 of the decoded ChunkData JSON. */
  checksum: string;
  idempotencyKey: string | undefined;
  tool: ToolInfo | undefined;
  metadata: ReportMetadata | undefined;
  assets: Asset[];
  findings: Finding[];
  compressedBytes: number;
  decodedBytes: number;
}

const TRANSITIONS: Record<CommandAction, { from: readonly CommandStatus[]; to: CommandStatus }> = {
  acknowledge: { from: ['pending'], to: 'acknowledged' },
  start: { from: ['pending', 'acknowledged'], to: 'running' },
  complete: { from: ['acknowledged', 'running'], to: 'completed' },
  fail: { from: ['pending', 'acknowledged', 'running'], to: 'failed' },
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  tenant_id TEXT NOT NULL, report_id TEXT NOT NULL, source TEXT NOT NULL, total_chunks INTEGER,
  chunks_received INTEGER NOT NULL DEFAULT 0, findings_received INTEGER NOT NULL DEFAULT 0,
  assets_received INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0, tool_name TEXT,
  metadata TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, report_id));
CREATE TABLE IF NOT EXISTS findings (
  tenant_id TEXT NOT NULL, fingerprint TEXT NOT NULL, report_id TEXT NOT NULL, type TEXT NOT NULL,
  severity TEXT NOT NULL, title TEXT NOT NULL, content_hash TEXT NOT NULL, data TEXT NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS findings_tenant ON findings (tenant_id);
CREATE TABLE IF NOT EXISTS assets (
  tenant_id TEXT NOT NULL, asset_key TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,
  report_id TEXT NOT NULL, content_hash TEXT NOT NULL, data TEXT NOT NULL, first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL, PRIMARY KEY (tenant_id, asset_key));
CREATE TABLE IF NOT EXISTS chunks (
  tenant_id TEXT NOT NULL, report_id TEXT NOT NULL, chunk_index INTEGER NOT NULL, checksum TEXT NOT NULL,
  idempotency_key TEXT, compressed_bytes INTEGER NOT NULL, decoded_bytes INTEGER NOT NULL,
  response TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (tenant_id, report_id, chunk_index));
CREATE TABLE IF NOT EXISTS idempotency (
  tenant_id TEXT NOT NULL, idem_key TEXT NOT NULL, request_hash TEXT NOT NULL, status_code INTEGER NOT NULL,
  response TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (tenant_id, idem_key));
CREATE TABLE IF NOT EXISTS commands (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, agent_id TEXT, type TEXT NOT NULL, priority INTEGER NOT NULL,
  payload TEXT, status TEXT NOT NULL, result TEXT, error_message TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, expires_at INTEGER);
CREATE INDEX IF NOT EXISTS commands_poll ON commands (tenant_id, status, priority DESC, created_at);
CREATE TABLE IF NOT EXISTS heartbeats (
  tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, data TEXT NOT NULL, received_at INTEGER NOT NULL,
  count INTEGER NOT NULL, PRIMARY KEY (tenant_id, agent_id));
`;

interface CommandRow {
  id: string;
  tenant_id: string;
  agent_id: string | null;
  type: string;
  priority: number;
  payload: string | null;
  status: CommandStatus;
  result: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

interface ReportRow {
  tenant_id: string;
  report_id: string;
  source: 'ingest' | 'chunks';
  total_chunks: number | null;
  chunks_received: number;
  findings_received: number;
  assets_received: number;
  complete: number;
  tool_name: string | null;
  updated_at: number;
}

/** Counts of one apply (chunk or report). */
interface ApplyCounts {
  assets_created: number;
  assets_updated: number;
  findings_created: number;
  findings_updated: number;
  findings_skipped: number;
}

/**
 * Everything the ingest server receives, in SQLite: reports, findings (upserted by fingerprint per tenant), assets,
 * chunks with their first answers, idempotency records, commands and heartbeats. Every read and write is scoped to
 * a tenant. Safe to open the same file from another process (WAL), e.g. the CLI's `stats` and `enqueue`.
 */
export class IngestStore extends ClosableBase {
  /** The underlying better-sqlite3 database, for ad-hoc queries in tests. */
  readonly db: Database.Database;
  private readonly now: () => number;
  private closed = false;
  private readonly st: ReturnType<IngestStore['prepare']>;
  /** Where each finding is (see `FindingIndex`); the findings table has no unique index of its own. */
  private readonly findingIndex = new FindingIndex();

  constructor(databasePath: string, options: { now?: () => number } = {}) {
    super();
    this.db = new Database(databasePath);
    this.now = options.now ?? Date.now;
    // Findings are keyed by random fingerprints, so every insert lands at a random place of their index. Bigger
    // pages and a cache that holds the index of a million findings (about 100 MiB) make that 30% cheaper at
    // 500,000 findings (bench/). The page size applies to new databases only.
    this.db.pragma('page_size = 16384');
    this.db.pragma('cache_size = -262144');
    if (databasePath !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.st = this.prepare();
    for (const row of this.db
      .prepare('SELECT rowid AS id, tenant_id, fingerprint FROM findings')
      .iterate() as IterableIterator<{ id: number; tenant_id: string; fingerprint: string }>) {
      this.findingIndex.add(row.tenant_id, row.fingerprint, row.id);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      getIdem: db.prepare<[string, string], { request_hash: string; status_code: number; response: string }>(
        'SELECT request_hash, status_code, response FROM idempotency WHERE tenant_id = ? AND idem_key = ?',
      ),
      putIdem: db.prepare(
        'INSERT OR IGNORE INTO idempotency (tenant_id, idem_key, request_hash, status_code, response, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getChunk: db.prepare<[string, string, number], { checksum: string; response: string }>(
        'SELECT checksum, response FROM chunks WHERE tenant_id = ? AND report_id = ? AND chunk_index = ?',
      ),
      putChunk: db.prepare(
        'INSERT INTO chunks (tenant_id, report_id, chunk_index, checksum, idempotency_key, compressed_bytes, decoded_bytes, response, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getReport: db.prepare<[string, string], ReportRow>(
        'SELECT * FROM reports WHERE tenant_id = ? AND report_id = ?',
      ),
      insertReport: db.prepare(
        'INSERT INTO reports (tenant_id, report_id, source, total_chunks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      bumpReport: db.prepare(
        `UPDATE reports SET chunks_received = chunks_received + ?, findings_received = findings_received + ?,
         assets_received = assets_received + ?, tool_name = COALESCE(?, tool_name), metadata = COALESCE(?, metadata),
         updated_at = ?, complete = CASE WHEN source = 'ingest' THEN 1
           WHEN chunks_received + ? >= total_chunks THEN 1 ELSE 0 END
         WHERE tenant_id = ? AND report_id = ?`,
      ),
      findingAt: db.prepare<[number], { tenant_id: string; fingerprint: string }>(
        'SELECT tenant_id, fingerprint FROM findings WHERE rowid = ?',
      ),
      findingHash: db.prepare<[number], { content_hash: string }>(
        'SELECT content_hash FROM findings WHERE rowid = ?',
      ),
      // An append: the finding index says it is new (the table has no unique index to check on every insert).
      insertFinding: db.prepare(
        'INSERT INTO findings (tenant_id, fingerprint, report_id, type, severity, title, content_hash, data, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updateFinding: db.prepare(
        'UPDATE findings SET report_id = @report, type = @type, severity = @severity, title = @title, content_hash = @hash, data = @data, last_seen = @at WHERE rowid = @rowid',
      ),
      touchFinding: db.prepare('UPDATE findings SET last_seen = ? WHERE rowid = ?'),
      getAsset: db.prepare<[string, string], { content_hash: string }>(
        'SELECT content_hash FROM assets WHERE tenant_id = ? AND asset_key = ?',
      ),
      insertAsset: db.prepare(
        'INSERT INTO assets (tenant_id, asset_key, type, value, report_id, content_hash, data, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      updateAsset: db.prepare(
        'UPDATE assets SET report_id = ?, content_hash = ?, data = ?, last_seen = ? WHERE tenant_id = ? AND asset_key = ?',
      ),
      touchAsset: db.prepare('UPDATE assets SET last_seen = ? WHERE tenant_id = ? AND asset_key = ?'),
      getCommand: db.prepare<[string, string], CommandRow>(
        'SELECT * FROM commands WHERE tenant_id = ? AND id = ?',
      ),
      insertCommand: db.prepare(
        'INSERT INTO commands (id, tenant_id, agent_id, type, priority, payload, status, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      setCommand: db.prepare(
        'UPDATE commands SET status = ?, result = COALESCE(?, result), error_message = COALESCE(?, error_message), updated_at = ? WHERE tenant_id = ? AND id = ?',
      ),
      pending: db.prepare<[string, string | null, number, number], CommandRow>(
        `SELECT * FROM commands WHERE tenant_id = ? AND status = 'pending' AND (agent_id IS NULL OR agent_id = ?)
         AND (expires_at IS NULL OR expires_at > ?) ORDER BY priority DESC, created_at, rowid LIMIT ?`,
      ),
      putHeartbeat: db.prepare(
        `INSERT INTO heartbeats (tenant_id, agent_id, data, received_at, count) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (tenant_id, agent_id) DO UPDATE SET data = excluded.data, received_at = excluded.received_at, count = count + 1`,
      ),
      getHeartbeat: db.prepare<[string, string], { data: string; received_at: number; count: number }>(
        'SELECT data, received_at, count FROM heartbeats WHERE tenant_id = ? AND agent_id = ?',
      ),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new IngestServerError('CLOSED', 'the ingest store is closed', { status: 503 });
  }

  /** The rowid of a tenant's finding, or undefined. */
  private findFinding(tenantId: string, fingerprint: string): number | undefined {
    return this.findingIndex.find(tenantId, fingerprint, (rowid) => this.st.findingAt.get(rowid));
  }

  /**
   * Runs `apply` in a transaction; the findings it added to the index are taken out again when it rolls back.
   * `apply` gets the list to record them in.
   */
  private inTransaction<T>(tenantId: string, apply: (added: Array<[string, number]>) => T): T {
    const added: Array<[string, number]> = [];
    try {
      return this.db.transaction(() => apply(added))();
    } catch (error) {
      for (const [fingerprint, rowid] of added) this.findingIndex.remove(tenantId, fingerprint, rowid);
      throw error;
    }
  }

  private upsert(
    tenantId: string,
    reportId: string,
    assets: readonly PreparedAsset[],
    findings: readonly PreparedFinding[],
    at: number,
    added: Array<[string, number]>,
  ): ApplyCounts {
    const counts: ApplyCounts = {
      assets_created: 0,
      assets_updated: 0,
      findings_created: 0,
      findings_updated: 0,
      findings_skipped: 0,
    };
    for (const a of assets) {
      if (
        this.st.insertAsset.run(tenantId, a.key, a.type, a.value, reportId, a.hash, a.data, at, at)
          .changes === 1
      ) {
        counts.assets_created++;
      } else if (this.st.getAsset.get(tenantId, a.key)!.content_hash !== a.hash) {
        this.st.updateAsset.run(reportId, a.hash, a.data, at, tenantId, a.key);
        counts.assets_updated++;
      } else {
        this.st.touchAsset.run(at, tenantId, a.key);
      }
    }
    for (const f of findings) {
      const rowid = this.findFinding(tenantId, f.fingerprint);
      if (rowid === undefined) {
        const id = Number(
          this.st.insertFinding.run(
            tenantId,
            f.fingerprint,
            reportId,
            f.type,
            f.severity,
            f.title,
            f.hash,
            f.data,
            at,
            at,
          ).lastInsertRowid,
        );
        this.findingIndex.add(tenantId, f.fingerprint, id);
        added.push([f.fingerprint, id]);
        counts.findings_created++;
      } else if (this.st.findingHash.get(rowid)!.content_hash !== f.hash) {
        this.st.updateFinding.run({ ...f, tenant: tenantId, report: reportId, at, rowid });
        counts.findings_updated++;
      } else {
        this.st.touchFinding.run(at, rowid);
        counts.findings_skipped++;
      }
    }
    return counts;
  }

  /** Looks up an idempotency key; returns its stored answer, or throws 409 when it was used for another request. */
  private replay<T>(
    tenantId: string,
    key: string | undefined,
    requestHash: string,
  ): StoredAnswer<T> | undefined {
    if (key === undefined) return undefined;
    const row = this.st.getIdem.get(tenantId, key);
    if (!row) return undefined;
    if (row.request_hash !== requestHash) {
      throw new IngestServerError(
        'REPORT_CONFLICT',
        'Idempotency-Key was already used for a different request',
        {
          status: 409,
        },
      );
    }
    return { statusCode: row.status_code, body: JSON.parse(row.response) as T, replayed: true };
  }

  /**
   * Applies one chunk exactly once: a repeat (same Idempotency-Key, or same report id, index and checksum)
   * returns the first answer and changes nothing. Same report id and index with other content → 409.
   */
  applyChunk(tenantId: string, chunk: ChunkToApply): StoredAnswer<ChunkUploadResponse> {
    return this.applyPreparedChunk(tenantId, {
      ...chunk,
      assets: prepareAssets(chunk.assets),
      findings: prepareFindings(chunk.findings),
    });
  }

  /** `applyChunk` for a chunk a body worker already decoded, validated and serialised. */
  applyPreparedChunk(
    tenantId: string,
    chunk: PreparedChunk & { idempotencyKey: string | undefined },
  ): StoredAnswer<ChunkUploadResponse> {
    this.assertOpen();
    const requestHash = sha256(
      `chunk\u0000${chunk.reportId}\u0000${chunk.chunkIndex}\u0000${chunk.checksum}`,
    );
    return this.inTransaction(tenantId, (added): StoredAnswer<ChunkUploadResponse> => {
      const at = this.now();
      const byKey = this.replay<ChunkUploadResponse>(tenantId, chunk.idempotencyKey, requestHash);
      if (byKey) return byKey;
      const prior = this.st.getChunk.get(tenantId, chunk.reportId, chunk.chunkIndex);
      if (prior) {
        if (prior.checksum !== chunk.checksum) {
          throw new IngestServerError(
            'REPORT_CONFLICT',
            `chunk ${chunk.chunkIndex} of report ${chunk.reportId} was already received with different content`,
            { status: 409 },
          );
        }
        if (chunk.idempotencyKey !== undefined) {
          this.st.putIdem.run(tenantId, chunk.idempotencyKey, requestHash, 201, prior.response, at);
        }
        return { statusCode: 201, body: JSON.parse(prior.response) as ChunkUploadResponse, replayed: true };
      }
      const report = this.st.getReport.get(tenantId, chunk.reportId);
      if (!report) {
        this.st.insertReport.run(tenantId, chunk.reportId, 'chunks', chunk.totalChunks, at, at);
      } else if (report.source !== 'chunks' || report.total_chunks !== chunk.totalChunks) {
        throw new IngestServerError(
          'REPORT_CONFLICT',
          report.source === 'chunks'
            ? `report ${chunk.reportId} was announced with ${report.total_chunks} chunks, not ${chunk.totalChunks}`
            : `report ${chunk.reportId} was already ingested whole`,
          { status: 409 },
        );
      } else if (
        report.findings_received + chunk.findings.length > MAX_FINDINGS_PER_CHUNKED_REPORT ||
        report.assets_received + chunk.assets.length > MAX_ASSETS_PER_CHUNKED_REPORT
      ) {
        throw new IngestServerError(
          'REPORT_TOO_LARGE',
          `report ${chunk.reportId} would hold more than ${MAX_FINDINGS_PER_CHUNKED_REPORT} findings or ` +
            `${MAX_ASSETS_PER_CHUNKED_REPORT} assets (a bound of this server)`,
          { status: 413 },
        );
      }
      const counts = this.upsert(tenantId, chunk.reportId, chunk.assets, chunk.findings, at, added);
      this.st.bumpReport.run(
        1,
        chunk.findings.length,
        chunk.assets.length,
        chunk.tool?.name ?? null,
        chunk.metadata ? JSON.stringify(chunk.metadata) : null,
        at,
        1,
        tenantId,
        chunk.reportId,
      );
      const after = this.st.getReport.get(tenantId, chunk.reportId)!;
      const body: ChunkUploadResponse = {
        chunk_id: `${chunk.reportId}:${chunk.chunkIndex}`,
        report_id: chunk.reportId,
        chunk_index: chunk.chunkIndex,
        status: after.complete === 1 ? 'completed' : 'received',
        ...counts,
      };
      const response = JSON.stringify(body);
      this.st.putChunk.run(
        tenantId,
        chunk.reportId,
        chunk.chunkIndex,
        chunk.checksum,
        chunk.idempotencyKey ?? null,
        chunk.compressedBytes,
        chunk.decodedBytes,
        response,
        at,
      );
      if (chunk.idempotencyKey !== undefined) {
        this.st.putIdem.run(tenantId, chunk.idempotencyKey, requestHash, 201, response, at);
      }
      return { statusCode: 201, body, replayed: false };
    });
  }

  /**
   * Applies a whole report. With an Idempotency-Key, a repeat of the same body returns the first answer; without
   * one, a repeat is applied again (findings are upserted, so they count as skipped).
   */
  applyReport(
    tenantId: string,
    input: {
      report: { metadata: ReportMetadata; tool?: ToolInfo; assets?: Asset[]; findings?: Finding[] };
      idempotencyKey: string | undefined;
      bodyHash: string;
    },
  ): StoredAnswer<IngestResponse> {
    const { report } = input;
    return this.applyPreparedReport(tenantId, {
      idempotencyKey: input.idempotencyKey,
      report: {
        metadata: report.metadata,
        tool: report.tool,
        assets: prepareAssets(report.assets ?? []),
        findings: prepareFindings(report.findings ?? []),
        bodyHash: input.bodyHash,
      },
    });
  }

  /** `applyReport` for a report a body worker already validated and serialised. */
  applyPreparedReport(
    tenantId: string,
    input: { report: PreparedReport; idempotencyKey: string | undefined },
  ): StoredAnswer<IngestResponse> {
    this.assertOpen();
    const { report } = input;
    const requestHash = sha256(`ingest\u0000${report.bodyHash}`);
    return this.inTransaction(tenantId, (added): StoredAnswer<IngestResponse> => {
      const at = this.now();
      const byKey = this.replay<IngestResponse>(tenantId, input.idempotencyKey, requestHash);
      if (byKey) return byKey;
      const reportId = report.metadata.id;
      const existing = this.st.getReport.get(tenantId, reportId);
      if (!existing) this.st.insertReport.run(tenantId, reportId, 'ingest', null, at, at);
      else if (existing.source !== 'ingest') {
        throw new IngestServerError('REPORT_CONFLICT', `report ${reportId} is being delivered in chunks`, {
          status: 409,
        });
      }
      const counts = this.upsert(tenantId, reportId, report.assets, report.findings, at, added);
      this.st.bumpReport.run(
        0,
        report.findings.length,
        report.assets.length,
        report.tool?.name ?? null,
        JSON.stringify(report.metadata),
        at,
        0,
        tenantId,
        reportId,
      );
      const body: IngestResponse = { scan_id: `scan-${randomUUID()}`, ...counts, errors: [] };
      if (input.idempotencyKey !== undefined) {
        this.st.putIdem.run(tenantId, input.idempotencyKey, requestHash, 200, JSON.stringify(body), at);
      }
      return { statusCode: 200, body, replayed: false };
    });
  }

  /** Splits fingerprints into those the tenant has and those it has not. */
  checkFingerprints(
    tenantId: string,
    fingerprints: readonly string[],
  ): { existing: string[]; missing: string[] } {
    this.assertOpen();
    const existing: string[] = [];
    const missing: string[] = [];
    for (const fp of fingerprints)
      (this.findFinding(tenantId, fp) !== undefined ? existing : missing).push(fp);
    return { existing, missing };
  }

  /** Stores the last heartbeat of an agent. */
  recordHeartbeat(tenantId: string, agentId: string, body: Record<string, unknown>): void {
    this.assertOpen();
    this.st.putHeartbeat.run(tenantId, agentId, JSON.stringify(body), this.now());
  }

  /** The last heartbeat of an agent of a tenant. */
  lastHeartbeat(tenantId: string, agentId: string): HeartbeatRecord | undefined {
    this.assertOpen();
    const row = this.st.getHeartbeat.get(tenantId, agentId);
    if (!row) return undefined;
    return {
      tenantId,
      agentId,
      body: JSON.parse(row.data) as Record<string, unknown>,
      receivedAt: new Date(row.received_at).toISOString(),
      count: row.count,
    };
  }

  /** Queues a command for a tenant's agents. */
  enqueueCommand(input: EnqueueCommandInput): StoredCommand {
    this.assertOpen();
    if (typeof input.tenantId !== 'string' || input.tenantId.length === 0) {
      throw new IngestServerError('VALIDATION_FAILED', 'tenantId is required', { status: 400 });
    }
    if (typeof input.type !== 'string' || input.type.length === 0 || input.type.length > 256) {
      throw new IngestServerError('VALIDATION_FAILED', 'type must be 1..256 characters', { status: 400 });
    }
    const priority = input.priority ?? 0;
    if (!Number.isInteger(priority)) {
      throw new IngestServerError('VALIDATION_FAILED', 'priority must be an integer', { status: 400 });
    }
    if (
      input.payload !== undefined &&
      (typeof input.payload !== 'object' || input.payload === null || Array.isArray(input.payload))
    ) {
      throw new IngestServerError('VALIDATION_FAILED', 'payload must be a JSON object', { status: 400 });
    }
    const at = this.now();
    const id = randomUUID();
    this.st.insertCommand.run(
      id,
      input.tenantId,
      input.agentId ?? null,
      input.type,
      priority,
      input.payload === undefined ? null : JSON.stringify(input.payload),
      'pending',
      at,
      at,
      input.expiresAt ?? null,
    );
    return this.toCommand(this.st.getCommand.get(input.tenantId, id)!);
  }

  /** Pending, unexpired commands of a tenant for an agent (or unassigned), highest priority first. */
  pendingCommands(tenantId: string, agentId: string | undefined, limit: number): StoredCommand[] {
    this.assertOpen();
    return this.st.pending.all(tenantId, agentId ?? null, this.now(), limit).map((r) => this.toCommand(r));
  }

  /** A command of a tenant (undefined for another tenant's). */
  getCommand(tenantId: string, id: string): StoredCommand | undefined {
    this.assertOpen();
    const row = this.st.getCommand.get(tenantId, id);
    return row ? this.toCommand(row) : undefined;
  }

  /**
   * Moves a command along its lifecycle. Repeating the call that reached the current state is a no-op (a retried
   * request); any other impossible move is 409. Unknown or other-tenant ids are 404.
   */
  transitionCommand(
    tenantId: string,
    id: string,
    action: CommandAction,
    extra: { result?: Record<string, unknown>; errorMessage?: string } = {},
  ): StoredCommand {
    this.assertOpen();
    return this.db.transaction((): StoredCommand => {
      const row = this.st.getCommand.get(tenantId, id);
      if (!row) throw new IngestServerError('NOT_FOUND', `command ${id} not found`, { status: 404 });
      const current = this.toCommand(row).status;
      const rule = TRANSITIONS[action];
      if (current === rule.to) return this.toCommand(row);
      if (!rule.from.includes(current)) {
        throw new IngestServerError('VALIDATION_FAILED', `cannot ${action} a command that is ${current}`, {
          status: 409,
          details: { status: current },
        });
      }
      this.st.setCommand.run(
        rule.to,
        extra.result === undefined ? null : JSON.stringify(extra.result),
        extra.errorMessage ?? null,
        this.now(),
        tenantId,
        id,
      );
      return this.toCommand(this.st.getCommand.get(tenantId, id)!);
    })();
  }

  private toCommand(row: CommandRow): StoredCommand {
    const expired = row.status === 'pending' && row.expires_at !== null && row.expires_at <= this.now();
    return {
      id: row.id,
      type: row.type,
      priority: row.priority,
      ...(row.payload === null ? {} : { payload: JSON.parse(row.payload) as Record<string, unknown> }),
      status: expired ? 'expired' : row.status,
      tenant_id: row.tenant_id,
      ...(row.agent_id === null ? {} : { agent_id: row.agent_id }),
      ...(row.result === null ? {} : { result: JSON.parse(row.result) as Record<string, unknown> }),
      ...(row.error_message === null ? {} : { error_message: row.error_message }),
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
      ...(row.expires_at === null ? {} : { expires_at: new Date(row.expires_at).toISOString() }),
    };
  }

  /** Totals per tenant and per report; only `tenantId`'s when given (empty totals for an unknown tenant). */
  stats(tenantId?: string): IngestStats {
    this.assertOpen();
    const tenants =
      tenantId !== undefined
        ? [tenantId]
        : (
            this.db
              .prepare(
                `SELECT tenant_id FROM reports UNION SELECT tenant_id FROM commands UNION SELECT tenant_id FROM heartbeats
                 UNION SELECT tenant_id FROM findings ORDER BY tenant_id`,
              )
              .all() as Array<{ tenant_id: string }>
          ).map((r) => r.tenant_id);
    return { tenants: tenants.map((t) => this.tenantStats(t)) };
  }

  private tenantStats(tenantId: string): TenantStats {
    const count = (sql: string): number =>
      (this.db.prepare(sql).get(tenantId) as { n: number | null }).n ?? 0;
    const rows = this.db
      .prepare('SELECT * FROM reports WHERE tenant_id = ? ORDER BY created_at, report_id')
      .all(tenantId) as ReportRow[];
    const commands = Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as Record<CommandStatus, number>;
    for (const c of this.db
      .prepare('SELECT * FROM commands WHERE tenant_id = ?')
      .all(tenantId) as CommandRow[]) {
      commands[this.toCommand(c).status]++;
    }
    const reports = rows.map((r): ReportStats => ({
      reportId: r.report_id,
      source: r.source,
      totalChunks: r.total_chunks,
      chunksReceived: r.chunks_received,
      findingsReceived: r.findings_received,
      assetsReceived: r.assets_received,
      complete: r.complete === 1,
      toolName: r.tool_name,
      updatedAt: new Date(r.updated_at).toISOString(),
    }));
    return {
      tenantId,
      totals: {
        reports: reports.length,
        completeReports: reports.filter((r) => r.complete).length,
        findings: count('SELECT COUNT(*) AS n FROM findings WHERE tenant_id = ?'),
        findingsReceived: reports.reduce((n, r) => n + r.findingsReceived, 0),
        assets: count('SELECT COUNT(*) AS n FROM assets WHERE tenant_id = ?'),
        chunks: count('SELECT COUNT(*) AS n FROM chunks WHERE tenant_id = ?'),
        agents: count('SELECT COUNT(*) AS n FROM heartbeats WHERE tenant_id = ?'),
        heartbeats: count('SELECT SUM(count) AS n FROM heartbeats WHERE tenant_id = ?'),
        commands,
      },
      reports,
    };
  }

  /**
   * Closes the database (synchronously: it is closed when this returns); the same promise on every call, and
   * `await using` closes it too.
   */
  close(): Promise<void> {
    return this.#close();
  }

  readonly #close = closeOnce(() => {
    this.closed = true;
    this.db.close();
  });
}

/** Opens (creating if needed) an ingest store at `databasePath` (`':memory:'` for a throwaway one). */
export function openIngestStore(databasePath: string): IngestStore {
  return new IngestStore(databasePath);
}
