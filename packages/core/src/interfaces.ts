import type { ChunkUploadRequest, ChunkUploadResponse } from './chunk';
import type { UploadResult } from './pipeline';
import type { Report } from './report';

/** Options of one upload attempt. */
export interface UploadAttemptOptions {
  /** Fires on timeout or shutdown; the uploader must abort the request. */
  signal?: AbortSignal;
  /** Stable key for this unit of work; a deduplicating server applies it once. */
  idempotencyKey?: string;
}

/**
 * Delivers a whole report (the pipeline's output port). Throws a `RediverError` whose `retryable`
 * (and `retryAfterMs`) say whether and when trying again can help.
 */
export interface ReportUploader {
  uploadReport(report: Report, options?: UploadAttemptOptions): Promise<UploadResult>;
}

/** Delivers one chunk (the chunk engine's output port). Errors as for `ReportUploader`. */
export interface ChunkUploader {
  uploadChunk(
    chunk: ChunkUploadRequest,
    options: UploadAttemptOptions & { idempotencyKey: string },
  ): Promise<ChunkUploadResponse>;
}

/** A log method: pino's calling conventions (object first, or message only). */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** The pino-compatible subset libraries log through. Default everywhere: silent. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Time source, injectable for tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A logger that drops everything (the default of every package). */
export const silentLogger: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});
