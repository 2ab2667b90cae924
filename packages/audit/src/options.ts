import type { Clock, Logger } from '@rediver/core';
import type { LoggerOptions } from 'pino';

/** Where to send written lines besides the file: a pino transport target (worker thread), e.g. `pino-loki`. */
export type AuditTransportOptions = NonNullable<LoggerOptions['transport']>;

/** Redaction: pino redact paths over the line object (`'details.password'`, `'details.*.token'`, `'error.message'`). */
export type AuditRedactOptions = NonNullable<LoggerOptions['redact']>;

/** Options of `AuditLogger` (the spec's Audit Logger config, with units in names). */
export interface AuditLoggerOptions {
  /** Agent identifier stamped on every line as `agent_id` (omitted when empty). */
  agentId?: string;
  /** Tenant identifier stamped on every line as `tenant_id` (omitted when empty). */
  tenantId?: string;
  /** The active log file; `~` is the home folder; the folder is created (0750), the file is 0640. */
  logFile?: string;
  /** Rotate before the active file would exceed this size (MiB; fractions allowed). */
  maxSizeMB?: number;
  /** Delete rotated files older than this many days (`Infinity`: never by age). */
  maxAgeDays?: number;
  /** Keep at most this many rotated files, newest first (`Infinity`: no count limit). */
  maxFiles?: number;
  /** Gzip rotated files (`audit.<stamp>.log.gz`). */
  compress?: boolean;
  /** Write when this many events are buffered (1: every event at once). */
  bufferSize?: number;
  /** Write (and fsync) buffered events at least this often. */
  flushIntervalMs?: number;
  /** HTTP(S) URL receiving batches of written lines by POST; empty: no remote shipping. */
  remoteEndpoint?: string;
  /** Body of a remote batch: a JSON array of events, or NDJSON. */
  remoteFormat?: 'json' | 'ndjson';
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  remoteHeaders?: Readonly<Record<string, string>>;
  /** Lines per remote batch. */
  remoteBatchSize?: number;
  /** Lines kept in memory for the endpoint; beyond it the oldest are dropped (counted, reported). */
  remoteMaxBacklog?: number;
  /** Timeout of one POST. */
  remoteTimeoutMs?: number;
  /** First retry delay; doubles per attempt, full jitter (half to all of it). */
  remoteRetryBaseMs?: number;
  /** Longest retry delay. */
  remoteRetryMaxMs?: number;
  /** How long `close()` keeps trying to deliver the remote backlog before dropping it. */
  remoteCloseTimeoutMs?: number;
  /** A pino transport target as an extra destination (receives the same lines). */
  transport?: AuditTransportOptions;
  /** Paths redacted before anything reaches disk, console, endpoint or transport. */
  redact?: AuditRedactOptions;
  /** Add `seq` and `hash` to every line (tamper evidence, see `verifyAuditLog`). */
  hashChain?: boolean;
  /** Also print a human-readable line per event to `verboseStream`. */
  verbose?: boolean;
  /** Where verbose output goes (default `process.stderr`). */
  verboseStream?: { write(chunk: string): unknown };
  /** Where the logger reports its own problems (pino-compatible; silent by default). */
  logger?: Logger;
  /** Time source of timestamps, rotation stamps and retention. */
  clock?: Clock;
  /** Random source of retry jitter, `[0, 1)`. */
  random?: () => number;
}

/** Defaults of `AuditLoggerOptions` (those with a value). */
export const DEFAULT_AUDIT_LOGGER_OPTIONS = Object.freeze({
  agentId: '',
  tenantId: '',
  logFile: '~/.rediver/audit.log',
  maxSizeMB: 100,
  maxAgeDays: 30,
  maxFiles: Number.POSITIVE_INFINITY,
  compress: false,
  bufferSize: 100,
  flushIntervalMs: 5000,
  remoteEndpoint: '',
  remoteFormat: 'json',
  remoteBatchSize: 100,
  remoteMaxBacklog: 10_000,
  remoteTimeoutMs: 10_000,
  remoteRetryBaseMs: 500,
  remoteRetryMaxMs: 30_000,
  remoteCloseTimeoutMs: 5000,
  hashChain: false,
  verbose: false,
} as const);
