// The kit's own tests: each helper does what the migrated tests rely on, against a real loopback socket.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { API_PATHS } from '@rediver/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  makeReport,
  manualClock,
  sendJson,
  startCapacityPlatform,
  startIngestPlatform,
  startLoopbackServer,
  tempDir,
  waitFor,
  within,
} from './index';
import { fakeTimers, realTimers, useTempDir } from './vitest';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  realTimers();
  for (const close of closers.splice(0)) await close();
});

function chunk(reportId: string, index: number, total = 2): Record<string, unknown> {
  return {
    report_id: reportId,
    chunk_index: index,
    total_chunks: total,
    compression: 'zstd',
    data: Buffer.from(`chunk ${index}`).toString('base64'),
    is_final: index === total - 1,
  };
}

function postChunk(url: string, body: unknown, key?: string): Promise<Response> {
  return fetch(url + API_PATHS.ingestChunk, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
}

describe('startLoopbackServer', () => {
  it('records requests (gzip undone, JSON parsed), counts connections and swaps handlers', async () => {
    const server = await startLoopbackServer();
    closers.push(server.close);
    const first = await fetch(server.url + '/a', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ x: 1 })),
    });
    expect(first.status).toBe(200);
    server.handle((_req, res) => sendJson(res, 418, { teapot: true }, { 'x-kit': 'yes' }));
    const second = await fetch(server.url + '/b', { body: 'not json', method: 'POST' });
    expect(second.status).toBe(418);
    expect(second.headers.get('x-kit')).toBe('yes');
    expect(server.requests.map((r) => [r.method, r.url, r.json])).toEqual([
      ['POST', '/a', { x: 1 }],
      ['POST', '/b', undefined],
    ]);
    expect(server.requests[1]!.text).toBe('not json');
    expect(server.connections()).toBeGreaterThanOrEqual(1);
    await server.close();
    await server.close(); // idempotent
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it('counts requests in flight until they are answered', async () => {
    const server = await startLoopbackServer(() => undefined); // never answers
    closers.push(server.close);
    const pending = [1, 2, 3].map(() =>
      fetch(server.url, { signal: AbortSignal.timeout(20_000) }).catch(() => 'gone'),
    );
    await waitFor(() => server.inFlight() === 3, { what: 'three requests in flight' });
    expect(server.maxInFlight()).toBe(3);
    await server.close();
    expect(await Promise.all(pending)).toEqual(['gone', 'gone', 'gone']);
    await waitFor(() => server.inFlight() === 0, { what: 'aborted requests to leave' });
  });
});

describe('startIngestPlatform', () => {
  it('applies a chunk once per idempotency key and answers duplicates as such', async () => {
    const platform = await startIngestPlatform();
    closers.push(platform.close);
    const a = await postChunk(platform.url, chunk('rep-1', 0), 'k1');
    const again = await postChunk(platform.url, chunk('rep-1', 0), 'k1');
    expect(a.status).toBe(201);
    expect(((await a.json()) as { status: string }).status).toBe('processed');
    expect(((await again.json()) as { status: string }).status).toBe('duplicate');
    expect(platform.appliedFor('rep-1', 0)).toHaveLength(1);
    expect(platform.applied.get('k1')?.deliveries).toBe(2);
    expect(platform.order).toEqual(['rep-1#0']);
    expect(platform.counters).toMatchObject({ requests: 2, applied: 1, duplicates: 1 });
  });

  it('refuses invalid chunks with 400 and applies nothing', async () => {
    const platform = await startIngestPlatform();
    closers.push(platform.close);
    expect((await postChunk(platform.url, chunk('rep-1', 2, 2), 'k')).status).toBe(400);
    expect((await postChunk(platform.url, { ...chunk('rep-1', 0), report_id: '' }, 'k')).status).toBe(400);
    expect(platform.counters).toMatchObject({ invalid: 2, applied: 0 });
  });

  it('injects the ingest server faults by name: resetRate, rateLimitRate + retryAfterSeconds, errorRate', async () => {
    const platform = await startIngestPlatform({ resetRate: 1 });
    closers.push(platform.close);
    await expect(postChunk(platform.url, chunk('rep-1', 0), 'k')).rejects.toThrow();
    platform.setFaults({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const limited = await postChunk(platform.url, chunk('rep-1', 0), 'k');
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7']);
    platform.setFaults({ errorRate: 1 });
    expect((await postChunk(platform.url, chunk('rep-1', 0), 'k')).status).toBe(503);
    platform.setFaults({ isPoison: (c) => c.chunk_index === 1 });
    expect((await postChunk(platform.url, chunk('rep-1', 1), 'k1')).status).toBe(400);
    expect(platform.counters).toMatchObject({ reset: 1, rateLimited: 1, error: 1, poison: 1, applied: 0 });
    platform.setFaults({ resetAfterApplyRate: 1 });
    await expect(postChunk(platform.url, chunk('rep-1', 0), 'k')).rejects.toThrow();
    expect(platform.counters).toMatchObject({ resetAfterApply: 1, applied: 1 });
  });

  it('draws faults from a seeded PRNG: the same seed gives the same faults', async () => {
    const statuses = async (seed: number): Promise<number[]> => {
      const platform = await startIngestPlatform({ seed, errorRate: 0.5 });
      closers.push(platform.close);
      const out: number[] = [];
      for (let i = 0; i < 20; i++)
        out.push((await postChunk(platform.url, chunk('rep-1', 0), `k${i}`)).status);
      return out;
    };
    const first = await statuses(42);
    expect(await statuses(42)).toEqual(first);
    expect(first).toContain(503);
    expect(first).toContain(201);
  });
});

describe('startCapacityPlatform', () => {
  it('answers 429 past twice its capacity and acknowledges the rest', async () => {
    const platform = await startCapacityPlatform({ capacity: 1, baseLatencyMs: 200, retryAfterSeconds: 3 });
    closers.push(platform.close);
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) => postChunk(platform.url, chunk('rep-1', 0), `k${i}`)),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 429).length).toBe(platform.counters.rateLimited);
    expect(platform.counters.acked).toBe(platform.keys.size);
    expect(platform.capacityPerSecond()).toBe(5);
  });
});

