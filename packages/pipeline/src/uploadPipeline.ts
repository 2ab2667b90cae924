import { randomUUID } from 'node:crypto';
import type {
  PipelineStats,
  QueueItem,
  RediverError,
  Report,
  ReportUploader,
  UploadResult,
} from '@rediver/core';
import {
  Component,
  findUnknownOption,
  isRediverError,
  isValidReportId,
  optionNames,
  PRIORITY,
  unknownOptionMessage,
} from '@rediver/core';
import { EventEmitter } from 'eventemitter3';
import type { RetryInfo, UploadPipelineEvents } from './events';
import { Attempt, AttemptOptions } from './internal/attempt';
import { computeRetryDelayMs } from './internal/backoff';
import { jsonByteLength } from './internal/jsonByteLength';
import { PriorityQueue } from './internal/priorityQueue';
import type { ResolvedOptions } from './internal/resolveOptions';
import { resolveOptions } from './internal/resolveOptions';
import type { FlushOptions, StopOptions, SubmitOptions, UploadPipelineOptions } from './options';
import { PipelineError } from './pipelineError';

/**
 * How long an uploader may take to honour a timed-out attempt's abort before the pipeline frees the
 * worker anyway (the uploader broke its contract; the late outcome is ignored and logged).
 */
const ABORT_GRACE_MS = 1000;

type State = 'running' | 'draining' | 'stopped';

/** Events announced per item, each with its option callback. */
type ItemEvent = 'submitted' | 'completed' | 'failed';
const CALLBACK_NAMES = { submitted: 'onSubmitted', completed: 'onCompleted', failed: 'onFailed' } as const;

/**
 * Non-blocking report uploads: `submit` queues a report and returns its id at once; `workers`
 * background uploads deliver through a `ReportUploader`, highest priority first, retrying what can
 * succeed later with capped, jittered exponential backoff. Every accepted item ends exactly once as
 * completed, failed or returned (handed back by `stop`), and
 * `submitted = completed + failed + returned + inProgress + queueLength` holds at every moment.
 */
export class UploadPipeline extends Component<UploadPipelineEvents> {
  private readonly uploader: ReportUploader;
  private readonly opts: ResolvedOptions;
  private readonly queue = new PriorityQueue<QueueItem>();
  private readonly inFlight = new Set<Attempt>();
  /** Items waiting for a retry, with their timers. */
  private readonly waiting = new Map<QueueItem, ReturnType<typeof setTimeout>>();
  private readonly idleWaiters = new Set<() => void>();

  private submitted = 0;
  private completed = 0;
  private failed = 0;
  private retries = 0;
  private returned = 0;
  private totalBytes = 0;

  private state: State = 'running';
  /** Work was accepted since the last `idle`: `idle` fires once per busy period. */
  private busy = false;
  private pumpScheduled = false;
  private readonly pumpTask = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private deadlineAt = Infinity;
  private readonly onDeadline = (): void => this.checkDeadlines();

  private stopPromise: Promise<QueueItem[]> | undefined;
  private closePromise: Promise<void> | undefined;
  private resolveStop: ((items: QueueItem[]) => void) | undefined;
  private readonly stopCleanups: (() => void)[] = [];

  /** Creates a pipeline delivering through `uploader`; throws `INVALID_OPTION` for a bad option. */
  constructor(uploader: ReportUploader, options: UploadPipelineOptions = {}) {
    super(new EventEmitter());
    if (typeof uploader?.uploadReport !== 'function') {
      throw new PipelineError(
        'INVALID_OPTION',
        'UploadPipeline needs a ReportUploader (an object with uploadReport)',
      );
    }
    this.uploader = uploader;
    this.opts = resolveOptions(options);
  }

