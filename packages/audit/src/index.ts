/**
 * @rediver/audit — the agent's audit log on pino: JSON lines in the design doc's format (`docs/spec/`), buffered and fsync'd,
 * rotated and retained, shipped to an HTTP endpoint or a pino transport, optionally hash-chained, sealed with a
 * forward-secure key, checkpointed and verifiable.
 */
export { AUDIT_LOG_RECORD_TYPES, AuditLogger, createAuditLogger } from './auditLogger';
export type { AuditContext, AuditDetails, AuditEntry } from './auditLogger';
export { AuditError } from './auditError';
// What a user needs to handle this package's errors, from one import: check by code, never by class.
export { ERROR_CODES, isRediverError } from '@rediver/core';
export type { ErrorCode } from '@rediver/core';
export { AUDIT_LOGGER_OPTION_KEYS, DEFAULT_AUDIT_LOGGER_OPTIONS } from './options';
export type { AuditLoggerOptions, AuditRedactOptions, AuditTransportOptions } from './options';
export type {
  AuditCheckpoint,
  AuditDroppedEvent,
  AuditDropReason,
  AuditKeyEvent,
  AuditLoggerEvents,
  AuditErrorEvent,
  AuditOperation,
  AuditStats,
} from './events';
export { formatCheckpoint, parseCheckpoints, verifyAuditLog } from './verifyAuditLog';
export type {
  AuditVerifyOptions,
  AuditVerifyProblem,
  AuditVerifyProblemKind,
  AuditVerifyResult,
} from './verifyAuditLog';
