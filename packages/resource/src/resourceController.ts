import { EventEmitter } from 'eventemitter3';
import { Component, MAX_TIMER_MS } from '@rediver/core';
import type { ResourceStatus, SystemMetrics } from '@rediver/core';
import { ResourceError } from './errors';
import type { ResourceControllerEvents, ResourceErrorSource, ResourceWarning } from './events';
import type { ListNode } from './internal/waiterList';
import { WaiterList } from './internal/waiterList';
import type { ResolvedOptions } from './internal/resolveOptions';
import { checkAcquireOptions, checkMaxJobs, resolveOptions } from './internal/resolveOptions';
import { figuresOverLimits, headroom } from './internal/thresholds';
import type { AcquireSlotOptions, ResourceControllerOptions } from './options';
import type { SlotHandle } from './slotHandle';

/** `getStatus()`: the core `ResourceStatus` plus the controller's counters. */
export interface ResourceControllerStatus extends ResourceStatus {
  /** Slot handles released a second time (ignored). */
  doubleReleases: number;
  /** `acquireSlotBlocking` waits that hit their `timeoutMs`. */
  timedOutWaits: number;
  /** `acquireSlotBlocking` waits ended by their signal. */
  abortedWaits: number;
  /** Samples taken. */
  samples: number;
  /** Samples the metrics source failed (skipped). */
  sampleErrors: number;
  /** Whether `close()` was called. */
  closed: boolean;
}

interface Waiter extends ListNode {
  resolve: (slot: SlotHandle) => void;
  reject: (error: ResourceError) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
}

class Slot implements SlotHandle {
  released = false;

  constructor(
    private readonly owner: ResourceController,
    readonly acquiredAt: number,
  ) {}

  release(): boolean {
    if (this.released) {
      releaseAgain(this.owner);
      return false;
    }
    this.released = true;
    freeSlot(this.owner);
    return true;
  }

  [Symbol.dispose](): void {
    if (!this.released) this.release();
  }
}

/** Delay of the extra sample `start()` takes when the first one could not measure CPU yet, ms. */
const FIRST_FIGURE_RETRY_MS = 1000;

// Module-private entry points the slot handles use (kept off the controller's public surface).
let freeSlot: (controller: ResourceController) => void;
let releaseAgain: (controller: ResourceController) => void;

/**
 * Admission control from real measurements (`docs/spec/agent-resource-management.md`, Resource Controller). Samples a `MetricsSource`
 * every `sampleIntervalMs` (first at `start()`); throttles when any figure reaches its threshold and
 * clears once every figure has stayed below for `cooldownMs`, counted from the first sample found
 * below (any sample over again restarts the count). Jobs take slots: up to `maxConcurrentJobs`, or
 * `minConcurrentJobs` while throttled. Blocking waiters are served FIFO and woken at once by a release,
 * a resize or a clear.
 */
export class ResourceController extends Component<ResourceControllerEvents> {
  static {
    freeSlot = (controller) => controller.freeSlot();
    releaseAgain = (controller) => controller.releaseAgain();
  }

  private readonly opts: ResolvedOptions;
  private readonly waiters = new WaiterList<Waiter>();
  private maxJobs: number;
  private active = 0;
  private throttled = false;
  private throttledAt: number | undefined;
  private throttleReason: string | undefined;
  /** Clock time of the first sample found below every threshold since the last one over. */
  private belowSince: number | undefined;
  private latest: SystemMetrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private rejected = 0;
  private doubleReleases = 0;
  private timedOutWaits = 0;
  private abortedWaits = 0;
  private samples = 0;
  private sampleErrors = 0;

  /** Validates `options` (throws `INVALID_OPTION`); sampling starts with `start()`. */
  constructor(options: ResourceControllerOptions = {}) {
    super(new EventEmitter());
    this.opts = resolveOptions(options);
    this.maxJobs = this.opts.maxConcurrentJobs;
  }

