import { readdirSync, readlinkSync } from 'node:fs';
import type { Logger, SystemMetrics } from '@rediver/core';
import { isRediverError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResourceWarning, ResumeEvent, ThrottleEvent } from './events';
import type { MetricsSource } from './metricsSource';
import { DEFAULT_RESOURCE_CONTROLLER_OPTIONS } from './options';
import type { ResourceControllerOptions } from './options';
import { ResourceController } from './resourceController';
import type { SlotHandle } from './slotHandle';

const CALM: Omit<SystemMetrics, 'timestamp'> = {
  cpuPercent: 10,
  cpuOrigin: 'host',
  processCpuPercent: 1,
  effectiveCpus: 4,
  memoryPercent: 20,
  memoryOrigin: 'host',
  memoryUsedBytes: 2e9,
  memoryLimitBytes: 1e10,
  processRssBytes: 1e8,
  processHeapUsedBytes: 5e7,
  eventLoopDelayP99Ms: 1,
  eventLoopUtilization: 0.1,
  pressure: { origin: 'host', cpuSomeAvg10: 0, memorySomeAvg10: 0, memoryFullAvg10: 0 },
};

/** Injected metrics: each sample returns CALM overridden by `next`. */
class FakeSource implements MetricsSource {
  next: Partial<SystemMetrics> = {};
  calls = 0;
  failWith: Error | undefined = undefined;
  closed = false;
  cpus = 4;
  sample(): SystemMetrics {
    this.calls++;
    if (this.failWith !== undefined) throw this.failWith;
    return { ...CALM, timestamp: Date.now(), ...this.next };
  }
  effectiveCpus(): number {
    return this.cpus;
  }
  close(): void {
    this.closed = true;
  }
}

let source: FakeSource;
const controllers: ResourceController[] = [];

