// Delivery at scale (issue 13), three measurements, each printing `key=value` lines:
// 1. Streaming submit memory and CPU: a report of 10k, 100k and 1M realistic findings streamed through
//    `beginReport` in a fresh bundled process each; `stream_peak_rss_mb_<n>=` (the process's RSS high-water mark
//    during the submit), `stream_rss_growth=` (1M ÷ 10k; goal: flat) and `stream_cost_growth=` (CPU per finding
//    at 1M ÷ at 100k; goal <= 1.2). `BENCH_STREAM_MAX` lowers the largest size.
// 2. O(1) bookkeeping: the engine's per-chunk cost (claim, read, ack, progress, settle, events) for a report of
//    40 chunks and of 4,000, side by side, alternating, best of 5: `ack_cost_ratio=` (goal <= 1.5).
// 3. Adaptive delivery against a loopback platform of capacity K = 8 at 40 ms (200 requests/s; slower past K, 429 +
//    Retry-After past 2K), in its own process: `adaptive_ratio=` delivered ÷ capacity once settled (goal >= 0.8),
//    `adaptive_429_share=` of requests refused once settled (goal <= 0.02); `fixed_ratio=` the fixed pacing of the
//    spec's defaults (2 workers, 100 ms pause) for comparison.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChunkUploader, ChunkUploadResponse, Finding } from '@rediver/core';
import { isRediverError } from '@rediver/core';
import { ChunkManager } from '../src/chunkManager';
import { bundleEntry } from '../test/helpers/bundle';
import { createFetchChunkUploader } from '../test/helpers/fetchUploader';
import { ackResponse } from '../test/helpers/memoryUploader';

const MiB = 1024 * 1024;
const packageDir = resolve(import.meta.dirname, '..');
const out = (line: string): boolean => process.stdout.write(`${line}\n`);