  /**
   * Takes the first sample and starts sampling every `sampleIntervalMs`; resolves once started (the first sample
   * is taken synchronously). Idempotent. Throws `CLOSED` after `close()` (synchronously: a caller that does not
   * await `start()` still sees the misuse). `whenMeasured()` waits for the first CPU figure.
   */
  start(): Promise<void> {
    if (this.closed) throw new ResourceError('CLOSED', 'ResourceController is closed');
    if (this.started) return Promise.resolve();
    this.started = true;
    const first = this.sample();
    this.timer = setInterval(() => this.sample(), this.opts.sampleIntervalMs);
    this.timer.unref();
    // A rate needs two readings: a source created just before start() has had no time to see CPU work
    // and says 'unavailable'. Measure again soon rather than fly blind for a whole interval.
    if (first?.cpuOrigin === 'unavailable' && this.opts.sampleIntervalMs > FIRST_FIGURE_RETRY_MS) {
      this.retry = setTimeout(() => this.sample(), FIRST_FIGURE_RETRY_MS);
      this.retry.unref();
    }
    return Promise.resolve();
  }

  /**
   * Resolves once the host has been measured: a sample with a real CPU figure (a rate needs two readings, so the
   * first sample at `start()` usually has none; the controller takes the next about 1 s later). Until then
   * admission is blind to CPU load. Bounded by `timeoutMs` (default 3000): a host whose CPU cannot be read must not
   * stall the caller. Resolves with the latest sample (`undefined` when there is none), also after `close()`.
   */
  whenMeasured(
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<SystemMetrics | undefined> {
    const { timeoutMs = 3000, signal } = options;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > MAX_TIMER_MS) {
      return Promise.reject(
        new ResourceError(
          'INVALID_OPTION',
          `timeoutMs must be a number from 0 to ${MAX_TIMER_MS}, got ${String(timeoutMs)}`,
          {
            details: { option: 'timeoutMs' },
          },
        ),
      );
    }
    const measured = (m: SystemMetrics | undefined): boolean =>
      m !== undefined && m.cpuOrigin !== 'unavailable';
    if (measured(this.latest) || this.closed || signal?.aborted === true) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('resource:sampled', onSample);
        signal?.removeEventListener('abort', done);
        resolve(this.latest);
      };
      const onSample = (m: SystemMetrics): void => {
        if (measured(m)) done();
      };
      // Not unref'd: the caller's promise depends on it.
      const timer = setTimeout(done, timeoutMs);
      this.on('resource:sampled', onSample);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Samples now and updates the throttle state from it; returns the sample, or undefined when the
   * source failed (a `SAMPLE_FAILED` warning) or the controller is closed.
   */
  sample(): SystemMetrics | undefined {
    if (this.closed) return undefined;
    let metrics: SystemMetrics;
    try {
      metrics = this.opts.source.sample();
    } catch (error) {
      this.sampleErrors++;
      this.opts.logger.warn({ err: error }, 'resource sample failed');
      this.warn({ code: 'SAMPLE_FAILED', message: `metrics source failed: ${describe(error)}`, error });
      this.failed('sample', `metrics source failed: ${describe(error)}`, error);
      return undefined;
    }
    this.samples++;
    this.latest = metrics;
    const now = this.opts.clock.now();
    const over = figuresOverLimits(metrics, this.opts.limits);
    let transition: 'throttle' | 'resume' | undefined;
    let throttledAt = this.throttledAt ?? now;
    if (over.length > 0) {
      this.belowSince = undefined;
      this.throttleReason = over.join(', ');
      if (!this.throttled) {
        this.throttled = true;
        this.throttledAt = throttledAt = now;
        transition = 'throttle';
      }
    } else if (this.throttled) {
      this.belowSince ??= now;
      if (now - this.belowSince >= this.opts.cooldownMs) {
        this.throttled = false;
        this.throttledAt = undefined;
        this.throttleReason = undefined;
        this.belowSince = undefined;
        transition = 'resume';
      }
    }
    const entry = { metrics, throttled: this.throttled, activeJobs: this.active };
    if (this.opts.verbose) this.opts.logger.info(entry, 'resource sample');
    else this.opts.logger.debug(entry, 'resource sample');
    // Slots first (a clear admits waiters at once), then everyone is told, state already current.
    if (transition === 'resume') this.drain();
    this.safeEmit('resource:sampled', 'sample', metrics);
    if (transition === 'throttle') {
      const reason = this.throttleReason ?? '';
      this.opts.logger.warn({ reason, metrics }, `resource throttle: ${reason}`);
      this.callback('onThresholdExceeded', () => this.opts.onThresholdExceeded?.(metrics, reason));
      this.safeEmit('resource:throttled', 'throttle', { metrics, reason, throttledAt });
    } else if (transition === 'resume') {
      const throttledForMs = now - throttledAt;
      this.opts.logger.info({ throttledForMs, metrics }, 'resource throttle cleared');
      this.callback('onThresholdCleared', () => this.opts.onThresholdCleared?.(metrics));
      this.safeEmit('resource:resumed', 'resume', { metrics, throttledAt, throttledForMs });
    }
    return metrics;
  }

