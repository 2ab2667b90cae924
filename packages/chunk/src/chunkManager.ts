import { ClosableBase, ERROR_CODES, findUnknownOption, unknownOptionMessage } from '@rediver/core';
import type { ChunkUploader, Report } from '@rediver/core';
import { ChunkStore, storeEmit } from './chunkStore';
import type {
  ChunkStoreStats,
  ListReportsOptions,
  StoredReportSummary,
  SubmitReportOptions,
  SubmitReportResult,
} from './chunkStoreTypes';
import { ChunkError } from './errors';
import type { ChunkEventMap } from './events';
import { CHUNK_MANAGER_ONLY_KEYS, DEFAULT_CHUNK_STORE_OPTIONS } from './options';
import type { ChunkStorageOptions, ChunkUploadTableOptions } from './options';
import { check } from './internal/optionCheck';
import type { BeginReportOptions, ReportWriter } from './reportWriter';
import { reportFailure, UploadEngine } from './internal/uploadEngine';
import type { UploadCallbacks, UploadCounters } from './internal/uploadEngine';
import { UploadQueue } from './internal/uploadQueue';
import type { DeadLetter, DeadLetterFilter, ReportProgress } from './internal/uploadQueue';

/** Delivery options of `ChunkManager`'s upload engine (the `upload` group of `ChunkManagerOptions`). */
export interface ChunkUploadOptions extends ChunkUploadTableOptions, UploadCallbacks {
  /** Delay before the first retry of a chunk (doubles each retry, jittered), ms. Default 1000. */
  retryBaseDelayMs?: number;
  /** Cap of the exponential backoff, ms (a server's `Retry-After` may exceed it). Default 60000. */
  retryMaxDelayMs?: number;
  /** Timeout of one upload attempt (then it counts as a retryable failure), ms. Default 120000. */
  uploadTimeoutMs?: number;
  /** How long `close()` waits for in-flight uploads before aborting them (they go back to pending), ms. Default 10000. */
  closeTimeoutMs?: number;
  /**
   * Adapt the number of uploads in flight to the platform (AIMD, after Vector's adaptive request concurrency):
   * start at `maxConcurrentUploads`, add one while answers come back quickly and cleanly, shrink ×0.9 on
   * 429/503/timeouts or when the round trip rises clearly above its moving baseline (a refused chunk itself
   * waits at least its `Retry-After`). `uploadDelayMs` stays each slot's pause between two uploads. False: exactly
   * `maxConcurrentUploads` workers, each pausing `uploadDelayMs` (the fixed pacing of earlier versions).
   * Default true.
   */
  adaptive?: boolean;
  /** Ceiling of the adaptive limit (>= maxConcurrentUploads, at most 256). Default 32. */
  maxConcurrentUploadsCeiling?: number;
}

/**
 * Options of `ChunkManager`: where chunks are kept (`store`, the `ChunkStore`'s options) and how they are delivered
 * (`upload`), plus the `uploader`. The flat form (every option at the top level, as in the spec's table and an
 * agent's `chunk` section) is accepted too; an option given both flat and in its group is refused.
 */
export interface ChunkManagerOptions extends ChunkStorageOptions, ChunkUploadOptions {
  /**
   * Delivers one chunk (e.g. `@rediver/client`'s). A function picks the uploader per tenant (the platform derives
   * the tenant from the API key, so a multi-tenant agent needs one uploader per tenant).
   */
  uploader: ChunkUploader | ((tenantId: string) => ChunkUploader);
  /** Storage options (same as the flat ones). */
  store?: ChunkStorageOptions;
  /** Delivery options (same as the flat ones). */
  upload?: ChunkUploadOptions;
}

/** Defaults of `ChunkManager` (everything but the uploader and callbacks). */
export const DEFAULT_CHUNK_MANAGER_OPTIONS = Object.freeze({
  ...DEFAULT_CHUNK_STORE_OPTIONS,
  retryBaseDelayMs: 1000,
  retryMaxDelayMs: 60_000,
  uploadTimeoutMs: 120_000,
  closeTimeoutMs: 10_000,
  adaptive: true,
  maxConcurrentUploadsCeiling: 32,
});

/** The keys of the `upload` group. */
const UPLOAD_KEYS: readonly string[] = Object.freeze([
  'uploadDelayMs',
  'maxConcurrentUploads',
  'maxRetries',
  'autoCleanupOnUpload',
  'cleanupOnReportComplete',
  ...CHUNK_MANAGER_ONLY_KEYS.filter((k) => k !== 'uploader'),
]);

