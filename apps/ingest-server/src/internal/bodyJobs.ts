import { createHash } from 'node:crypto';
import type { DecompressionLimits, ReportMetadata, ToolInfo } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import { decodeBuffer, OverBudget } from './boundedDecoder';
import type { BodyEncoding } from './boundedDecoder';
import {
  CHUNK_DATA_CONTENT_LIMITS,
  CHUNK_ENVELOPE_CONTENT_LIMITS,
  REPORT_CONTENT_LIMITS,
} from './contentLimits';
import { JsonScanner } from './jsonScanner';
import {
  packAssets,
  packFindings,
  prepareAssets,
  prepareFindings,
  sha256,
  unpackAssets,
  unpackFindings,
} from './prepare';
import type { PackedRows, PreparedAsset, PreparedFinding } from './prepare';
import { parseJsonBody, validateChunkData, validateChunkEnvelope, validateReport } from './validation';

/** A chunk upload decoded, validated and ready for the store (everything but the SQLite writes). */
export interface PreparedChunk {
  reportId: string;
  chunkIndex: number;
  totalChunks: number;
  /** Hex SHA-256 of the decoded ChunkData JSON. */
  checksum: string;
  tool: ToolInfo | undefined;
  metadata: ReportMetadata | undefined;
  assets: PreparedAsset[];
  findings: PreparedFinding[];
  compressedBytes: number;
  decodedBytes: number;
}

/** A whole report validated and ready for the store. */
export interface PreparedReport {
  metadata: ReportMetadata;
  tool: ToolInfo | undefined;
  assets: PreparedAsset[];
  findings: PreparedFinding[];
  /** Hex SHA-256 of the request body as received (decoded): the Idempotency-Key's request identity. */
  bodyHash: string;
}

/** The work a body needs before the store: done on a worker thread, or inline when there are no workers. */
export type BodyJob =
  | { kind: 'chunk'; body: Buffer; scanned: boolean; chunkDataLimits: DecompressionLimits }
  | { kind: 'report'; body: Buffer; scanned: boolean };

/** What a `BodyJob` gives back. */
export type BodyJobResult =
  { kind: 'chunk'; chunk: PreparedChunk } | { kind: 'report'; report: PreparedReport };

/** A `BodyJobResult` with its rows packed for the trip between threads (see `PackedRows`). */
export type PackedBodyJobResult =
  | {
      kind: 'chunk';
      chunk: Omit<PreparedChunk, 'assets' | 'findings'>;
      assets: PackedRows;
      findings: PackedRows;
    }
  | {
      kind: 'report';
      report: Omit<PreparedReport, 'assets' | 'findings'>;
      assets: PackedRows;
      findings: PackedRows;
    };

/**
 * Decodes a chunk upload: the envelope (already scanned while it streamed in, when `scanned`), its `data`
 * (base64, then decompressed under `chunkDataLimits` while a `JsonScanner` bounds what it contains),
 * the checksum, and the ChunkData with every platform rule. Throws an `IngestServerError` (4xx).
 */
export async function processChunkBody(
  body: Buffer,
  options: { scanned: boolean; chunkDataLimits: DecompressionLimits; budgetBytes?: number },
): Promise<PreparedChunk> {
  const envelope = validateChunkEnvelope(
    parseJsonBody(body, { limits: CHUNK_ENVELOPE_CONTENT_LIMITS, scanned: options.scanned }),
  );
  const compressed = Buffer.from(envelope.data, 'base64');
  const encoding: BodyEncoding = envelope.compression === 'none' ? 'identity' : envelope.compression;
  const scanner = new JsonScanner(CHUNK_DATA_CONTENT_LIMITS, 'chunk data');
  const hash = createHash('sha256');
  const decoded = await decodeBuffer(compressed, encoding, options.chunkDataLimits, {
    observe: (part) => {
      scanner.write(part);
      hash.update(part);
    },
    ...(options.budgetBytes === undefined ? {} : { budgetBytes: options.budgetBytes }),
  });
  const checksum = hash.digest('hex');
  if (envelope.checksum !== undefined && envelope.checksum !== checksum) {
    throw new IngestServerError(
      'CHECKSUM_MISMATCH',
      'checksum does not match the SHA-256 of the decoded chunk data',
      { status: 400 },
    );
  }
  const parsed = parseJsonBody(decoded, {
    limits: CHUNK_DATA_CONTENT_LIMITS,
    scanned: true,
    what: 'chunk data',
  });
  const data = validateChunkData(parsed, envelope);
  return {
    reportId: envelope.report_id,
    chunkIndex: envelope.chunk_index,
    totalChunks: envelope.total_chunks,
    checksum,
    tool: data.tool,
    metadata: data.metadata,
    assets: prepareAssets(data.assets),
    findings: prepareFindings(data.findings),
    compressedBytes: compressed.length,
    decodedBytes: decoded.length,
  };
}

/** Validates a whole report body (`{…}` or `{report: {…}}`) and prepares it for the store. */
export function processReportBody(body: Buffer, options: { scanned: boolean }): PreparedReport {
  const report = validateReport(
    parseJsonBody(body, { limits: REPORT_CONTENT_LIMITS, scanned: options.scanned }),
  );
  return {
    metadata: report.metadata,
    tool: report.tool,
    assets: prepareAssets(report.assets ?? []),
    findings: prepareFindings(report.findings ?? []),
    bodyHash: sha256(body),
  };
}

/**
 * Runs one job on this thread. With `budgetBytes`, a chunk whose data decodes to more gives up with `OverBudget`
 * (and a report body longer than that is not even started): the caller runs it elsewhere.
 */
export async function runBodyJob(job: BodyJob, budgetBytes?: number): Promise<BodyJobResult> {
  if (budgetBytes !== undefined && job.body.length > budgetBytes) throw new OverBudget(budgetBytes);
  if (job.kind === 'chunk') {
    return {
      kind: 'chunk',
      chunk: await processChunkBody(job.body, budgetBytes === undefined ? job : { ...job, budgetBytes }),
    };
  }
  return { kind: 'report', report: processReportBody(job.body, job) };
}

/** Packs a result's rows (on the worker). */
export function packBodyJobResult(result: BodyJobResult): PackedBodyJobResult {
  if (result.kind === 'chunk') {
    const { assets, findings, ...chunk } = result.chunk;
    return { kind: 'chunk', chunk, assets: packAssets(assets), findings: packFindings(findings) };
  }
  const { assets, findings, ...report } = result.report;
  return { kind: 'report', report, assets: packAssets(assets), findings: packFindings(findings) };
}

/** Unpacks a result's rows (on the main thread). */
export function unpackBodyJobResult(packed: PackedBodyJobResult): BodyJobResult {
  const assets = unpackAssets(packed.assets);
  const findings = unpackFindings(packed.findings);
  return packed.kind === 'chunk'
    ? { kind: 'chunk', chunk: { ...packed.chunk, assets, findings } }
    : { kind: 'report', report: { ...packed.report, assets, findings } };
}
