import { AUDIT_EVENT_TYPES, toRediverError } from '@rediver/core';
import type { AuditEventType, AuditSeverity } from '@rediver/core';
import { EventEmitter } from 'eventemitter3';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import { AuditError } from './auditError';
import type {
  AuditCheckpoint,
  AuditDroppedEvent,
  AuditLoggerEvents,
  AuditOperation,
  AuditStats,
} from './events';
import { AUDIT_EVENT_ALIASES } from './events';
import { toErrorField } from './internal/errorField';
import { AUDIT_FAILURE_CODES } from './internal/failureCodes';
import { FileSink } from './internal/fileSink';
import type { SinkCheckpoint, SinkRecord } from './internal/fileSink';
import { RemoteShipper } from './internal/remoteShipper';
import { resolveAuditOptions } from './internal/resolveOptions';
import type { ResolvedAuditOptions } from './internal/resolveOptions';
import { createTimestampFormatter } from './internal/timestamp';
import { formatVerbose } from './internal/verbose';
import type { AuditLoggerOptions } from './options';

/** Free-form structured context of an event (never mutated by the logger). */
export type AuditDetails = Readonly<Record<string, unknown>>;

/** Ids a context logger stamps on every event. */
export interface AuditContext {
  jobId?: string;
  reportId?: string;
}

/** One event for `AuditLogger.log`. */
export interface AuditEntry {
  type: AuditEventType;
  severity: AuditSeverity;
  message: string;
  /** Overrides the context's job id. */
  jobId?: string;
  /** Overrides the context's report id. */
  reportId?: string;
  /** Anything thrown; written as `{ message, code }`. */
  error?: unknown;
  /** Milliseconds (rounded). */
  durationMs?: number;
  details?: AuditDetails;
}

type Flush = 'none' | 'write' | 'sync';

const T = AUDIT_EVENT_TYPES;
const ALWAYS_DURABLE: Record<AuditSeverity, boolean> = {
  DEBUG: false,
  INFO: false,
  WARN: false,
  ERROR: true,
  CRITICAL: true,
};
/** Run the retention check at least this often while idle (rotations also trigger it). */
const RETENTION_CHECK_MS = 3_600_000;

/** Types of the lines the logger writes about its own log (outside core's event types, which describe the agent). */
export const AUDIT_LOG_RECORD_TYPES = Object.freeze({
  /** Opens each rotated-to file: names the previous file's last `seq` and `hash`. */
  rotated: 'audit_rotated',
  /** Retention removed a rotated file: its name and last `seq`/`hash`, written before it is deleted. */
  removed: 'audit_removed',
  /** A new sealing key was created (its id, never the key). */
  key: 'audit_key',
  /** A checkpoint, as sent to the remote endpoint (never written to the local file). */
  checkpoint: 'audit_checkpoint',
} as const);

function noop(): void {}

/** A line about the log itself, in the event's shape. */
interface RecordEntry {
  type: string;
  severity: AuditSeverity;
  message: string;
  details: Record<string, unknown>;
}

function recordEntry(r: SinkRecord): RecordEntry {
  const R = AUDIT_LOG_RECORD_TYPES;
  switch (r.kind) {
    case 'rotated':
      return {
        type: R.rotated,
        severity: 'INFO',
        message: `Audit log continues from ${r.file}`,
        details: { previous_file: r.file, last_seq: r.lastSeq, last_hash: r.lastHash },
      };
    case 'removed':
      return {
        type: R.removed,
        severity: 'INFO',
        message: `Audit log retention removed ${r.file} (${r.reason})`,
        details: {
          file: r.file,
          reason: r.reason,
          last_seq: r.lastSeq,
          last_hash: r.lastHash,
          epoch: r.epoch,
          key_id: r.keyId,
        },
      };
    case 'key':
      return {
        type: R.key,
        severity: r.replaced ? 'WARN' : 'INFO',
        message: r.replaced
          ? `Audit log sealing key replaced (new key id ${r.keyId}): the key file was missing or unreadable; later lines verify with the new key`
          : `Audit log sealing key created (key id ${r.keyId})`,
        details: { key_id: r.keyId, derived: r.derived },
      };
    case 'truncated':
      return {
        type: T.agentError,
        severity: 'CRITICAL',
        message: `Audit log truncated: it ends at seq ${r.lastSeq} but seq ${r.checkpointSeq} was checkpointed`,
        details: { checkpoint_seq: r.checkpointSeq, last_seq: r.lastSeq },
      };
    case 'recovered':
      return {
        type: T.agentError,
        severity: 'WARN',
        message: 'Audit log recovered: a torn last line left by a crash was cut',
        details: { file: r.file, truncated_bytes: r.truncatedBytes },
      };
  }
}