  /**
   * Takes a slot if one is free now (none while blocking waiters queue: they come first); otherwise
   * returns null and counts it in `rejectedJobs`. Throws `CLOSED` after `close()`.
   */
  acquireSlot(): SlotHandle | null {
    if (this.closed) throw new ResourceError('CLOSED', 'ResourceController is closed');
    if (this.waiters.size === 0 && this.active < this.limit()) {
      this.active++;
      return new Slot(this, this.opts.clock.now());
    }
    this.rejected++;
    return null;
  }

  /**
   * Waits for a slot, FIFO behind earlier waiters. Rejects with a `ResourceError`: `ABORTED` when
   * `signal` fires, `TIMEOUT` after `timeoutMs`, `CLOSED` on `close()`, `INVALID_OPTION` for a bad `timeoutMs`.
   */
  acquireSlotBlocking(options: AcquireSlotOptions = {}): Promise<SlotHandle> {
    const badOptions = checkAcquireOptions(options);
    if (badOptions !== undefined) return Promise.reject(badOptions);
    const { signal, timeoutMs } = options;
    if (this.closed) return Promise.reject(new ResourceError('CLOSED', 'ResourceController is closed'));
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > MAX_TIMER_MS)
    ) {
      return Promise.reject(
        new ResourceError(
          'INVALID_OPTION',
          `timeoutMs must be a number from 0 to ${MAX_TIMER_MS}, got ${String(timeoutMs)}`,
          {
            details: { option: 'timeoutMs' },
          },
        ),
      );
    }
    if (signal?.aborted) {
      this.abortedWaits++;
      return Promise.reject(abortError(signal));
    }
    if (this.waiters.size === 0 && this.active < this.limit()) {
      this.active++;
      return Promise.resolve(new Slot(this, this.opts.clock.now()));
    }
    if (timeoutMs === 0) {
      this.timedOutWaits++;
      return Promise.reject(timeoutError(0));
    }
    return new Promise<SlotHandle>((resolve, reject) => {
      const waiter: Waiter = {
        prev: undefined,
        next: undefined,
        linked: false,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        timer: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.abortedWaits++;
          this.dropWaiter(waiter);
          this.opts.logger.debug({ abortedWaits: this.abortedWaits }, 'slot wait aborted');
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.timedOutWaits++;
          this.dropWaiter(waiter);
          this.opts.logger.debug({ timeoutMs, timedOutWaits: this.timedOutWaits }, 'slot wait timed out');
          reject(timeoutError(timeoutMs));
        }, timeoutMs);
        // Not unref'd: the caller's promise depends on this timer. Unref'd, a program whose only pending
        // work is this wait would end in the middle of its `await` (exit code 13) instead of seeing TIMEOUT.
      }
      this.waiters.push(waiter);
    });
  }

  /**
   * Sets the slot count (integer >= max(1, minConcurrentJobs)). Growing admits waiters at once; shrinking
   * revokes nothing and takes effect as running jobs release their slots.
   */
  setMaxConcurrentJobs(n: number): void {
    this.maxJobs = checkMaxJobs(n, this.opts.minConcurrentJobs);
    this.drain();
  }

  /**
   * A slot count for the current load: `min + floor((max - min) * h)`, where `max` is the
   * `maxConcurrentJobs` resolved at construction (so repeated use does not compound), `min` is
   * `minConcurrentJobs` (at least 1) and `h` the headroom of the tightest figure, 0..1:
   * `min over enabled thresholds of (threshold - value) / threshold`. No sample yet: `max`.
   */
  adaptiveMaxJobs(): number {
    const max = this.opts.maxConcurrentJobs;
    const min = Math.min(max, Math.max(1, this.opts.minConcurrentJobs));
    if (this.latest === undefined) return max;
    return min + Math.floor((max - min) * headroom(this.latest, this.opts.limits));
  }

  /** The admission state, the latest sample and the counters. */
  getStatus(): ResourceControllerStatus {
    const status: ResourceControllerStatus = {
      throttled: this.throttled,
      activeJobs: this.active,
      pendingJobs: this.waiters.size,
      rejectedJobs: this.rejected,
      maxJobs: this.maxJobs,
      doubleReleases: this.doubleReleases,
      timedOutWaits: this.timedOutWaits,
      abortedWaits: this.abortedWaits,
      samples: this.samples,
      sampleErrors: this.sampleErrors,
      closed: this.closed,
    };
    if (this.throttledAt !== undefined) status.throttledAt = this.throttledAt;
    if (this.throttleReason !== undefined) status.throttleReason = this.throttleReason;
    if (this.latest !== undefined) status.metrics = this.latest;
    return status;
  }

  /** The latest sample (also for heartbeats' `cpu_percent`/`memory_percent`), or undefined before the first. */
  get metrics(): SystemMetrics | undefined {
    return this.latest;
  }

  /** Whether admission is currently limited to `minConcurrentJobs`. */
  get isThrottled(): boolean {
    return this.throttled;
  }

  /**
   * Stops sampling, rejects every waiter with `CLOSED`, closes the metrics source if the controller
   * created it. Running jobs keep their slots (releasing them stays safe). Same promise on every call.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.timer = undefined;
    this.retry = undefined;
    if (this.waiters.size > 0) {
      this.opts.logger.info(
        { pendingJobs: this.waiters.size },
        'resource controller closed: rejecting slot waiters',
      );
    }
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      this.cleanup(w);
      w.reject(new ResourceError('CLOSED', 'ResourceController closed while waiting for a slot'));
    }
    if (this.opts.ownsSource) await this.opts.source.close?.();
  }

  private limit(): number {
    return this.throttled ? Math.min(this.opts.minConcurrentJobs, this.maxJobs) : this.maxJobs;
  }

  private drain(): void {
    if (this.closed) return;
    while (this.waiters.size > 0 && this.active < this.limit()) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      this.cleanup(waiter);
      this.active++;
      waiter.resolve(new Slot(this, this.opts.clock.now()));
    }
  }

  private freeSlot(): void {
    this.active--;
    this.drain();
  }

  private releaseAgain(): void {
    this.doubleReleases++;
    this.opts.logger.debug({ doubleReleases: this.doubleReleases }, 'slot released twice (ignored)');
    this.warn({
      code: 'DOUBLE_RELEASE',
      message: 'a slot handle was released twice; the second release was ignored',
    });
  }

  private dropWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
    this.cleanup(waiter);
  }

  private cleanup(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.timer = undefined;
    waiter.onAbort = undefined;
  }

  private callback(name: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.listenerFailed(name, error);
    }
  }

  private safeEmit<K extends 'resource:sampled' | 'resource:throttled' | 'resource:resumed'>(
    event: K,
    alias: 'sample' | 'throttle' | 'resume',
    payload: Parameters<ResourceControllerEvents[K]>[0],
  ): void {
    for (const name of [event, alias] as const) {
      try {
        (this.emit as (e: string, p: unknown) => boolean)(name, payload);
      } catch (error) {
        this.listenerFailed(`'${name}' listener`, error);
      }
    }
  }

  private warn(warning: ResourceWarning): void {
    for (const name of ['resource:warning', 'warning'] as const) {
      try {
        this.emit(name, warning);
      } catch (error) {
        // A failing 'warning' listener can only be logged: warning about it would recurse.
        this.opts.logger.error({ err: error }, `'${name}' listener threw`);
      }
    }
  }

  /** The one way background failures are reported: an `error` event (a throwing `error` listener is logged). */
  private failed(source: ResourceErrorSource, message: string, cause: unknown): void {
    const error = new ResourceError('INTERNAL', message, { cause, details: { source } });
    try {
      this.emit('error', { error, source });
    } catch (err) {
      this.opts.logger.error({ err }, "'error' listener threw");
    }
  }

  private listenerFailed(name: string, error: unknown): void {
    this.opts.logger.error({ err: error }, `${name} threw`);
    this.warn({ code: 'LISTENER_FAILED', message: `${name} threw: ${describe(error)}`, error });
    this.failed('listener', `${name} threw: ${describe(error)}`, error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortError(signal: AbortSignal): ResourceError {
  return new ResourceError('ABORTED', 'waiting for a resource slot was aborted', { cause: signal.reason });
}

function timeoutError(timeoutMs: number): ResourceError {
  return new ResourceError('TIMEOUT', `no resource slot became free within ${timeoutMs} ms`, {
    details: { timeoutMs },
  });
}
