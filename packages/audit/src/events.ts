import type { AuditEventType } from '@rediver/core';
import type { AuditError } from './auditError';

/** Why events or lines were dropped. */
export type AuditDropReason =
  /** Logged after `close()`: never written. */
  | 'closed'
  /** The remote backlog was full: the oldest lines were dropped (they are in the local file). */
  | 'remote_backlog_full'
  /** The endpoint refused a batch with a non-retryable status (they are in the local file). */
  | 'remote_rejected'
  /** The event could not be serialised (e.g. a getter in `details` threw): never written. */
  | 'unserialisable'
  /** The event's type is one of the log's own record types (`audit_*`), which callers cannot write. */
  | 'reserved_type'
  /** `close()` gave up delivering the remote backlog at its deadline (they are in the local file). */
  | 'remote_closed';

/** Payload of `'dropped'`. */
export interface AuditDroppedEvent {
  reason: AuditDropReason;
  /** Events (or lines) dropped by this occurrence. */
  count: number;
  /** Type of the dropped event (reason `'closed'`). */
  type?: AuditEventType;
  error?: AuditError;
}

/** Background operations that can fail without failing a logging call. */
export type AuditOperation = 'open' | 'write' | 'rotate' | 'compress' | 'retention' | 'transport' | 'seal';

/**
 * The head of the hash chain at a moment, durable on disk: keep it off the host (remote endpoint, heartbeat)
 * and `verifyAuditLog(dir, { checkpoints })` proves nothing up to it was deleted or rewritten.
 */
export interface AuditCheckpoint {
  /** `seq` of the line. */
  seq: number;
  /** Its `hash`. */
  hash: string;
  /** Its sealing epoch (sealed chains). */
  epoch?: number;
  /** Id of the sealing key (sealed chains). */
  keyId?: string;
  /** When the checkpoint was taken (RFC 3339; absent for one recovered from the key file at start). */
  at?: string;
}

/** Payload of `'key'`: a new sealing key was created. */
export interface AuditKeyEvent {
  /**
   * `audit-key-v1:<key id>:<hex>`: what `verifyAuditLog(dir, { keys })` and `rediver-audit verify --key` need.
   * Shown only now: keep it off the host (a secret-derived key can be re-derived from the secret instead).
   */
  verificationKey: string;
  /** Where the evolving key is kept on the host. */
  keyFile: string;
  /** Derived from `sealSecret`. */
  derived: boolean;
  /** The log already had lines (the key file was missing or unreadable, or this is an upgrade). */
  replaced: boolean;
}

/** Payload of `error`: a background operation failed (the logging call that caused it did not throw). */
export interface AuditErrorEvent {
  error: AuditError;
  /** Which background operation failed (the contract's `source`). */
  source: AuditOperation;
  /** @deprecated Same as `source`. */
  operation: AuditOperation;
}

/**
 * Typed event map of `AuditLogger` (eventemitter3): one payload per event, `domain:verb` names, `error` for
 * background failures. The plain names of earlier versions (`dropped`, `flushed`, `rotated`, `compressed`,
 * `deleted`, `recovered`, `checkpoint`, `key`) still fire with the same payload and are deprecated.
 */
export interface AuditLoggerEvents {
  /** Something was not written or not shipped; also counted in `stats()`. */
  'audit:dropped': (event: AuditDroppedEvent) => void;
  /** A batch reached the file (`synced`: and was fsync'd). */
  'file:flushed': (event: { lines: number; bytes: number; synced: boolean }) => void;
  /** The active file was renamed to `to` and a new one started. */
  'file:rotated': (event: { from: string; to: string }) => void;
  /** A rotated file was gzipped. */
  'file:compressed': (event: { file: string }) => void;
  /** Retention deleted a rotated file. */
  'file:deleted': (event: { file: string; reason: 'age' | 'count' }) => void;
  /** At open, a torn last line (from a crash) was cut from the active file. */
  'file:recovered': (event: { file: string; truncatedBytes: number }) => void;
  /** A remote batch was delivered. */
  'remote:sent': (event: { lines: number; attempt: number }) => void;
  /** A remote batch failed and will be retried after `delayMs`. */
  'remote:retry': (event: { attempt: number; delayMs: number; error: AuditError }) => void;
  /** A background operation failed (the logging call that caused it did not throw). */
  error: (event: AuditErrorEvent) => void;
  /** A checkpoint was taken (its line is fsync'd); it is also sent to the remote endpoint. */
  'checkpoint:taken': (event: AuditCheckpoint) => void;
  /** A new sealing key was created (at the first start, or when the key file was lost). */
  'key:created': (event: AuditKeyEvent) => void;
  /** @deprecated Use `audit:dropped`. */
  dropped: (event: AuditDroppedEvent) => void;
  /** @deprecated Use `file:flushed`. */
  flushed: (event: { lines: number; bytes: number; synced: boolean }) => void;
  /** @deprecated Use `file:rotated`. */
  rotated: (event: { from: string; to: string }) => void;
  /** @deprecated Use `file:compressed`. */
  compressed: (event: { file: string }) => void;
  /** @deprecated Use `file:deleted`. */
  deleted: (event: { file: string; reason: 'age' | 'count' }) => void;
  /** @deprecated Use `file:recovered`. */
  recovered: (event: { file: string; truncatedBytes: number }) => void;
  /** @deprecated Use `checkpoint:taken`. */
  checkpoint: (event: AuditCheckpoint) => void;
  /** @deprecated Use `key:created`. */
  key: (event: AuditKeyEvent) => void;
}

/** The deprecated names, each emitted after its `domain:verb` name with the same payload. */
export const AUDIT_EVENT_ALIASES = Object.freeze({
  'audit:dropped': 'dropped',
  'file:flushed': 'flushed',
  'file:rotated': 'rotated',
  'file:compressed': 'compressed',
  'file:deleted': 'deleted',
  'file:recovered': 'recovered',
  'checkpoint:taken': 'checkpoint',
  'key:created': 'key',
} as const);

/** Counters of an `AuditLogger` (shared by its context views). */
export interface AuditStats {
  /** Events accepted by a logging call. */
  logged: number;
  /** Lines written to the file. */
  written: number;
  /** Bytes written to the file. */
  bytesWritten: number;
  /** Events logged after `close()` (never written). */
  droppedAfterClose: number;
  /** Lines delivered to the remote endpoint. */
  remoteSent: number;
  /** Lines the remote endpoint never got (backlog full, refused, or given up at close). */
  remoteDropped: number;
  /** Lines waiting for the remote endpoint. */
  remoteBacklog: number;
  /** Rotations done. */
  rotations: number;
  /** Background failures (write, rotate, compress, retention, transport). */
  errors: number;
  /** Sequence number of the last chained line written (0 without a hash chain). */
  seq: number;
}
