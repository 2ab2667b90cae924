// Issue 18: a platform outage never turns into dead letters. A real loopback server down for a while and back on
// the same port; and a ten-minute outage on a fake clock with the default retry settings.
import { RediverError } from '@rediver/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeReport, startIngestPlatform, tempDir, within } from '@rediver/testkit';
import type { IngestPlatform } from '@rediver/testkit';
import type { ChunkManager } from '../src/chunkManager';
import { createFetchChunkUploader } from './helpers/fetchUploader';
import { openManager } from './helpers/harness';
import { memoryUploader } from './helpers/memoryUploader';

const dir = tempDir('rediver-chunk-outage-');
let server: IngestPlatform | undefined;
let manager: ChunkManager | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await manager?.close();
  await server?.close();
  await dir.cleanup();
});

describe('outages', () => {
  it('survives a real server going away mid-delivery and coming back: everything delivered once, no dead letter', async () => {
    server = await startIngestPlatform({ latencyMs: 5 });
    const port = Number(new URL(server.url).port);
    const m = (manager = openManager(dir.path, {
      uploader: createFetchChunkUploader(server.url),
      maxRetries: 1,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 300,
    }));
    const failed: string[] = [];
    let escalated = 0;
    m.on('chunk:failed', (e) => failed.push(`${e.chunkIndex}:${e.reason}`));
    m.on('chunk:retry', (e) => (escalated += e.escalated ? 1 : 0));
    const r = await m.submitReport(makeReport('through-outage', { findings: 400 }), { tenantId: 't' });
    void m.start();
    await within(
      new Promise<void>((resolve) => m.on('chunk:uploaded', () => server!.applied.size >= 5 && resolve())),
      20_000,
      'first chunks delivered',
    );
    const before = server.applied;
    await server.close(); // the platform goes away: connections refused
    await within(
      new Promise<void>((resolve) => {
        const t = setInterval(() => escalated >= 10 && (clearInterval(t), resolve()), 10);
      }),
      30_000,
      'retries past maxRetries while down',
    );
    expect((await m.getProgress('t', 'through-outage'))?.status).toBe('uploading');
    server = await startIngestPlatform({ latencyMs: 5, port });
    expect(server.url).toContain(`:${port}`);
    const done = await within(m.waitForReport('t', 'through-outage'), 60_000, 'delivered after the outage');
    expect(done).toMatchObject({ status: 'completed', uploadedChunks: r.totalChunks, failedChunks: 0 });
    expect(failed).toEqual([]);
    // Every chunk landed. One the old server applied while it died (its answer lost) may have been sent again, to
    // the new server — under the same idempotency key, so a platform that keeps its keys applies it once.
    const positions = new Set([...before.values(), ...server.applied.values()].map((a) => a.chunkIndex));
    expect(positions.size).toBe(r.totalChunks);
    const again = [...server.applied.keys()].filter((k) => before.has(k));
    expect(before.size + server.applied.size - again.length).toBe(r.totalChunks);
    expect(again.length).toBeLessThanOrEqual((await m.getStats()).upload.concurrencyLimit);
  }, 120_000);

  it('waits out a ten-minute outage with the default backoff (fake clock), then delivers everything', async () => {
    let down = true;
    const u = memoryUploader(() => {
      if (down) throw new RediverError('NETWORK', 'connect ECONNREFUSED');
    });
    const m = (manager = openManager(dir.path, {
      uploader: u,
      retryBaseDelayMs: 1000,
      retryMaxDelayMs: 60_000,
      maxRetries: 3,
    }));
    const failed: string[] = [];
    const retries: { retry: number; delayMs: number; escalated: boolean }[] = [];
    m.on('chunk:failed', (e) => failed.push(e.reason));
    m.on('chunk:retry', (e) => retries.push({ retry: e.retry, delayMs: e.delayMs, escalated: e.escalated }));
    const r = await m.submitReport(makeReport('long-outage', { findings: 30 }), { tenantId: 't' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    void m.start();
    for (let t = 0; t < 10 * 60_000; t += 5000) await vi.advanceTimersByTimeAsync(5000);
    expect(failed).toEqual([]);
    expect(retries.some((x) => x.escalated)).toBe(true);
    // Backoff capped at retryMaxDelayMs: attempts go on at least once a minute per chunk.
    expect(Math.max(...retries.map((x) => x.delayMs))).toBeLessThanOrEqual(60_000);
    expect(Math.max(...retries.map((x) => x.retry))).toBeGreaterThanOrEqual(10);
    down = false;
    for (
      let t = 0;
      t < 120_000 && (await m.getProgress('t', 'long-outage'))?.status !== 'completed';
      t += 5000
    ) {
      await vi.advanceTimersByTimeAsync(5000);
    }
    expect(await m.getProgress('t', 'long-outage')).toMatchObject({
      status: 'completed',
      uploadedChunks: r.totalChunks,
    });
    expect(failed).toEqual([]);
  }, 60_000);
});