function toCheckpoint(cp: SinkCheckpoint): AuditCheckpoint {
  const c: AuditCheckpoint = { seq: cp.seq, hash: cp.hash };
  if (cp.epoch !== undefined) c.epoch = cp.epoch;
  if (cp.keyId !== undefined) c.keyId = cp.keyId;
  if (cp.atMs > 0) c.at = new Date(cp.atMs).toISOString();
  return c;
}

/** State shared by a logger and its context views. */
class AuditCore extends EventEmitter<AuditLoggerEvents> {
  /** Emits `event`, then its deprecated alias (same payload) when it has one. */
  override emit<E extends EventEmitter.EventNames<AuditLoggerEvents>>(
    event: E,
    ...args: EventEmitter.EventArgs<AuditLoggerEvents, E>
  ): boolean {
    const heard = super.emit(event, ...args);
    const alias = (AUDIT_EVENT_ALIASES as Record<string, keyof AuditLoggerEvents | undefined>)[event];
    if (alias === undefined) return heard;
    return (super.emit as (e: keyof AuditLoggerEvents, ...a: unknown[]) => boolean)(alias, ...args) || heard;
  }

  readonly options: ResolvedAuditOptions;
  readonly sink: FileSink;
  readonly pino: PinoLogger;
  readonly shipper: RemoteShipper | undefined;
  readonly transport:
    | (NodeJS.WritableStream & { on(ev: string, fn: (...a: unknown[]) => void): unknown; ref?(): void })
    | undefined;
  readonly stats: AuditStats = {
    logged: 0,
    written: 0,
    bytesWritten: 0,
    droppedAfterClose: 0,
    remoteSent: 0,
    remoteDropped: 0,
    remoteBacklog: 0,
    rotations: 0,
    errors: 0,
    seq: 0,
  };
  closed = false;
  closing: Promise<void> | undefined;
  starting: Promise<void> | undefined;
  private drainScheduled = false;
  /** The flush tick: armed only while lines are buffered or written but not fsync'd (an idle logger never wakes). */
  private timer: NodeJS.Timeout | undefined;
  private readonly retentionTimer: NodeJS.Timeout;
  private lastRetentionMs: number;

