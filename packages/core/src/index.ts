/**
 * @rediver/core — the shared vocabulary of the Rediver agent SDK: wire types of the platform API,
 * agent types, audit vocabulary, the interfaces packages accept, limits, the error class, and the pure resilience
 * primitives every package shares (backoff, `Retry-After`, timer cap, error mapping, option checks).
 * No dependencies, no state, no I/O.
 */
export type {
  Asset,
  AssetType,
  BranchInfo,
  CoverageType,
  CvssInfo,
  DataFlowStep,
  Dependency,
  Finding,
  FindingLocation,
  FindingType,
  Properties,
  Report,
  ReportMetadata,
  SecretInfo,
  Severity,
  ToolInfo,
  VulnerabilityInfo,
} from './report';
export { ASSET_TYPES, COVERAGE_TYPES, FINDING_TYPES, RIS_VERSION, SEVERITIES } from './report';

export type {
  ChunkCompression,
  ChunkData,
  ChunkStatus,
  ChunkUploadRequest,
  ChunkUploadResponse,
  ReportStatus,
} from './chunk';
export { CHUNK_COMPRESSIONS, CHUNK_STATUSES, REPORT_STATUSES } from './chunk';

export type {
  AgentStatus,
  Command,
  CommandCompleteRequest,
  CommandFailRequest,
  CommandStatus,
  FingerprintCheckRequest,
  FingerprintCheckResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  IngestResponse,
} from './api';
export { AGENT_STATUSES, API_PATHS, COMMAND_STATUSES, IDEMPOTENCY_KEY_HEADER } from './api';

export type { Job, JobOutcome, JobResult, Priority } from './job';
export { JOB_OUTCOMES, PRIORITY } from './job';

export type {
  FigureOrigin,
  FigureOrigins,
  MetricOrigin,
  PressureMetrics,
  ResourceStatus,
  SystemMetrics,
} from './metrics';

export type { PipelineStats, QueueItem, UploadResult } from './pipeline';

export type { AuditEvent, AuditEventType, AuditSeverity } from './audit';
export { AUDIT_EVENT_TYPES, AUDIT_SEVERITIES } from './audit';

export type { ChunkUploader, Clock, LogFn, Logger, ReportUploader, UploadAttemptOptions } from './interfaces';
export { silentLogger, systemClock } from './interfaces';

export type { DecompressionLimits } from './limits';
export {
  COMPRESSION_THRESHOLD_BYTES,
  DEFAULT_DECOMPRESSION_LIMITS,
  INGEST_DECOMPRESSION_LIMITS,
  isValidReportId,
  MAX_CHUNK_DATA_BYTES,
  MAX_REPORT_ID_LENGTH,
  MAX_TOTAL_CHUNKS,
  MIN_REPORT_ID_LENGTH,
  REPORT_ID_PATTERN,
} from './limits';

export type { UnknownOption } from './optionKeys';
export { findUnknownOption, optionNames, suggestName, unknownOptionMessage } from './optionKeys';

export { MAX_TIMER_MS } from './timers';
export { expandHome } from './paths';

export type { BackoffInput, BackoffJitter, BackoffPolicy } from './backoff';
export { backoffDelayMs } from './backoff';
export { parseRetryAfter } from './retryAfter';

export type { ToRediverErrorOptions } from './systemErrors';
export { systemErrorCode, toRediverError } from './systemErrors';

export type { NumberRange, OptionChecker, OptionCheckerConfig, OptionRename } from './optionChecks';
export { optionChecker } from './optionChecks';

export type { ErrorCode, RediverErrorOptions } from './errors';
export {
  ERROR_CODES,
  errorCodes,
  isRediverError,
  isRetryableError,
  RediverError,
  RETRYABLE_ERROR_CODES,
} from './errors';

export type {
  BackgroundErrorEvent,
  Closable,
  EmitterLike,
  EventListener,
  EventMapOf,
  Startable,
} from './lifecycle';
export { ClosableBase, closeOnce, Component } from './lifecycle';
