import { createHash } from 'node:crypto';
import type { DecompressionLimits, ReportMetadata, ToolInfo } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import { decodeBuffer } from './boundedDecoder';
import type { BodyEncoding } from './boundedDecoder';
import {
  CHUNK_DATA_CONTENT_LIMITS,
  CHUNK_ENVELOPE_CONTENT_LIMITS,
  REPORT_CONTENT_LIMITS,
} from './contentLimits';
import { JsonScanner } from './jsonScanner';
import { prepareAssets, prepareFindings, sha256 } from './prepare';
import type { PreparedAsset, PreparedFinding } from './prepare';
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
export type BodyJobResult = { kind: 'chunk'; chunk: PreparedChunk } | { kind: 'report'; report: PreparedReport };

/**
 * Decodes a chunk upload: the envelope (already scanned while it streamed in, when `scanned`), its `data`
 * (base64, then decompressed under `chunkDataLimits` while a `JsonScanner` bounds what it contains),
 * the checksum, and the ChunkData with every platform rule. Throws an `IngestServerError` (4xx).
 */
export async function processChunkBody(
  body: Buffer,
  options: { scanned: boolean; chunkDataLimits: DecompressionLimits },
): Promise<PreparedChunk> {
  const envelope = validateChunkEnvelope(
    parseJsonBody(body, { limits: CHUNK_ENVELOPE_CONTENT_LIMITS, scanned: options.scanned }),
  );
  const compressed = Buffer.from(envelope.data, 'base64');
  const encoding: BodyEncoding = envelope.compression === 'none' ? 'identity' : envelope.compression;
  const scanner = new JsonScanner(CHUNK_DATA_CONTENT_LIMITS, 'chunk data');
  const hash = createHash('sha256');
  const decoded = await decodeBuffer(compressed, encoding, options.chunkDataLimits, (part) => {
    scanner.write(part);
    hash.update(part);
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

/** Runs one job on this thread. */
export async function runBodyJob(job: BodyJob): Promise<BodyJobResult> {
  if (job.kind === 'chunk') {
    return { kind: 'chunk', chunk: await processChunkBody(job.body, job) };
  }
  return { kind: 'report', report: processReportBody(job.body, job) };
}
