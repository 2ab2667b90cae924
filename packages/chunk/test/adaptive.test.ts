// Adaptive delivery against a real loopback platform with a capacity (issue 13): K requests at once at full speed,
// slower past K, 429 + Retry-After past 2K. The limit grows from maxConcurrentUploads towards K, stays clear of the
// refusal line, and backs off when the platform slows down. Assertions are on the limit's trajectory and bounds,
// never on timings.
import { afterEach, describe, expect, it } from 'vitest';
import { makeReport, startCapacityPlatform, tempDir, within } from '@rediver/testkit';
import type { CapacityPlatform } from '@rediver/testkit';
import type { ChunkManager } from '../src/chunkManager';
import type { UploadLimitEvent } from '../src/events';
import { createFetchChunkUploader } from './helpers/fetchUploader';
import { openManager } from './helpers/harness';

const dir = tempDir('rediver-chunk-adaptive-');
let server: CapacityPlatform | undefined;
let manager: ChunkManager | undefined;

afterEach(async () => {
  await manager?.close();
  await server?.close();
  await dir.cleanup();
});

async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    new Promise<void>((resolve) => {
      const t = setInterval(() => ready() && (clearInterval(t), resolve()), 5);
    }),
    ms,
    what,
  );
}

describe('adaptive concurrency', () => {
  it('converges towards the capacity, stays under the refusal line, and backs off when the platform slows down', async () => {
    const K = 6;
    server = await startCapacityPlatform({ capacity: K, baseLatencyMs: 30 });
    const m = (manager = openManager(dir.path, {
      uploader: createFetchChunkUploader(server.url),
      maxConcurrentUploads: 2,
      maxFindingsPerChunk: 1,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 200,
    }));
    const changes: UploadLimitEvent[] = [];
    m.on('upload:limit', (e) => changes.push(e));
    let total = 0;
    for (let r = 0; r < 4; r++)
      total += (await m.submitReport(makeReport(`adapt-${r}`, { findings: 250 }), { tenantId: 't' }))
        .totalChunks;
    void m.start();
    expect((await m.getStats()).upload.concurrencyLimit).toBe(2);

    // Phase 1: the limit grows past its start, to the platform's capacity.
    await until(() => changes.some((c) => c.limit >= K), 60_000, `limit reaches ${K}`);
    const grown = changes.findIndex((c) => c.limit >= K);
    expect(changes.slice(0, grown).every((c) => c.reason === 'increase' || c.limit >= 2)).toBe(true);
    await until(() => server!.counters.acked >= total / 2, 60_000, 'half delivered');
    const phase1 = { ...server.counters };
    expect(Math.max(...changes.map((c) => c.limit))).toBeLessThan(2 * K + 2);
    expect(phase1.rateLimited / phase1.requests).toBeLessThanOrEqual(0.02);

    // Phase 2: the platform slows down to a third: the limit comes down.
    const before = changes.length;
    server.setCapacity(2);
    await until(() => changes.slice(before).some((c) => c.limit <= 4), 60_000, 'limit backs off');
    expect(changes.slice(before).some((c) => c.reason !== 'increase')).toBe(true);
    await within(m.drain(), 120_000, 'all delivered');
    expect(server.keys.size).toBe(total); // every chunk, once (refused ones came back)
    const stats = await m.getStats();
    expect(stats.upload).toMatchObject({ uploaded: total, deadLettered: 0 });
    expect(stats.upload.concurrencyLimit).toBeLessThanOrEqual(2 * 2 + 1);
  }, 240_000);

  it('grows with the default pause between two uploads of a slot (uploadDelayMs 100) against a fast platform', async () => {
    server = await startCapacityPlatform({ capacity: 16, baseLatencyMs: 5 });
    const m = (manager = openManager(dir.path, {
      uploader: createFetchChunkUploader(server.url),
      maxConcurrentUploads: 2,
      maxFindingsPerChunk: 1,
      uploadDelayMs: 100,
    }));
    const changes: UploadLimitEvent[] = [];
    m.on('upload:limit', (e) => changes.push(e));
    await m.submitReport(makeReport('paced', { findings: 400 }), { tenantId: 't' });
    void m.start();
    // Two slots pausing 100 ms each send at most ~20 chunks/s: the limit must grow for delivery to go faster.
    await until(() => changes.some((c) => c.limit >= 6), 60_000, 'limit grows past 6');
    await within(m.drain(), 120_000, 'drain');
    expect(server.keys.size).toBe(400);
  }, 180_000);

  it('adaptive: false keeps exactly maxConcurrentUploads workers (no limit events)', async () => {
    server = await startCapacityPlatform({ capacity: 8, baseLatencyMs: 10 });
    const m = (manager = openManager(dir.path, {
      uploader: createFetchChunkUploader(server.url),
      maxConcurrentUploads: 3,
      maxFindingsPerChunk: 1,
      adaptive: false,
    }));
    const changes: UploadLimitEvent[] = [];
    m.on('upload:limit', (e) => changes.push(e));
    await m.submitReport(makeReport('fixed', { findings: 120 }), { tenantId: 't' });
    void m.start();
    await within(m.drain(), 60_000, 'drain');
    expect(changes).toEqual([]);
    expect(server.counters.maxInFlight).toBe(3);
    expect((await m.getStats()).upload.concurrencyLimit).toBe(3);
  }, 120_000);
});
