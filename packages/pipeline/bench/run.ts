// Benchmark entry: `pnpm --filter @rediver/pipeline bench`.
// 200k small reports through a no-op uploader: UploadPipeline (3 workers) vs p-queue (concurrency 3)
// running the same no-op, in one process. Prints items/s for both, submit latency p50/p99, and
// ends with `ratio=<pipeline/p-queue>` (throughput).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Report, ReportUploader, UploadResult } from '@rediver/core';
import PQueue from 'p-queue';
import { UploadPipeline } from '../src/index';

const N = 200_000;
const WORKERS = 3;
const ROUNDS = 5;

// A full GC before every measured run, so neither side pays for the other's garbage.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const RESULT: UploadResult = {
  reportId: 'r',
  assetsCreated: 0,
  assetsUpdated: 0,
  findingsCreated: 0,
  findingsUpdated: 0,
  findingsSkipped: 0,
};

function makeReports(): Report[] {
  const reports: Report[] = [];
  for (let i = 0; i < N; i++) {
    reports.push({
      version: '1.0',
      metadata: { id: `scan-${i}`, timestamp: '2026-11-27T08:00:00Z' },
      tool: { name: 'bench', version: '1.0.0' },
      findings: [{ type: 'code', title: 'Hard-coded secret', severity: 'high', rule_id: 'R1' }],
    });
  }
  return reports;
}

// The same no-op for both sides: an async call that resolves at once.
const noop = async (_report: Report): Promise<UploadResult> => RESULT;
const uploader: ReportUploader = { uploadReport: (report) => noop(report) };

async function runPipeline(reports: Report[], latencies?: Float64Array): Promise<number> {
  const pipeline = new UploadPipeline(uploader, { workers: WORKERS, queueSize: N });
  const t0 = performance.now();
  if (latencies === undefined) {
    for (let i = 0; i < N; i++) pipeline.submit(reports[i]!, { jobId: 'job' });
  } else {
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      pipeline.submit(reports[i]!, { jobId: 'job' });
      latencies[i] = performance.now() - s;
    }
  }
  await pipeline.flush();
  const ms = performance.now() - t0;
  const stats = pipeline.getStats();
  if (stats.completed !== N) throw new Error(`pipeline completed ${stats.completed} of ${N}`);
  await pipeline.close();
  return ms;
}

async function runPQueue(reports: Report[], latencies?: Float64Array): Promise<number> {
  const queue = new PQueue({ concurrency: WORKERS });
  let done = 0;
  const task = (report: Report) => async () => {
    await noop(report);
    done++;
  };
  const t0 = performance.now();
  if (latencies === undefined) {
    for (let i = 0; i < N; i++) void queue.add(task(reports[i]!));
  } else {
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      void queue.add(task(reports[i]!));
      latencies[i] = performance.now() - s;
    }
  }
  await queue.onIdle();
  const ms = performance.now() - t0;
  if (done !== N) throw new Error(`p-queue completed ${done} of ${N}`);
  return ms;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const us = (ms: number): string => `${(ms * 1000).toFixed(2)} µs`;

async function main(): Promise<void> {
  const reports = makeReports();
  // Warm up both paths so the JIT has compiled them before anything is measured.
  await runPipeline(reports);
  await runPQueue(reports);

  const pipelineMs: number[] = [];
  const pqueueMs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Back-to-back pairs, order alternating: each pair shares the machine's load of the moment,
    // so the median of per-pair ratios is steadier than a ratio of medians on a busy machine.
    let p: number;
    let q: number;
    if (r % 2 === 0) {
      collect();
      p = await runPipeline(reports);
      collect();
      q = await runPQueue(reports);
    } else {
      collect();
      q = await runPQueue(reports);
      collect();
      p = await runPipeline(reports);
    }
    pipelineMs.push(p);
    pqueueMs.push(q);
    ratios.push(q / p); // pipeline items/s over p-queue items/s
  }

  const pLat = new Float64Array(N);
  const qLat = new Float64Array(N);
  collect();
  await runPipeline(reports, pLat);
  collect();
  await runPQueue(reports, qLat);
  pLat.sort();
  qLat.sort();

  const pRate = N / (median(pipelineMs) / 1000);
  const qRate = N / (median(pqueueMs) / 1000);
  const out = process.stdout;
  out.write(`items=${N} workers=${WORKERS} rounds=${ROUNDS} (medians; ratio = median of per-round ratios)\n`);
  out.write(
    `pipeline  ${fmt(pRate)} items/s  submit p50=${us(percentile(pLat, 50))} p99=${us(percentile(pLat, 99))}\n`,
  );
  out.write(
    `p-queue   ${fmt(qRate)} items/s  add    p50=${us(percentile(qLat, 50))} p99=${us(percentile(qLat, 99))}\n`,
  );
  out.write(`per-round ratios: ${ratios.map((x) => x.toFixed(2)).join(' ')}\n`);
  out.write(`ratio=${median(ratios).toFixed(2)}\n`);
}

await main();
