// Backlog replay in bounded memory: ~150 MB of stored (barely compressible) chunks are delivered while the
// process's memory grows by a fraction of that — chunks are read from SQLite as they are sent, never all at once.
// The 1 GB variant is in the bench (`pnpm bench`).
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ChunkUploader, ChunkUploadResponse } from '@rediver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeReport, tempDir, within } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import type { ChunkManager } from '../src/chunkManager';
import { copyStoredReport } from './helpers/backlog';
import { openManager } from './helpers/harness';

const MiB = 1024 * 1024;
const REPORTS = 20;
const DISTINCT = 2;
const FINDINGS = 40;
const NOISE_BYTES = 256 * 1024; // per finding: ~10 MiB of JSON per report, ~75% of it survives compression

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let dir: TempDir;
let manager: ChunkManager | undefined;

beforeAll(() => {
  dir = tempDir();
});

afterAll(async () => {
  await manager?.close();
  await dir.cleanup();
});

/** Serialises each chunk like an HTTP client would, then drops it. */
function discardingUploader(): ChunkUploader & { bytes: number; calls: number } {
  const u = {
    bytes: 0,
    calls: 0,
    async uploadChunk(chunk: Parameters<ChunkUploader['uploadChunk']>[0]): Promise<ChunkUploadResponse> {
      u.calls += 1;
      u.bytes += Buffer.byteLength(JSON.stringify(chunk));
      await new Promise<void>((resolve) => setImmediate(resolve));
      return {
        chunk_id: String(u.calls),
        report_id: chunk.report_id,
        chunk_index: chunk.chunk_index,
        status: 'processed',
        assets_created: 0,
        assets_updated: 0,
        findings_created: 0,
        findings_updated: 0,
        findings_skipped: 0,
      };
    },
  };
  return u;
}

describe('backlog replay', () => {
  it('delivers a ~150 MB backlog while memory grows by a fraction of it', async () => {
    const uploader = discardingUploader();
    manager = openManager(dir.path, {
      uploader,
      maxStorageMB: 1024,
      maxFindingsPerChunk: 6,
      maxConcurrentUploads: 4,
    });
    // Two distinct reports go through submitReport; SQL copies of them (same frames, new ids) make up the rest.
    let storedBytes = 0;
    let chunks = 0;
    for (let i = 0; i < DISTINCT; i++) {
      const report = makeReport(`backlog-${i}`, { findings: FINDINGS });
      for (const f of report.findings!) f.description = randomBytes((NOISE_BYTES * 3) / 4).toString('base64');
      const stored = await manager.submitReport(report, { tenantId: 't1' });
      for (let k = 0; k < REPORTS / DISTINCT; k++) {
        if (k > 0) copyStoredReport(manager.store.sqlite, 't1', `backlog-${i}`, `backlog-${i}-copy-${k}`);
        storedBytes += stored.compressedBytes;
        chunks += stored.totalChunks;
      }
    }
    expect(storedBytes).toBeGreaterThan(140 * MiB);

    gc();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed + baseline.external;
    let peakLive = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      // Every 10th sample after a full GC: what the engine really retains, independent of when V8 collects.
      if (++samples % 10 === 0) {
        gc();
        const live = process.memoryUsage();
        peakLive = Math.max(peakLive, live.heapUsed + live.external);
      }
      peakRss = Math.max(peakRss, now.rss);
      peakHeap = Math.max(peakHeap, now.heapUsed + now.external);
    }, 5);
    try {
      void manager.start();
      await within(manager.drain(), 60_000, 'backlog drained');
    } finally {
      clearInterval(sampler);
    }
    expect(uploader.calls).toBe(chunks);
    expect(uploader.bytes).toBeGreaterThan(storedBytes); // base64 of everything went out
    const rssGrowth = peakRss - baseline.rss;
    const heapGrowth = peakHeap - (baseline.heapUsed + baseline.external);
    // Holding the backlog would need >= storedBytes; replaying it chunk by chunk needs a few chunks' worth
    // (4 in flight, each as frame + base64 + JSON body, plus garbage not yet collected).
    const liveGrowth = peakLive - (baseline.heapUsed + baseline.external);
    const figures = `stored ${storedBytes}, rss +${rssGrowth}, heap +${heapGrowth}, live +${liveGrowth}`;
    expect(samples, figures).toBeGreaterThan(10);
    // Retained memory: a few chunks' worth, nowhere near the backlog.
    expect(liveGrowth, figures).toBeLessThan(storedBytes / 8);
    // Before collection (garbage included) and RSS: still far below holding the backlog.
    expect(heapGrowth, figures).toBeLessThan(storedBytes * 0.75);
    expect(rssGrowth, figures).toBeLessThan(storedBytes * 0.75);
  }, 90_000);
});
