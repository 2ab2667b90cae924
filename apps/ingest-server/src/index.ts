/**
 * @rediver/ingest-server — a strict local stand-in of the Rediver platform's agent API, for the demo and tests:
 * bounded streaming decompression, the validation of `docs/spec/platform-api.md`, exactly-once chunks, tenant isolation, SQLite storage,
 * commands, and fault injection.
 */
export { startIngestServer } from './ingestServer';
export type { IngestServer, IngestServerMetrics } from './ingestServer';
export {
  DEFAULT_FAULT_OPTIONS,
  DEFAULT_INGEST_SERVER_OPTIONS,
  resolveIngestServerOptions,
} from './ingestServerOptions';
export type { FaultOptions, IngestServerOptions, ResolvedIngestServerOptions } from './ingestServerOptions';
export { findingFingerprint, IngestStore, openIngestStore } from './ingestStore';
export type {
  CommandAction,
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  ReportStats,
  StoredAnswer,
  StoredCommand,
  TenantStats,
  TenantTotals,
  ChunkToApply,
} from './ingestStore';
export { IngestServerError, isIngestServerError } from './ingestServerError';
export type { FaultCounts } from './internal/faults';

export { VERSION } from './version';