/** The keys of the `store` group. */
const STORAGE_KEYS: readonly string[] = Object.freeze(
  Object.keys(DEFAULT_CHUNK_STORE_OPTIONS).filter((k) => !UPLOAD_KEYS.includes(k)),
);

/** Every key `ChunkManager` takes (store options included): anything else is refused with a hint. */
const CHUNK_MANAGER_KEYS: readonly string[] = Object.freeze([
  ...Object.keys(DEFAULT_CHUNK_MANAGER_OPTIONS),
  'uploader',
  'onProgress',
  'onComplete',
  'onError',
  'store',
  'upload',
]);

/** The grouped form (`store`, `upload`) as the flat one; a key in a group it does not belong to, or twice, is refused. */
function flattenGroups(options: ChunkManagerOptions): ChunkManagerOptions {
  if (typeof options !== 'object' || options === null) return options;
  const { store, upload, ...flat } = options;
  if (store === undefined && upload === undefined) return options;
  const out: Record<string, unknown> = { ...flat };
  for (const [group, value, keys] of [
    ['store', store, STORAGE_KEYS],
    ['upload', upload, UPLOAD_KEYS],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null) throw check.invalid(group, 'an object', value);
    const unknown = findUnknownOption(value, keys);
    if (unknown !== undefined) {
      throw new ChunkError(
        ERROR_CODES.INVALID_OPTION,
        unknownOptionMessage(`ChunkManager's ${group} options`, unknown, keys),
        { details: { option: `${group}.${unknown.key}` } },
      );
    }
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (out[k] !== undefined) {
        throw check.invalid(`${group}.${k}`, `given once (${k} is also set at the top level)`, v);
      }
      out[k] = v;
    }
  }
  return out as unknown as ChunkManagerOptions;
}

/** Options of `waitForReport` and `drain`. */
export interface WaitOptions {
  /** Stops waiting (rejects with `ABORTED`); the upload itself goes on. */
  signal?: AbortSignal;
}

/** `getStats()`: the store's counts plus the engine's counters. */
export interface ChunkManagerStats extends ChunkStoreStats {
  upload: UploadCounters & {
    /** Uploads in flight now. */
    inFlight: number;
    /** True between `start()` and `close()`. */
    running: boolean;
    /** Chunks found `uploading` at open (left by a crash) and put back to pending. */
    recoveredAtOpen: number;
    /** Uploads allowed at once now (the adaptive limit, or `maxConcurrentUploads`). */
    concurrencyLimit: number;
  };
}

type Listener<E extends keyof ChunkEventMap> = ChunkEventMap[E];

/** Where a manager's (and its store's) events are listened to: the listener half, never `emit`. */
export type ChunkEventSource = Pick<
  ChunkStore,
  'on' | 'once' | 'off' | 'addListener' | 'removeListener' | 'removeAllListeners' | 'listenerCount'
>;

/**
 * Stores large reports as compressed chunks in SQLite and delivers them: paced, prioritised, fair, retried with
 * backoff, resumable after a crash, and — with the per-chunk idempotency key — applied once by a deduplicating
 * server. One manager per database file.
 */
export class ChunkManager extends ClosableBase {
  /** The underlying store (cleanup, stats, decoding). Closed by `close()`. */
  readonly store: ChunkStore;
  readonly #queue: UploadQueue;
  readonly #engine: UploadEngine;
  readonly #closeTimeoutMs: number;
  readonly #recovered: number;
  readonly #cancelWaits = new Set<(error: ChunkError) => void>();
  #closePromise: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;

