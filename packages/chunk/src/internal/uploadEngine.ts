import { ERROR_CODES, isRediverError, MAX_TIMER_MS, toRediverError as toCoreError } from '@rediver/core';
import type { ChunkUploader, Clock, Logger, RediverError } from '@rediver/core';
import { ChunkError } from '../errors';
import { AdaptiveLimit } from './adaptiveLimit';
import type { ChunkEventMap, ChunkFailReason, ReportFailedEvent } from '../events';
import { retryDelayMs } from './uploadBackoff';
import { chunkIdempotencyKey } from '../idempotencyKey';
import { buildChunkUploadRequest } from './uploadPayload';
import type { ClaimedChunk, ReportProgress, SettleResult, UploadQueue } from './uploadQueue';
import { FairScheduler } from './uploadScheduler';
import type { UploadCounters, UploadErrorContext } from '../deliveryTypes';

export type { UploadCounters, UploadErrorContext } from '../deliveryTypes';

/** The engine's resolved settings. */
export interface UploadEngineSettings {
  readonly maxConcurrentUploads: number;
  /** Adapt concurrency to the platform (AIMD); false: `maxConcurrentUploads` fixed workers. */
  readonly adaptive: boolean;
  /** Ceiling of the adaptive limit. */
  readonly maxConcurrentUploadsCeiling: number;
  readonly uploadDelayMs: number;
  /** Retries of one chunk at the normal log level; past it every retry is a warning (`escalated`). */
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly uploadTimeoutMs: number;
  readonly autoCleanupOnUpload: boolean;
  readonly cleanupOnReportComplete: boolean;
}

/** A verified stored frame. */
export interface ChunkFrame {
  readonly data: Uint8Array;
  readonly checksum: string;
}

/** User callbacks, fed from the same place as the events. */
export interface UploadCallbacks {
  onProgress?: ((progress: ReportProgress) => void) | undefined;
  onComplete?: ((progress: ReportProgress) => void) | undefined;
  onError?: ((error: RediverError, context: UploadErrorContext) => void) | undefined;
}

/** What the engine needs from its surroundings. */
export interface UploadEngineDeps {
  readonly queue: UploadQueue;
  /** Reads and verifies a stored frame; `undefined` when gone; throws (after quarantining) when corrupt. */
  readonly readChunk: (
    tenantId: string,
    reportId: string,
    chunkIndex: number,
  ) => Promise<ChunkFrame | undefined>;
  readonly uploaderFor: (tenantId: string) => ChunkUploader;
  /** The store's events: the engine emits on them (its `emit` is not public). */
  readonly events: {
    emit<E extends keyof ChunkEventMap>(event: E, payload: Parameters<ChunkEventMap[E]>[0]): void;
    listenerCount(event: keyof ChunkEventMap): number;
  };
  /**
   * True while the connection is inside another transaction (the store's Kysely transactions share the connection
   * and span several ticks): the engine's synchronous writes wait for it to end rather than nest into it.
   */
  readonly dbBusy: () => boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly callbacks: UploadCallbacks;
}

const CORRUPT_CODES = new Set<string>([
  ERROR_CODES.CHECKSUM_MISMATCH,
  ERROR_CODES.DECOMPRESS_LIMIT,
  ERROR_CODES.DECOMPRESS_FAILED,
]);

/** Why an in-flight upload was aborted by the engine itself. */
const SHUTDOWN = Symbol('shutdown');

/**
 * The upload engine: `maxConcurrentUploads` workers, each taking one chunk at a time from SQLite (claim → read →
 * send → record), pausing `uploadDelayMs` between two uploads. A failed chunk goes back to the queue with a due
 * time instead of being retried in place, so it never holds a worker or the chunks behind it.
 */
