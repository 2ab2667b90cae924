import type { QueueItem, RediverError, UploadAttemptOptions, UploadResult } from '@rediver/core';
import { isRediverError, PRIORITY, RediverError as CoreError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeReport } from '@rediver/testkit';
import { FakeUploader, okResult, tick } from '../test/fakeUploader';
import type { UploadPipelineOptions } from './options';
import { UploadPipeline } from './uploadPipeline';
import { thrownCode } from '../test/thrownCode';

const serverError = (): RediverError =>
  new CoreError('SERVER_ERROR', 'HTTP 503 from the platform', { status: 503 });
const rejected = (status = 400): RediverError =>
  new CoreError('REQUEST_REJECTED', `HTTP ${status} from the platform`, { status });

function setup(options: UploadPipelineOptions = {}): { uploader: FakeUploader; pipeline: UploadPipeline } {
  const uploader = new FakeUploader();
  const pipeline = new UploadPipeline(uploader, { random: () => 0, ...options });
  return { uploader, pipeline };
}

function invariantHolds(p: UploadPipeline): boolean {
  const s = p.getStats();
  return s.submitted === s.completed + s.failed + s.returned + s.inProgress + s.queueLength;
}

beforeEach(() => {
  // setImmediate stays real: tick() uses it to let promise chains run.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('submit', () => {
  it('returns a unique id at once and uploads later, with the id as idempotency key', async () => {
    const { uploader, pipeline } = setup();
    const ids = [pipeline.submit(makeReport('a')), pipeline.submit(makeReport('b'))];
    expect(new Set(ids).size).toBe(2);
    expect(uploader.calls).toHaveLength(0); // nothing of the uploader runs inside submit
    await tick();
    expect(uploader.calls.map((c) => c.idempotencyKey)).toEqual(ids);
    expect(uploader.calls[0]!.signal).toBeInstanceOf(AbortSignal);
    expect(pipeline.getStats()).toMatchObject({ submitted: 2, inProgress: 2, queueLength: 0 });
  });

  it('carries jobId, tenantId, priority and the serialised size on the item', async () => {
    const seen: QueueItem[] = [];
    const { pipeline } = setup({ onSubmitted: (item) => seen.push(item) });
    const report = makeReport('r1');
    pipeline.submit(report, { jobId: 'job-1', tenantId: 't-1', priority: PRIORITY.high });
    pipeline.submit(makeReport('r2'), { sizeBytes: 42 });
    const size = Buffer.byteLength(JSON.stringify(report));
    expect(seen[0]).toMatchObject({
      jobId: 'job-1',
      tenantId: 't-1',
      priority: 10,
      attempts: 0,
      sizeBytes: size,
    });
    expect(seen[1]).toMatchObject({ priority: PRIORITY.normal, sizeBytes: 42 });
    expect(pipeline.getStats().totalBytes).toBe(size + 42);
  });

  // Issue 15 named the old behaviour (same-tick submits counted against queueSize while workers sat idle) a bug:
  // the item the free worker takes at once is not waiting, so the limit applies from the second item on.
  it('accepts exactly queueSize waiting items beyond the free workers; one more is QUEUE_FULL and not counted', () => {
    const { pipeline } = setup({ queueSize: 2, workers: 1 });
    const submitted = vi.fn();
    pipeline.on('submitted', submitted);
    pipeline.submit(makeReport('a')); // the free worker takes it at the next pump
    pipeline.submit(makeReport('b'));
    pipeline.submit(makeReport('c'));
    expect(thrownCode(() => pipeline.submit(makeReport('d')))).toBe('QUEUE_FULL');
    expect(pipeline.getStats()).toMatchObject({ submitted: 3, queueLength: 3 });
    expect(submitted).toHaveBeenCalledTimes(3);
  });

  it('accepts five same-tick submits with queueSize 2 and 8 idle workers; refuses the eleventh', async () => {
    const { uploader, pipeline } = setup({ queueSize: 2, workers: 8 });
    for (let i = 0; i < 5; i++) pipeline.submit(makeReport(`r${i}`));
    expect(pipeline.getStats()).toMatchObject({ submitted: 5, queueLength: 5 });
    // 8 taken by the free workers at once + 2 waiting.
    for (let i = 5; i < 10; i++) pipeline.submit(makeReport(`r${i}`));
    const full = (() => {
      try {
        pipeline.submit(makeReport('r10'));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(isRediverError(full, 'QUEUE_FULL')).toBe(true);
    expect((full as RediverError).retryable).toBe(false);
    expect((full as Error).message).not.toMatch(/retry later/i);
    await tick();
    expect(uploader.open()).toHaveLength(8);
    expect(pipeline.getStats()).toMatchObject({ submitted: 10, inProgress: 8, queueLength: 2 });
  });

  it('validates before the capacity check: an invalid report on a full queue gets its own error', async () => {
    const { pipeline } = setup({ queueSize: 1, workers: 1 });
    pipeline.submit(makeReport('a'));
    pipeline.submit(makeReport('b'));
    expect(thrownCode(() => pipeline.submit(makeReport('c')))).toBe('QUEUE_FULL');
    expect(thrownCode(() => pipeline.submit(makeReport('bad id!')))).toBe('REPORT_ID_INVALID');
    expect(thrownCode(() => pipeline.submit(null as never))).toBe('VALIDATION_FAILED');
    expect(thrownCode(() => pipeline.submit(makeReport('d'), { priority: 1.5 }))).toBe('VALIDATION_FAILED');
    const circular = makeReport('e') as unknown as { properties: Record<string, unknown> };
    circular.properties = { self: circular };
    expect(thrownCode(() => pipeline.submit(circular as never))).toBe('VALIDATION_FAILED');
    expect(thrownCode(() => pipeline.submit(makeReport('f'), { priorty: 1 } as never))).toBe(
      'INVALID_OPTION',
    );
    expect(pipeline.getStats().submitted).toBe(2);
  });

  it('refuses unknown option keys with a did-you-mean, naming the key in details.option', async () => {
    const errorOf = (fn: () => unknown): { code?: string; message?: string; details?: unknown } => {
      try {
        fn();
      } catch (err) {
        return err as { code?: string; message?: string; details?: unknown };
      }
      return {};
    };
    const ctor = errorOf(() => new UploadPipeline(new FakeUploader(), { queueSzie: 5 } as never));
    expect(ctor).toMatchObject({
      code: 'INVALID_OPTION',
      message: '"queueSzie" is not an option of UploadPipeline (did you mean queueSize?)',
      details: { option: 'queueSzie' },
    });
    const { pipeline } = setup();
    expect(errorOf(() => pipeline.submit(makeReport('a'), { priorty: 10 } as never))).toMatchObject({
      code: 'INVALID_OPTION',
      message: '"priorty" is not an option of submit (did you mean priority?)',
      details: { option: 'priorty' },
    });
    await expect(pipeline.flush({ signl: undefined } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      details: { option: 'signl' },
    });
    await expect(pipeline.stop({ drian: false } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: '"drian" is not an option of stop (did you mean drain?)',
    });
    expect(pipeline.getStats().submitted).toBe(0); // the typo'd stop stopped nothing
    expect(errorOf(() => pipeline.submit(makeReport('b')))).toEqual({});
  });

  it('counts items waiting for a retry against queueSize, not those in flight', async () => {
    const { uploader, pipeline } = setup({ queueSize: 1, workers: 1 });
    pipeline.submit(makeReport('a'));
    await tick(); // a is in flight: room for one more
    pipeline.submit(makeReport('b'));
    expect(thrownCode(() => pipeline.submit(makeReport('c')))).toBe('QUEUE_FULL');
    uploader.calls[0]!.reject(serverError()); // a waits for a retry; b starts
    await tick();
    expect(pipeline.getStats()).toMatchObject({ inProgress: 2, queueLength: 0 });
    expect(thrownCode(() => pipeline.submit(makeReport('c')))).toBe('QUEUE_FULL');
  });

  it('refuses reports the platform would refuse, counting nothing', () => {
    const { pipeline } = setup();
    expect(thrownCode(() => pipeline.submit(makeReport('bad id!')))).toBe('REPORT_ID_INVALID');
    expect(thrownCode(() => pipeline.submit(makeReport('x'.repeat(257))))).toBe('REPORT_ID_INVALID');
    expect(thrownCode(() => pipeline.submit(makeReport('x'.repeat(256))))).toBeUndefined();
    expect(thrownCode(() => pipeline.submit(null as never))).toBe('VALIDATION_FAILED');
    expect(thrownCode(() => pipeline.submit(makeReport('a'), { priority: 1.5 }))).toBe('VALIDATION_FAILED');
    expect(thrownCode(() => pipeline.submit(makeReport('a'), { sizeBytes: -1 }))).toBe('VALIDATION_FAILED');
    const circular = makeReport('c') as unknown as { properties: Record<string, unknown> };
    circular.properties = {};
    circular.properties.self = circular;
    expect(thrownCode(() => pipeline.submit(circular as never))).toBe('VALIDATION_FAILED');
    expect(pipeline.getStats().submitted).toBe(1);
  });

  it('refuses a missing uploader and bad options at construction', () => {
    expect(thrownCode(() => new UploadPipeline(undefined as never))).toBe('INVALID_OPTION');
    expect(thrownCode(() => new UploadPipeline(new FakeUploader(), { workers: 0 }))).toBe('INVALID_OPTION');
  });
});

describe('scheduling', () => {
  it('serves higher priority first, first-in first-out within a priority', async () => {
    const { uploader, pipeline } = setup({ workers: 1 });
    const ids = ['low-1', 'high-1', 'normal-1', 'high-2', 'low-2', 'critical-1'];
    const prio = { low: 0, normal: 5, high: 10, critical: 20 } as const;
    for (const id of ids)
      pipeline.submit(makeReport(id), { priority: prio[id.split('-')[0] as keyof typeof prio] });
    const order: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      await tick();
      const call = uploader.open()[0]!;
      order.push(call.report.metadata.id);
      call.resolve();
    }
    expect(order).toEqual(['critical-1', 'high-1', 'high-2', 'normal-1', 'low-1', 'low-2']);
  });

  it('never runs more than `workers` uploads at once, and keeps them all busy', async () => {
    const { uploader, pipeline } = setup({ workers: 3 });
    for (let i = 0; i < 20; i++) pipeline.submit(makeReport(`r${i}`));
    await tick();
    expect(uploader.active).toBe(3);
    let guard = 0;
    while (uploader.open().length > 0 && guard++ < 100) {
      const open = uploader.open();
      // settle in a scrambled order, some failing to exercise retries too
      const call = open[guard % open.length]!;
      if (guard % 4 === 0) call.reject(serverError());
      else call.resolve();
      await tick();
      vi.advanceTimersByTime(60_000);
      await tick();
      expect(uploader.active).toBeLessThanOrEqual(3);
    }
    expect(uploader.maxActive).toBe(3);
    const stats = pipeline.getStats();
    expect(stats).toMatchObject({ submitted: 20, inProgress: 0, queueLength: 0 });
    expect(stats.completed + stats.failed).toBe(20);
    expect(stats.retries).toBeGreaterThan(0);
  });
});

describe('retries', () => {
  it('retries retryable errors after 5 s, 10 s, 20 s, then fails with the last error', async () => {
    const failed = vi.fn<(item: QueueItem, error: RediverError) => void>();
    const { uploader, pipeline } = setup({ onFailed: failed });
    const retries: number[] = [];
    pipeline.on('retry', (_item, info) => retries.push(info.delayMs));
    pipeline.submit(makeReport('a'));
    await tick();
    for (const delay of [5000, 10_000, 20_000]) {
      const before = uploader.calls.length;
      uploader.open()[0]!.reject(serverError());
      await tick();
      vi.advanceTimersByTime(delay - 1);
      await tick();
      expect(uploader.calls.length).toBe(before); // not a millisecond early
      vi.advanceTimersByTime(1);
      await tick();
      expect(uploader.calls.length).toBe(before + 1);
    }
    const last = serverError();
    uploader.open()[0]!.reject(last);
    await tick();
    expect(retries).toEqual([5000, 10_000, 20_000]);
    expect(failed).toHaveBeenCalledTimes(1);
    expect(failed.mock.calls[0]![1]).toBe(last);
    expect(failed.mock.calls[0]![0]).toMatchObject({ attempts: 4, lastError: { code: 'SERVER_ERROR' } });
    expect(pipeline.getStats()).toMatchObject({ failed: 1, retries: 3, inProgress: 0 });
  });

  it('adds jitter within retryJitterRatio and caps the delay at maxRetryDelayMs', async () => {
    const { uploader, pipeline } = setup({
      random: () => 0.999_999,
      retryJitterRatio: 0.2,
      maxRetryDelayMs: 15_000,
    });
    const delays: number[] = [];
    pipeline.on('retry', (_item, info) => delays.push(info.delayMs));
    pipeline.submit(makeReport('a'));
    await tick();
    for (let i = 0; i < 3; i++) {
      uploader.open()[0]!.reject(serverError());
      await tick();
      vi.advanceTimersByTime(15_000);
      await tick();
    }
    expect(delays).toEqual([6000, 12_000, 15_000]);
  });

  it.each([
    ['400', rejected(400)],
    ['404', rejected(404)],
    ['401', new CoreError('AUTH_FAILED', 'HTTP 401', { status: 401 })],
    ['a non-Rediver error', new TypeError('boom')],
  ])('fails %s at once, without retrying', async (_name, error) => {
    const failed = vi.fn();
    const { uploader, pipeline } = setup();
    pipeline.on('failed', failed);
    pipeline.submit(makeReport('a'));
    await tick();
    uploader.calls[0]!.reject(error);
    await tick();
    vi.advanceTimersByTime(600_000);
    await tick();
    expect(uploader.calls).toHaveLength(1);
    expect(failed).toHaveBeenCalledTimes(1);
    expect(pipeline.getStats()).toMatchObject({ failed: 1, retries: 0 });
    const reported = failed.mock.calls[0]![1] as RediverError;
    expect(reported.retryable).toBe(false);
    if (error instanceof TypeError) expect(reported).toMatchObject({ code: 'INTERNAL', cause: error });
  });

  it.each([
    ['408', new CoreError('SERVER_ERROR', 'HTTP 408', { status: 408 })],
    ['429', new CoreError('RATE_LIMITED', 'HTTP 429', { status: 429 })],
    ['a network error', new CoreError('NETWORK', 'ECONNRESET')],
    ['a timeout', new CoreError('TIMEOUT', 'timed out')],
  ])('retries %s', async (_name, error) => {
    const { uploader, pipeline } = setup();
    pipeline.submit(makeReport('a'));
    await tick();
    uploader.calls[0]!.reject(error);
    await tick();
    vi.advanceTimersByTime(5000);
    await tick();
    expect(uploader.calls).toHaveLength(2);
    uploader.calls[1]!.resolve();
    await tick();
    expect(pipeline.getStats()).toMatchObject({ completed: 1, retries: 1, failed: 0 });
  });

  it("honours the uploader error's retryAfterMs when it is longer than the backoff", async () => {
    const { uploader, pipeline } = setup();
    pipeline.submit(makeReport('a'));
    await tick();
    uploader.calls[0]!.reject(
      new CoreError('RATE_LIMITED', 'HTTP 429', { status: 429, retryAfterMs: 30_000 }),
    );
    await tick();
    vi.advanceTimersByTime(29_999);
    await tick();
    expect(uploader.calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await tick();
    expect(uploader.calls).toHaveLength(2);
    // a shorter Retry-After does not undercut the backoff (10 s for the second retry)
    uploader.calls[1]!.reject(new CoreError('RATE_LIMITED', 'HTTP 429', { status: 429, retryAfterMs: 1000 }));
    await tick();
    vi.advanceTimersByTime(9999);
    await tick();
    expect(uploader.calls).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await tick();
    expect(uploader.calls).toHaveLength(3);
  });

  it('puts a retried item ahead of newer items of its priority', async () => {
    const { uploader, pipeline } = setup({ workers: 1 });
    pipeline.submit(makeReport('first'));
    await tick();
    uploader.calls[0]!.reject(serverError());
    pipeline.submit(makeReport('second'));
    pipeline.submit(makeReport('third'));
    await tick();
    expect(uploader.open()[0]!.report.metadata.id).toBe('second');
    vi.advanceTimersByTime(5000); // first is due while second is in flight
    uploader.open()[0]!.resolve();
    await tick();
    expect(uploader.open()[0]!.report.metadata.id).toBe('first');
  });
});

describe('timeouts', () => {
  it('aborts the attempt at uploadTimeoutMs and retries it as a TIMEOUT', async () => {
    const { uploader, pipeline } = setup({ uploadTimeoutMs: 1000 });
    const retry = vi.fn();
    pipeline.on('retry', retry);
    pipeline.submit(makeReport('a'));
    await tick();
    const call = uploader.calls[0]!;
    vi.advanceTimersByTime(999);
    expect(call.signal!.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(call.signal!.aborted).toBe(true);
    expect(call.aborted).toBe(true);
    expect(isRediverError(call.signal!.reason, 'TIMEOUT')).toBe(true);
    await tick();
    expect(retry).toHaveBeenCalledTimes(1);
    expect(retry.mock.calls[0]![1].error.code).toBe('TIMEOUT');
    vi.advanceTimersByTime(5000);
    await tick();
    expect(uploader.calls).toHaveLength(2);
    expect(uploader.calls[1]!.signal!.aborted).toBe(false); // a fresh signal per attempt
  });

  it('hands out an already-aborted signal when the uploader reads it only after the abort', async () => {
    const held: UploadAttemptOptions[] = [];
    const pipeline = new UploadPipeline(
      { uploadReport: (_report, options) => (held.push(options!), new Promise<UploadResult>(() => {})) },
      { uploadTimeoutMs: 1000, retryAttempts: 0 },
    );
    pipeline.submit(makeReport('a'));
    await tick();
    expect(held[0]!.idempotencyKey).toEqual(expect.any(String));
    vi.advanceTimersByTime(1000);
    const { signal } = held[0]!; // read late: created now, already aborted with the timeout
    expect(signal!.aborted).toBe(true);
    expect(isRediverError(signal!.reason, 'TIMEOUT')).toBe(true);
    await pipeline.stop({ drain: false });
  });

  it('gives a timed-out attempt of the last try up as TIMEOUT', async () => {
    const failed = vi.fn();
    const { pipeline } = setup({ uploadTimeoutMs: 1000, retryAttempts: 0, onFailed: failed });
    pipeline.submit(makeReport('a'));
    await tick();
    vi.advanceTimersByTime(1000);
    await tick();
    expect(failed).toHaveBeenCalledTimes(1);
    expect((failed.mock.calls[0]![1] as RediverError).code).toBe('TIMEOUT');
  });

  it('frees the worker even when the uploader ignores the abort, ignoring the late outcome', async () => {
    const { uploader, pipeline } = setup({ uploadTimeoutMs: 1000, retryAttempts: 0, workers: 1 });
    uploader.honourAbort = false;
    pipeline.submit(makeReport('a'));
    pipeline.submit(makeReport('b'));
    await tick();
    vi.advanceTimersByTime(1000);
    await tick();
    expect(uploader.calls).toHaveLength(1); // still waiting for the uploader to honour the abort
    vi.advanceTimersByTime(1000);
    await tick();
    expect(uploader.calls).toHaveLength(2);
    uploader.calls[0]!.resolve(); // too late: already counted as failed
    uploader.calls[1]!.resolve();
    await tick();
    expect(pipeline.getStats()).toMatchObject({ submitted: 2, completed: 1, failed: 1, inProgress: 0 });
  });

  it('counts a success that arrives despite the abort as completed', async () => {
    const { uploader, pipeline } = setup({ uploadTimeoutMs: 1000 });
    uploader.honourAbort = false;
    pipeline.submit(makeReport('a'));
    await tick();
    vi.advanceTimersByTime(1000);
    uploader.calls[0]!.resolve();
    await tick();
    expect(pipeline.getStats()).toMatchObject({ completed: 1, retries: 0, failed: 0 });
  });
});

describe('flush', () => {
  it('resolves at once when idle', async () => {
    const { pipeline } = setup();
    await expect(pipeline.flush()).resolves.toBeUndefined();
  });

  it('resolves exactly when the last item settles, not while one waits for a retry', async () => {
    const { uploader, pipeline } = setup({ workers: 2 });
    pipeline.submit(makeReport('a'));
    pipeline.submit(makeReport('b'));
    let flushed = false;
    const flushing = pipeline.flush().then(() => {
      flushed = true;
    });
    await tick();
    uploader.calls[0]!.resolve();
    uploader.calls[1]!.reject(serverError());
    await tick();
    expect(pipeline.getStats()).toMatchObject({ queueLength: 0, inProgress: 1 });
    expect(flushed).toBe(false); // b waits for its retry
    vi.advanceTimersByTime(5000);
    await tick();
    expect(flushed).toBe(false); // b is in flight again
    uploader.calls[2]!.resolve();
    await tick();
    expect(flushed).toBe(true);
    await flushing;
  });

  it('emits idle when the work runs out, at the same moment flush resolves', async () => {
    const { uploader, pipeline } = setup();
    const events: string[] = [];
    pipeline.on('idle', () => events.push('idle'));
    pipeline.on('completed', () => events.push('completed'));
    pipeline.submit(makeReport('a'));
    const flushing = pipeline.flush().then(() => events.push('flushed'));
    await tick();
    uploader.calls[0]!.resolve();
    await flushing;
    expect(events).toEqual(['completed', 'idle', 'flushed']);
  });

  it('emits idle once per busy period, even when a listener stops the pipeline', async () => {
    const { uploader, pipeline } = setup();
    const idle = vi.fn();
    pipeline.on('idle', idle);
    pipeline.on('completed', () => void pipeline.stop({ drain: false }));
    pipeline.submit(makeReport('a'));
    pipeline.submit(makeReport('b'));
    await tick();
    uploader.calls[0]!.resolve(); // its listener hands b back, then a's settling ends too
    await tick();
    expect(idle).toHaveBeenCalledTimes(1);
    expect((await pipeline.stop()).map((i) => i.report.metadata.id)).toEqual(['b']);
  });

  it('rejects with ABORTED when its signal fires, leaving the work alone', async () => {
    const { uploader, pipeline } = setup();
    pipeline.submit(makeReport('a'));
    const controller = new AbortController();
    const flushing = pipeline.flush({ signal: controller.signal });
    controller.abort();
    await expect(flushing).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(pipeline.flush({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    await tick();
    uploader.calls[0]!.resolve();
    await pipeline.flush();
    expect(pipeline.getStats().completed).toBe(1);
  });
});

describe('stop', () => {
  it('with drain: refuses new reports, delivers everything held (retries too), resolves []', async () => {
    const { uploader, pipeline } = setup({ workers: 1 });
    for (const id of ['a', 'b', 'c']) pipeline.submit(makeReport(id));
    await tick();
    let stopped: QueueItem[] | undefined;
    const stopping = pipeline.stop({ drain: true }).then((items) => (stopped = items));
    expect(thrownCode(() => pipeline.submit(makeReport('d')))).toBe('CLOSED');
    uploader.open()[0]!.reject(serverError());
    await tick();
    uploader.open()[0]!.resolve();
    await tick();
    uploader.open()[0]!.resolve();
    await tick();
    expect(stopped).toBeUndefined(); // a still waits for its retry
    vi.advanceTimersByTime(5000);
    await tick();
    uploader.open()[0]!.resolve();
    await stopping;
    expect(stopped).toEqual([]);
    expect(pipeline.getStats()).toMatchObject({ submitted: 3, completed: 3, returned: 0, retries: 1 });
  });

  it('without drain: aborts attempts, cancels retries and hands back every undelivered item', async () => {
    const { uploader, pipeline } = setup({ workers: 2 });
    const returnedEvent = vi.fn();
    pipeline.on('returned', returnedEvent);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((id) => pipeline.submit(makeReport(id)));
    await tick();
    uploader.calls[0]!.reject(serverError()); // a → waiting for retry; c starts
    uploader.calls[1]!.resolve(); // b → completed; d starts
    await tick();
    expect(pipeline.getStats()).toMatchObject({ completed: 1, inProgress: 3, queueLength: 1 });
    const items = await pipeline.stop({ drain: false });
    expect(items.map((i) => i.id).sort()).toEqual([ids[0], ids[2], ids[3], ids[4]].sort());
    expect(items.find((i) => i.id === ids[0])).toMatchObject({
      attempts: 1,
      lastError: { code: 'SERVER_ERROR' },
    });
    expect(returnedEvent).toHaveBeenCalledWith(items);
    expect(uploader.calls.slice(2).every((c) => c.aborted)).toBe(true);
    expect(isRediverError(uploader.calls[2]!.signal!.reason, 'CLOSED')).toBe(true);
    expect(pipeline.getStats()).toMatchObject({
      submitted: 5,
      completed: 1,
      returned: 4,
      inProgress: 0,
      queueLength: 0,
    });
    expect(vi.getTimerCount()).toBe(0); // the retry timer and the deadline timer are gone
    vi.advanceTimersByTime(60_000);
    await tick();
    expect(uploader.calls).toHaveLength(4);
    expect(invariantHolds(pipeline)).toBe(true);
    expect(thrownCode(() => pipeline.submit(makeReport('f')))).toBe('CLOSED');
  });

  it('ignores a late success from an attempt that was handed back', async () => {
    const { uploader, pipeline } = setup();
    uploader.honourAbort = false;
    pipeline.submit(makeReport('a'));
    await tick();
    const items = await pipeline.stop({ drain: false });
    uploader.calls[0]!.resolve();
    await tick();
    expect(items).toHaveLength(1);
    expect(pipeline.getStats()).toMatchObject({ completed: 0, returned: 1 });
  });

  it('a signal cuts a drain short, handing back the rest', async () => {
    const { uploader, pipeline } = setup({ workers: 1 });
    pipeline.submit(makeReport('a'));
    pipeline.submit(makeReport('b'));
    await tick();
    const controller = new AbortController();
    const stopping = pipeline.stop({ drain: true, signal: controller.signal });
    uploader.calls[0]!.resolve();
    await tick();
    controller.abort();
    const items = await stopping;
    expect(items.map((i) => i.report.metadata.id)).toEqual(['b']);
    expect(pipeline.getStats()).toMatchObject({ completed: 1, returned: 1 });
  });

  it('every stop and close returns the same promise; a later stop without drain cuts the drain', async () => {
    const { pipeline } = setup();
    pipeline.submit(makeReport('a'));
    const handedBack: string[] = [];
    pipeline.on('pipeline:returned', ({ items }) =>
      handedBack.push(...items.map((i) => i.report.metadata.id)),
    );
    const first = pipeline.stop();
    const closing = pipeline.close();
    expect(pipeline.close()).toBe(closing);
    expect(pipeline.stop({ drain: false })).toBe(first);
    expect((await first).map((i) => i.report.metadata.id)).toEqual(['a']);
    expect(pipeline.stop()).toBe(first);
    // close() hands nothing back (issue 16): the items are stop()'s result and the pipeline:returned event.
    await expect(closing).resolves.toBeUndefined();
    expect(handedBack).toEqual(['a']);
  });

  it('resolves at once when idle, and flush after stop resolves', async () => {
    const { pipeline } = setup();
    await expect(pipeline.stop()).resolves.toEqual([]);
    await expect(pipeline.flush()).resolves.toBeUndefined();
  });

  it('Symbol.asyncDispose stops with drain', async () => {
    const { uploader, pipeline } = setup();
    pipeline.submit(makeReport('a'));
    const disposing = pipeline[Symbol.asyncDispose]();
    await tick();
    uploader.calls[0]!.resolve();
    await disposing;
    expect(pipeline.getStats()).toMatchObject({ completed: 1, returned: 0 });
  });
});

describe('callbacks and events', () => {
  it('feeds callbacks and events from the same place, with the same arguments', async () => {
    const calls: string[] = [];
    const { uploader, pipeline } = setup({
      retryAttempts: 0,
      onSubmitted: (item) => calls.push(`cb:submitted:${item.report.metadata.id}`),
      onCompleted: (item, result) => calls.push(`cb:completed:${item.report.metadata.id}:${result.reportId}`),
      onFailed: (item, error) => calls.push(`cb:failed:${item.report.metadata.id}:${error.code}`),
    });
    pipeline.on('submitted', (item) => calls.push(`ev:submitted:${item.report.metadata.id}`));
    pipeline.on('completed', (item, result: UploadResult) =>
      calls.push(`ev:completed:${item.report.metadata.id}:${result.reportId}`),
    );
    pipeline.on('failed', (item, error) => calls.push(`ev:failed:${item.report.metadata.id}:${error.code}`));
    pipeline.submit(makeReport('ok'));
    pipeline.submit(makeReport('bad'));
    await tick();
    uploader.calls[0]!.resolve(okResult(uploader.calls[0]!.report));
    uploader.calls[1]!.reject(rejected());
    await pipeline.flush();
    expect(calls).toEqual([
      'cb:submitted:ok',
      'ev:submitted:ok',
      'cb:submitted:bad',
      'ev:submitted:bad',
      'cb:completed:ok:ok',
      'ev:completed:ok:ok',
      'cb:failed:bad:REQUEST_REJECTED',
      'ev:failed:bad:REQUEST_REJECTED',
    ]);
  });

  it('survives throwing callbacks and listeners, logging them', async () => {
    const errors: unknown[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (o: unknown) => errors.push(o) };
    const boom = (): never => {
      throw new Error('listener bug');
    };
    const { uploader, pipeline } = setup({ onSubmitted: boom, onCompleted: boom, logger });
    pipeline.on('completed', boom);
    pipeline.on('idle', boom);
    expect(() => pipeline.submit(makeReport('a'))).not.toThrow();
    await tick();
    uploader.calls[0]!.resolve();
    await pipeline.flush();
    expect(pipeline.getStats()).toMatchObject({ completed: 1 });
    expect(errors.length).toBe(4);
  });

  it('emits single-payload item:/pipeline: events (the positional names alongside) and reports throwing listeners as error', async () => {
    const { uploader, pipeline } = setup({ retryAttempts: 1, retryDelayMs: 1, maxRetryDelayMs: 1 });
    const seen: string[] = [];
    pipeline.on('item:submitted', ({ item }) => seen.push(`submitted ${item.report.metadata.id}`));
    pipeline.on('item:retry', ({ item, retry }) => seen.push(`retry ${item.report.metadata.id} #${retry}`));
    pipeline.on('item:completed', ({ item, result }) =>
      seen.push(`completed ${item.report.metadata.id} ${result.reportId}`),
    );
    pipeline.on('completed', (item) => seen.push(`old completed ${item.report.metadata.id}`));
    pipeline.on('pipeline:idle', () => seen.push('idle'));
    const errors: { code: string; source: string; listener: unknown }[] = [];
    pipeline.on('error', ({ error, source }) =>
      errors.push({ code: error.code, source, listener: error.details?.listener }),
    );
    pipeline.on('item:completed', () => {
      throw new Error('listener bug');
    });
    pipeline.submit(makeReport('a'));
    await tick();
    uploader.calls[0]!.reject(new CoreError('SERVER_ERROR', 'HTTP 503', { status: 503 }));
    await vi.advanceTimersByTimeAsync(20);
    await tick();
    uploader.calls[1]!.resolve();
    await pipeline.flush();
    expect(seen).toEqual(['submitted a', 'retry a #1', 'completed a a', 'old completed a', 'idle']);
    expect(errors).toEqual([{ code: 'INTERNAL', source: 'listener', listener: 'item:completed' }]);
  });

  it('logs every give-up at warn, and per-item progress only when verbose', async () => {
    const lines: { level: string; msg: string }[] = [];
    const at = (level: string) => (_o: unknown, msg?: string) => lines.push({ level, msg: msg ?? '' });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    for (const verbose of [false, true]) {
      lines.length = 0;
      const { uploader, pipeline } = setup({ logger, verbose, retryAttempts: 0 });
      pipeline.submit(makeReport('a'));
      pipeline.submit(makeReport('b'));
      await tick();
      uploader.calls[0]!.resolve();
      uploader.calls[1]!.reject(rejected());
      await pipeline.flush();
      const item = lines.filter((l) => l.msg.startsWith('report'));
      expect(item.filter((l) => l.level === 'warn')).toHaveLength(1);
      expect(item.filter((l) => l.level === 'info')).toHaveLength(verbose ? 3 : 0);
    }
  });
});