  constructor(given: ChunkManagerOptions) {
    super();
    const options = flattenGroups(given);
    const {
      uploader,
      retryBaseDelayMs = DEFAULT_CHUNK_MANAGER_OPTIONS.retryBaseDelayMs,
      retryMaxDelayMs = DEFAULT_CHUNK_MANAGER_OPTIONS.retryMaxDelayMs,
      uploadTimeoutMs = DEFAULT_CHUNK_MANAGER_OPTIONS.uploadTimeoutMs,
      closeTimeoutMs = DEFAULT_CHUNK_MANAGER_OPTIONS.closeTimeoutMs,
      adaptive = DEFAULT_CHUNK_MANAGER_OPTIONS.adaptive,
      maxConcurrentUploadsCeiling = DEFAULT_CHUNK_MANAGER_OPTIONS.maxConcurrentUploadsCeiling,
      onProgress,
      onComplete,
      onError,
      ...storeOptions
    } = options ?? ({} as ChunkManagerOptions);
    const unknown = findUnknownOption(options ?? {}, CHUNK_MANAGER_KEYS);
    if (unknown !== undefined) {
      throw new ChunkError(
        ERROR_CODES.INVALID_OPTION,
        unknownOptionMessage('ChunkManager', unknown, CHUNK_MANAGER_KEYS),
        { details: { option: unknown.key } },
      );
    }
    if (storeOptions.readOnly === true) {
      throw check.invalid(
        'readOnly',
        'false for a ChunkManager (open a ChunkStore with readOnly: true to inspect)',
        true,
      );
    }
    const uploaderFor = resolveUploader(uploader);
    check.integer('retryBaseDelayMs', retryBaseDelayMs, { min: 0 });
    check.integer('retryMaxDelayMs', retryMaxDelayMs, { min: 0 });
    if (retryMaxDelayMs < retryBaseDelayMs) {
      throw check.invalid('retryMaxDelayMs', `>= retryBaseDelayMs (${retryBaseDelayMs})`, retryMaxDelayMs);
    }
    check.integer('uploadTimeoutMs', uploadTimeoutMs, { min: 1 });
    check.integer('closeTimeoutMs', closeTimeoutMs, { min: 0 });
    check.boolean('adaptive', adaptive);
    check.integer('maxConcurrentUploadsCeiling', maxConcurrentUploadsCeiling, { min: 1, max: 256 });
    for (const [name, fn] of Object.entries({ onProgress, onComplete, onError })) {
      check.optionalFunction(name, fn);
    }
    this.#closeTimeoutMs = closeTimeoutMs;

    this.store = new ChunkStore(storeOptions);
    const ceiling = Math.max(maxConcurrentUploadsCeiling, this.store.options.maxConcurrentUploads);
    if (options.maxConcurrentUploadsCeiling !== undefined && ceiling !== maxConcurrentUploadsCeiling) {
      void this.store.close();
      throw check.invalid(
        'maxConcurrentUploadsCeiling',
        '>= maxConcurrentUploads',
        maxConcurrentUploadsCeiling,
      );
    }
    try {
      this.#queue = new UploadQueue(this.store.sql);
      // A crash leaves chunks `uploading`; nobody is sending them now. With the idempotency key a re-send of one
      // that did land is applied once.
      this.#recovered = this.#queue.resetInterrupted();
    } catch (err) {
      void this.store.close();
      throw err;
    }
    const o = this.store.options;
    if (this.#recovered > 0) {
      o.logger.info({ chunks: this.#recovered }, 'chunks interrupted by a previous run are pending again');
    }
    this.#engine = new UploadEngine(
      {
        maxConcurrentUploads: o.maxConcurrentUploads,
        adaptive,
        maxConcurrentUploadsCeiling: ceiling,
        uploadDelayMs: o.uploadDelayMs,
        maxRetries: o.maxRetries,
        retryBaseDelayMs,
        retryMaxDelayMs,
        uploadTimeoutMs,
        autoCleanupOnUpload: o.autoCleanupOnUpload,
        cleanupOnReportComplete: o.cleanupOnReportComplete,
      },
      {
        queue: this.#queue,
        readChunk: (tenantId, reportId, chunkIndex) =>
          this.store.readChunk(tenantId, { reportId, chunkIndex }, { verify: 'frame' }),
        uploaderFor,
        dbBusy: () => this.store.sqlite.inTransaction,
        events: {
          emit: (event, payload) => storeEmit(this.store, event, payload),
          listenerCount: (event) => this.store.listenerCount(event),
        },
        clock: o.clock,
        logger: o.logger,
        random: Math.random,
        callbacks: { onProgress, onComplete, onError },
      },
    );
    this.store.on('chunk:cleanup', (event) => {
      if (event.reason === 'report' && event.chunksDeleted > 0) this.#compactSoon();
    });
  }

  /**
   * After `cleanupOnReportComplete` deleted a report's chunks, return the freed pages to the OS (the store's
   * incremental vacuum). One at a time; a failure is logged, never thrown.
   */
  #compactSoon(): void {
    if (this.#compacting !== undefined || this.#closePromise !== undefined) return;
    this.#compacting = this.store
      .compact()
      .catch((err: unknown) => this.store.options.logger.warn({ err }, 'chunk store compaction failed'))
      .finally(() => {
        this.#compacting = undefined;
      });
  }

  /**
   * Opens a manager (same as `new ChunkManager(options)`, which is the one way to open it).
   * @deprecated Use `new ChunkManager(options)`.
   */
  static async open(options: ChunkManagerOptions): Promise<ChunkManager> {
    return new ChunkManager(options);
  }

  /** Where storage and upload events are listened to (the store's emitter; `emit` is not public). */
  get events(): ChunkEventSource {
    return this.store;
  }

  /** Subscribes to an event. */
  on<E extends keyof ChunkEventMap>(event: E, listener: Listener<E>): this {
    (this.store.on as (e: E, l: Listener<E>) => unknown)(event, listener);
    return this;
  }

  /** Subscribes to one occurrence of an event. */
  once<E extends keyof ChunkEventMap>(event: E, listener: Listener<E>): this {
    (this.store.once as (e: E, l: Listener<E>) => unknown)(event, listener);
    return this;
  }

  /** Unsubscribes. */
  off<E extends keyof ChunkEventMap>(event: E, listener: Listener<E>): this {
    (this.store.off as (e: E, l: Listener<E>) => unknown)(event, listener);
    return this;
  }

  /** True when the report crosses a chunking threshold. */
  needsChunking(report: Report): boolean {
    return this.store.needsChunking(report);
  }

  /** Stores the report's chunks (one transaction) and wakes the upload workers. */
  async submitReport(report: Report, options: SubmitReportOptions): Promise<SubmitReportResult> {
    this.#assertOpen();
    const result = await this.store.submitReport(report, options);
    this.#engine.wake();
    return result;
  }

  /**
   * Starts a streamed report (see `ChunkStore.beginReport`): add findings, then `commit()` — which also wakes the
   * upload workers — or `abort()`.
   */
  async beginReport(options: BeginReportOptions): Promise<ReportWriter> {
    this.#assertOpen();
    const writer = await this.store.beginReport(options);
    const commit = writer.commit.bind(writer);
    writer.commit = async (options) => {
      const result = await commit(options);
      if (this.#closePromise === undefined) this.#engine.wake();
      return result;
    };
    return writer;
  }

  /** The tenant's committed reports with their delivery figures, oldest first (no chunk is read). */
  async listReports(tenantId: string, options: ListReportsOptions = {}): Promise<StoredReportSummary[]> {
    this.#assertOpen();
    return this.store.listReports(tenantId, options);
  }

  /**
   * Starts uploading (pending chunks, then whatever is submitted); resolves once the workers run. Idempotent.
   * Throws `CLOSED` after `close()` (synchronously, so a caller that does not await still sees the misuse).
   */
  start(): Promise<void> {
    this.#assertOpen();
    this.#engine.start();
    return Promise.resolve();
  }

  /** Upload progress of one report of a tenant, or `undefined` when it does not exist (anymore). */
  async getProgress(tenantId: string, reportId: string): Promise<ReportProgress | undefined> {
    this.#assertOpen();
    return this.#queue.progress(tenantId, reportId);
  }

  /** Dead-lettered chunks (`failed`: refused or out of retries; `corrupt`: quarantined). */
  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    this.#assertOpen();
    return this.#queue.listDeadLetters(filter);
  }

  /**
   * Re-queues a report's `failed` chunks (attempts reset) and reopens the report. `corrupt` chunks cannot be
   * re-sent. Returns how many chunks were re-queued.
   */
  async retryFailed(tenantId: string, reportId: string): Promise<number> {
    this.#assertOpen();
    // The store's Kysely transactions share the connection; never nest this write into one of them.
    while (this.store.sqlite.inTransaction) await new Promise<void>((resolve) => setImmediate(resolve));
    const n = this.#queue.requeueFailed(tenantId, reportId, this.store.options.clock.now());
    if (n > 0) this.#engine.wake();
    return n;
  }

  /**
   * Resolves with the report's progress once it is `completed`; rejects with a `ChunkError` once it settles
   * `partial` or `failed` (code of the first dead letter's error), with `NOT_FOUND` when there is no such report,
   * `ABORTED` on `signal`, `CLOSED` on `close()`.
   */
  waitForReport(tenantId: string, reportId: string, options: WaitOptions = {}): Promise<ReportProgress> {
    return this.#waitUntil(
      options.signal,
      (): { value: ReportProgress } | { error: ChunkError } | undefined => {
        // Re-checked after every acknowledged chunk: only a settled report needs its full progress. A streamed
        // report not committed yet is waited for too.
        const status = this.#queue.status(tenantId, reportId);
        if (status === 'pending' || status === 'uploading' || status === 'staging') return undefined;
        const progress = this.#queue.progress(tenantId, reportId);
        if (progress === undefined) {
          return {
            error: new ChunkError(ERROR_CODES.NOT_FOUND, `no report ${reportId} in tenant ${tenantId}`),
          };
        }
        switch (progress.status) {
          case 'completed':
            return { value: progress };
          case 'partial':
          case 'failed':
            return { error: reportFailure(progress) };
          case 'pending':
          case 'uploading':
            return undefined;
        }
      },
    );
  }