export class UploadEngine {
  readonly counters: UploadCounters = {
    uploaded: 0,
    bytesUploaded: 0,
    retries: 0,
    deadLettered: 0,
    reportsCompleted: 0,
    reportsFailed: 0,
    released: 0,
    errors: 0,
    backPressure: 0,
  };
  readonly #s: UploadEngineSettings;
  /** The adaptive concurrency limit (undefined with `adaptive: false`). */
  readonly #limiter: AdaptiveLimit | undefined;
  /** Worker slots that have work now (uploading or pausing between two uploads). */
  #workingSlots = 0;
  /** Workers above the limit wait here for it to grow. */
  #parked = new Set<() => void>();
  /** Timers a caller may be waiting on (retry due, pacing, pause): ref'd while anyone waits. */
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #holders = 0;
  readonly #d: UploadEngineDeps;
  readonly #scheduler = new FairScheduler();
  readonly #inFlight = new Set<AbortController>();
  readonly #stop = new AbortController();
  #workers: Promise<void>[] = [];
  #generation = 0;
  #waiters = new Set<() => void>();
  #dueTimer: ReturnType<typeof setTimeout> | undefined;
  #dueAt = 0;
  #stopPromise: Promise<void> | undefined;

  constructor(settings: UploadEngineSettings, deps: UploadEngineDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#limiter = settings.adaptive
      ? new AdaptiveLimit({
          initial: settings.maxConcurrentUploads,
          max: settings.maxConcurrentUploadsCeiling,
        })
      : undefined;
  }

  /** Uploads allowed at once now: the adaptive limit, or `maxConcurrentUploads`. */
  get concurrencyLimit(): number {
    return this.#limiter?.limit ?? this.#s.maxConcurrentUploads;
  }

  /**
   * Someone awaits the engine's work (`waitForReport`, `drain`): its timers keep the process alive until
   * `release()`. Without a holder they are unref'd, so a program that stops caring can still exit.
   */
  hold(): () => void {
    this.#holders += 1;
    if (this.#holders === 1) for (const t of this.#timers) t.ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders -= 1;
      if (this.#holders === 0) for (const t of this.#timers) t.unref();
    };
  }

  /** A timer that keeps the process alive only while someone holds the engine (see `hold`). */
  #timer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        fn();
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    );
    if (this.#holders === 0) t.unref();
    this.#timers.add(t);
    return t;
  }

  #clearTimer(t: ReturnType<typeof setTimeout> | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  /** Resolves after `ms`, or at once when the engine stops. */
  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#clearTimer(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.#timer(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** True once `start()` ran (and until stopped). */
  get running(): boolean {
    return this.#workers.length > 0 && !this.#stop.signal.aborted;
  }

