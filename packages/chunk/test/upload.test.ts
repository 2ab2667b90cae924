// The upload engine against a real loopback HTTP server (validating like the platform, deduplicating by
// Idempotency-Key) and real SQLite files.
import { isRediverError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeReport, startIngestPlatform, tempDir, within } from '@rediver/testkit';
import type { IngestPlatform, TempDir } from '@rediver/testkit';
import type { ChunkManager } from '../src/chunkManager';
import type { ChunkRetryEvent, ReportFailedEvent } from '../src/events';
import type { ReportProgress } from '../src/internal/uploadQueue';
import { createFetchChunkUploader } from './helpers/fetchUploader';
import { openManager } from './helpers/harness';

let dir: TempDir;
let server: IngestPlatform | undefined;
const managers: ChunkManager[] = [];

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await server?.close();
  server = undefined;
  await dir.cleanup();
});

function track(m: ChunkManager): ChunkManager {
  managers.push(m);
  return m;
}

/** Every chunk of every report applied exactly once, under one key each. */
function expectExactlyOnce(
  s: IngestPlatform,
  reports: Array<{ reportId: string; totalChunks: number }>,
  others = 0,
): void {
  let expected = others;
  for (const r of reports) {
    for (let i = 0; i < r.totalChunks; i++) {
      const applied = s.appliedFor(r.reportId, i);
      expect(applied, `${r.reportId}#${i}`).toHaveLength(1);
      expect(applied[0]!.totalChunks).toBe(r.totalChunks);
      expected += 1;
    }
  }
  expect(s.applied.size).toBe(expected);
}

