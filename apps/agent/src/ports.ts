import type {
  Asset,
  AuditEventType,
  Finding,
  AuditSeverity,
  HeartbeatRequest,
  Command,
  QueueItem,
  Report,
  ReportStatus,
  ResourceStatus,
  SystemMetrics,
  UploadResult,
} from '@rediver/core';
import type { ChunkEventMap } from '@rediver/chunk';

/*
 * The agent's view of each package: the few calls it uses (events are the packages' own maps). `wiring.ts` adapts
 * the real packages to these; tests may substitute them (they are the agent's own boundary).
 */

/** One audit line as the agent asks for it. */
export interface AuditEntry {
  type: AuditEventType;
  severity: AuditSeverity;
  message: string;
  jobId?: string;
  reportId?: string;
  error?: unknown;
  durationMs?: number;
  details?: Record<string, unknown>;
}

/** The audit log. */
export interface AuditPort {
  log(entry: AuditEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Where the log is written. */
  readonly location: string;
  /** The audit log's last checkpoint (`seq`, `hash`, sealing `epoch`), sent in heartbeats. */
  latestCheckpoint?(): { seq: number; hash: string; epoch?: number; keyId?: string; at?: string } | undefined;
  /** Set when this start created the sealing key: the verification key to show the operator once. */
  readonly newKey?: { verificationKey: string; keyFile: string; derived: boolean; replaced: boolean };
}

/** A held job slot. */
export interface SlotPort {
  release(): unknown;
}

/** The resource controller. */
export interface ResourcePort {
  start(): void;
  /** Resolves once the host has been measured (a real CPU figure), so the first job is admitted knowingly. */
  ready?(): Promise<void>;
  acquireSlot(): SlotPort | null;
  acquireSlotBlocking(options: { signal?: AbortSignal }): Promise<SlotPort>;
  getStatus(): ResourceStatus;
  /** Latest metrics sample (for heartbeats). */
  metrics(): SystemMetrics | undefined;
  onThrottle(fn: (reason: string, metrics: SystemMetrics | undefined) => void): void;
  onResume(fn: (metrics: SystemMetrics | undefined) => void): void;
  onWarning(fn: (message: string, details: Record<string, unknown>) => void): void;
  close(): Promise<void>;
}

/** Options of a pipeline submission. */
export interface PipelineSubmit {
  jobId?: string;
  tenantId?: string;
  priority?: number;
}

/** The upload pipeline (small reports). */
export interface PipelinePort {
  /** Returns the item id; throws `QUEUE_FULL` / `CLOSED` (a RediverError) when it takes nothing. */
  submit(report: Report, options: PipelineSubmit): string;
  /** Resolves when nothing is queued, in flight or waiting to retry. */
  flush(options: { signal?: AbortSignal }): Promise<void>;
  /** Stops; returns the reports it did not deliver. */
  stop(options: { drain: boolean; signal?: AbortSignal }): Promise<Report[]>;
  stats(): { queued: number; inFlight: number; completed: number; failed: number; retries: number };
  onCompleted(fn: (item: QueueItem, result: UploadResult) => void): void;
  onFailed(fn: (item: QueueItem, error: unknown) => void): void;
  onRetry(fn: (item: QueueItem, error: unknown, delayMs: number | undefined) => void): void;
}

/**
 * Where the agent listens to the chunk store's and upload engine's events: `@rediver/chunk`'s own typed map
 * (`ChunkManager.events`), no adaptation in between.
 */
export interface ChunkEvents {
  on<K extends keyof ChunkEventMap>(event: K, listener: ChunkEventMap[K]): unknown;
}

/** A report without its findings (a streamed report's header). */
export type ReportHeaderPort = Omit<Report, 'findings'>;

/** A report streamed into the chunk store: invisible until `commit`, nothing of it kept after `abort`. */
export interface ReportWriterPort {
  addFindings(findings: readonly Finding[]): Promise<void>;
  addAll(source: AsyncIterable<Finding>): Promise<void>;
  /** Makes it visible for delivery; `header` is its final header (chunk 0 carries it). */
  commit(header?: ReportHeaderPort): Promise<{ totalChunks: number; created: boolean }>;
  abort(reason?: unknown): Promise<void>;
}

/** When a report is worth chunking (the chunk options' thresholds). */
export interface ChunkingThresholds {
  findings: number;
  assets: number;
  bytes: number;
}

/** A report kept in the chunk store. */
export interface StoredReportInfo {
  reportId: string;
  status: ReportStatus;
  totalChunks: number;
  uploadedChunks: number;
  failedChunks: number;
  bytes: number;
  createdAt?: number;
  lastError?: string;
}

/** Chunk store + upload engine. */
export interface ChunkPort {
  needsChunking(report: Report): boolean;
  /** Stores a report as chunks (all or nothing); delivered by the engine. */
  submitReport(
    report: Report,
    options: { tenantId: string; priority?: number },
  ): Promise<{ totalChunks: number }>;
  /** The thresholds past which a report goes to the chunk store. */
  thresholds(): ChunkingThresholds;
  /** Starts a streamed report (this tenant). */
  beginReport(options: {
    header: ReportHeaderPort;
    assets: readonly Asset[];
    priority?: number;
  }): Promise<ReportWriterPort>;
  /** Starts uploading (backlog first). */
  start(): void;
  /** The package's events (storage and delivery). */
  readonly events: ChunkEvents;
  /** Reports not yet completed (pending, uploading, failed, partial), oldest first: one query on counter rows. */
  listReports(): Promise<StoredReportInfo[]>;
  /** One report's delivery figures (also a completed one, until retention deletes it). */
  reportInfo(reportId: string): Promise<StoredReportInfo | undefined>;
  /** Requeues a failed report's dead-lettered chunks. */
  retryFailed(reportId: string): Promise<number>;
  storage(): Promise<{ storedBytes: number; maxStorageBytes: number }>;
  close(): Promise<void>;
}

/** The platform API as the daemon uses it. */
export interface PlatformPort {
  heartbeat(body: HeartbeatRequest): Promise<unknown>;
  pollCommands(limit: number, signal?: AbortSignal): Promise<Command[]>;
  acknowledge(id: string): Promise<unknown>;
  start(id: string): Promise<unknown>;
  complete(id: string, result: Record<string, unknown>): Promise<unknown>;
  fail(id: string, message: string): Promise<unknown>;
  close(): Promise<void>;
}