  /** Uploads in flight now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts the workers. Idempotent. */
  start(): void {
    if (this.#workers.length > 0 || this.#stop.signal.aborted) return;
    const workers =
      this.#limiter === undefined ? this.#s.maxConcurrentUploads : this.#s.maxConcurrentUploadsCeiling;
    for (let i = 0; i < workers; i++) this.#workers.push(this.#worker(i));
  }

  /** New or re-queued work: idle workers look again. */
  wake(): void {
    this.#scheduler.invalidate();
    this.#generation += 1;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /**
   * Stops taking chunks, waits up to `graceMs` for those in flight, then aborts the rest (they go back to
   * pending, no attempt counted). Same promise on every call.
   */
  stop(graceMs: number): Promise<void> {
    this.#stopPromise ??= (async () => {
      this.#stop.abort(SHUTDOWN);
      this.#clearTimer(this.#dueTimer);
      this.wake();
      this.#unpark();
      const all = Promise.all(this.#workers).then(() => true);
      if (!(await raceTimeout(all, graceMs))) {
        for (const ac of this.#inFlight) ac.abort(SHUTDOWN);
        // An uploader that ignores its signal must not hold shutdown forever: its chunk stays `uploading` and
        // goes back to pending at the next open.
        await raceTimeout(all, 1000);
      }
    })();
    return this.#stopPromise;
  }

  /** Wakes the workers parked above the limit (it grew, or the engine stops). */
  #unpark(): void {
    const parked = [...this.#parked];
    this.#parked.clear();
    for (const p of parked) p();
  }

  async #worker(slot: number): Promise<void> {
    const stop = this.#stop.signal;
    // Whether this slot has work (between a claim and the next claim that finds nothing).
    let working = false;
    const setWorking = (w: boolean): void => {
      if (w !== working) this.#workingSlots += w ? 1 : -1;
      working = w;
    };
    while (!stop.aborted) {
      if (this.#limiter !== undefined) {
        if (slot >= this.#limiter.limit) {
          setWorking(false);
          await new Promise<void>((resolve) => this.#parked.add(resolve));
          continue;
        }
      }
      const generation = this.#generation;
      let chunk: ClaimedChunk | undefined;
      await this.#dbReady();
      try {
        const now = this.#d.clock.now();
        chunk = this.#scheduler.next(
          () => this.#d.queue.activeReports(),
          (report) => this.#d.queue.claim(report, now),
        );
      } catch (err) {
        this.#internalError(err, {});
        await this.#sleep(Math.max(this.#s.retryBaseDelayMs, 10));
        continue;
      }
      if (chunk === undefined) {
        setWorking(false);
        await this.#idle(generation);
        continue;
      }
      setWorking(true);
      if (this.#limiter !== undefined && this.#workingSlots >= this.#limiter.limit) this.#limiter.saturated();
      const startedAt = this.#d.clock.now();
      await this.#process(chunk);
      // Fixed pacing: a pause after each upload (the seed's). Adaptive: a minimum spacing between the starts of
      // a slot's uploads, so a slow round trip is not paid twice and the limit alone sets the pace.
      const pause =
        this.#limiter === undefined
          ? this.#s.uploadDelayMs
          : this.#s.uploadDelayMs - (this.#d.clock.now() - startedAt);
      if (pause > 0) await this.#sleep(pause);
    }
  }

  /** Waits for new work or the next due retry, unless work arrived since `generation`. */
  async #idle(generation: number): Promise<void> {
    if (generation !== this.#generation || this.#stop.signal.aborted) return;
    await new Promise<void>((resolve) => {
      this.#waiters.add(resolve);
      this.#armDueTimer();
    });
  }

  /**
   * Re-queues a claimed chunk due at `dueAt`. Idle slots are woken when it falls due: the slot that re-queued it
   * may park next (the limit shrank) and never reach `#idle`, where the timer is otherwise armed (a lost wake-up:
   * the report never completed).
   */
  #retryLater(chunk: ClaimedChunk, attempts: number, dueAt: number, lastError: string): boolean {
    if (!this.#d.queue.markRetry(chunk, attempts, dueAt, lastError)) return false;
    if (this.#waiters.size > 0) this.#armDueTimer(dueAt);
    return true;
  }

  /**
   * Arms (or moves earlier) the timer that wakes idle workers when the next retry is due: at `knownDue`, or at the
   * queue's next due time.
   */
  #armDueTimer(knownDue?: number): void {
    let due: number | undefined = knownDue;
    if (due === undefined) {
      try {
        due = this.#d.queue.nextDueAt();
      } catch (err) {
        this.#internalError(err, {});
        due = this.#d.clock.now() + Math.max(this.#s.retryBaseDelayMs, 10);
      }
    }
    if (due === undefined || this.#stop.signal.aborted) return;
    if (this.#dueTimer !== undefined) {
      if (this.#dueAt <= due) return;
      this.#clearTimer(this.#dueTimer);
    }
    // At least 1 ms: a due chunk nobody could claim (a race with cleanup) must not spin the loop. At most the
    // timer's range (~24.8 days): a longer wait simply wakes, finds nothing due and re-arms.
    const delay = Math.max(1, due - this.#d.clock.now());
    this.#dueAt = due;
    this.#dueTimer = this.#timer(() => {
      this.#dueTimer = undefined;
      this.wake();
    }, delay);
  }

  /** Read → send → record one claimed chunk. A failed chunk is re-queued with its due time; the slot goes on. */
  async #process(chunk: ClaimedChunk): Promise<void> {
    const ctx = { tenantId: chunk.tenantId, reportId: chunk.reportId, chunkIndex: chunk.chunkIndex };
    let frame: ChunkFrame | undefined;
    try {
      frame = await this.#d.readChunk(chunk.tenantId, chunk.reportId, chunk.chunkIndex);
    } catch (err) {
      await this.#dbReady();
      if (isRediverError(err) && CORRUPT_CODES.has(err.code)) {
        // The store quarantined it (status `corrupt`, `chunk:corrupt` emitted): dead-letter, never upload garbage.
        this.#guard(ctx, () =>
          this.#deadLettered(
            chunk,
            { attempts: 0, reason: 'corrupt', error: err },
            this.#d.queue.afterQuarantine(chunk, this.#now()),
          ),
        );
        return;
      }
      this.#internalError(err, ctx);
      this.#guard(ctx, () => {
        this.#retryLater(chunk, chunk.attempts, this.#now() + this.#s.retryBaseDelayMs, describe(err));
      });
      return;
    }
    if (frame === undefined) {
      await this.#dbReady();
      const error = new ChunkError(
        ERROR_CODES.NOT_FOUND,
        `chunk ${chunk.chunkIndex} of ${chunk.reportId} has no stored data`,
      );
      this.#guard(ctx, () => {
        const res = this.#d.queue.markFailed(chunk, chunk.attempts, describe(error), this.#now());
        if (res.changed)
          this.#deadLettered(chunk, { attempts: chunk.attempts, reason: 'data-missing', error: error }, res);
      });
      return;
    }
    const request = buildChunkUploadRequest({
      reportId: chunk.reportId,
      chunkIndex: chunk.chunkIndex,
      totalChunks: chunk.totalChunks,
      data: frame.data,
      checksum: frame.checksum,
    });
    frame = undefined;
    if (request === undefined) {
      await this.#dbReady();
      const error = new ChunkError(
        ERROR_CODES.REPORT_TOO_LARGE,
        `chunk ${chunk.chunkIndex} of ${chunk.reportId} exceeds the platform's 10 MiB data limit once base64-encoded`,
      );
      this.#guard(ctx, () => {
        const res = this.#d.queue.markFailed(chunk, chunk.attempts, describe(error), this.#now());
        if (res.changed)
          this.#deadLettered(chunk, { attempts: chunk.attempts, reason: 'too-large', error: error }, res);
      });
      return;
    }
    const idempotencyKey = chunkIdempotencyKey({ ...chunk, checksum: request.checksum ?? chunk.checksum });
    const ac = new AbortController();
    this.#inFlight.add(ac);
    const timer = setTimeout(
      () =>
        ac.abort(
          new ChunkError(ERROR_CODES.TIMEOUT, `chunk upload timed out after ${this.#s.uploadTimeoutMs} ms`),
        ),
      this.#s.uploadTimeoutMs,
    );
    timer.unref?.();
    const attempt = chunk.attempts + 1;
    const startedAt = this.#d.clock.now();
    this.#limiter?.start();
    try {
      const response = await this.#d
        .uploaderFor(chunk.tenantId)
        .uploadChunk(request, { signal: ac.signal, idempotencyKey });
      clearTimeout(timer);
      this.#adapt({ rttMs: this.#d.clock.now() - startedAt, backPressure: false });
      await this.#dbReady();
      this.#guard(ctx, () => {
        const res = this.#d.queue.markUploaded(chunk, this.#now(), {
          dropBlob: this.#s.autoCleanupOnUpload,
          deleteOnComplete: this.#s.cleanupOnReportComplete,
        });
        if (!res.changed) return;
        this.counters.uploaded += 1;
        this.counters.bytesUploaded += chunk.compressedBytes;
        this.#emit('chunk:uploaded', {
          ...ctx,
          totalChunks: chunk.totalChunks,
          attempt,
          originalBytes: chunk.originalBytes,
          compressedBytes: chunk.compressedBytes,
          idempotencyKey,
          response,
        });
        if (res.blobBytesFreed > 0) {
          this.#emit('chunk:cleanup', {
            tenantId: chunk.tenantId,
            reportId: chunk.reportId,
            reason: 'upload',
            chunksDeleted: 0,
            blobsFreed: 1,
            bytesFreed: res.blobBytesFreed,
            undelivered: false,
          });
        }
        this.#afterSettle(chunk, res);
      });
      return;
    } catch (err) {
      clearTimeout(timer);
      if (ac.signal.reason === SHUTDOWN) {
        this.#limiter?.done({ backPressure: false }, this.#d.clock.now());
        await this.#dbReady();
        this.counters.released += 1;
        this.#guard(ctx, () => this.#d.queue.release(chunk));
        return;
      }
      const error = toRediverError(
        ac.signal.aborted && isRediverError(ac.signal.reason) ? ac.signal.reason : err,
      );
      if (error.retryable) this.counters.backPressure += 1;
      this.#adapt({ backPressure: error.retryable });
      await this.#dbReady();
      this.#guard(ctx, () => {
        if (error.retryable) {
          // A transient failure is never a dead letter: it waits (capped, jittered backoff, never sooner than a
          // Retry-After) as long as it takes. Past maxRetries each retry is a warning, not a give-up.
          const delayMs = retryDelayMs(
            attempt,
            { baseDelayMs: this.#s.retryBaseDelayMs, maxDelayMs: this.#s.retryMaxDelayMs },
            error.retryAfterMs,
            this.#d.random,
          );
          if (!this.#retryLater(chunk, attempt, this.#now() + delayMs, describe(error))) return;
          this.counters.retries += 1;
          const escalated = attempt > this.#s.maxRetries;
          const log = { ...ctx, retry: attempt, delayMs, code: error.code };
          if (escalated)
            this.#d.logger.warn(log, 'chunk upload still failing; retrying (transient errors never give up)');
          else this.#d.logger.debug(log, 'chunk upload will be retried');
          this.#emit('chunk:retry', {
            ...ctx,
            retry: attempt,
            maxRetries: this.#s.maxRetries,
            escalated,
            delayMs,
            retryAfterMs: error.retryAfterMs,
            error,
          });
          this.#emitBacklog();
          return;
        }
        const res = this.#d.queue.markFailed(chunk, attempt, describe(error), this.#now());
        if (res.changed)
          this.#deadLettered(chunk, { attempts: attempt, reason: 'rejected', error: error }, res);
      });
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(ac);
    }
  }

  /** A chunk settled as dead-lettered (`res`): counted, logged, announced (`chunk:failed`) and called back. */
  #deadLettered(
    chunk: ClaimedChunk,
    failure: { attempts: number; reason: ChunkFailReason; error: RediverError },
    res: SettleResult,
  ): void {
    const { attempts, reason, error } = failure;
    this.counters.deadLettered += 1;
    const ctx = { tenantId: chunk.tenantId, reportId: chunk.reportId, chunkIndex: chunk.chunkIndex };
    this.#d.logger.warn({ ...ctx, reason, attempts, code: error.code }, 'chunk dead-lettered');
    this.#emit('chunk:failed', { ...ctx, attempts, reason, error });
    this.#callback(() => this.#d.callbacks.onError?.(error, ctx));
    this.#afterSettle(chunk, res);
  }

  /** Feeds one outcome to the adaptive limit; a change is an event and wakes (or parks) workers. */
  #adapt(outcome: { rttMs?: number; backPressure: boolean }): void {
    const change = this.#limiter?.done(outcome, this.#d.clock.now());
    if (change === undefined) return;
    this.#d.logger.debug({ ...change }, 'upload concurrency limit changed');
    this.#emit('upload:limit', { ...change });
    if (change.limit > change.previous) this.#unpark();
  }

  /** The backlog's figures after a change (an O(tenants) read of the counter rows). */
  #emitBacklog(): void {
    if (this.#d.events.listenerCount('upload:backlog') === 0) return;
    this.#emit('upload:backlog', {
      outstandingChunks: this.#d.queue.outstanding(),
      inFlight: this.#inFlight.size,
      concurrencyLimit: this.concurrencyLimit,
      uploaded: this.counters.uploaded,
      bytesUploaded: this.counters.bytesUploaded,
      deadLettered: this.counters.deadLettered,
      retries: this.counters.retries,
    });
  }

  #afterSettle(chunk: ClaimedChunk, res: SettleResult): void {
    this.#emitBacklog();
    if (res.progress === undefined) return;
    const progress = res.progress;
    this.#emit('report:progress', progress);
    this.#callback(() => this.#d.callbacks.onProgress?.(progress));
    if (res.chunksDeleted > 0) {
      this.#emit('chunk:cleanup', {
        tenantId: chunk.tenantId,
        reportId: chunk.reportId,
        reason: 'report',
        chunksDeleted: res.chunksDeleted,
        blobsFreed: 0,
        bytesFreed: 0,
        undelivered: false,
      });
    }
    switch (res.outcome) {
      case undefined:
        return;
      case 'completed':
        this.counters.reportsCompleted += 1;
        this.#d.logger.info({ tenantId: progress.tenantId, reportId: progress.reportId }, 'report delivered');
        this.#emit('report:completed', progress);
        this.#callback(() => this.#d.callbacks.onComplete?.(progress));
        return;
      case 'partial':
      case 'failed': {
        this.counters.reportsFailed += 1;
        const error = reportFailure(progress);
        const event: ReportFailedEvent = { ...progress, error };
        this.#d.logger.warn(
          { tenantId: progress.tenantId, reportId: progress.reportId, status: progress.status },
          'report settled with undelivered chunks',
        );
        this.#emit('report:failed', event);
        this.#callback(() =>
          this.#d.callbacks.onError?.(error, { tenantId: progress.tenantId, reportId: progress.reportId }),
        );
        return;
      }
    }
  }

  #emit<E extends keyof ChunkEventMap>(event: E, payload: Parameters<ChunkEventMap[E]>[0]): void {
    this.#callback(() => this.#d.events.emit(event, payload));
  }

  /** Runs user code (listeners, callbacks): a throw is logged, never allowed into the engine. */
  #callback(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      this.#d.logger.error({ err }, 'a chunk manager listener or callback threw');
    }
  }

  /** Runs a bookkeeping step; a failure (e.g. the database went away) is reported, the worker goes on. */
  #guard(ctx: UploadErrorContext, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#internalError(err, ctx);
    }
  }

  #internalError(err: unknown, ctx: UploadErrorContext): void {
    this.counters.errors += 1;
    const error = isRediverError(err)
      ? err
      : new ChunkError(ERROR_CODES.INTERNAL, `upload engine error: ${String(err)}`, { cause: err });
    this.#d.logger.error({ ...ctx, err: error }, 'upload engine error');
    this.#emit('error', { ...ctx, error, source: 'upload' });
    this.#emit('upload:error', { ...ctx, error });
    this.#callback(() => this.#d.callbacks.onError?.(error, ctx));
  }

  /** Waits (a macrotask at a time) until no other transaction is open on the shared connection. */
  async #dbReady(): Promise<void> {
    for (let i = 0; this.#d.dbBusy(); i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (i > 100_000) return; // a transaction that never ends is a bug elsewhere; the write will report it
    }
  }

  #now(): number {
    return this.#d.clock.now();
  }
}

