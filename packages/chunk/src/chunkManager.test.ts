// ChunkManager scheduling, pacing, lifecycle and dead letters, with real SQLite and an in-process uploader
// (the engine's output port); the HTTP paths are in test/upload.test.ts.
import { isRediverError, RediverError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeReport, tempDir, within } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { openManager } from '../test/helpers/harness';
import { memoryUploader, untilAborted } from '../test/helpers/memoryUploader';
import { ChunkManager, DEFAULT_CHUNK_MANAGER_OPTIONS } from './chunkManager';

let dir: TempDir;
const managers: ChunkManager[] = [];

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await dir.cleanup();
});

function open(options: Parameters<typeof openManager>[1]): ChunkManager {
  const m = openManager(dir.path, options);
  managers.push(m);
  return m;
}

/** Lets promise chains and I/O callbacks run (setImmediate is never faked here). */
async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const order = (u: ReturnType<typeof memoryUploader>): string[] =>
  u.calls.map((c) => `${c.request.report_id}#${c.request.chunk_index}`);

describe('ChunkManager options', () => {
  it('has frozen defaults matching the spec', () => {
    expect(Object.isFrozen(DEFAULT_CHUNK_MANAGER_OPTIONS)).toBe(true);
    expect(DEFAULT_CHUNK_MANAGER_OPTIONS).toMatchObject({
      uploadDelayMs: 100,
      maxConcurrentUploads: 2,
      maxRetries: 3,
      autoCleanupOnUpload: true,
      cleanupOnReportComplete: true,
      retryBaseDelayMs: 1000,
      retryMaxDelayMs: 60_000,
      uploadTimeoutMs: 120_000,
      closeTimeoutMs: 10_000,
    });
  });

  it.each([
    ['retryBaseDelayMs', -1],
    ['retryBaseDelayMs', 1.5],
    ['retryMaxDelayMs', -1],
    ['uploadTimeoutMs', 0],
    ['closeTimeoutMs', -1],
    ['onProgress', 'nope'],
  ])('refuses %s = %s with INVALID_OPTION', (name, value) => {
    expect(() => openManager(dir.path, { uploader: memoryUploader(), [name]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('accepts the edges: retryBaseDelayMs 0, uploadTimeoutMs 1, closeTimeoutMs 0, max = base', () => {
    const m = open({
      uploader: memoryUploader(),
      retryBaseDelayMs: 0,
      retryMaxDelayMs: 0,
      uploadTimeoutMs: 1,
      closeTimeoutMs: 0,
    });
    expect(m).toBeInstanceOf(ChunkManager);
  });

  it('refuses an unknown key with a did-you-mean, a bad ceiling, adaptive not boolean, and readOnly', () => {
    expect(() => openManager(dir.path, { uploader: memoryUploader(), maxRetrys: 5 } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        details: { option: 'maxRetrys' },
        message: expect.stringMatching(/did you mean maxRetries\?/),
      }),
    );
    for (const bad of [
      { maxConcurrentUploadsCeiling: 0 },
      { maxConcurrentUploadsCeiling: 257 },
      { maxConcurrentUploads: 8, maxConcurrentUploadsCeiling: 4 },
      { adaptive: 'yes' },
      { readOnly: true },
    ]) {
      expect(() => openManager(dir.path, { uploader: memoryUploader(), ...(bad as object) })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    }
    expect(DEFAULT_CHUNK_MANAGER_OPTIONS).toMatchObject({ adaptive: true, maxConcurrentUploadsCeiling: 32 });
  });

  it('honours a Retry-After beyond the timer range without overflowing setTimeout', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const u = memoryUploader((_call, n) => {
        if (n === 1) throw new RediverError('RATE_LIMITED', 'later', { retryAfterMs: 40 * 24 * 3_600_000 });
      });
      const m = open({ uploader: u, maxConcurrentUploads: 1 });
      const delays: number[] = [];
      m.on('chunk:retry', (e) => delays.push(e.delayMs));
      await m.submitReport(makeReport('far', { findings: 3 }), { tenantId: 't1' });
      void m.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(delays).toEqual([2 ** 31 - 1]);
      expect(u.calls).toHaveLength(1); // not retried at once, not spinning
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('refuses retryMaxDelayMs below retryBaseDelayMs and a missing uploader', () => {
    expect(() =>
      openManager(dir.path, { uploader: memoryUploader(), retryBaseDelayMs: 10, retryMaxDelayMs: 9 }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => openManager(dir.path, {} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => openManager(dir.path, { uploader: {} as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});

describe('ChunkManager scheduling', () => {
  it('serves higher priority first, interleaves equal priorities fairly, keeps index order', async () => {
    const u = memoryUploader();
    const m = open({ uploader: u, maxConcurrentUploads: 1 });
    const lo = await m.submitReport(makeReport('lo', { findings: 30 }), { tenantId: 't1', priority: 0 });
    const a = await m.submitReport(makeReport('hi-a', { findings: 30 }), { tenantId: 't1', priority: 10 });
    const b = await m.submitReport(makeReport('hi-b', { findings: 50 }), { tenantId: 't1', priority: 10 });
    expect(a.totalChunks).toBe(3);
    expect(b.totalChunks).toBe(5);
    void m.start();
    await within(m.drain(), 10_000, 'drain');
    expect(order(u)).toEqual([
      'hi-a#0',
      'hi-b#0',
      'hi-a#1',
      'hi-b#1',
      'hi-a#2',
      'hi-b#2',
      'hi-b#3',
      'hi-b#4',
      ...Array.from({ length: lo.totalChunks }, (_, i) => `lo#${i}`),
    ]);
  });

  it('lets a more urgent report submitted mid-upload overtake the rest', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const u = memoryUploader((_call, n) => (n === 1 ? gate : undefined));
    const m = open({ uploader: u, maxConcurrentUploads: 1 });
    await m.submitReport(makeReport('bulk', { findings: 40 }), { tenantId: 't1' });
    void m.start();
    await within(
      vi.waitFor(() => expect(u.calls).toHaveLength(1)),
      5000,
      'first upload',
    );
    await m.submitReport(makeReport('urgent', { findings: 20 }), { tenantId: 't1', priority: 20 });
    release();
    await within(m.drain(), 10_000, 'drain');
    expect(order(u)).toEqual(['bulk#0', 'urgent#0', 'urgent#1', 'bulk#1', 'bulk#2', 'bulk#3']);
  });

  it('uses the per-tenant uploader and keeps tenants apart', async () => {
    const byTenant = { t1: memoryUploader(), t2: memoryUploader() };
    const m = open({ uploader: (tenant) => byTenant[tenant as 't1' | 't2'], maxConcurrentUploads: 2 });
    await m.submitReport(makeReport('same-id', { findings: 20 }), { tenantId: 't1' });
    await m.submitReport(makeReport('same-id', { findings: 30 }), { tenantId: 't2' });
    void m.start();
    await within(m.drain(), 10_000, 'drain');
    expect(byTenant.t1.calls).toHaveLength(2);
    expect(byTenant.t2.calls).toHaveLength(3);
    const keys1 = new Set(byTenant.t1.calls.map((c) => c.idempotencyKey));
    expect(byTenant.t2.calls.some((c) => keys1.has(c.idempotencyKey))).toBe(false);
    expect(await m.getProgress('t1', 'same-id')).toMatchObject({ totalChunks: 2, status: 'completed' });
    expect(await m.getProgress('t2', 'same-id')).toMatchObject({ totalChunks: 3, status: 'completed' });
    expect(await m.getProgress('t3', 'same-id')).toBeUndefined();
  });

  it('paces each worker by uploadDelayMs and never exceeds maxConcurrentUploads (fake clock, counted)', async () => {
    const u = memoryUploader();
    // The fixed pacing (adaptive delivery grows past maxConcurrentUploads: test/adaptive.test.ts).
    const m = open({ uploader: u, maxConcurrentUploads: 2, uploadDelayMs: 1000, adaptive: false });
    await m.submitReport(makeReport('paced', { findings: 100 }), { tenantId: 't1' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    void m.start();
    await settle();
    expect(u.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(u.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(u.calls).toHaveLength(4);
    for (let s = 0; s < 3; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      await settle();
    }
    expect(u.calls).toHaveLength(10);
    expect(u.maxInFlight).toBeLessThanOrEqual(2);
    vi.useRealTimers();
  });

  it("adaptive: uploadDelayMs is a minimum spacing between the starts of a slot's uploads (fake clock)", async () => {
    // Each upload takes 600 ms: a slot starts its next one 1000 ms after the last start, not 600 + 1000.
    const u = memoryUploader(() => new Promise((r) => setTimeout(r, 600)));
    const m = open({
      uploader: u,
      maxConcurrentUploads: 1,
      maxConcurrentUploadsCeiling: 1,
      uploadDelayMs: 1000,
    });
    await m.submitReport(makeReport('spaced', { findings: 50 }), { tenantId: 't1' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const t0 = Date.now();
    void m.start();
    for (let s = 0; s < 4; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      await settle();
    }
    expect(u.calls.map((c) => c.at - t0)).toEqual([0, 1000, 2000, 3000, 4000]);
    vi.useRealTimers();
  });

  it('waits for a due retry on the clock it was given (backoff is a schedule, not a sleep in place)', async () => {
    const u = memoryUploader((_call, n) => {
      if (n === 1) throw new RediverError('SERVER_ERROR', 'boom');
    });
    const m = open({
      uploader: u,
      maxConcurrentUploads: 1,
      retryBaseDelayMs: 10_000,
      retryMaxDelayMs: 10_000,
    });
    await m.submitReport(makeReport('one-chunk', { findings: 5 }), { tenantId: 't1' });
    await m.submitReport(makeReport('other', { findings: 5 }), { tenantId: 't1' });
    const retries: number[] = [];
    m.on('chunk:retry', (e) => retries.push(e.delayMs));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    void m.start();
    await settle();
    // The failing chunk waits; the other report's chunk does not wait behind it.
    expect(order(u)).toEqual(['one-chunk#0', 'other#0']);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toBeGreaterThanOrEqual(5000);
    expect(retries[0]).toBeLessThanOrEqual(10_000);
    await vi.advanceTimersByTimeAsync(retries[0]! - 1);
    await settle();
    expect(u.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(order(u)).toEqual(['one-chunk#0', 'other#0', 'one-chunk#0']);
    vi.useRealTimers();
  });
  it('a retry re-queued by a slot that then parks (the limit shrank) still wakes the idle slot', async () => {
    // Slot 0 delivers chunk 0 and goes idle with nothing due (chunk 1 is in flight). Chunk 1 is answered 429:
    // the adaptive limit shrinks to 1, the chunk is re-queued due in 30 ms and slot 1 parks above the limit.
    // The idle slot must be woken when the retry falls due (it was lost: the report never completed).
    let release!: () => void;
    const second = new Promise<void>((resolve) => (release = resolve));
    const u = memoryUploader(async (_call, n) => {
      if (n === 1) {
        setImmediate(release);
        return;
      }
      if (n === 2) {
        await second;
        await settle();
        throw new RediverError('RATE_LIMITED', 'slow down', { retryAfterMs: 30 });
      }
    });
    const m = open({ uploader: u, maxConcurrentUploads: 2, maxFindingsPerChunk: 10 });
    const limits: number[] = [];
    m.on('upload:limit', (e) => limits.push(e.limit));
    await m.submitReport(makeReport('parked', { findings: 20 }), { tenantId: 't1' });
    void m.start();
    await within(m.waitForReport('t1', 'parked'), 5000, 'delivered after the retry');
    expect(limits).toContain(1);
    expect(u.calls).toHaveLength(3);
  });

  it('a short retry is not held behind a long Retry-After of another chunk', async () => {
    const u = memoryUploader((call) => {
      const again = u.calls.filter((c) => c.request.report_id === call.request.report_id).length > 1;
      if (again) return;
      if (call.request.report_id === 'slow') {
        throw new RediverError('RATE_LIMITED', 'slow down', { retryAfterMs: 60_000 });
      }
      throw new RediverError('SERVER_ERROR', 'boom');
    });
    const m = open({ uploader: u, maxConcurrentUploads: 2, retryBaseDelayMs: 100, retryMaxDelayMs: 100 });
    await m.submitReport(makeReport('slow', { findings: 5 }), { tenantId: 't1' });
    await m.submitReport(makeReport('fast', { findings: 5 }), { tenantId: 't1' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    void m.start();
    await settle();
    expect(u.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(order(u).sort()).toEqual(['fast#0', 'fast#0', 'slow#0']);
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(order(u).sort()).toEqual(['fast#0', 'fast#0', 'slow#0', 'slow#0']);
    vi.useRealTimers();
  });
});

describe('ChunkManager dead letters', () => {
  it('quarantines a corrupt chunk (never uploads it) while the rest go through', async () => {
    const u = memoryUploader();
    const m = open({ uploader: u, maxConcurrentUploads: 1 });
    const r = await m.submitReport(makeReport('torn', { findings: 30 }), { tenantId: 't1' });
    const other = m.store.sqlite
      .prepare(
        `SELECT b.data FROM chunks c JOIN chunk_blobs b ON b.chunk_id = c.id
         WHERE c.report_id = 'torn' AND c.chunk_index = 0`,
      )
      .get() as { data: Buffer };
    // A valid zstd frame of other content: decompresses fine, fails the checksum.
    m.store.sqlite
      .prepare(
        `UPDATE chunk_blobs SET data = ?
         WHERE chunk_id = (SELECT id FROM chunks WHERE report_id = 'torn' AND chunk_index = 1)`,
      )
      .run(other.data);
    const failed: string[] = [];
    const corrupt: number[] = [];
    m.on('chunk:failed', (e) => failed.push(`${e.chunkIndex}:${e.reason}:${e.error.code}`));
    m.on('chunk:corrupt', (e) => corrupt.push(e.chunkIndex));
    void m.start();
    const err = await within(
      m.waitForReport('t1', 'torn').then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      'torn settles',
    );
    expect(isRediverError(err, 'CHECKSUM_MISMATCH')).toBe(true);
    expect(order(u)).toEqual(['torn#0', 'torn#2']);
    expect(failed).toEqual(['1:corrupt:CHECKSUM_MISMATCH']);
    expect(corrupt).toEqual([1]);
    expect(r.totalChunks).toBe(3);
    expect(await m.listDeadLetters()).toEqual([
      expect.objectContaining({ reportId: 'torn', chunkIndex: 1, status: 'corrupt', attempts: 0 }),
    ]);
    expect(await m.retryFailed('t1', 'torn')).toBe(0);
    expect(await m.getProgress('t1', 'torn')).toMatchObject({
      status: 'partial',
      failedChunks: 1,
      uploadedChunks: 2,
    });
  });

  it('aborts an attempt after uploadTimeoutMs and retries it as TIMEOUT', async () => {
    const u = memoryUploader((call, n) => (n === 1 ? untilAborted(call.signal) : undefined));
    const m = open({ uploader: u, uploadTimeoutMs: 30, maxRetries: 1 });
    const retries: string[] = [];
    m.on('chunk:retry', (e) => retries.push(`${e.retry}:${e.error.code}`));
    await m.submitReport(makeReport('slowpoke', { findings: 5 }), { tenantId: 't1' });
    void m.start();
    await within(m.waitForReport('t1', 'slowpoke'), 10_000, 'delivered after the timeout');
    expect(retries).toEqual(['1:TIMEOUT']);
    expect(u.calls).toHaveLength(2);
    expect(u.calls[0]!.signal?.aborted).toBe(true);
  });

  it('treats an uploader throwing a non-Rediver error as not retryable', async () => {
    const u = memoryUploader(() => {
      throw new TypeError('bug in uploader');
    });
    const m = open({ uploader: u, maxRetries: 5 });
    await m.submitReport(makeReport('buggy', { findings: 5 }), { tenantId: 't1' });
    void m.start();
    const err = await within(
      m.waitForReport('t1', 'buggy').then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      'settles',
    );
    expect(isRediverError(err, 'INTERNAL')).toBe(true);
    expect(u.calls).toHaveLength(1);
    expect(await m.getProgress('t1', 'buggy')).toMatchObject({ status: 'failed', uploadedChunks: 0 });
  });

  it('survives throwing listeners and callbacks', async () => {
    const u = memoryUploader();
    const m = open({
      uploader: u,
      onProgress: () => {
        throw new Error('listener bug');
      },
    });
    m.on('chunk:uploaded', () => {
      throw new Error('listener bug');
    });
    await m.submitReport(makeReport('robust', { findings: 20 }), { tenantId: 't1' });
    void m.start();
    await within(m.waitForReport('t1', 'robust'), 10_000, 'delivered');
    expect(u.calls).toHaveLength(2);
  });
});

describe('ChunkManager lifecycle', () => {
  it('close() waits for in-flight uploads up to closeTimeoutMs, then aborts them back to pending', async () => {
    const u = memoryUploader((call) => untilAborted(call.signal));
    const m = open({ uploader: u, maxConcurrentUploads: 2, closeTimeoutMs: 30 });
    await m.submitReport(makeReport('stuck', { findings: 40 }), { tenantId: 't1' });
    void m.start();
    await within(
      vi.waitFor(() => expect(u.inFlight).toBe(2)),
      5000,
      'two in flight',
    );
    const waiting = m.waitForReport('t1', 'stuck').catch((e: unknown) => e);
    const first = m.close();
    expect(m.close()).toBe(first);
    await within(first, 5000, 'close');
    expect(isRediverError(await waiting, 'CLOSED')).toBe(true);
    expect(u.calls.every((c) => c.signal?.aborted)).toBe(true);
    await expect(
      m.submitReport(makeReport('late', { findings: 5 }), { tenantId: 't1' }),
    ).rejects.toMatchObject({
      code: 'CLOSED',
    });
    expect(() => m.start()).toThrow(expect.objectContaining({ code: 'CLOSED' }));

    const again = open({ uploader: memoryUploader() });
    const rows = again.store.sqlite
      .prepare(`SELECT status, attempts FROM chunks WHERE report_id = 'stuck'`)
      .all() as Array<{ status: string; attempts: number }>;
    expect(rows.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
    expect((await again.getStats()).upload.recoveredAtOpen).toBe(0);
  });

  it('puts chunks a crash left "uploading" back to pending at open and delivers them', async () => {
    const first = open({ uploader: memoryUploader() });
    const r = await first.submitReport(makeReport('crashed', { findings: 30 }), { tenantId: 't1' });
    first.store.sqlite.prepare(`UPDATE chunks SET status = 'uploading'`).run();
    await first.close();
    const u = memoryUploader();
    const m = open({ uploader: u });
    expect((await m.getStats()).upload.recoveredAtOpen).toBe(r.totalChunks);
    void m.start();
    await within(m.waitForReport('t1', 'crashed'), 10_000, 'delivered');
    expect(u.calls).toHaveLength(r.totalChunks);
  });

  it('closes through Symbol.asyncDispose', async () => {
    const m = openManager(dir.path, { uploader: memoryUploader() });
    await m[Symbol.asyncDispose]();
    await expect(m.getProgress('t1', 'x')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('waitForReport: NOT_FOUND for an unknown report, ABORTED on its signal', async () => {
    const m = open({ uploader: memoryUploader() });
    await expect(m.waitForReport('t1', 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await m.submitReport(makeReport('never-started', { findings: 5 }), { tenantId: 't1' });
    const ac = new AbortController();
    const waiting = m.waitForReport('t1', 'never-started', { signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    const drained = m.drain({ signal: AbortSignal.abort() });
    await expect(drained).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('the lifecycle contract (issue 16)', () => {
  it('start() resolves once running; drain (and its deprecated flush) resolve once delivered; disposal closes', async () => {
    const m = open({ uploader: memoryUploader() });
    await m.submitReport(makeReport('life', { findings: 5 }), { tenantId: 't1' });
    const started = m.start();
    expect(started).toBeInstanceOf(Promise);
    await started;
    await m.start(); // idempotent
    expect((await m.getStats()).upload.running).toBe(true);
    await within(m.drain(), 5000, 'drain');
    await within(m.flush(), 5000, 'flush');
    expect((await m.getProgress('t1', 'life'))?.status).toBe('completed');
    await m[Symbol.asyncDispose]();
    expect(() => m.start()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

describe('grouped options (issue 16): store and upload apart, the flat form still accepted', () => {
  it('takes { store, upload } like the flat options, and refuses a key in the wrong group or given twice', async () => {
    const grouped = new ChunkManager({
      uploader: memoryUploader(),
      store: { maxFindingsPerChunk: 7, databasePath: `${dir.path}/grouped.db`, cleanupIntervalMinutes: 0 },
      upload: { maxConcurrentUploads: 3, adaptive: false },
    });
    managers.push(grouped);
    expect(grouped.store.options.maxFindingsPerChunk).toBe(7);
    expect(grouped.store.options.maxConcurrentUploads).toBe(3);
    await grouped.submitReport(makeReport('g', { findings: 20 }), { tenantId: 't1' });
    expect((await grouped.getProgress('t1', 'g'))?.totalChunks).toBe(3);
    const refused = (options: object): unknown => {
      try {
        managers.push(
          new ChunkManager({ uploader: memoryUploader(), databasePath: `${dir.path}/r.db`, ...options }),
        );
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const wrongGroup = refused({ store: { maxRetries: 2 } });
    expect(isRediverError(wrongGroup, 'INVALID_OPTION')).toBe(true);
    expect((wrongGroup as RediverError).details).toMatchObject({ option: 'store.maxRetries' });
    const twice = refused({ maxRetries: 1, upload: { maxRetries: 2 } });
    expect(isRediverError(twice, 'INVALID_OPTION')).toBe(true);
    expect((twice as RediverError).details).toMatchObject({ option: 'upload.maxRetries' });
  });
});
