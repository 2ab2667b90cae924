import type { Asset, Command, CommandStatus, Finding, ReportMetadata, ToolInfo } from '@rediver/core';

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
