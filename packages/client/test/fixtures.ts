import type {
  ChunkUploadRequest,
  ChunkUploadResponse,
  HeartbeatRequest,
  IngestResponse,
  Report,
} from '@rediver/core';

/** The key every test uses; tests search every error and log line for it. */
export const API_KEY = 'rdv_test_SECRET_7f3a9c1e5b';

/** A small valid report with `findings` findings. */
export function report(findings = 1, id = 'scan-2024-01-15-abc'): Report {
  return {
    version: '1.0',
    metadata: { id, timestamp: '2024-01-15T10:00:00Z', coverage_type: 'full' },
    tool: { name: 'semgrep', version: '1.50.0' },
    assets: [{ id: 'a1', type: 'repository', value: 'github.com/acme/api' }],
    findings: Array.from({ length: findings }, (_, i) => ({
      type: 'vulnerability',
      title: `SQL injection in handler ${i}`,
      severity: 'high' as const,
      rule_id: 'sql-injection',
      asset_ref: 'a1',
      location: { path: `src/handlers/h${i}.ts`, start_line: i + 1 },
      fingerprint: `fp-${i}`,
    })),
  };
}

/** A valid ingest answer. */
export function ingestAnswer(overrides: Partial<IngestResponse> = {}): IngestResponse {
  return {
    scan_id: 'scan-1',
    assets_created: 1,
    assets_updated: 0,
    findings_created: 2,
    findings_updated: 3,
    findings_skipped: 4,
    errors: [],
    ...overrides,
  };
}

/** A chunk upload request with `dataBytes` of (fake) base64 data. */
export function chunk(overrides: Partial<ChunkUploadRequest> = {}, dataBytes = 16): ChunkUploadRequest {
  return {
    report_id: 'scan-2024-01-15-abc',
    chunk_index: 0,
    total_chunks: 2,
    compression: 'zstd',
    data: 'QUJD'.repeat(Math.ceil(dataBytes / 4)).slice(0, dataBytes),
    is_final: false,
    checksum: 'ab'.repeat(32),
    ...overrides,
  };
}

/** The valid answer to `req`. */
export function chunkAnswer(req: { report_id: string; chunk_index: number }): ChunkUploadResponse {
  return {
    chunk_id: `chunk-${req.chunk_index}`,
    report_id: req.report_id,
    chunk_index: req.chunk_index,
    status: 'accepted',
    assets_created: 1,
    assets_updated: 0,
    findings_created: 5,
    findings_updated: 0,
    findings_skipped: 0,
  };
}

/** A heartbeat body. */
export function heartbeatBody(): HeartbeatRequest {
  return {
    name: 'agent-1',
    status: 'online',
    version: '0.1.0',
    hostname: 'host-1',
    scanners: ['semgrep'],
    collectors: [],
    uptime_seconds: 60,
    total_scans: 3,
    errors: 0,
    cpu_percent: 12.5,
    memory_percent: 40,
    active_jobs: 1,
  };
}
