import type { AuditEventType, Clock, Logger } from '@rediver/core';
import type { LoggerOptions } from 'pino';

/** Where to send written lines besides the file: a pino transport target (worker thread), e.g. `pino-loki`. */
export type AuditTransportOptions = NonNullable<LoggerOptions['transport']>;

/** Redaction: pino redact paths over the line object (`'details.password'`, `'details.*.token'`, `'error.message'`). */
export type AuditRedactOptions = NonNullable<LoggerOptions['redact']>;

/** Options of `AuditLogger` (the Audit Logger config of `docs/spec/agent-resource-management.md`, with units in names). */
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
  /** Write (and fsync) buffered events at least this often: what a SIGKILL can lose of non-durable events. */
  flushIntervalMs?: number;
  /**
   * Event types written and fsync'd before the logging call returns (ERROR and CRITICAL events always are):
   * the agent, job and scan lifecycles and security events by default. `[]`: only ERROR/CRITICAL.
   */
  durableTypes?: readonly AuditEventType[];
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
  /**
   * First retry delay, ms; doubles per attempt with equal jitter (half to all of the step), capped at
   * `remoteRetryMaxDelayMs`.
   */
  remoteRetryBaseDelayMs?: number;
  /** Longest retry delay, ms; a server's `Retry-After` is honoured up to this too. */
  remoteRetryMaxDelayMs?: number;
  /** @deprecated Use `remoteRetryBaseDelayMs` (the same value; accepted with a warning). */
  remoteRetryBaseMs?: number;
  /** @deprecated Use `remoteRetryMaxDelayMs` (the same value; accepted with a warning). */
  remoteRetryMaxMs?: number;
  /** How long `close()` keeps trying to deliver the remote backlog before dropping it. */
  remoteCloseTimeoutMs?: number;
  /** A pino transport target as an extra destination (receives the same lines). */
  transport?: AuditTransportOptions;
  /** Paths redacted before anything reaches disk, console, endpoint or transport. */
  redact?: AuditRedactOptions;
  /** Add `seq` and `hash` to every line (tamper evidence, see `verifyAuditLog`). */
  hashChain?: boolean;
  /**
   * With `hashChain`: seal every batch with a forward-secure key (an HMAC whose key evolves at each checkpoint,
   * the old key overwritten), so that whoever takes the host cannot rewrite what was written before.
   * `false`: a plain SHA-256 chain only.
   */
  seal?: boolean;
  /** Where the current sealing key is kept (default `<logFile>.key`, mode 0600). */
  sealKeyFile?: string;
  /**
   * Derive a new sealing key from this operator secret (at least 16 characters) instead of a random one, so the
   * verification key can be re-derived off the host. Only read when a key is created: pass it once, at set-up.
   */
  sealSecret?: string;
  /** Take a checkpoint (and evolve the sealing key) after this many lines... */
  checkpointEveryLines?: number;
  /** ...or this long after the previous one, whichever comes first (only when lines were written). */
  checkpointIntervalMs?: number;
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
  flushIntervalMs: 1000,
  durableTypes: Object.freeze([
    'agent_start',
    'agent_stop',
    'agent_error',
    'job_received',
    'job_started',
    'job_completed',
    'job_failed',
    'job_timeout',
    'scan_started',
    'scan_completed',
    'scan_failed',
    'auth_failed',
    'validation_error',
  ] as const satisfies readonly AuditEventType[]),
  remoteEndpoint: '',
  remoteFormat: 'json',
  remoteBatchSize: 100,
  remoteMaxBacklog: 10_000,
  remoteTimeoutMs: 10_000,
  remoteRetryBaseDelayMs: 500,
  remoteRetryMaxDelayMs: 30_000,
  remoteCloseTimeoutMs: 5000,
  hashChain: false,
  seal: true,
  checkpointEveryLines: 1000,
  checkpointIntervalMs: 60_000,
  verbose: false,
} as const);

/** Every option name of `AuditLoggerOptions` (unknown keys are refused with a did-you-mean). */
export const AUDIT_LOGGER_OPTION_KEYS = Object.freeze([
  'agentId',
  'tenantId',
  'logFile',
  'maxSizeMB',
  'maxAgeDays',
  'maxFiles',
  'compress',
  'bufferSize',
  'flushIntervalMs',
  'durableTypes',
  'remoteEndpoint',
  'remoteFormat',
  'remoteHeaders',
  'remoteBatchSize',
  'remoteMaxBacklog',
  'remoteTimeoutMs',
  'remoteRetryBaseDelayMs',
  'remoteRetryMaxDelayMs',
  'remoteRetryBaseMs',
  'remoteRetryMaxMs',
  'remoteCloseTimeoutMs',
  'transport',
  'redact',
  'hashChain',
  'seal',
  'sealKeyFile',
  'sealSecret',
  'checkpointEveryLines',
  'checkpointIntervalMs',
  'verbose',
  'verboseStream',
  'logger',
  'clock',
  'random',
] as const satisfies readonly (keyof AuditLoggerOptions)[]);

// Compile-time check that the list above names every option.
type MissingKeys = Exclude<keyof AuditLoggerOptions, (typeof AUDIT_LOGGER_OPTION_KEYS)[number]>;
const _allKeysListed: MissingKeys extends never ? true : MissingKeys = true;
void _allKeysListed;
