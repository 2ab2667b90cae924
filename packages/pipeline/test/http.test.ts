// One end-to-end run against a real HTTP server on loopback, through a tiny fetch-based
// ReportUploader written here (the real client lives in another package this one must not use).
import type { ServerResponse } from 'node:http';
import type { IngestResponse, QueueItem, Report, ReportUploader, UploadResult } from '@rediver/core';
import { API_PATHS, IDEMPOTENCY_KEY_HEADER, RediverError } from '@rediver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UploadPipeline } from '../src/index';
import { makeReport, sendJson, startLoopbackServer, waitFor } from '@rediver/testkit';
import type { LoopbackServer, SeenRequest } from '@rediver/testkit';

interface Seen {
  reportId: string;
  key: string | undefined;
  closedEarly: boolean;
}

const seen: Seen[] = [];
let server: LoopbackServer;
let baseUrl: string;

function handle(req: SeenRequest, res: ServerResponse): void {
  const report = req.json as Report;
  const id = report.metadata.id;
  const entry: Seen = {
    reportId: id,
    key: req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()] as string,
    closedEarly: false,
  };
  seen.push(entry);
  const times = seen.filter((s) => s.reportId === id).length;
  if (req.url !== API_PATHS.ingest || req.method !== 'POST') return sendJson(res, 404, { error: 'no route' });
  if (id.startsWith('bad')) return sendJson(res, 400, { error: 'invalid report' });
  if (id.startsWith('flaky') && times === 1) return sendJson(res, 503, { error: 'try later' });
  if (id.startsWith('limited') && times === 1)
    return sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '0' });
  if (id.startsWith('slow')) {
    // never answers; the client's abort closes the connection
    res.on('close', () => {
      entry.closedEarly = !res.writableEnded;
    });
    return;
  }
  const body: IngestResponse = {
    scan_id: `scan-${id}`,
    assets_created: 0,
    assets_updated: 0,
    findings_created: report.findings?.length ?? 0,
    findings_updated: 0,
    findings_skipped: 0,
    errors: [],
  };
  sendJson(res, 200, body);
}

/** The smallest faithful ReportUploader over fetch: status → RediverError, abort → the signal's reason. */
function fetchUploader(base: string): ReportUploader {
  return {
    async uploadReport(report, options): Promise<UploadResult> {
      let res: Response;
      try {
        res = await fetch(new URL(API_PATHS.ingest, base), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options?.idempotencyKey ? { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey } : {}),
          },
          body: JSON.stringify(report),
          signal: options?.signal,
        });
      } catch (err) {
        if (options?.signal?.aborted) throw options.signal.reason;
        throw new RediverError('NETWORK', 'could not reach the platform', { cause: err });
      }
      const text = await res.text();
      if (res.status === 429) {
        const retryAfterMs = Number(res.headers.get('retry-after') ?? '1') * 1000;
        throw new RediverError('RATE_LIMITED', 'HTTP 429', { status: 429, retryAfterMs });
      }
      if (res.status >= 500 || res.status === 408) {
        throw new RediverError('SERVER_ERROR', `HTTP ${res.status}`, { status: res.status });
      }
      if (!res.ok)
        throw new RediverError('REQUEST_REJECTED', `HTTP ${res.status}: ${text}`, { status: res.status });
      const body = JSON.parse(text) as IngestResponse;
      return {
        reportId: report.metadata.id,
        scanId: body.scan_id,
        assetsCreated: body.assets_created,
        assetsUpdated: body.assets_updated,
        findingsCreated: body.findings_created,
        findingsUpdated: body.findings_updated,
        findingsSkipped: body.findings_skipped,
      };
    },
  };
}

beforeAll(async () => {
  server = await startLoopbackServer(handle);
  baseUrl = server.url;
});

afterAll(async () => {
  await server.close();
});

describe('UploadPipeline over real HTTP on loopback', { timeout: 30_000 }, () => {
  it('delivers, retries 503/429, fails a 400 at once, times out a hung request and aborts it', async () => {
    const completed: string[] = [];
    const failed: { id: string; code: string }[] = [];
    const pipeline = new UploadPipeline(fetchUploader(baseUrl), {
      workers: 3,
      retryAttempts: 1,
      retryDelayMs: 0,
      maxRetryDelayMs: 0,
      // generous, so only the hung request times out even on a loaded machine
      uploadTimeoutMs: 2500,
      onCompleted: (item: QueueItem, result) => completed.push(`${item.report.metadata.id}:${result.scanId}`),
      onFailed: (item, error) => failed.push({ id: item.report.metadata.id, code: error.code }),
    });
    const ids = new Map<string, string>();
    for (const id of ['ok-1', 'flaky-1', 'limited-1', 'bad-1', 'slow-1', 'ok-2']) {
      ids.set(id, pipeline.submit(makeReport(id)));
    }
    await pipeline.flush({ signal: AbortSignal.timeout(30_000) });

    expect(completed.sort()).toEqual(
      ['flaky-1:scan-flaky-1', 'limited-1:scan-limited-1', 'ok-1:scan-ok-1', 'ok-2:scan-ok-2'].sort(),
    );
    expect(failed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'bad-1', code: 'REQUEST_REJECTED' },
      { id: 'slow-1', code: 'TIMEOUT' },
    ]);
    const count = (id: string): number => seen.filter((s) => s.reportId === id).length;
    expect(count('bad-1')).toBe(1);
    expect(count('flaky-1')).toBe(2);
    expect(count('slow-1')).toBe(2);
    // every attempt of an item carries the item's id as its idempotency key
    expect(seen.filter((s) => s.reportId === 'flaky-1').map((s) => s.key)).toEqual([
      ids.get('flaky-1'),
      ids.get('flaky-1'),
    ]);
    // the timed-out requests were really aborted: the server saw the connection close unanswered
    await waitFor(() => seen.filter((s) => s.reportId === 'slow-1').every((s) => s.closedEarly));
    expect(pipeline.getStats()).toMatchObject({ submitted: 6, completed: 4, failed: 2, retries: 3 });
    await expect(pipeline.close()).resolves.toBeUndefined();
    expect(pipeline.getStats().returned).toBe(0);
  });

  it('stop without drain hands back a request in flight', async () => {
    const pipeline = new UploadPipeline(fetchUploader(baseUrl), { workers: 1 });
    pipeline.submit(makeReport('slow-2'));
    pipeline.submit(makeReport('ok-3'));
    await waitFor(() => seen.some((s) => s.reportId === 'slow-2'));
    const items = await pipeline.stop({ drain: false });
    expect(items.map((i) => i.report.metadata.id)).toEqual(['slow-2', 'ok-3']);
    await waitFor(() => seen.find((s) => s.reportId === 'slow-2')?.closedEarly === true);
    expect(pipeline.getStats()).toMatchObject({ submitted: 2, returned: 2, completed: 0 });
  });
});