  constructor(options: AuditLoggerOptions) {
    super();
    const o = resolveAuditOptions(options);
    this.options = o;
    const log = o.logger;
    this.sink = new FileSink({
      file: o.logFile,
      maxBytes: o.maxBytes,
      maxAgeMs: o.maxAgeMs,
      maxFiles: o.maxFiles,
      compress: o.compress,
      hashChain: o.hashChain,
      seal: o.seal,
      checkpointEveryLines: o.checkpointEveryLines,
      checkpointIntervalMs: o.checkpointIntervalMs,
      clock: o.clock,
      hooks: {
        written: (text, lines, bytes) => this.onWritten(text, lines, bytes),
        flushed: (lines, bytes, synced) => this.emit('file:flushed', { lines, bytes, synced }),
        rotated: (from, to) => {
          this.stats.rotations++;
          log.info({ from, to }, 'audit log rotated');
          this.emit('file:rotated', { from, to });
        },
        compressed: (file) => this.emit('file:compressed', { file }),
        deleted: (file, reason) => {
          log.info({ file, reason }, 'audit log retention deleted a rotated file');
          this.emit('file:deleted', { file, reason });
        },
        recovered: (file, truncatedBytes) => {
          log.warn({ file, truncatedBytes }, 'audit log: cut a torn last line left by a crash');
          this.emit('file:recovered', { file, truncatedBytes });
        },
        record: (record) => this.writeRecord(recordEntry(record)),
        checkpoint: (cp) => this.onCheckpoint(toCheckpoint(cp)),
        newKey: (verificationKey, keyFile, derived, replaced) => {
          log.warn({ keyFile, derived, replaced }, 'audit log: a new sealing key was created');
          this.emit('key:created', { verificationKey, keyFile, derived, replaced });
        },
        failed: (operation, error) => this.fail(operation, error),
      },
    });
    if (o.remote) {
      const remote = o.remote;
      this.shipper = new RemoteShipper({
        ...remote,
        random: o.random,
        now: () => o.clock.now(),
        hooks: {
          sent: (lines, attempt) => {
            this.stats.remoteSent += lines;
            this.emit('remote:sent', { lines, attempt });
          },
          retry: (attempt, delayMs, error) => {
            log.warn({ attempt, delayMs, err: error }, 'audit remote shipping failed; retrying');
            this.emit('remote:retry', { attempt, delayMs, error });
          },
          dropped: (count, reason, error) => {
            this.stats.remoteDropped += count;
            log.warn({ count, reason, endpoint: remote.url }, 'audit remote shipping dropped lines');
            const event: AuditDroppedEvent = error ? { reason, count, error } : { reason, count };
            this.emit('audit:dropped', event);
          },
          recovered: (dropped) => this.reportRemoteDrops(dropped),
        },
      });
    }
    if (o.transport) {
      const stream = pino.transport(o.transport) as unknown as AuditCore['transport'] & object;
      stream.on('error', (err: unknown) => {
        this.fail('transport', toAuditError(err, 'transport'));
      });
      this.transport = stream;
    }
    const ts = createTimestampFormatter();
    const clock = o.clock;
    const sink = this.sink;
    const verboseStream = o.verboseStream;
    const destination = o.verbose
      ? {
          write(line: string): void {
            sink.write(line);
            verboseStream.write(formatVerbose(line));
          },
        }
      : sink;
    // The line is built by pino (serialisation, redaction). `formatters.level` returning nothing makes pino start
    // the line with a bare `{`, so the timestamp function emits the first member without pino's usual comma:
    // that puts `timestamp` first and keeps the design doc's field order, with pino skipping undefined members.
    this.pino = pino(
      {
        level: 'info',
        base: null,
        timestamp: () => '"timestamp":"' + ts(clock.now()) + '"',
        formatters: { level: () => ({}) },
        ...(o.redact ? { redact: o.redact } : {}),
      },
      destination,
    );
    this.lastRetentionMs = o.clock.now();
    // Idle background timers: nothing a caller awaits depends on them.
    this.retentionTimer = setInterval(() => this.checkRetention(), RETENTION_CHECK_MS);
    this.retentionTimer.unref();
  }

  /** Whether lines wait to be written or fsync'd (what the flush tick is for). */
  private get unflushed(): boolean {
    return this.sink.pendingCount > 0 || this.sink.dirtyFile;
  }