  /**
   * Queues `report` and returns its item id at once; never waits for an upload. Throws a
   * `PipelineError`: `CLOSED` after `stop`; `REPORT_ID_INVALID` / `VALIDATION_FAILED` for a report the
   * platform would refuse and `INVALID_OPTION` for an unknown option key (both checked first, so a report
   * that can never be accepted never gets `QUEUE_FULL`); `QUEUE_FULL` when `queueSize` items already wait
   * beyond what the free workers take at once. A refused report is not counted anywhere.
   */
  submit(report: Report, options?: SubmitOptions): string {
    if (this.state !== 'running') {
      throw new PipelineError('CLOSED', 'the upload pipeline is stopped and accepts no more reports');
    }
    const opts = this.opts;
    if (typeof report !== 'object' || report === null) {
      throw new PipelineError('VALIDATION_FAILED', 'submit needs a report object');
    }
    if (!isValidReportId(report.metadata?.id)) {
      throw new PipelineError(
        'REPORT_ID_INVALID',
        'report.metadata.id must be 1..256 characters of [A-Za-z0-9_-]',
      );
    }
    let priority: number = PRIORITY.normal;
    let sizeBytes: number | undefined;
    let jobId: string | undefined;
    let tenantId: string | undefined;
    if (options !== undefined) {
      checkSubmitOptions(options);
      jobId = options.jobId;
      tenantId = options.tenantId;
      if (options.priority !== undefined) {
        priority = options.priority;
        if (!Number.isSafeInteger(priority)) {
          throw new PipelineError(
            'VALIDATION_FAILED',
            `priority must be an integer (got ${String(priority)})`,
          );
        }
      }
      if (options.sizeBytes !== undefined) {
        sizeBytes = options.sizeBytes;
        if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
          throw new PipelineError(
            'VALIDATION_FAILED',
            `sizeBytes must be a non-negative integer (got ${String(sizeBytes)})`,
          );
        }
      }
    }
    sizeBytes ??= measure(report);
    // Capacity counts items that wait: queued beyond what the free workers take at the next pump, plus
    // those waiting for a retry. An item a free worker takes at once is not waiting, so five same-tick
    // submits to an idle pipeline with 8 workers fit whatever queueSize is.
    const free = opts.workers - this.inFlight.size;
    const waitingAfter = Math.max(0, this.queue.size + 1 - free) + this.waiting.size;
    if (waitingAfter > opts.queueSize) {
      throw new PipelineError(
        'QUEUE_FULL',
        `the upload queue is full (${opts.queueSize} reports waiting for a worker or a retry); this report ` +
          "was not accepted: persist it elsewhere or wait for the pipeline's 'idle' event before submitting " +
          'more (queueSize bounds what is held in memory)',
        { details: { queueSize: opts.queueSize } },
      );
    }
    const item: QueueItem = {
      id: randomUUID(),
      report,
      jobId,
      tenantId,
      priority,
      attempts: 0,
      submittedAt: opts.clock.now(),
      sizeBytes,
    };
    this.queue.push(item, priority);
    this.busy = true;
    this.submitted++;
    this.totalBytes += sizeBytes;
    if (opts.verbose)
      opts.logger.info({ itemId: item.id, jobId, priority, sizeBytes }, 'report queued for upload');
    this.notify('submitted', item, undefined);
    // Uploads start on a microtask: the uploader's synchronous work never runs inside submit.
    if (!this.pumpScheduled && this.inFlight.size < opts.workers) {
      this.pumpScheduled = true;
      queueMicrotask(this.pumpTask);
    }
    return item.id;
  }

  /**
   * Resolves exactly when nothing is queued, in flight or waiting for a retry (at once if so now).
   * Rejects with `ABORTED` when `signal` fires; the uploads go on.
   */
  flush(options: FlushOptions = {}): Promise<void> {
    const bad = checkOptions('flush', options, FLUSH_OPTION_KEYS);
    if (bad !== undefined) return Promise.reject(bad);
    if (this.isIdle()) return Promise.resolve();
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortedError('flush', signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.idleWaiters.delete(done);
        reject(abortedError('flush', signal?.reason));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.idleWaiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops accepting reports. With `drain` (default) it delivers everything held — retries
   * included — then resolves with `[]`. Without `drain`, or when `signal` fires, it aborts the
   * attempts in flight, cancels pending retries and resolves with every undelivered item (in flight,
   * waiting for a retry, then queued in serving order) so the caller can persist them; they count as
   * `returned`. Every call returns the same promise; a later call without `drain` (or with a fired
   * signal) cuts a running drain short.
   */
  stop(options: StopOptions = {}): Promise<QueueItem[]> {
    const bad = checkOptions('stop', options, STOP_OPTION_KEYS);
    if (bad !== undefined) return Promise.reject(bad);
    if (this.stopPromise === undefined) {
      this.state = 'draining';
      this.stopPromise = new Promise<QueueItem[]>((resolve) => {
        this.resolveStop = resolve;
      });
      this.opts.logger.info(
        { stats: this.getStats(), drain: options.drain ?? true },
        'upload pipeline stopping',
      );
    }
    if (this.state === 'draining') {
      const { signal } = options;
      if (options.drain === false || signal?.aborted) {
        this.handBack();
      } else if (signal !== undefined) {
        const onAbort = (): void => this.handBack();
        signal.addEventListener('abort', onAbort, { once: true });
        this.stopCleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
      if (this.state === 'draining' && this.isIdle()) this.finishStop([]);
    }
    return this.stopPromise;
  }

  /**
   * Stops with drain and resolves once stopped; the same promise on every call. It hands nothing back: items a
   * `stop` without drain (or a fired signal) returned are `stop()`'s result (the same promise whoever called first)
   * and the `pipeline:returned` event.
   */
  close(): Promise<void> {
    this.closePromise ??= this.stop({ drain: true }).then(() => undefined);
    return this.closePromise;
  }

  /** Counters; `submitted = completed + failed + returned + inProgress + queueLength` always holds. */
  getStats(): PipelineStats {
    return {
      submitted: this.submitted,
      completed: this.completed,
      failed: this.failed,
      retries: this.retries,
      inProgress: this.inFlight.size + this.waiting.size,
      queueLength: this.queue.size,
      totalBytes: this.totalBytes,
      returned: this.returned,
    };
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.inFlight.size === 0 && this.waiting.size === 0;
  }

  private pump(): void {
    const workers = this.opts.workers;
    while (this.inFlight.size < workers && this.state !== 'stopped') {
      const item = this.queue.shift();
      if (item === undefined) return;
      this.startAttempt(item);
    }
  }

  private startAttempt(item: QueueItem): void {
    item.attempts++;
    const deadline = this.opts.clock.now() + this.opts.uploadTimeoutMs;
    const attempt = new Attempt(item, deadline);
    this.inFlight.add(attempt);
    if (deadline < this.deadlineAt) this.armDeadline(deadline);
    let pending: Promise<UploadResult>;
    try {
      pending = this.uploader.uploadReport(item.report, new AttemptOptions(attempt));
      if (typeof pending?.then !== 'function') pending = Promise.resolve(pending);
    } catch (err) {
      // Settle on a microtask like an async failure: no re-entrant pump, no deep recursion.
      queueMicrotask(() => this.onFailure(attempt, err));
      return;
    }
    pending.then(
      (result) => this.onSuccess(attempt, result),
      (err: unknown) => this.onFailure(attempt, err),
    );
  }

  private onSuccess(attempt: Attempt, result: UploadResult): void {
    if (attempt.settled) return;
    attempt.settled = true;
    this.inFlight.delete(attempt);
    const item = attempt.item;
    this.completed++;
    const opts = this.opts;
    if (opts.verbose)
      opts.logger.info({ itemId: item.id, jobId: item.jobId, attempts: item.attempts }, 'report uploaded');
    this.notify('completed', item, result);
    this.afterSettle();
  }

  private onFailure(attempt: Attempt, cause: unknown): void {
    if (attempt.settled) return;
    attempt.settled = true;
    this.inFlight.delete(attempt);
    const item = attempt.item;
    const error = attempt.timedOut ? this.timeoutError(cause) : asRediverError(cause);
    item.lastError = { message: error.message, code: error.code };
    if (error.retryable && item.attempts <= this.opts.retryAttempts && this.state !== 'stopped') {
      this.scheduleRetry(item, error);
    } else {
      this.fail(item, error);
    }
    this.afterSettle();
  }

  private scheduleRetry(item: QueueItem, error: RediverError): void {
    const opts = this.opts;
    const retry = item.attempts;
    const delayMs = computeRetryDelayMs(opts, retry, opts.random(), error.retryAfterMs);
    this.retries++;
    // Not unref'd: a report waiting for its retry is unfinished work, and letting the process exit under it
    // would lose the report silently. `stop` clears it.
    const timer = setTimeout(() => this.onRetryDue(item), delayMs);
    this.waiting.set(item, timer);
    if (opts.verbose) {
      opts.logger.info(
        { itemId: item.id, retry, delayMs, code: error.code },
        'report upload failed; retry scheduled',
      );
    }
    const info: RetryInfo = { error, retry, delayMs };
    this.announce('item:retry', () => [{ item, ...info }]);
    this.announce('retry', () => [item, info]);
  }

  private onRetryDue(item: QueueItem): void {
    if (!this.waiting.delete(item)) return;
    // Ahead of its priority's newcomers: it has waited its turn already.
    this.queue.unshift(item, item.priority);
    this.pump();
  }

  private fail(item: QueueItem, error: RediverError): void {
    this.failed++;
    const opts = this.opts;
    opts.logger.warn(
      { itemId: item.id, jobId: item.jobId, attempts: item.attempts, err: error.toJSON() },
      'report upload given up',
    );
    this.notify('failed', item, error);
  }

  /**
   * The one place an item's `submitted`/`completed`/`failed` is announced: the option callback,
   * then the event (see `announce`), each guarded so a throwing listener is logged and changes nothing.
   */
  private notify(event: ItemEvent, item: QueueItem, detail: UploadResult | RediverError | undefined): void {
    const opts = this.opts;
    const callback = (
      event === 'submitted' ? opts.onSubmitted : event === 'completed' ? opts.onCompleted : opts.onFailed
    ) as ((item: QueueItem, detail: unknown) => void) | undefined;
    if (callback !== undefined) {
      try {
        callback(item, detail);
      } catch (err) {
        this.listenerFailed(CALLBACK_NAMES[event], err);
      }
    }
    switch (event) {
      case 'submitted':
        this.announce('item:submitted', () => [{ item }]);
        this.announce('submitted', () => [item]);
        break;
      case 'completed': {
        const result = detail as UploadResult;
        this.announce('item:completed', () => [{ item, result }]);
        this.announce('completed', () => [item, result]);
        break;
      }
      case 'failed': {
        const error = detail as RediverError;
        this.announce('item:failed', () => [{ item, error }]);
        this.announce('failed', () => [item, error]);
        break;
      }
    }
  }

  private afterSettle(): void {
    this.pump();
    if (this.isIdle()) this.becameIdle();
  }

  private becameIdle(): void {
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
      this.deadlineAt = Infinity;
    }
    for (const done of this.idleWaiters) done();
    this.idleWaiters.clear();
    if (this.busy) {
      this.busy = false;
      this.announce('pipeline:idle', () => []);
      this.announce('idle', () => []);
    }
    if (this.state === 'draining') this.finishStop([]);
  }

  /** Ends the pipeline now, handing every undelivered item back. */
  private handBack(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped'; // before aborting: nothing new may start from here on
    const items: QueueItem[] = [];
    const reason = new PipelineError(
      'CLOSED',
      'the upload pipeline stopped; the item was handed back undelivered',
    );
    for (const attempt of this.inFlight) {
      attempt.settled = true;
      items.push(attempt.item);
      attempt.abort(reason);
    }
    this.inFlight.clear();
    for (const [item, timer] of this.waiting) {
      clearTimeout(timer);
      items.push(item);
    }
    this.waiting.clear();
    const queued = this.queue.drain();
    for (let i = 0; i < queued.length; i++) items.push(queued[i] as QueueItem);
    this.returned += items.length;
    if (items.length > 0) {
      this.opts.logger.warn(
        { count: items.length },
        'upload pipeline stopped; undelivered reports handed back',
      );
      this.announce('pipeline:returned', () => [{ items }]);
      this.announce('returned', () => [items]);
      this.becameIdle();
    }
    this.finishStop(items);
  }

  private finishStop(items: QueueItem[]): void {
    this.state = 'stopped';
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
      this.deadlineAt = Infinity;
    }
    for (const cleanup of this.stopCleanups) cleanup();
    this.stopCleanups.length = 0;
    const resolve = this.resolveStop;
    this.resolveStop = undefined;
    if (resolve !== undefined) {
      this.opts.logger.info({ stats: this.getStats() }, 'upload pipeline stopped');
      resolve(items);
    }
  }

  /** One shared timer for every attempt's deadline: no timer is created or cleared per upload. */
  private armDeadline(at: number): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    // Not unref'd: it exists only while attempts are in flight, and a pending flush() or stop() may depend on
    // it (an uploader that never settles and holds no handle of its own is freed only by this timer).
    this.deadlineTimer = setTimeout(this.onDeadline, Math.max(0, at - this.opts.clock.now()));
  }

  private checkDeadlines(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = this.opts.clock.now();
    for (const attempt of this.inFlight) {
      if (attempt.deadline > now) continue;
      if (!attempt.timedOut) {
        attempt.timedOut = true;
        attempt.deadline = now + ABORT_GRACE_MS;
        attempt.abort(this.timeoutError(undefined));
      } else {
        this.opts.logger.warn(
          { itemId: attempt.item.id, graceMs: ABORT_GRACE_MS },
          'uploader ignored the abort of a timed-out attempt; its late outcome will be ignored',
        );
        this.onFailure(attempt, undefined);
      }
    }
    let next = Infinity;
    for (const attempt of this.inFlight) if (attempt.deadline < next) next = attempt.deadline;
    if (next !== Infinity && next < this.deadlineAt) this.armDeadline(next);
  }

  private timeoutError(cause: unknown): PipelineError {
    return new PipelineError(
      'TIMEOUT',
      `report upload attempt timed out after ${this.opts.uploadTimeoutMs} ms`,
      {
        cause,
      },
    );
  }

  /**
   * Emits `event` with the arguments `args` builds, only when it has listeners (every event has a new name and a
   * deprecated alias: building both payloads for nobody cost submit's p50 13 %, docs/benchmarks-issue-16.md). A
   * throwing listener is logged and reported as `error`, never propagated.
   */
  private announce<K extends keyof UploadPipelineEvents>(
    event: K,
    args: () => Parameters<UploadPipelineEvents[K]>,
  ): void {
    if (this.listenerCount(event) === 0) return;
    try {
      this.emit(event, ...args());
    } catch (err) {
      this.listenerFailed(event, err);
    }
  }

  private listenerFailed(listener: string, err: unknown): void {
    this.opts.logger.error({ listener, err }, 'upload pipeline listener threw; ignored');
    const error = new PipelineError(
      'INTERNAL',
      `a '${listener}' listener or callback threw: ${String(err)}`,
      {
        cause: err,
        details: { listener },
      },
    );
    try {
      this.emit('error', { error, source: 'listener' });
    } catch (again) {
      // A throwing 'error' listener can only be logged: reporting it would recurse.
      this.opts.logger.error({ err: again }, "'error' listener threw");
    }
  }
}

