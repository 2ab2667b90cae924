/** Wire types of the platform's agent API (`/api/v1/agent/...`). */
import type { Properties } from './report';

/** Answer to `POST /api/v1/agent/ingest`; success means `errors` is empty. */
export interface IngestResponse {
  scan_id: string;
  assets_created: number;
  assets_updated: number;
  findings_created: number;
  findings_updated: number;
  findings_skipped: number;
  errors: string[];
}

/** Body of `POST /api/v1/agent/ingest/check`. */
export interface FingerprintCheckRequest {
  fingerprints: string[];
}

/** Answer to `POST /api/v1/agent/ingest/check`. */
export interface FingerprintCheckResponse {
  existing: string[];
  missing: string[];
}

/** Agent states a heartbeat reports. */
export const AGENT_STATUSES = ['online', 'busy', 'throttled', 'offline', 'error'] as const;
/** Agent state a heartbeat reports. */
export type AgentStatus = (typeof AGENT_STATUSES)[number] | (string & {});

/** Body of `POST /api/v1/agent/heartbeat`. */
export interface HeartbeatRequest {
  name: string;
  status: AgentStatus;
  version: string;
  hostname: string;
  message?: string;
  scanners: string[];
  collectors: string[];
  uptime_seconds: number;
  total_scans: number;
  errors: number;
  cpu_percent: number;
  memory_percent: number;
  active_jobs: number;
  region?: string;
  /**
   * Our extension (the platform ignores unknown fields): extra facts, e.g. the audit log's checkpoint
   * (`audit_checkpoint`) kept off the host.
   */
  properties?: Properties;
}

/** Answer to a heartbeat. */
export interface HeartbeatResponse {
  status: 'ok' | (string & {});
  agent_id: string;
  tenant_id: string;
}

/** States of a platform command. */
export const COMMAND_STATUSES = [
  'pending',
  'acknowledged',
  'running',
  'completed',
  'failed',
  'expired',
  'cancelled',
] as const;
/** State of a platform command. */
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A command (job) from `GET /api/v1/agent/commands`. */
export interface Command {
  id: string;
  type: string;
  priority?: string | number;
  payload?: Record<string, unknown>;
  status?: CommandStatus;
  created_at?: string;
  expires_at?: string;
}

/** Body of `POST /api/v1/agent/commands/{id}/complete`. */
export interface CommandCompleteRequest {
  result?: Record<string, unknown>;
}

/** Body of `POST /api/v1/agent/commands/{id}/fail`. */
export interface CommandFailRequest {
  error_message: string;
}

/** API paths, relative to the platform's base URL. */
export const API_PATHS = Object.freeze({
  ingest: '/api/v1/agent/ingest',
  ingestChunk: '/api/v1/agent/ingest/chunk',
  ingestCheck: '/api/v1/agent/ingest/check',
  heartbeat: '/api/v1/agent/heartbeat',
  commands: '/api/v1/agent/commands',
} as const);

/** Header carrying an upload's idempotency key (an extension the real server ignores). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
