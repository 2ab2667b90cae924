import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ChunkUploadResponse, IngestResponse } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import type { StoredAnswer } from '../ingestStoreTypes';
import type { PreparedChunk, PreparedReport } from './bodyJobs';
import { MAX_ASSETS_PER_CHUNKED_REPORT, MAX_FINDINGS_PER_CHUNKED_REPORT } from './contentLimits';
import type { FindingIndex } from './findingIndex';
import { sha256 } from './prepare';
import type { PreparedAsset, PreparedFinding } from './prepare';
import type { Statements } from './storeSchema';

/** Counts of one apply (chunk or report). */
interface ApplyCounts {
  assets_created: number;
  assets_updated: number;
  findings_created: number;
  findings_updated: number;
  findings_skipped: number;
}

/**
 * The store's writes of reports, chunks and their findings and assets: each apply in one transaction, exactly once
 * (idempotency keys, chunk checksums), findings upserted by fingerprint through the finding index.
 */
export class ReportWrites {
  readonly #db: Database.Database;
  readonly #st: Statements;
  readonly #now: () => number;
  readonly #findingIndex: FindingIndex;

  constructor(db: Database.Database, st: Statements, now: () => number, findingIndex: FindingIndex) {
    this.#db = db;
    this.#st = st;
    this.#now = now;
    this.#findingIndex = findingIndex;
  }