/** The error a failed report carries (`waitForReport` rejects with it). */
export function reportFailure(progress: ReportProgress): ChunkError {
  const undelivered = progress.totalChunks - progress.uploadedChunks;
  return new ChunkError(
    codeOf(progress.lastError) ?? ERROR_CODES.REQUEST_REJECTED,
    `report ${progress.reportId} settled ${progress.status}: ${undelivered} of ${progress.totalChunks} chunk(s) not ` +
      `delivered (see listDeadLetters; retryFailed re-queues them)${progress.lastError ? ` — ${progress.lastError}` : ''}`,
    {
      retryable: false,
      details: {
        tenantId: progress.tenantId,
        reportId: progress.reportId,
        status: progress.status,
        failedChunks: progress.failedChunks,
      },
    },
  );
}

/** `CODE: message`, the form errors are recorded in `last_error`. */
function describe(err: unknown): string {
  const e = toRediverError(err);
  return `${e.code}: ${e.message}`.slice(0, 1000);
}

function codeOf(lastError: string | null): RediverError['code'] | undefined {
  const code = /^([A-Z_]+):/.exec(lastError ?? '')?.[1];
  return code !== undefined && code in ERROR_CODES ? (code as RediverError['code']) : undefined;
}

/** Unknown throws are not retryable (core's rule): an uploader must say what can be retried. */
function toRediverError(err: unknown): RediverError {
  return toCoreError(err, ERROR_CODES.INTERNAL, {
    codes: [ERROR_CODES.INTERNAL],
    what: 'uploader threw a non-Rediver error',
    create: (code, message, options) => new ChunkError(code, message, { ...options, retryable: false }),
  });
}

/** True when `p` settled within `ms`. */
async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