  /**
   * Arms the flush tick (every `flushIntervalMs`) when something waits for it; the tick disarms itself once it
   * finds nothing to do. Buffered lines are still on disk within `flushIntervalMs` of being logged.
   */
  private armFlush(): void {
    if (this.timer !== undefined || this.closed || !this.unflushed) return;
    this.timer = setInterval(() => this.tick(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.unflushed) {
      // A failed fsync leaves the file dirty: the tick stays armed for the next attempt.
      this.sink
        .flush(true)
        .catch(noop)
        .finally(() => this.armFlush());
    } else {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.checkRetention();
  }

  private checkRetention(): void {
    const now = this.options.clock.now();
    if (now - this.lastRetentionMs >= RETENTION_CHECK_MS) {
      this.lastRetentionMs = now;
      this.sink.scheduleRetention();
    }
  }

  private onWritten(text: string, lines: number, bytes: number): void {
    this.armFlush();
    this.stats.written += lines;
    this.stats.bytesWritten += bytes;
    this.stats.seq = this.sink.chainState.seq;
    this.shipper?.enqueue(text, lines);
    if (this.transport) {
      try {
        this.transport.write(text);
      } catch (err) {
        this.fail('transport', toAuditError(err, 'transport'));
      }
    }
  }

  private onCheckpoint(cp: AuditCheckpoint): void {
    this.emit('checkpoint:taken', cp);
    if (this.shipper && !this.shipper.closingStarted) {
      const o = this.options;
      const line = JSON.stringify({
        timestamp: new Date(o.clock.now()).toISOString(),
        type: AUDIT_LOG_RECORD_TYPES.checkpoint,
        severity: 'INFO',
        agent_id: o.agentId,
        tenant_id: o.tenantId,
        message: `Audit log checkpoint at seq ${cp.seq}`,
        details: { seq: cp.seq, hash: cp.hash, epoch: cp.epoch, key_id: cp.keyId, file: o.logFile },
      });
      this.shipper.enqueue(line + '\n', 1);
    }
  }

  private reportRemoteDrops(dropped: number): void {
    if (dropped <= 0) return;
    this.write({
      type: T.agentError,
      severity: 'WARN',
      message: `Audit remote shipping dropped ${dropped} lines (all of them are in the local log)`,
      details: { dropped_lines: dropped, endpoint: this.options.remote?.url },
    });
  }

  fail(operation: AuditOperation, error: AuditError): void {
    this.stats.errors++;
    this.options.logger.error({ err: error, operation }, `audit log ${operation} failed`);
    this.emit('error', { error, source: operation, operation });
  }

  /** A line about the log itself: serialised like an event, written with the next batch. */
  private writeRecord(entry: RecordEntry): void {
    this.stats.logged++;
    const o = this.options;
    this.pino.info({
      type: entry.type,
      severity: entry.severity,
      agent_id: o.agentId,
      tenant_id: o.tenantId,
      message: entry.message,
      details: entry.details,
    });
    this.armFlush();
  }

  /** Serialises one event into the sink; durable events are written and fsync'd before this returns. */
  write(entry: AuditEntry, context?: AuditContext): void {
    this.stats.logged++;
    const o = this.options;
    if (typeof entry.type === 'string' && entry.type.startsWith('audit_')) {
      // The log's own records (rotation, retention, key) must not be forgeable through the logging API.
      const error = new AuditError(
        'VALIDATION_FAILED',
        `audit: event type ${entry.type} is reserved for the log's own records`,
      );
      this.fail('write', error);
      this.emit('audit:dropped', { reason: 'reserved_type', count: 1, type: entry.type, error });
      return;
    }
    const error = entry.error === undefined ? undefined : toErrorField(entry.error);
    const duration = entry.durationMs;
    try {
      this.pino.info({
        type: entry.type,
        severity: entry.severity,
        agent_id: o.agentId,
        tenant_id: o.tenantId,
        job_id: entry.jobId ?? context?.jobId,
        report_id: entry.reportId ?? context?.reportId,
        message: entry.message,
        error,
        duration_ms:
          typeof duration === 'number' && Number.isFinite(duration) ? Math.round(duration) : undefined,
        details: entry.details,
      });
    } catch (err) {
      // pino falls back to a safe stringifier for cycles and BigInt, so this is a getter that throws or worse:
      // the event cannot be written; say so rather than throw into the caller.
      this.fail('write', toAuditError(err, 'serialising an event'));
      this.emit('audit:dropped', { reason: 'unserialisable', count: 1, type: entry.type });
      return;
    }
    if (ALWAYS_DURABLE[entry.severity] || o.durableTypes.has(entry.type)) this.writeDurable();
    else if (this.sink.pendingCount >= o.bufferSize) this.scheduleDrain();
    this.armFlush();
  }

  /** On disk and fsync'd before returning; a failure is reported (`'error'`), never thrown into the caller. */
  private writeDurable(): void {
    try {
      this.sink.writeDurable();
    } catch {
      // reported by the sink through 'error'; the lines stay pending for the next attempt
    }
  }

  /** A full buffer is written right after the current synchronous work (batching what it logs). */
  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      if (!this.closed || this.sink.pendingCount > 0) this.flushInBackground('write');
    });
  }

  dropAfterClose(type: AuditEventType): void {
    this.stats.droppedAfterClose++;
    this.options.logger.warn({ type }, 'audit event logged after close() was dropped');
    this.emit('audit:dropped', { reason: 'closed', count: 1, type });
  }

  flushInBackground(mode: Flush): void {
    if (mode === 'none') return;
    // Failures are reported through 'error'; the caller of a logging method never sees them.
    this.sink.flush(mode === 'sync').catch(noop);
  }

  start(): Promise<void> {
    this.starting ??= new Promise<void>((resolve) => {
      this.sink.openSync();
      // Lines logged before start and the open's own records (recovery, new key) are written at once.
      if (this.sink.pendingCount > 0) this.flushInBackground('sync');
      resolve();
    }).catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  latestCheckpoint(): AuditCheckpoint | undefined {
    const cp = this.sink.checkpoint;
    return cp === undefined ? undefined : toCheckpoint(cp);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    let failure: AuditError | undefined;
    await this.sink.flush(true).catch((err: unknown) => {
      failure ??= toAuditError(err, 'final flush');
    });
    // The final checkpoint goes out with the remote backlog.
    this.sink.checkpointNow();
    if (this.shipper) {
      await this.shipper.close(this.options.remote!.closeTimeoutMs);
      this.reportRemoteDrops(this.shipper.takeUnreportedDrops());
    }
    this.stats.remoteBacklog = 0;
    await this.sink.close().catch((err: unknown) => {
      failure ??= toAuditError(err, 'close');
    });
    if (this.transport) await endTransport(this.transport, this.options.remote?.closeTimeoutMs ?? 5000);
    if (failure) throw failure;
  }
}