describe('makeReport', () => {
  it('builds deterministic findings that reference the assets round robin', () => {
    const report = makeReport('rep-1', { findings: 5, assets: 2 });
    expect(report.metadata).toEqual({
      id: 'rep-1',
      timestamp: '2026-01-15T10:30:00Z',
      coverage_type: 'full',
    });
    expect(report.assets?.map((a) => a.id)).toEqual(['asset-0', 'asset-1']);
    expect(report.findings?.map((f) => f.asset_ref)).toEqual([
      'asset-0',
      'asset-1',
      'asset-0',
      'asset-1',
      'asset-0',
    ]);
    expect(makeReport('rep-1', { findings: 5, assets: 2 })).toEqual(report);
  });

  it('takes noise, a finding builder, a tool and no assets', () => {
    const report = makeReport('r', {
      findings: 2,
      noiseBytes: 33,
      assets: [],
      coverageType: null,
      tool: { name: 'x' },
      finding: (i) => ({ type: 'code', title: `t${i}`, severity: 'low' }),
    });
    expect(report.assets).toBeUndefined();
    expect(report.metadata.coverage_type).toBeUndefined();
    expect(report.tool).toEqual({ name: 'x' });
    expect(report.findings?.map((f) => [f.title, f.description?.length])).toEqual([
      ['t0', 33],
      ['t1', 33],
    ]);
  });
});

describe('tempDir, waitFor, within, clocks', () => {
  const tmp = useTempDir('kit-hook-');
  let previous: string | undefined;
  it('useTempDir gives each test a fresh folder', () => {
    writeFileSync(join(tmp.path, 'f'), 'x');
    previous = tmp.path;
  });
  it('useTempDir removed the previous test folder', () => {
    expect(tmp.path).not.toBe(previous);
    expect(existsSync(previous!)).toBe(false);
  });

  it('tempDir removes the folder and its files, idempotently', async () => {
    const dir = tempDir('kit-');
    writeFileSync(join(dir.path, 'f'), 'x');
    await dir.cleanup();
    await dir.cleanup();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('waitFor resolves when the condition holds and names what it waited for on timeout', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { intervalMs: 1 });
    expect(n).toBe(3);
    await expect(waitFor(() => false, { timeoutMs: 30, what: 'godot' })).rejects.toThrow(
      'timed out after 30 ms waiting for godot',
    );
    await expect(within(new Promise(() => undefined), 20, 'never')).rejects.toThrow(
      'timed out after 20 ms: never',
    );
  });

  it('manualClock moves only by hand; fakeTimers fakes the named set', async () => {
    const clock = manualClock(1000);
    clock.advance(5);
    expect(clock.now()).toBe(1005);
    clock.set(7);
    expect(clock.now()).toBe(7);
    fakeTimers('timeouts', 123_456);
    expect(Date.now()).toBe(123_456);
    let fired = false;
    setTimeout(() => (fired = true), 60_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toBe(true);
  });
});