  /** The rowid of a tenant's finding, or undefined. */
  #findFinding(tenantId: string, fingerprint: string): number | undefined {
    return this.#findingIndex.find(tenantId, fingerprint, (rowid) => this.#st.findingAt.get(rowid));
  }

  /**
   * Runs `apply` in a transaction; the findings it added to the index are taken out again when it rolls back.
   * `apply` gets the list to record them in.
   */
  #inTransaction<T>(tenantId: string, apply: (added: Array<[string, number]>) => T): T {
    const added: Array<[string, number]> = [];
    try {
      return this.#db.transaction(() => apply(added))();
    } catch (error) {
      for (const [fingerprint, rowid] of added) this.#findingIndex.remove(tenantId, fingerprint, rowid);
      throw error;
    }
  }

  /** Upserts one batch of a report's assets and findings at time `at`; new findings are recorded in `added`. */
  #upsert(
    tenantId: string,
    batch: {
      reportId: string;
      assets: readonly PreparedAsset[];
      findings: readonly PreparedFinding[];
      at: number;
    },
    added: Array<[string, number]>,
  ): ApplyCounts {
    const { reportId, assets, findings, at } = batch;
    const counts: ApplyCounts = {
      assets_created: 0,
      assets_updated: 0,
      findings_created: 0,
      findings_updated: 0,
      findings_skipped: 0,
    };
    for (const a of assets) {
      if (
        this.#st.insertAsset.run(tenantId, a.key, a.type, a.value, reportId, a.hash, a.data, at, at)
          .changes === 1
      ) {
        counts.assets_created++;
      } else if (this.#st.getAsset.get(tenantId, a.key)!.content_hash !== a.hash) {
        this.#st.updateAsset.run(reportId, a.hash, a.data, at, tenantId, a.key);
        counts.assets_updated++;
      } else {
        this.#st.touchAsset.run(at, tenantId, a.key);
      }
    }
    for (const f of findings) {
      const rowid = this.#findFinding(tenantId, f.fingerprint);
      if (rowid === undefined) {
        const id = Number(
          this.#st.insertFinding.run(
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
        this.#findingIndex.add(tenantId, f.fingerprint, id);
        added.push([f.fingerprint, id]);
        counts.findings_created++;
      } else if (this.#st.findingHash.get(rowid)!.content_hash !== f.hash) {
        this.#st.updateFinding.run({ ...f, tenant: tenantId, report: reportId, at, rowid });
        counts.findings_updated++;
      } else {
        this.#st.touchFinding.run(at, rowid);
        counts.findings_skipped++;
      }
    }
    return counts;
  }

  /** Looks up an idempotency key; returns its stored answer, or throws 409 when it was used for another request. */
  #replay<T>(tenantId: string, key: string | undefined, requestHash: string): StoredAnswer<T> | undefined {
    if (key === undefined) return undefined;
    const row = this.#st.getIdem.get(tenantId, key);
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

  /** `applyChunk` for a chunk a body worker already decoded, validated and serialised. */
  applyChunk(
    tenantId: string,
    chunk: PreparedChunk & { idempotencyKey: string | undefined },
  ): StoredAnswer<ChunkUploadResponse> {
    const requestHash = sha256(
      `chunk\u0000${chunk.reportId}\u0000${chunk.chunkIndex}\u0000${chunk.checksum}`,
    );
    return this.#inTransaction(tenantId, (added): StoredAnswer<ChunkUploadResponse> => {
      const at = this.#now();
      const byKey = this.#replay<ChunkUploadResponse>(tenantId, chunk.idempotencyKey, requestHash);
      if (byKey) return byKey;
      const prior = this.#st.getChunk.get(tenantId, chunk.reportId, chunk.chunkIndex);
      if (prior) {
        if (prior.checksum !== chunk.checksum) {
          throw new IngestServerError(
            'REPORT_CONFLICT',
            `chunk ${chunk.chunkIndex} of report ${chunk.reportId} was already received with different content`,
            { status: 409 },
          );
        }
        if (chunk.idempotencyKey !== undefined) {
          this.#st.putIdem.run(tenantId, chunk.idempotencyKey, requestHash, 201, prior.response, at);
        }
        return { statusCode: 201, body: JSON.parse(prior.response) as ChunkUploadResponse, replayed: true };
      }
      const report = this.#st.getReport.get(tenantId, chunk.reportId);
      if (!report) {
        this.#st.insertReport.run(tenantId, chunk.reportId, 'chunks', chunk.totalChunks, at, at);
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
      const counts = this.#upsert(
        tenantId,
        { reportId: chunk.reportId, assets: chunk.assets, findings: chunk.findings, at },
        added,
      );
      this.#st.bumpReport.run(
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
      const after = this.#st.getReport.get(tenantId, chunk.reportId)!;
      const body: ChunkUploadResponse = {
        chunk_id: `${chunk.reportId}:${chunk.chunkIndex}`,
        report_id: chunk.reportId,
        chunk_index: chunk.chunkIndex,
        status: after.complete === 1 ? 'completed' : 'received',
        ...counts,
      };
      const response = JSON.stringify(body);
      this.#st.putChunk.run(
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
        this.#st.putIdem.run(tenantId, chunk.idempotencyKey, requestHash, 201, response, at);
      }
      return { statusCode: 201, body, replayed: false };
    });
  }

  /** `applyReport` for a report a body worker already validated and serialised. */
  applyReport(
    tenantId: string,
    input: { report: PreparedReport; idempotencyKey: string | undefined },
  ): StoredAnswer<IngestResponse> {
    const { report } = input;
    const requestHash = sha256(`ingest\u0000${report.bodyHash}`);
    return this.#inTransaction(tenantId, (added): StoredAnswer<IngestResponse> => {
      const at = this.#now();
      const byKey = this.#replay<IngestResponse>(tenantId, input.idempotencyKey, requestHash);
      if (byKey) return byKey;
      const reportId = report.metadata.id;
      const existing = this.#st.getReport.get(tenantId, reportId);
      if (!existing) this.#st.insertReport.run(tenantId, reportId, 'ingest', null, at, at);
      else if (existing.source !== 'ingest') {
        throw new IngestServerError('REPORT_CONFLICT', `report ${reportId} is being delivered in chunks`, {
          status: 409,
        });
      }
      const counts = this.#upsert(
        tenantId,
        { reportId, assets: report.assets, findings: report.findings, at },
        added,
      );
      this.#st.bumpReport.run(
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
        this.#st.putIdem.run(tenantId, input.idempotencyKey, requestHash, 200, JSON.stringify(body), at);
      }
      return { statusCode: 200, body, replayed: false };
    });
  }

  /** Splits fingerprints into those the tenant has and those it has not. */
  checkFingerprints(
    tenantId: string,
    fingerprints: readonly string[],
  ): { existing: string[]; missing: string[] } {
    const existing: string[] = [];
    const missing: string[] = [];
    for (const fp of fingerprints)
      (this.#findFinding(tenantId, fp) !== undefined ? existing : missing).push(fp);
    return { existing, missing };
  }
}