function toAuditError(err: unknown, what: string): AuditError {
  return toRediverError(err, 'INTERNAL', {
    what: `audit ${what} failed`,
    codes: AUDIT_FAILURE_CODES,
    create: (code, message, options) => new AuditError(code, message, options),
  });
}

/**
 * Ends the transport's worker and waits for it to close, at most `timeoutMs`. Both the worker and the timer stay
 * referenced: `close()` depends on them, so the process must not exit under it.
 */
function endTransport(stream: NonNullable<AuditCore['transport']>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.ref?.();
    stream.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.end();
  });
}

/**
 * The agent's audit log: one JSON line per event (spec format, absent fields omitted) in a rotated local file,
 * buffered and fsync'd on `flush()`, optionally hash-chained, shipped to an HTTP endpoint and/or a pino
 * transport. Logging methods never throw and never block on I/O.
 */
export class AuditLogger {
  private readonly core: AuditCore;
  private readonly context: AuditContext;

  /** Validates options (throws `AuditError` `INVALID_OPTION`); the file opens on `start()` or the first flush. */
  constructor(options: AuditLoggerOptions = {}) {
    this.core = new AuditCore(options);
    this.context = {};
  }

  /** Opens the file (creating its folder), recovers size, torn tail and hash chain; idempotent. */
  start(): Promise<void> {
    return this.core.start();
  }

  /** A logger stamping `jobId`/`reportId` on every event; shares file, buffer, events and lifecycle. */
  withContext(context: AuditContext): AuditLogger {
    const view = Object.create(this) as AuditLogger;
    const merged: AuditContext = { ...this.context };
    if (context.jobId !== undefined) merged.jobId = context.jobId;
    if (context.reportId !== undefined) merged.reportId = context.reportId;
    Object.defineProperty(view, 'context', { value: Object.freeze(merged) });
    return view;
  }

  /** Logs one event. After `close()` the event is dropped, counted and reported (`'dropped'`). */
  log(entry: AuditEntry): void {
    const core = this.core;
    if (core.closed) core.dropAfterClose(entry.type);
    else core.write(entry, this.context);
  }

  /** DEBUG event. */
  debug(type: AuditEventType, message: string, details?: AuditDetails): void {
    this.log({ type, severity: 'DEBUG', message, details });
  }

  /** INFO event. */
  info(type: AuditEventType, message: string, details?: AuditDetails): void {
    this.log({ type, severity: 'INFO', message, details });
  }

  /** WARN event. */
  warn(type: AuditEventType, message: string, details?: AuditDetails): void {
    this.log({ type, severity: 'WARN', message, details });
  }

  /** ERROR event, written at once. */
  error(type: AuditEventType, message: string, err?: unknown, details?: AuditDetails): void {
    this.log({ type, severity: 'ERROR', message, error: err, details });
  }

  /** CRITICAL event, written at once. */
  critical(type: AuditEventType, message: string, err?: unknown, details?: AuditDetails): void {
    this.log({ type, severity: 'CRITICAL', message, error: err, details });
  }

  /** `agent_start` (INFO). */
  agentStart(details?: AuditDetails): void {
    this.log({ type: T.agentStart, severity: 'INFO', message: 'Agent started', details });
  }

  /** `agent_stop` (INFO). */
  agentStop(details?: AuditDetails): void {
    this.log({ type: T.agentStop, severity: 'INFO', message: 'Agent stopped', details });
  }

  /** `agent_error` (ERROR). */
  agentError(err: unknown, details?: AuditDetails): void {
    this.log({ type: T.agentError, severity: 'ERROR', message: 'Agent error', error: err, details });
  }

