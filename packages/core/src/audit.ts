/** Audit event types of `docs/spec/agent-resource-management.md`, with their exact wire values. */
export const AUDIT_EVENT_TYPES = Object.freeze({
  agentStart: 'agent_start',
  agentStop: 'agent_stop',
  agentError: 'agent_error',
  jobReceived: 'job_received',
  jobStarted: 'job_started',
  jobCompleted: 'job_completed',
  jobFailed: 'job_failed',
  jobTimeout: 'job_timeout',
  scanStarted: 'scan_started',
  scanCompleted: 'scan_completed',
  scanFailed: 'scan_failed',
  uploadStarted: 'upload_started',
  uploadCompleted: 'upload_completed',
  uploadFailed: 'upload_failed',
  uploadRetry: 'upload_retry',
  chunkCreated: 'chunk_created',
  chunkUploaded: 'chunk_uploaded',
  chunkFailed: 'chunk_failed',
  chunkCleanup: 'chunk_cleanup',
  resourceThrottle: 'resource_throttle',
  resourceResume: 'resource_resume',
  resourceWarning: 'resource_warning',
  authFailed: 'auth_failed',
  rateLimited: 'rate_limited',
  validationError: 'validation_error',
} as const);
/** An audit event type (wire value). */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[keyof typeof AUDIT_EVENT_TYPES];

/** Audit severities, least severe first. */
export const AUDIT_SEVERITIES = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'] as const;
/** An audit severity. */
export type AuditSeverity = (typeof AUDIT_SEVERITIES)[number];

/** One audit line as written (JSON lines; absent fields omitted). */
export interface AuditEvent {
  /** RFC 3339, milliseconds, UTC. */
  timestamp: string;
  type: AuditEventType;
  severity: AuditSeverity;
  agent_id?: string;
  tenant_id?: string;
  job_id?: string;
  report_id?: string;
  message: string;
  error?: { message: string; code?: string };
  /** Milliseconds. */
  duration_ms?: number;
  details?: Record<string, unknown>;
  /** Tamper evidence: position in the chain. */
  seq?: number;
  /** Tamper evidence: SHA-256 over this line's canonical content and the previous hash. */
  hash?: string;
}