function make(options: ResourceControllerOptions = {}): ResourceController {
  const c = new ResourceController({ metricsSource: source, ...options });
  controllers.push(c);
  return c;
}
/** A controller that samples only when the test says so. */
function manual(options: ResourceControllerOptions = {}): ResourceController {
  return make({ sampleIntervalMs: 2_147_483_647, ...options });
}
function load(next: Partial<SystemMetrics>): void {
  source.next = next;
}
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
function errorOfSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
/** Settles pending promise callbacks without advancing timers. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  source = new FakeSource();
});

afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.close()));
  vi.useRealTimers();
});

describe('options', () => {
  it('has the spec defaults', () => {
    expect(DEFAULT_RESOURCE_CONTROLLER_OPTIONS).toMatchObject({
      cpuThreshold: 85,
      memoryThreshold: 85,
      minConcurrentJobs: 1,
      sampleIntervalMs: 5000,
      cooldownMs: 30000,
      verbose: false,
    });
    expect(Object.isFrozen(DEFAULT_RESOURCE_CONTROLLER_OPTIONS)).toBe(true);
  });

  it('defaults maxConcurrentJobs to the effective CPUs, rounded up, at least minConcurrentJobs', () => {
    expect(make().getStatus().maxJobs).toBe(4);
    source.cpus = 1.5;
    expect(make().getStatus().maxJobs).toBe(2);
    source.cpus = 0.5;
    expect(make().getStatus().maxJobs).toBe(1);
    source.cpus = 2;
    expect(make({ minConcurrentJobs: 3 }).getStatus().maxJobs).toBe(3);
  });

  it.each<[string, ResourceControllerOptions]>([
    ['cpuThreshold 0', { cpuThreshold: 0 }],
    ['cpuThreshold just over 100', { cpuThreshold: 100.001 }],
    ['cpuThreshold NaN', { cpuThreshold: Number.NaN }],
    ['memoryThreshold -1', { memoryThreshold: -1 }],
    ['eventLoopDelayThresholdMs 0', { eventLoopDelayThresholdMs: 0 }],
    ['cpuPressureThreshold 0', { cpuPressureThreshold: 0 }],
    ['memoryPressureThreshold 101', { memoryPressureThreshold: 101 }],
    ['maxConcurrentJobs 0', { maxConcurrentJobs: 0 }],
    ['maxConcurrentJobs 1.5', { maxConcurrentJobs: 1.5 }],
    ['minConcurrentJobs -1', { minConcurrentJobs: -1 }],
    ['minConcurrentJobs one over max', { maxConcurrentJobs: 2, minConcurrentJobs: 3 }],
    ['sampleIntervalMs 0', { sampleIntervalMs: 0 }],
    ['sampleIntervalMs over the timer limit', { sampleIntervalMs: 2_147_483_648 }],
    ['cooldownMs -1', { cooldownMs: -1 }],
    ['onThresholdExceeded not a function', { onThresholdExceeded: 1 as never }],
    ['metricsSource without sample()', { metricsSource: {} as never }],
  ])('rejects %s with INVALID_OPTION', (_name, options) => {
    const error = errorOfSync(() => new ResourceController({ metricsSource: source, ...options }));
    expect(isRediverError(error, 'INVALID_OPTION')).toBe(true);
  });

  it('refuses an unknown option key with a did-you-mean, naming it in details.option', () => {
    const typo = { metricsSource: source, cpuTreshold: 50 } as ResourceControllerOptions;
    const error = errorOfSync(() => new ResourceController(typo));
    expect(isRediverError(error, 'INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toBe(
      '"cpuTreshold" is not an option of ResourceController (did you mean cpuThreshold?)',
    );
    expect((error as { details?: unknown }).details).toEqual({ option: 'cpuTreshold' });
    // Far from every option: the message lists them instead.
    const far = errorOfSync(() => new ResourceController({ colour: 'red' } as ResourceControllerOptions));
    expect((far as Error).message).toMatch(
      /^"colour" is not an option of ResourceController \(options: clock, /,
    );
  });

  it('sets details.option on every invalid value', () => {
    const error = errorOfSync(() => new ResourceController({ metricsSource: source, cooldownMs: -1 }));
    expect((error as { details?: unknown }).details).toEqual({ option: 'cooldownMs' });
  });

  it('accepts values at their edges', () => {
    expect(() =>
      make({
        cpuThreshold: 100,
        memoryThreshold: 0.1,
        maxConcurrentJobs: 2,
        minConcurrentJobs: 2,
        cooldownMs: 0,
      }),
    ).not.toThrow();
    expect(() => make({ minConcurrentJobs: 0, sampleIntervalMs: 1 })).not.toThrow();
  });
});

describe('sampling lifecycle', () => {
  it('takes the first sample at start() and then one every sampleIntervalMs', () => {
    const c = make({ sampleIntervalMs: 5000 });
    expect(c.metrics).toBeUndefined();
    expect(source.calls).toBe(0);
    void c.start();
    expect(source.calls).toBe(1);
    expect(c.getStatus().metrics?.cpuPercent).toBe(10);
    void c.start(); // idempotent
    vi.advanceTimersByTime(4999);
    expect(source.calls).toBe(1);
    vi.advanceTimersByTime(1);
    expect(source.calls).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(source.calls).toBe(4);
    expect(c.getStatus().samples).toBe(4);
  });

  it('samples again after 1 s when the first sample had no CPU figure yet', () => {
    const c = make({ sampleIntervalMs: 5000 });
    load({ cpuOrigin: 'unavailable', cpuPercent: 0 });
    void c.start();
    load({});
    vi.advanceTimersByTime(999);
    expect(source.calls).toBe(1);
    vi.advanceTimersByTime(1);
    expect(source.calls).toBe(2);
    expect(c.metrics?.cpuOrigin).toBe('host');
    vi.advanceTimersByTime(4000);
    expect(source.calls).toBe(3);
  });

  it('close() stops sampling, returns one promise, and start() afterwards throws CLOSED', async () => {
    const c = make();
    void c.start();
    const first = c.close();
    expect(c.close()).toBe(first);
    await first;
    vi.advanceTimersByTime(60_000);
    expect(source.calls).toBe(1);
    expect(c.sample()).toBeUndefined();
    expect(
      isRediverError(
        errorOfSync(() => c.start()),
        'CLOSED',
      ),
    ).toBe(true);
    expect(c.getStatus().closed).toBe(true);
    // The caller's source is the caller's to close.
    expect(source.closed).toBe(false);
  });

  it('[Symbol.asyncDispose] closes', async () => {
    const c = make();
    await c[Symbol.asyncDispose]();
    expect(c.getStatus().closed).toBe(true);
  });

  it('closes a metrics source it created itself', async () => {
    // The system source keeps /proc/stat open between samples; closing it closes that descriptor. Counting the
    // process's descriptors on /proc/stat observes the source's close() itself, not the controller's state.
    const openOnProcStat = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === '/proc/stat';
        } catch {
          return false; // the directory's own descriptor, gone once read
        }
      }).length;
    const before = openOnProcStat();
    const c = new ResourceController();
    void c.start();
    expect(c.metrics?.cpuOrigin).toBeDefined();
    expect(openOnProcStat()).toBe(before + 1);
    await c.close();
    expect(c.sample()).toBeUndefined();
    expect(openOnProcStat()).toBe(before);
  });

  it('absorbs a failing source: SAMPLE_FAILED warning, counter, state kept, sampling goes on', () => {
    const c = make({ sampleIntervalMs: 1000 });
    const warnings: ResourceWarning[] = [];
    c.on('warning', (w) => warnings.push(w));
    load({ cpuPercent: 95 });
    void c.start();
    expect(c.isThrottled).toBe(true);
    source.failWith = new Error('procfs gone');
    vi.advanceTimersByTime(1000);
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'SAMPLE_FAILED',
        message: expect.stringContaining('procfs gone') as string,
      }),
    ]);
    expect(c.getStatus()).toMatchObject({ throttled: true, sampleErrors: 1, samples: 1 });
    source.failWith = undefined;
    vi.advanceTimersByTime(1000);
    expect(c.getStatus().samples).toBe(2);
  });
});

describe('throttle state', () => {
  it('throttles when a figure reaches its threshold, naming the figure', () => {
    const exceeded = vi.fn();
    const c = manual({ onThresholdExceeded: exceeded });
    const events: ThrottleEvent[] = [];
    c.on('throttle', (e) => events.push(e));
    load({ cpuPercent: 84.9 });
    c.sample();
    expect(c.isThrottled).toBe(false);
    load({ cpuPercent: 90.5 });
    const m = c.sample();
    expect(c.getStatus()).toMatchObject({
      throttled: true,
      throttledAt: 1_000_000,
      throttleReason: 'CPU 90.5% >= 85%',
    });
    expect(exceeded).toHaveBeenCalledExactlyOnceWith(m, 'CPU 90.5% >= 85%');
    expect(events).toEqual([{ metrics: m, reason: 'CPU 90.5% >= 85%', throttledAt: 1_000_000 }]);
  });

  it('throttles exactly at the threshold', () => {
    const c = manual();
    load({ memoryPercent: 85 });
    c.sample();
    expect(c.getStatus().throttleReason).toBe('memory 85% >= 85%');
  });

  it('names every figure over its limit, including event-loop delay and PSI when enabled', () => {
    const c = manual({
      eventLoopDelayThresholdMs: 100,
      cpuPressureThreshold: 20,
      memoryPressureThreshold: 10,
    });
    load({
      cpuPercent: 91.26,
      memoryPercent: 88,
      eventLoopDelayP99Ms: 150.04,
      pressure: { origin: 'cgroup', cpuSomeAvg10: 25.5, memorySomeAvg10: 10, memoryFullAvg10: 2 },
    });
    c.sample();
    expect(c.getStatus().throttleReason).toBe(
      'CPU 91.3% >= 85%, memory 88% >= 85%, event-loop delay p99 150 ms >= 100 ms, ' +
        'CPU pressure 25.5% >= 20%, memory pressure 10% >= 10%',
    );
  });

  it('ignores event-loop delay and PSI unless their thresholds are set, and unavailable figures', () => {
    const c = manual();
    load({
      eventLoopDelayP99Ms: 10_000,
      pressure: { origin: 'host', cpuSomeAvg10: 100, memorySomeAvg10: 100 },
      cpuPercent: 0,
      cpuOrigin: 'unavailable',
      memoryOrigin: 'unavailable',
      memoryPercent: 99,
    });
    c.sample();
    expect(c.isThrottled).toBe(false);
  });

  it('keeps the reason current while throttled without a second throttle event', () => {
    const c = manual();
    const throttles = vi.fn();
    c.on('throttle', throttles);
    load({ cpuPercent: 90 });
    c.sample();
    vi.advanceTimersByTime(5000);
    load({ cpuPercent: 70, memoryPercent: 95.25 });
    c.sample();
    expect(c.getStatus()).toMatchObject({ throttleReason: 'memory 95.3% >= 85%', throttledAt: 1_000_000 });
    vi.advanceTimersByTime(5000);
    load({ cpuPercent: 99, memoryPercent: 99 });
    c.sample();
    expect(c.getStatus().throttleReason).toBe('CPU 99% >= 85%, memory 99% >= 85%');
    expect(throttles).toHaveBeenCalledTimes(1);
  });

  it('clears only after every figure stayed below for cooldownMs, counted from the first calm sample', () => {
    const cleared = vi.fn();
    const c = manual({ cooldownMs: 30_000, onThresholdCleared: cleared });
    const resumes: ResumeEvent[] = [];
    c.on('resume', (e) => resumes.push(e));
    load({ cpuPercent: 90 });
    c.sample(); // t = 0: throttled
    vi.advanceTimersByTime(5000);
    load({});
    c.sample(); // t = 5 s: calm, cooldown starts
    vi.advanceTimersByTime(5000);
    load({ memoryPercent: 86 });
    c.sample(); // t = 10 s: over again, cooldown reset
    load({});
    vi.advanceTimersByTime(5000);
    c.sample(); // t = 15 s: calm, cooldown starts again
    vi.advanceTimersByTime(29_999);
    c.sample(); // 29.999 s calm: one ms short
    expect(c.isThrottled).toBe(true);
    expect(cleared).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    const m = c.sample(); // exactly 30 s calm
    expect(c.getStatus()).toMatchObject({ throttled: false });
    expect(c.getStatus().throttleReason).toBeUndefined();
    expect(c.getStatus().throttledAt).toBeUndefined();
    expect(cleared).toHaveBeenCalledExactlyOnceWith(m);
    expect(resumes).toEqual([{ metrics: m, throttledAt: 1_000_000, throttledForMs: 45_000 }]);
  });

  it('clears on the first calm sample when cooldownMs is 0, and can throttle again', () => {
    const c = manual({ cooldownMs: 0 });
    const log: string[] = [];
    c.on('throttle', () => log.push('throttle'));
    c.on('resume', () => log.push('resume'));
    load({ cpuPercent: 90 });
    c.sample();
    load({});
    c.sample();
    load({ cpuPercent: 90 });
    c.sample();
    expect(log).toEqual(['throttle', 'resume', 'throttle']);
  });

  it('emits sample after the state is updated', () => {
    const c = manual();
    const seen: boolean[] = [];
    c.on('sample', () => seen.push(c.getStatus().throttled));
    load({ cpuPercent: 90 });
    c.sample();
    expect(seen).toEqual([true]);
  });

  it('survives throwing callbacks and listeners (LISTENER_FAILED warnings)', () => {
    const c = manual({
      onThresholdExceeded: () => {
        throw new Error('callback broke');
      },
    });
    const warnings: ResourceWarning[] = [];
    c.on('warning', (w) => warnings.push(w));
    c.on('sample', () => {
      throw new Error('listener broke');
    });
    const throttled = vi.fn();
    c.on('throttle', throttled);
    load({ cpuPercent: 90 });
    expect(() => c.sample()).not.toThrow();
    expect(c.isThrottled).toBe(true);
    expect(throttled).toHaveBeenCalledTimes(1);
    expect(warnings.map((w) => [w.code, w.message])).toEqual([
      ['LISTENER_FAILED', "'sample' listener threw: listener broke"],
      ['LISTENER_FAILED', 'onThresholdExceeded threw: callback broke'],
    ]);
  });

  it('logs samples at debug, or info when verbose, and throttling at warn', () => {
    const calls: string[] = [];
    const logger: Logger = {
      debug: (o: object | string, m?: string) => calls.push(`debug ${m ?? (typeof o === 'string' ? o : '')}`),
      info: (o: object | string, m?: string) => calls.push(`info ${m ?? (typeof o === 'string' ? o : '')}`),
      warn: (o: object | string, m?: string) => calls.push(`warn ${m ?? (typeof o === 'string' ? o : '')}`),
      error: (o: object | string, m?: string) => calls.push(`error ${m ?? (typeof o === 'string' ? o : '')}`),
    };
    manual({ logger }).sample();
    const v = manual({ logger, verbose: true });
    load({ cpuPercent: 90 });
    v.sample();
    expect(calls).toEqual([
      'debug resource sample',
      'info resource sample',
      'warn resource throttle: CPU 90% >= 85%',
    ]);
  });
});

describe('slots', () => {
  it('admits up to maxConcurrentJobs and counts refusals', () => {
    const c = manual({ maxConcurrentJobs: 2 });
    const a = c.acquireSlot();
    const b = c.acquireSlot();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(c.acquireSlot()).toBeNull();
    expect(c.getStatus()).toMatchObject({ activeJobs: 2, rejectedJobs: 1 });
    expect(a!.release()).toBe(true);
    expect(c.acquireSlot()).not.toBeNull();
    expect(c.getStatus()).toMatchObject({ activeJobs: 2, rejectedJobs: 1 });
  });

  it('admits minConcurrentJobs even while throttled, and no more', () => {
    const c = manual({ maxConcurrentJobs: 4, minConcurrentJobs: 2 });
    load({ cpuPercent: 99 });
    c.sample();
    expect(c.acquireSlot()).not.toBeNull();
    expect(c.acquireSlot()).not.toBeNull();
    expect(c.acquireSlot()).toBeNull();
    expect(c.getStatus()).toMatchObject({ throttled: true, activeJobs: 2, rejectedJobs: 1, maxJobs: 4 });
  });

  it('admits nothing while throttled when minConcurrentJobs is 0', () => {
    const c = manual({ minConcurrentJobs: 0 });
    load({ cpuPercent: 99 });
    c.sample();
    expect(c.acquireSlot()).toBeNull();
  });

  it('while throttled above min, releases do not admit until activity drops below min', () => {
    const c = manual({ maxConcurrentJobs: 3, minConcurrentJobs: 1 });
    const slots = [c.acquireSlot()!, c.acquireSlot()!, c.acquireSlot()!];
    load({ cpuPercent: 99 });
    c.sample();
    slots[0]!.release();
    expect(c.acquireSlot()).toBeNull();
    slots[1]!.release();
    expect(c.acquireSlot()).toBeNull();
    slots[2]!.release();
    expect(c.acquireSlot()).not.toBeNull();
  });

  it('a second release is a counted no-op, never a corrupted count', () => {
    const c = manual({ maxConcurrentJobs: 2 });
    const warnings: ResourceWarning[] = [];
    c.on('warning', (w) => warnings.push(w));
    const a = c.acquireSlot()!;
    c.acquireSlot();
    expect(a.release()).toBe(true);
    expect(a.released).toBe(true);
    expect(a.release()).toBe(false);
    expect(a.release()).toBe(false);
    expect(c.getStatus()).toMatchObject({ activeJobs: 1, doubleReleases: 2 });
    expect(warnings.map((w) => w.code)).toEqual(['DOUBLE_RELEASE', 'DOUBLE_RELEASE']);
    // Only one slot is free, as it should be.
    expect(c.acquireSlot()).not.toBeNull();
    expect(c.acquireSlot()).toBeNull();
  });

  it('frees the slot with `using`, and disposing after release is silent', () => {
    const c = manual({ maxConcurrentJobs: 1 });
    {
      using slot = c.acquireSlot()!;
      expect(slot.acquiredAt).toBe(1_000_000);
      expect(c.getStatus().activeJobs).toBe(1);
    }
    expect(c.getStatus().activeJobs).toBe(0);
    {
      using slot = c.acquireSlot()!;
      slot.release();
    }
    expect(c.getStatus()).toMatchObject({ activeJobs: 0, doubleReleases: 0 });
  });

  it('grows at once and shrinks as slots are released', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const held = c.acquireSlot()!;
    const w1 = c.acquireSlotBlocking();
    const w2 = c.acquireSlotBlocking();
    c.setMaxConcurrentJobs(3);
    await expect(w1).resolves.toBeDefined();
    await expect(w2).resolves.toBeDefined();
    expect(c.getStatus()).toMatchObject({ activeJobs: 3, pendingJobs: 0, maxJobs: 3 });

    c.setMaxConcurrentJobs(1);
    expect(c.getStatus()).toMatchObject({ activeJobs: 3, maxJobs: 1 }); // nothing revoked
    held.release();
    expect(c.acquireSlot()).toBeNull();
    (await w1).release();
    expect(c.acquireSlot()).toBeNull();
    (await w2).release();
    expect(c.acquireSlot()).not.toBeNull();
  });

  it('refuses invalid sizes', () => {
    const c = manual({ maxConcurrentJobs: 4, minConcurrentJobs: 2 });
    for (const n of [0, 1, 2.5, Number.NaN]) {
      expect(
        isRediverError(
          errorOfSync(() => c.setMaxConcurrentJobs(n)),
          'INVALID_OPTION',
        ),
      ).toBe(true);
    }
    c.setMaxConcurrentJobs(2);
    expect(c.getStatus().maxJobs).toBe(2);
  });
});

describe('blocking waiters', () => {
  it('serves waiters FIFO, each woken at once by a release (no polling)', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const first = c.acquireSlot()!;
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      c.acquireSlotBlocking().then((slot) => {
        order.push(n);
        return slot;
      }),
    );
    expect(c.getStatus().pendingJobs).toBe(3);
    expect(c.acquireSlot()).toBeNull();

    first.release();
    await flush(); // no timer is advanced: only the release can have woken it
    expect(order).toEqual([1]);
    expect(c.getStatus()).toMatchObject({ activeJobs: 1, pendingJobs: 2 });
    (await waits[0]!).release();
    await flush();
    expect(order).toEqual([1, 2]);
    (await waits[1]!).release();
    await flush();
    expect(order).toEqual([1, 2, 3]);
    expect(vi.getTimerCount()).toBe(0); // not started, no timeouts: nothing but releases woke them
  });

  it('resolves at once when a slot is free and nobody waits', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const slot = await c.acquireSlotBlocking({ timeoutMs: 0 });
    expect(slot.released).toBe(false);
    expect(c.getStatus().activeJobs).toBe(1);
  });

  it('wakes waiters when throttling clears', async () => {
    const c = manual({ maxConcurrentJobs: 3, minConcurrentJobs: 1, cooldownMs: 0 });
    load({ cpuPercent: 95 });
    c.sample();
    const held = c.acquireSlot()!;
    const woken: number[] = [];
    const waits = [1, 2].map((n) => c.acquireSlotBlocking().then(() => woken.push(n)));
    held.release(); // still throttled at min 1: only the first waiter gets in
    await flush();
    expect(woken).toEqual([1]);
    load({});
    c.sample();
    await Promise.all(waits);
    expect(woken).toEqual([1, 2]);
    expect(c.getStatus()).toMatchObject({ activeJobs: 2, pendingJobs: 0, throttled: false });
  });

  it('rejects with ABORTED when the signal fires, and the next waiter moves up', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const held = c.acquireSlot()!;
    const controller = new AbortController();
    const aborted = c.acquireSlotBlocking({ signal: controller.signal });
    const next = c.acquireSlotBlocking();
    controller.abort(new Error('job cancelled'));
    const error = await errorOf(aborted);
    expect(isRediverError(error, 'ABORTED')).toBe(true);
    expect((error as Error).cause).toEqual(new Error('job cancelled'));
    expect(c.getStatus()).toMatchObject({ pendingJobs: 1, abortedWaits: 1 });
    held.release();
    await expect(next).resolves.toBeDefined();
    expect(c.getStatus()).toMatchObject({ activeJobs: 1, pendingJobs: 0 });
  });

  it('rejects at once for an already aborted signal', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const error = await errorOf(c.acquireSlotBlocking({ signal: AbortSignal.abort() }));
    expect(isRediverError(error, 'ABORTED')).toBe(true);
    expect(c.getStatus().activeJobs).toBe(0);
  });

  it('an abort after the grant changes nothing', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const held = c.acquireSlot()!;
    const controller = new AbortController();
    const wait = c.acquireSlotBlocking({ signal: controller.signal, timeoutMs: 1000 });
    held.release();
    const slot = await wait;
    controller.abort();
    vi.advanceTimersByTime(5000);
    expect(slot.released).toBe(false);
    expect(c.getStatus()).toMatchObject({ activeJobs: 1, abortedWaits: 0, timedOutWaits: 0 });
  });

  it('rejects with TIMEOUT after exactly timeoutMs', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    c.acquireSlot();
    let settled = false;
    const wait = c.acquireSlotBlocking({ timeoutMs: 1000 }).finally(() => (settled = true));
    const error = errorOf(wait);
    vi.advanceTimersByTime(999);
    await flush();
    expect(settled).toBe(false);
    vi.advanceTimersByTime(1);
    expect(isRediverError(await error, 'TIMEOUT')).toBe(true);
    expect(c.getStatus()).toMatchObject({ pendingJobs: 0, timedOutWaits: 1, activeJobs: 1 });
  });

  it('timeoutMs 0 fails at once when no slot is free', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    c.acquireSlot();
    expect(isRediverError(await errorOf(c.acquireSlotBlocking({ timeoutMs: 0 })), 'TIMEOUT')).toBe(true);
  });

  it('refuses unknown acquireSlotBlocking options with a did-you-mean', async () => {
    const c = manual();
    const error = await errorOf(c.acquireSlotBlocking({ timeout: 50 } as never));
    expect(isRediverError(error, 'INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toBe(
      '"timeout" is not an option of acquireSlotBlocking (did you mean timeoutMs?)',
    );
    expect((error as { details?: unknown }).details).toEqual({ option: 'timeout' });
    expect(c.getStatus().activeJobs).toBe(0);
  });

  it('refuses an invalid timeoutMs', async () => {
    const c = manual();
    for (const timeoutMs of [-1, Number.NaN, 2_147_483_648]) {
      expect(isRediverError(await errorOf(c.acquireSlotBlocking({ timeoutMs })), 'INVALID_OPTION')).toBe(
        true,
      );
    }
  });

  it('close() rejects every waiter with CLOSED; later acquires fail with CLOSED; releases stay safe', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    const held = c.acquireSlot()!;
    const waits = [c.acquireSlotBlocking({ timeoutMs: 10_000 }), c.acquireSlotBlocking()].map(errorOf);
    await c.close();
    for (const error of await Promise.all(waits)) expect(isRediverError(error, 'CLOSED')).toBe(true);
    expect(
      isRediverError(
        errorOfSync(() => c.acquireSlot()),
        'CLOSED',
      ),
    ).toBe(true);
    expect(isRediverError(await errorOf(c.acquireSlotBlocking()), 'CLOSED')).toBe(true);
    expect(held.release()).toBe(true);
    expect(c.getStatus()).toMatchObject({ activeJobs: 0, pendingJobs: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('adaptiveMaxJobs', () => {
  it('scales from maxConcurrentJobs at no load to minConcurrentJobs at a threshold', () => {
    const c = manual({ maxConcurrentJobs: 8, minConcurrentJobs: 1 });
    expect(c.adaptiveMaxJobs()).toBe(8); // no sample yet
    load({ cpuPercent: 0, memoryPercent: 0 });
    c.sample();
    expect(c.adaptiveMaxJobs()).toBe(8);
    load({ cpuPercent: 42.5, memoryPercent: 0 });
    c.sample();
    expect(c.adaptiveMaxJobs()).toBe(1 + Math.floor(7 * 0.5));
    load({ cpuPercent: 10, memoryPercent: 68 }); // memory is the tighter figure: h = 0.2
    c.sample();
    expect(c.adaptiveMaxJobs()).toBe(1 + Math.floor(7 * 0.2));
    load({ cpuPercent: 85 });
    c.sample();
    expect(c.adaptiveMaxJobs()).toBe(1);
    load({ cpuPercent: 100 });
    c.sample();
    expect(c.adaptiveMaxJobs()).toBe(1);
  });

  it('does not compound after a resize and skips unmeasured figures', () => {
    const c = manual({ maxConcurrentJobs: 5, minConcurrentJobs: 0, eventLoopDelayThresholdMs: 100 });
    load({ cpuPercent: 99, cpuOrigin: 'unavailable', memoryPercent: 0, eventLoopDelayP99Ms: 50 });
    c.sample();
    c.setMaxConcurrentJobs(2);
    // min counts as 1 (a recommendation of 0 jobs would stall the agent): 1 + floor(4 * 0.5).
    expect(c.adaptiveMaxJobs()).toBe(3);
  });
});

describe('getStatus', () => {
  it('reports the core ResourceStatus fields plus counters', async () => {
    const c = manual({ maxConcurrentJobs: 1 });
    load({ cpuPercent: 97 });
    const m = c.sample();
    const slot: SlotHandle = c.acquireSlot()!;
    c.acquireSlot();
    const pending = c.acquireSlotBlocking();
    expect(c.getStatus()).toEqual({
      throttled: true,
      throttledAt: 1_000_000,
      throttleReason: 'CPU 97% >= 85%',
      activeJobs: 1,
      pendingJobs: 1,
      rejectedJobs: 1,
      maxJobs: 1,
      metrics: m,
      doubleReleases: 0,
      timedOutWaits: 0,
      abortedWaits: 0,
      samples: 1,
      sampleErrors: 0,
      closed: false,
    });
    slot.release();
    await pending;
  });
});

describe('the event contract (issue 16)', () => {
  it('emits domain:verb events with one payload, and the deprecated names alongside', () => {
    const c = manual({ cooldownMs: 0 });
    const seen: string[] = [];
    for (const name of ['resource:throttled', 'throttle', 'resource:resumed', 'resume'] as const)
      c.on(name, (e: ThrottleEvent | ResumeEvent) => seen.push(`${name}:${e.throttledAt}`));
    c.on('resource:sampled', (m) => seen.push(`sampled:${m.cpuPercent}`));
    load({ cpuPercent: 90 });
    c.sample();
    load({ cpuPercent: 10 });
    c.sample();
    expect(seen).toEqual([
      'sampled:90',
      'resource:throttled:1000000',
      'throttle:1000000',
      'sampled:10',
      'resource:resumed:1000000',
      'resume:1000000',
    ]);
  });

  it("reports background failures once, as 'error' { error, source } with code INTERNAL and the cause", () => {
    const c = manual();
    const errors: { code: string; source: string; cause: unknown }[] = [];
    c.on('error', ({ error, source }) => errors.push({ code: error.code, source, cause: error.cause }));
    const broke = new Error('procfs gone');
    source.failWith = broke;
    c.sample();
    source.failWith = undefined;
    c.on('resource:sampled', () => {
      throw new Error('listener broke');
    });
    c.sample();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toEqual({ code: 'INTERNAL', source: 'sample', cause: broke });
    expect(errors[1]!.source).toBe('listener');
  });

  it('start() resolves; whenMeasured() waits for the first sample with a CPU figure', async () => {
    const c = make({ sampleIntervalMs: 5000 });
    load({ cpuOrigin: 'unavailable' });
    await c.start();
    let measured: SystemMetrics | undefined;
    const waiting = c.whenMeasured().then((m) => (measured = m));
    await vi.advanceTimersByTimeAsync(500);
    expect(measured).toBeUndefined();
    load({ cpuOrigin: 'host', cpuPercent: 33 });
    // The controller re-samples 1 s after a start() without a CPU figure.
    await vi.advanceTimersByTimeAsync(600);
    await waiting;
    expect(measured?.cpuPercent).toBe(33);
    // Already measured: at once.
    expect((await c.whenMeasured())?.cpuPercent).toBe(33);
  });

  it('whenMeasured() gives up at its timeout with the latest sample (a host whose CPU cannot be read)', async () => {
    const c = make({ sampleIntervalMs: 60_000 });
    load({ cpuOrigin: 'unavailable' });
    await c.start();
    const waiting = c.whenMeasured({ timeoutMs: 3000 });
    await vi.advanceTimersByTimeAsync(3000);
    expect((await waiting)?.cpuOrigin).toBe('unavailable');
    expect(
      isRediverError(await c.whenMeasured({ timeoutMs: -1 }).catch((e: unknown) => e), 'INVALID_OPTION'),
    ).toBe(true);
  });
});