  /** `job_received` (INFO), `details.job_type`. */
  jobReceived(jobId: string, jobType: string, details?: AuditDetails): void {
    const d = { ...details, job_type: jobType };
    this.log({ type: T.jobReceived, severity: 'INFO', message: 'Job received', jobId, details: d });
  }

  /** `job_started` (INFO), `details.job_type`. */
  jobStarted(jobId: string, jobType: string, details?: AuditDetails): void {
    const d = { ...details, job_type: jobType };
    this.log({ type: T.jobStarted, severity: 'INFO', message: 'Job started', jobId, details: d });
  }

  /** `job_completed` (INFO) with `duration_ms`. */
  jobCompleted(jobId: string, durationMs: number, details?: AuditDetails): void {
    const message = 'Job completed successfully';
    this.log({ type: T.jobCompleted, severity: 'INFO', message, jobId, durationMs, details });
  }

  /** `job_failed` (ERROR) with `error`. */
  jobFailed(jobId: string, err: unknown, details?: AuditDetails): void {
    this.log({ type: T.jobFailed, severity: 'ERROR', message: 'Job failed', jobId, error: err, details });
  }

  /** `job_timeout` (ERROR); `duration_ms` is the time it ran before timing out. */
  jobTimeout(jobId: string, durationMs: number, details?: AuditDetails): void {
    this.log({ type: T.jobTimeout, severity: 'ERROR', message: 'Job timed out', jobId, durationMs, details });
  }

  /** `scan_started` (INFO), `details.scanner`. */
  scanStarted(scanner: string, details?: AuditDetails): void {
    const d = { ...details, scanner };
    this.log({ type: T.scanStarted, severity: 'INFO', message: 'Scan started', details: d });
  }

  /** `scan_completed` (INFO) with `duration_ms`. */
  scanCompleted(scanner: string, durationMs: number, details?: AuditDetails): void {
    const d = { ...details, scanner };
    this.log({ type: T.scanCompleted, severity: 'INFO', message: 'Scan completed', durationMs, details: d });
  }

  /** `scan_failed` (ERROR) with `error`. */
  scanFailed(scanner: string, err: unknown, details?: AuditDetails): void {
    const d = { ...details, scanner };
    this.log({ type: T.scanFailed, severity: 'ERROR', message: 'Scan failed', error: err, details: d });
  }

  /** `upload_started` (INFO). */
  uploadStarted(reportId: string, details?: AuditDetails): void {
    this.log({ type: T.uploadStarted, severity: 'INFO', message: 'Upload started', reportId, details });
  }

  /** `upload_completed` (INFO) with `duration_ms`. */
  uploadCompleted(reportId: string, durationMs: number, details?: AuditDetails): void {
    const message = 'Upload completed';
    this.log({ type: T.uploadCompleted, severity: 'INFO', message, reportId, durationMs, details });
  }

  /** `upload_failed` (ERROR) with `error`. */
  uploadFailed(reportId: string, err: unknown, details?: AuditDetails): void {
    this.log({
      type: T.uploadFailed,
      severity: 'ERROR',
      message: 'Upload failed',
      reportId,
      error: err,
      details,
    });
  }

  /** `upload_retry` (WARN), `details.attempt`, the failure as `error`. */
  uploadRetry(reportId: string, attempt: number, err?: unknown, details?: AuditDetails): void {
    const d = { ...details, attempt };
    this.log({
      type: T.uploadRetry,
      severity: 'WARN',
      message: 'Upload retry',
      reportId,
      error: err,
      details: d,
    });
  }

  /** `chunk_created` (DEBUG), `details.chunk_index/total_chunks/size_bytes`. */
  chunkCreated(reportId: string, chunkIndex: number, totalChunks: number, size: number): void {
    const details = { chunk_index: chunkIndex, total_chunks: totalChunks, size_bytes: size };
    this.log({ type: T.chunkCreated, severity: 'DEBUG', message: 'Chunk created', reportId, details });
  }

  /** `chunk_uploaded` (INFO), `details.chunk_index/total_chunks/size_bytes`. */
  chunkUploaded(reportId: string, chunkIndex: number, totalChunks: number, size: number): void {
    const details = { chunk_index: chunkIndex, total_chunks: totalChunks, size_bytes: size };
    this.log({ type: T.chunkUploaded, severity: 'INFO', message: 'Chunk uploaded', reportId, details });
  }