describe('ChunkManager upload over HTTP', () => {
  it('delivers every chunk once with the platform payload, reports progress and cleans up', async () => {
    server = await startIngestPlatform({ verifyData: true });
    const progress: ReportProgress[] = [];
    const completed: ReportProgress[] = [];
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        maxConcurrentUploads: 3,
        onProgress: (p) => progress.push(p),
        onComplete: (p) => completed.push(p),
      }),
    );
    const cleanups: string[] = [];
    m.on('chunk:cleanup', (e) => cleanups.push(`${e.reason}:${e.reportId}`));
    const a = await m.submitReport(makeReport('rep-a', { findings: 45 }), { tenantId: 't1' });
    const b = await m.submitReport(makeReport('rep-b', { findings: 25 }), { tenantId: 't1', priority: 5 });
    expect(a.totalChunks).toBeGreaterThan(3);
    void m.start();
    const [pa, pb] = await within(
      Promise.all([m.waitForReport('t1', 'rep-a'), m.waitForReport('t1', 'rep-b')]),
      20_000,
      'reports delivered',
    );
    await within(m.drain(), 5000, 'drain');

    expectExactlyOnce(server, [a, b]);
    expect(server.counters.invalid).toBe(0);
    for (const [p, r] of [
      [pa, a],
      [pb, b],
    ] as const) {
      expect(p).toMatchObject({
        status: 'completed',
        totalChunks: r.totalChunks,
        uploadedChunks: r.totalChunks,
        failedChunks: 0,
        pendingChunks: 0,
        totalBytes: r.compressedBytes,
        uploadedBytes: r.compressedBytes,
      });
    }
    // onProgress once per acknowledged chunk, monotonic per report; onComplete once per report.
    expect(progress).toHaveLength(a.totalChunks + b.totalChunks);
    const lastA = progress.filter((p) => p.reportId === 'rep-a').map((p) => p.uploadedChunks);
    expect(lastA).toEqual([...lastA].sort((x, y) => x - y));
    expect(completed.map((p) => p.reportId).sort()).toEqual(['rep-a', 'rep-b']);
    // cleanupOnReportComplete: chunk rows gone, report row kept as completed (progress still answerable).
    const rows = m.store.sqlite.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number };
    expect(rows.n).toBe(0);
    expect(await m.getProgress('t1', 'rep-a')).toMatchObject({
      status: 'completed',
      uploadedChunks: a.totalChunks,
    });
    expect(cleanups.filter((c) => c.startsWith('upload:'))).toHaveLength(a.totalChunks + b.totalChunks);
    expect(cleanups.filter((c) => c.startsWith('report:')).sort()).toEqual(['report:rep-a', 'report:rep-b']);
  });

  it('autoCleanupOnUpload drops each blob and keeps its metadata when report cleanup is off', async () => {
    server = await startIngestPlatform();
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        cleanupOnReportComplete: false,
      }),
    );
    const r = await m.submitReport(makeReport('keep-meta', { findings: 30 }), { tenantId: 't1' });
    void m.start();
    await within(m.waitForReport('t1', 'keep-meta'), 20_000, 'delivered');
    const rows = m.store.sqlite
      .prepare(`SELECT status, has_data = 0 AS freed, uploaded_at FROM chunks WHERE report_id = 'keep-meta'`)
      .all() as Array<{ status: string; freed: number; uploaded_at: number | null }>;
    expect(rows).toHaveLength(r.totalChunks);
    for (const row of rows) expect(row).toMatchObject({ status: 'uploaded', freed: 1 });
    expect(rows.every((row) => typeof row.uploaded_at === 'number')).toBe(true);
  });

  it('keeps blobs when both cleanups are off', async () => {
    server = await startIngestPlatform();
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        cleanupOnReportComplete: false,
        autoCleanupOnUpload: false,
      }),
    );
    const r = await m.submitReport(makeReport('keep-all', { findings: 25 }), { tenantId: 't1' });
    void m.start();
    await within(m.waitForReport('t1', 'keep-all'), 20_000, 'delivered');
    const kept = m.store.sqlite
      .prepare(`SELECT COUNT(*) AS n FROM chunks WHERE has_data = 1 AND status = 'uploaded'`)
      .get() as { n: number };
    expect(kept.n).toBe(r.totalChunks);
  });

  it('never has more than maxConcurrentUploads requests in flight', async () => {
    server = await startIngestPlatform({ latencyMs: 15 });
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        maxConcurrentUploads: 3,
        adaptive: false, // the fixed pacing: exactly maxConcurrentUploads workers (adaptive grows past it)
      }),
    );
    const reports = [];
    for (let i = 0; i < 4; i++)
      reports.push(await m.submitReport(makeReport(`conc-${i}`, { findings: 40 }), { tenantId: 't1' }));
    void m.start();
    await within(m.drain(), 20_000, 'drain');
    expectExactlyOnce(server, reports);
    expect(server.counters.maxInFlight).toBeLessThanOrEqual(3);
    expect(server.counters.maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('dead-letters a poison chunk at once; every other chunk still arrives; retryFailed re-queues it', async () => {
    server = await startIngestPlatform({
      isPoison: (c) => c.report_id === 'poisoned' && c.chunk_index === 1,
    });
    const failed: Array<{ reason: string; attempts: number; status: number | undefined }> = [];
    const errors: string[] = [];
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        maxRetries: 5,
        onError: (e, ctx) => errors.push(`${e.code}:${ctx.reportId}#${ctx.chunkIndex ?? '-'}`),
      }),
    );
    m.on('chunk:failed', (e) =>
      failed.push({ reason: e.reason, attempts: e.attempts, status: e.error.status }),
    );
    const reportFailed: ReportFailedEvent[] = [];
    m.on('report:failed', (e) => reportFailed.push(e));
    const poisoned = await m.submitReport(makeReport('poisoned', { findings: 40 }), {
      tenantId: 't1',
      priority: 10,
    });
    const healthy = await m.submitReport(makeReport('healthy', { findings: 40 }), { tenantId: 't1' });
    void m.start();
    const outcome = await within(
      m.waitForReport('t1', 'poisoned').then(
        () => undefined,
        (e: unknown) => e,
      ),
      20_000,
      'poisoned settles',
    );
    expect(isRediverError(outcome, 'REQUEST_REJECTED')).toBe(true);
    await within(m.waitForReport('t1', 'healthy'), 20_000, 'healthy delivered');

    // One attempt only (400 is not retryable), never re-sent; everything else arrived once.
    expect(failed).toEqual([{ reason: 'rejected', attempts: 1, status: 400 }]);
    expect(server.counters.poison).toBe(1);
    expectExactlyOnce(server, [healthy], poisoned.totalChunks - 1);
    for (let i = 0; i < poisoned.totalChunks; i++) {
      expect(server.appliedFor('poisoned', i)).toHaveLength(i === 1 ? 0 : 1);
    }
    // The report is partial (others delivered); the dead letter is inspectable with its blob.
    expect(await m.getProgress('t1', 'poisoned')).toMatchObject({
      status: 'partial',
      uploadedChunks: poisoned.totalChunks - 1,
      failedChunks: 1,
      pendingChunks: 0,
    });
    expect(reportFailed).toHaveLength(1);
    expect(reportFailed[0]).toMatchObject({ reportId: 'poisoned', status: 'partial' });
    const dead = await m.listDeadLetters({ tenantId: 't1' });
    expect(dead).toEqual([
      expect.objectContaining({
        reportId: 'poisoned',
        chunkIndex: 1,
        status: 'failed',
        attempts: 1,
        hasData: true,
      }),
    ]);
    expect(dead[0]!.lastError).toMatch(/^REQUEST_REJECTED: /);
    expect(errors).toContain('REQUEST_REJECTED:poisoned#1');
    expect(await m.listDeadLetters({ tenantId: 'other-tenant' })).toEqual([]);
    expect(await m.retryFailed('other-tenant', 'poisoned')).toBe(0);

    // The platform is fixed: re-queue, and the report completes.
    server.setFaults({});
    expect(await m.retryFailed('t1', 'poisoned')).toBe(1);
    await within(m.waitForReport('t1', 'poisoned'), 20_000, 'poisoned delivered after retryFailed');
    expect(server.appliedFor('poisoned', 1)).toHaveLength(1);
    expect(await m.listDeadLetters()).toEqual([]);
  });

  it('gets everything through 30% 5xx, dropped connections and 429 + Retry-After, each chunk applied once', async () => {
    server = await startIngestPlatform({
      // Every fault kind comes up within the first 20 requests with this seed (drawn reset, 429, 503, then reset
      // after apply: the ingest server's order).
      seed: 12,
      errorRate: 0.3,
      resetRate: 0.1,
      resetAfterApplyRate: 0.15,
      rateLimitRate: 0.08,
      retryAfterSeconds: 1,
      verifyData: true,
    });
    const retries: ChunkRetryEvent[] = [];
    const m = track(
      openManager(dir.path, {
        uploader: createFetchChunkUploader(server.url),
        maxConcurrentUploads: 4,
        maxRetries: 30,
      }),
    );
    m.on('chunk:retry', (e) => retries.push(e));
    const reports = [];
    for (let i = 0; i < 4; i++)
      reports.push(await m.submitReport(makeReport(`flaky-${i}`, { findings: 60 }), { tenantId: 't1' }));
    void m.start();
    await within(
      Promise.all(reports.map((r) => m.waitForReport('t1', r.reportId))),
      30_000,
      'all reports through the faults',
    );
    expectExactlyOnce(server, reports);
    expect(await m.listDeadLetters()).toEqual([]);
    expect(server.counters).toMatchObject({ invalid: 0, poison: 0 });
    // Every fault kind happened, and re-sends of chunks that had landed were deduplicated, not re-applied.
    expect(server.counters.error).toBeGreaterThan(0);
    expect(server.counters.reset).toBeGreaterThan(0);
    expect(server.counters.resetAfterApply).toBeGreaterThan(0);
    expect(server.counters.rateLimited).toBeGreaterThan(0);
    expect(server.counters.duplicates).toBeGreaterThan(0);
    // Retry-After honoured: the delay the engine chose is never below the server's ask.
    const limited = retries.filter((r) => r.error.code === 'RATE_LIMITED');
    expect(limited.length).toBe(server.counters.rateLimited);
    for (const r of limited) {
      expect(r.retryAfterMs).toBe(1000);
      expect(r.delayMs).toBeGreaterThanOrEqual(1000);
    }
    const other = retries.filter((r) => r.error.code !== 'RATE_LIMITED');
    expect(other.every((r) => r.retryAfterMs === undefined && r.delayMs <= 20)).toBe(true);
  });

  it('never dead-letters a transient failure: past maxRetries it escalates and keeps retrying until it lands', async () => {
    // Issue 18: this used to dead-letter after 1 + maxRetries attempts (the former assertion of this test).
    server = await startIngestPlatform({ errorRate: 1 });
    const m = track(openManager(dir.path, { uploader: createFetchChunkUploader(server.url), maxRetries: 2 }));
    const failedEvents: string[] = [];
    const escalated = new Set<number>();
    m.on('chunk:failed', (e) => failedEvents.push(`${e.chunkIndex}:${e.reason}:${e.attempts}`));
    m.on('chunk:retry', (e) => {
      expect(e.escalated).toBe(e.retry > 2);
      if (e.escalated) escalated.add(e.chunkIndex);
    });
    const r = await m.submitReport(makeReport('doomed', { findings: 15 }), { tenantId: 't1' });
    void m.start();
    // Well past 1 + maxRetries attempts per chunk: nothing is given up.
    const target = r.totalChunks * 6;
    await within(
      new Promise<void>((resolve) => {
        const t = setInterval(() => server!.counters.requests >= target && (clearInterval(t), resolve()), 5);
      }),
      20_000,
      'many failed attempts',
    );
    expect(failedEvents).toEqual([]);
    expect(escalated.size).toBe(r.totalChunks);
    expect(await m.getProgress('t1', 'doomed')).toMatchObject({ status: 'uploading', failedChunks: 0 });
    server.setFaults({});
    const done = await within(m.waitForReport('t1', 'doomed'), 20_000, 'doomed delivered');
    expect(done).toMatchObject({ status: 'completed', uploadedChunks: r.totalChunks });
    expectExactlyOnce(server, [r]);
    expect(failedEvents).toEqual([]);
    const stats = await m.getStats();
    expect(stats.upload).toMatchObject({ deadLettered: 0, reportsFailed: 0, reportsCompleted: 1 });
    expect(stats.upload.retries).toBeGreaterThanOrEqual(r.totalChunks * 5);
  });
});
