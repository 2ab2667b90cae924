/**
 * @rediver/audit — the agent's audit log on pino: JSON lines in the spec's format, buffered and fsync'd,
 * rotated and retained, shipped to an HTTP endpoint or a pino transport, optionally hash-chained and verifiable.
 */
export { AuditLogger, createAuditLogger } from './auditLogger';
export type { AuditContext, AuditDetails, AuditEntry } from './auditLogger';
export { AuditError } from './auditError';
export { DEFAULT_AUDIT_LOGGER_OPTIONS } from './options';
export type { AuditLoggerOptions, AuditRedactOptions, AuditTransportOptions } from './options';
export type {
  AuditDroppedEvent,
  AuditDropReason,
  AuditLoggerEvents,
  AuditOperation,
  AuditStats,
} from './events';
export { verifyAuditLog } from './verifyAuditLog';
export type {
  AuditVerifyOptions,
  AuditVerifyProblem,
  AuditVerifyProblemKind,
  AuditVerifyResult,
} from './verifyAuditLog';