  /** `chunk_failed` (ERROR), `details.chunk_index`, `error`. */
  chunkFailed(reportId: string, chunkIndex: number, err: unknown, details?: AuditDetails): void {
    const d = { ...details, chunk_index: chunkIndex };
    const message = 'Chunk failed';
    this.log({ type: T.chunkFailed, severity: 'ERROR', message, reportId, error: err, details: d });
  }

  /** `chunk_cleanup` (DEBUG). */
  chunkCleanup(reportId: string, details?: AuditDetails): void {
    this.log({ type: T.chunkCleanup, severity: 'DEBUG', message: 'Chunk cleanup', reportId, details });
  }

  /** `resource_throttle` (WARN), `details.reason` and the metrics. */
  resourceThrottle(reason: string, metrics?: AuditDetails | object): void {
    const details = { reason, ...metrics };
    this.log({
      type: T.resourceThrottle,
      severity: 'WARN',
      message: 'Resource throttling activated',
      details,
    });
  }

  /** `resource_resume` (INFO). */
  resourceResume(details?: AuditDetails): void {
    this.log({ type: T.resourceResume, severity: 'INFO', message: 'Resource throttling cleared', details });
  }

  /** `resource_warning` (WARN) with the caller's message. */
  resourceWarning(message: string, details?: AuditDetails): void {
    this.log({ type: T.resourceWarning, severity: 'WARN', message, details });
  }

  /** `auth_failed` (ERROR) with `error`. */
  authFailed(err: unknown, details?: AuditDetails): void {
    this.log({
      type: T.authFailed,
      severity: 'ERROR',
      message: 'Authentication failed',
      error: err,
      details,
    });
  }

  /** `rate_limited` (WARN), `details.retry_after_ms` when known. */
  rateLimited(retryAfterMs?: number, details?: AuditDetails): void {
    const d = retryAfterMs === undefined ? details : { ...details, retry_after_ms: retryAfterMs };
    this.log({ type: T.rateLimited, severity: 'WARN', message: 'Rate limited', details: d });
  }

  /** `validation_error` (WARN) with `error`. */
  validationError(err: unknown, details?: AuditDetails): void {
    this.log({ type: T.validationError, severity: 'WARN', message: 'Validation error', error: err, details });
  }

  /** Writes everything logged so far and resolves once it is fsync'd; rejects with `AuditError` on failure. */
  flush(): Promise<void> {
    // After close() there is nothing left to write: resolve when close has written everything.
    if (this.core.closed) return this.core.close();
    return this.core.sink.flush(true);
  }

  /**
   * The last checkpoint (`seq`, `hash`, sealing `epoch`): the head of the chain as last made durable, or the one
   * recorded at the previous run until this run takes one. Put it where the operator keeps evidence (the agent
   * sends it in its heartbeat); `verifyAuditLog(dir, { checkpoints: [cp] })` then detects truncation up to it.
   */
  latestCheckpoint(): AuditCheckpoint | undefined {
    return this.core.latestCheckpoint();
  }

  /** Counters (a snapshot). */
  stats(): AuditStats {
    const s = { ...this.core.stats };
    s.remoteBacklog = this.core.shipper?.backlogSize ?? 0;
    return s;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.core.closed;
  }

  /** Subscribes to an event (see `AuditLoggerEvents`). */
  on<E extends keyof AuditLoggerEvents>(event: E, listener: AuditLoggerEvents[E]): this {
    this.core.on(event, listener as never);
    return this;
  }

  /** Subscribes to one occurrence of an event. */
  once<E extends keyof AuditLoggerEvents>(event: E, listener: AuditLoggerEvents[E]): this {
    this.core.once(event, listener as never);
    return this;
  }

  /** Unsubscribes. */
  off<E extends keyof AuditLoggerEvents>(event: E, listener: AuditLoggerEvents[E]): this {
    this.core.off(event, listener as never);
    return this;
  }

  /**
   * Stops taking events, writes and fsyncs everything, delivers the remote backlog (up to
   * `remoteCloseTimeoutMs`), ends the transport and closes the file. Same promise on every call, from any view.
   */
  close(): Promise<void> {
    return this.core.close();
  }

  /** Delegates to `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Creates an `AuditLogger` and opens its file (so a bad path fails here, not later). */
export async function createAuditLogger(options: AuditLoggerOptions = {}): Promise<AuditLogger> {
  const logger = new AuditLogger(options);
  await logger.start();
  return logger;
}