const SUBMIT_OPTION_KEYS = optionNames<SubmitOptions>({
  jobId: true,
  tenantId: true,
  priority: true,
  sizeBytes: true,
});
const FLUSH_OPTION_KEYS = optionNames<FlushOptions>({ signal: true });
const STOP_OPTION_KEYS = optionNames<StopOptions>({ drain: true, signal: true });

/** `INVALID_OPTION` for per-call options that are not an object or carry a key `method` does not know. */
function checkOptions(method: string, options: unknown, known: readonly string[]): PipelineError | undefined {
  if (typeof options !== 'object' || options === null) {
    return new PipelineError(
      'INVALID_OPTION',
      `${method} options must be an object (got ${String(options)})`,
      {
        details: { option: 'options' },
      },
    );
  }
  const unknown = findUnknownOption(options, known);
  if (unknown === undefined) return undefined;
  return new PipelineError('INVALID_OPTION', unknownOptionMessage(method, unknown, known), {
    details: { option: unknown.key },
  });
}

/** Throws for an unknown `submit` option key. On the hot path: a plain loop, the helper only on a miss. */
function checkSubmitOptions(options: SubmitOptions): void {
  let suspect = typeof options !== 'object' || options === null;
  if (!suspect) {
    for (const key in options) {
      if (key !== 'jobId' && key !== 'tenantId' && key !== 'priority' && key !== 'sizeBytes') {
        suspect = true;
        break;
      }
    }
  }
  if (!suspect) return;
  const error = checkOptions('submit', options, SUBMIT_OPTION_KEYS);
  if (error !== undefined) throw error;
}

function measure(report: Report): number {
  try {
    return jsonByteLength(report);
  } catch (err) {
    throw new PipelineError('VALIDATION_FAILED', 'the report cannot be serialised as JSON', { cause: err });
  }
}

function asRediverError(err: unknown): RediverError {
  if (isRediverError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError('INTERNAL', `the uploader failed with a non-Rediver error: ${message}`, {
    cause: err,
  });
}

function abortedError(what: string, reason: unknown): PipelineError {
  return new PipelineError('ABORTED', `${what} was aborted through its signal`, { cause: reason });
}