async function streamMemory(): Promise<void> {
  const script = await bundleEntry('bench/streamChild.ts');
  const dir = mkdtempSync(join(tmpdir(), 'rediver-stream-bench-'));
  const max = Number(process.env.BENCH_STREAM_MAX ?? 1_000_000);
  const results = new Map<number, { ms: number; cpuMs: number; peakRssBytes: number }>();
  try {
    for (const n of [10_000, 100_000, 1_000_000].filter((x) => x <= max)) {
      const { NODE_PATH: _ignored, ...env } = process.env;
      const run = spawnSync(process.execPath, ['--expose-gc', script, dir, String(n)], {
        cwd: packageDir,
        env,
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(`streamChild ${n} failed: ${run.stderr}`);
      const r = JSON.parse(run.stdout.trim()) as {
        ms: number;
        cpuMs: number;
        peakRssBytes: number;
        totalChunks: number;
        originalBytes: number;
        heapUsed: number;
      };
      results.set(n, r);
      out(
        `stream_peak_rss_mb_${n}=${(r.peakRssBytes / MiB).toFixed(0)} stream_ms_${n}=${r.ms.toFixed(0)} ` +
          `stream_cpu_us_per_finding_${n}=${((r.cpuMs * 1000) / n).toFixed(1)} stream_live_heap_mb_${n}=${(r.heapUsed / MiB).toFixed(1)} ` +
          `chunks=${r.totalChunks} json_mb=${(r.originalBytes / MiB).toFixed(0)}`,
      );
    }
    const small = results.get(10_000)!;
    const big = results.get(Math.min(max, 1_000_000)) ?? small;
    out(`stream_rss_growth=${(big.peakRssBytes / small.peakRssBytes).toFixed(2)}`);
    const mid = results.get(100_000);
    if (mid !== undefined && results.has(1_000_000)) {
      const big1m = results.get(1_000_000)!;
      out(`stream_cost_growth=${(big1m.cpuMs / 1_000_000 / (mid.cpuMs / 100_000)).toFixed(2)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Acknowledges at once (the cost measured is the engine's own). */
function instantUploader(): ChunkUploader {
  return {
    uploadChunk: async (c): Promise<ChunkUploadResponse> => ackResponse(c),
  };
}

async function ackCost(chunks: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'rediver-ack-bench-'));
  const m = new ChunkManager({
    databasePath: join(dir, 'chunks.db'),
    uploader: instantUploader(),
    adaptive: false,
    maxConcurrentUploads: 1,
    uploadDelayMs: 0,
    maxFindingsPerChunk: 1,
    cleanupIntervalMinutes: 0,
    compressInWorker: false,
  });
  try {
    const findings: Finding[] = Array.from({ length: chunks }, (_, i) => ({
      type: 'vulnerability',
      title: `f${i}`,
      severity: 'low',
      description: 'x'.repeat(2000),
    }));
    await m.submitReport(
      { version: '1.0', metadata: { id: `ack-${chunks}`, timestamp: 't' }, findings },
      { tenantId: 'bench' },
    );
    const t = performance.now();
    void m.start();
    await m.waitForReport('bench', `ack-${chunks}`);
    return (performance.now() - t) / chunks;
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ackBench(): Promise<void> {
  const small: number[] = [];
  const large: number[] = [];
  // Best of 5 each: on a shared machine a single 40-chunk run (~60 ms) swings by 2x with the load; the fastest run
  // of each side is the one least disturbed.
  for (let round = 0; round < 5; round++) {
    if (round % 2 === 0) {
      small.push(await ackCost(40));
      large.push(await ackCost(4000));
    } else {
      large.push(await ackCost(4000));
      small.push(await ackCost(40));
    }
  }
  const a = Math.min(...small);
  const b = Math.min(...large);
  out(`ack_ms_per_chunk_40=${a.toFixed(3)} ack_ms_per_chunk_4000=${b.toFixed(3)}`);
  out(`ack_cost_ratio=${(b / a).toFixed(2)}`);
}

/** The capacity-limited platform, in a process of its own (its timers must not wait for the client's CPU). */
const CAPACITY_SERVER = `
const { createServer } = require('node:http');
const K = Number(process.argv[1]), BASE = Number(process.argv[2]);
let inFlight = 0;
const server = createServer((req, res) => {
  inFlight += 1;
  req.resume();
  req.on('end', () => {
    if (inFlight > 2 * K) {
      inFlight -= 1;
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      return res.end('{"error":"slow down"}');
    }
    setTimeout(() => {
      inFlight -= 1;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"chunk_id":"1","report_id":"r","chunk_index":0,"status":"processed","assets_created":0,"assets_updated":0,"findings_created":0,"findings_updated":0,"findings_skipped":0}');
    }, BASE * Math.max(1, inFlight / K));
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function deliver(
  url: string,
  mode: 'adaptive' | 'spec-defaults' | 'fixed-at-capacity',
  chunks: number,
  capacity = 8,
): Promise<{ rate: number; refusedShare: number; limit: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rediver-adaptive-bench-'));
  const base = createFetchChunkUploader(url);
  const log: { at: number; refused: boolean }[] = [];
  const uploader: ChunkUploader = {
    async uploadChunk(c, o) {
      try {
        const r = await base.uploadChunk(c, o);
        log.push({ at: performance.now(), refused: false });
        return r;
      } catch (err) {
        log.push({ at: performance.now(), refused: isRediverError(err, 'RATE_LIMITED') });
        throw err;
      }
    },
  };
  const m = new ChunkManager({
    databasePath: join(dir, 'chunks.db'),
    uploader,
    adaptive: mode === 'adaptive',
    ...(mode === 'adaptive' ? { uploadDelayMs: 0, maxConcurrentUploads: 2 } : {}),
    ...(mode === 'fixed-at-capacity' ? { uploadDelayMs: 0, maxConcurrentUploads: capacity } : {}),
    // spec-defaults: 2 workers pausing 100 ms
    maxFindingsPerChunk: 1,
    cleanupIntervalMinutes: 0,
  });
  const changes: string[] = [];
  m.on('upload:limit', (e) => changes.push(`${e.reason[0]}${e.limit}`));
  try {
    const findings: Finding[] = Array.from({ length: chunks }, (_, i) => ({
      type: 'code',
      title: `f${i}`,
      severity: 'low',
    }));
    await m.submitReport(
      { version: '1.0', metadata: { id: 'adaptive', timestamp: 't' }, findings },
      { tenantId: 'bench' },
    );
    void m.start();
    await m.waitForReport('bench', 'adaptive');
    const limit = (await m.getStats()).upload.concurrencyLimit;
    // BENCH_DEBUG=1: the limit's trajectory (i/r/b = increase, rtt, back-pressure, then the new limit).
    if (process.env.BENCH_DEBUG) process.stderr.write(changes.join(' ') + '\n');
    // Settled: after the first quarter of the acknowledgements.
    const acks = log.filter((e) => !e.refused);
    const from = acks[Math.floor(acks.length / 4)]!.at;
    const to = acks.at(-1)!.at;
    const settledAcks = acks.filter((e) => e.at >= from).length;
    const settled = log.filter((e) => e.at >= from);
    return {
      rate: (settledAcks - 1) / ((to - from) / 1000),
      refusedShare: settled.filter((e) => e.refused).length / settled.length,
      limit,
    };
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function adaptiveBench(): Promise<void> {
  // 100 requests/s: well under what this client pushes on the loaded 2-core machine (130-300/s of tiny chunks, each
  // a fetch and two SQLite statements), so the ratio measures the limit's choices, not the client's CPU; the
  // `best_fixed_ratio` line (exactly K in flight, no pause: the best a fixed setting can do) shows that ceiling.
  const K = 8;
  const BASE = 80;
  const server = spawn(process.execPath, ['-e', CAPACITY_SERVER, String(K), String(BASE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<string>((res) =>
      server.stdout.setEncoding('utf8').once('data', (d: string) => res(d.trim())),
    );
    const url = `http://127.0.0.1:${port}`;
    const capacity = (K * 1000) / BASE;
    const best = await deliver(url, 'fixed-at-capacity', 1500, K);
    const a = await deliver(url, 'adaptive', 4000);
    const f = await deliver(url, 'spec-defaults', 300);
    out(`adaptive_rate=${a.rate.toFixed(0)}/s capacity=${capacity}/s final_limit=${a.limit}`);
    out(
      `best_fixed_ratio=${(best.rate / capacity).toFixed(2)} spec_defaults_ratio=${(f.rate / capacity).toFixed(2)}`,
    );
    out(`adaptive_429_share=${a.refusedShare.toFixed(4)}`);
    out(`adaptive_ratio=${(a.rate / capacity).toFixed(2)}`);
  } finally {
    server.kill('SIGKILL');
  }
}

/** Runs the delivery benchmark. */
export async function runDeliveryBench(): Promise<void> {
  const parts = (process.env.BENCH_DELIVERY ?? 'ack,adaptive,stream').split(',');
  if (parts.includes('ack')) await ackBench();
  if (parts.includes('adaptive')) await adaptiveBench();
  if (parts.includes('stream')) await streamMemory();
}
