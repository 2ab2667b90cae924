// Child process of bench/upload.ts. `build <db> <MB>`: stores a backlog of about MB megabytes of barely
// compressible chunks (one report submitted, then copied row by row in SQL to reach the size fast).
// `replay <db> <url>`: delivers the whole backlog and prints its own peak RSS.
import { randomBytes } from 'node:crypto';
import type { Finding, Report } from '@rediver/core';
import { ChunkManager } from '../src/chunkManager';
import { copyStoredReport } from '../test/helpers/backlog';
import { createBenchUploader } from './httpUploader';

const MiB = 1024 * 1024;
const [mode, databasePath, arg] = process.argv.slice(2);
if (!databasePath) throw new Error('usage: uploadReplayChild build|replay <databasePath> <MB|url>');

if (mode === 'build') {
  const t0 = performance.now();
  const targetBytes = Number(arg) * MiB;
  const manager = new ChunkManager({
    databasePath,
    uploader: createBenchUploader('http://127.0.0.1:9', 1),
    maxStorageMB: Math.ceil(Number(arg) * 1.2) + 64,
    maxFindingsPerChunk: 6,
    cleanupIntervalMinutes: 0,
  });
  // ~64 MB stored per report: 340 findings with 256 KB of base64 noise each (~75% survives zstd).
  const findings: Finding[] = Array.from({ length: 340 }, (_, i) => ({
    type: 'secret',
    title: `noise ${i}`,
    severity: 'low',
    fingerprint: `noise-${i}`,
    description: randomBytes(192 * 1024).toString('base64'),
  }));
  const report: Report = {
    version: '1.0',
    metadata: { id: 'backlog-0', timestamp: '2026-01-15T10:30:00Z' },
    tool: { name: 'bench' },
    findings,
  };
  const first = await manager.submitReport(report, { tenantId: 'bench' });
  findings.length = 0;
  let stored = first.compressedBytes;
  let chunks = first.totalChunks;
  for (let k = 1; stored < targetBytes; k++) {
    copyStoredReport(manager.store.sqlite, 'bench', 'backlog-0', `backlog-${k}`);
    stored += first.compressedBytes;
    chunks += first.totalChunks;
  }
  await manager.close();
  process.stdout.write(JSON.stringify({ storedBytes: stored, chunks, ms: performance.now() - t0 }));
} else if (mode === 'replay' && arg) {
  const manager = new ChunkManager({
    databasePath,
    uploader: createBenchUploader(arg, 2), // the default maxConcurrentUploads
    adaptive: false, // the figure is for the default 2 in flight
    uploadDelayMs: 0,
    maxStorageMB: 1 << 20,
    cleanupIntervalMinutes: 0,
  });
  const baselineRssBytes = process.memoryUsage().rss;
  let chunks = 0;
  manager.on('chunk:uploaded', () => (chunks += 1));
  const t0 = performance.now();
  void manager.start();
  await manager.drain();
  const ms = performance.now() - t0;
  await manager.close();
  process.stdout.write(
    JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, baselineRssBytes, chunks, ms }),
  );
} else {
  throw new Error(`unknown mode ${mode}`);
}