  /**
   * Resolves once no chunk is pending, waiting for a retry or in flight (dead letters do not count). Needs
   * `start()` to make progress; bound it with `signal`.
   */
  async drain(options: WaitOptions = {}): Promise<void> {
    await this.#waitUntil(options.signal, () =>
      this.#queue.outstanding() === 0 ? { value: undefined } : undefined,
    );
  }

  /**
   * Same as `drain()`.
   * @deprecated Use `drain()`.
   */
  flush(options: WaitOptions = {}): Promise<void> {
    return this.drain(options);
  }

  /** The store's counts and bytes (one tenant or all) plus the engine's counters. */
  async getStats(tenantId?: string): Promise<ChunkManagerStats> {
    this.#assertOpen();
    const stats = await this.store.getStats(tenantId);
    // A claimed chunk's row stays `pending` until its outcome is recorded (see UploadQueue): count it as uploading.
    const claimed = Math.min(this.#queue.claimedCount(tenantId), stats.chunks.pending);
    return {
      ...stats,
      chunks: {
        ...stats.chunks,
        pending: stats.chunks.pending - claimed,
        uploading: stats.chunks.uploading + claimed,
      },
      upload: {
        ...this.#engine.counters,
        inFlight: this.#engine.inFlight,
        running: this.#engine.running,
        recoveredAtOpen: this.#recovered,
        concurrencyLimit: this.#engine.concurrencyLimit,
      },
    };
  }

  /**
   * Stops taking chunks, waits up to `closeTimeoutMs` for those in flight, aborts the rest (back to pending),
   * rejects pending waits with `CLOSED`, and closes the database. Same promise on every call.
   */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      const closed = new ChunkError(ERROR_CODES.CLOSED, 'the chunk manager is closed');
      for (const cancel of [...this.#cancelWaits]) cancel(closed);
      try {
        await this.#engine.stop(this.#closeTimeoutMs);
        await this.#compacting;
      } finally {
        await this.store.close();
      }
    })();
    return this.#closePromise;
  }

  /**
   * Waits until `check` returns a value or an error, re-checking after every settling event and on a slow poll
   * (deletions by cleanup emit no settling event).
   */
  #waitUntil<T>(
    signal: AbortSignal | undefined,
    check: () => { value: T } | { error: ChunkError } | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closePromise !== undefined) {
        reject(new ChunkError(ERROR_CODES.CLOSED, 'the chunk manager is closed'));
        return;
      }
      const events = [
        'chunk:uploaded',
        'chunk:failed',
        'report:completed',
        'report:failed',
        'report:dropped',
        'chunk:cleanup',
      ] as const;
      const timers: { poll?: ReturnType<typeof setInterval> } = {};
      // While this wait is pending, the engine's timers (retry due, pacing) keep the process alive: a program whose
      // only work is this wait must not exit in the middle of it.
      const release = this.#engine.hold();
      const finish = (): void => {
        release();
        for (const e of events) this.store.off(e, recheck);
        clearInterval(timers.poll);
        signal?.removeEventListener('abort', onAbort);
        this.#cancelWaits.delete(cancel);
      };
      const cancel = (error: ChunkError): void => {
        finish();
        reject(error);
      };
      const onAbort = (): void =>
        cancel(new ChunkError(ERROR_CODES.ABORTED, 'wait aborted', { cause: signal?.reason }));
      const recheck = (): void => {
        let outcome: ReturnType<typeof check>;
        try {
          outcome = check();
        } catch (err) {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (outcome === undefined) return;
        finish();
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      this.#cancelWaits.add(cancel);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const e of events) this.store.on(e, recheck);
      timers.poll = setInterval(recheck, 250);
      timers.poll.unref?.();
      recheck();
    });
  }

  #assertOpen(): void {
    if (this.#closePromise !== undefined)
      throw new ChunkError(ERROR_CODES.CLOSED, 'the chunk manager is closed');
  }
}

function resolveUploader(uploader: ChunkManagerOptions['uploader']): (tenantId: string) => ChunkUploader {
  if (typeof uploader === 'function') {
    return (tenantId) => {
      const u = uploader(tenantId);
      if (typeof u?.uploadChunk !== 'function') {
        throw new ChunkError(ERROR_CODES.INVALID_OPTION, `uploader(${tenantId}) returned no ChunkUploader`, {
          details: { option: 'uploader' },
        });
      }
      return u;
    };
  }
  if (typeof uploader !== 'object' || uploader === null || typeof uploader.uploadChunk !== 'function') {
    throw check.invalid('uploader', 'a ChunkUploader or a function returning one per tenant', uploader);
  }
  return () => uploader;
}
