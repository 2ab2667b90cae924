// Upload half of the chunk benchmark (issue 7):
// 1. a stored 100k-finding report delivered by the engine (uploadDelayMs 0) to a loopback server that just
//    acknowledges, against posting the same payload bytes with a bare loop over the same HTTP client
//    (bench/httpUploader.ts: fetch by default, `BENCH_UPLOADER=http` for node:http keep-alive on both sides) and
//    the same number in flight, in the same run; prints MB/s for both and `upload_ratio=<engine/bare>` (goal >= 0.7);
// 2. the peak RSS of a process replaying a 1 GB backlog (goal <= 256 MB), measured in a child process of its own
//    so nothing else of the bench counts. `BENCH_BACKLOG_MB` changes the backlog size.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChunkUploadRequest, Report } from '@rediver/core';
import { ChunkManager } from '../src/chunkManager';
import { chunkIdempotencyKey } from '../src/idempotencyKey';
import { buildChunkUploadRequest } from '../src/internal/uploadPayload';
import { bundleEntry } from '../test/helpers/bundle';
import { BENCH_UPLOADER, createBenchUploader, createPoster } from './httpUploader';

const MiB = 1024 * 1024;
const CONCURRENCY = 4;
const ROUNDS = 3;
const packageDir = resolve(import.meta.dirname, '..');

/** The acknowledging server, in its own process so its CPU is not the client's. */
const ACK_SERVER = `
const { createServer } = require('node:http');
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end('{"chunk_id":"1","report_id":"r","chunk_index":0,"status":"processed","assets_created":0,"assets_updated":0,"findings_created":0,"findings_updated":0,"findings_skipped":0}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

interface AckServer {
  url: string;
  stop(): void;
}

async function startAckServer(): Promise<AckServer> {
  const child = spawn(process.execPath, ['-e', ACK_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((res, rej) => {
    child.stdout.setEncoding('utf8').once('data', (d: string) => res(d.trim()));
    child.once('exit', () => rej(new Error('ack server exited')));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** Posts prepared bodies with `concurrency` loops over the bench's client: the bare client. */
async function postBare(url: string, bodies: Array<{ body: string; key: string }>): Promise<void> {
  let next = 0;
  const post = createPoster(url, CONCURRENCY);
  const loop = async (): Promise<void> => {
    while (next < bodies.length) {
      const b = bodies[next++]!;
      const res = await post(b.body, b.key);
      if (res.status !== 201) throw new Error(`bare post answered ${res.status}`);
      JSON.parse(res.text);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function throughput(
  report: Report,
  url: string,
): Promise<{ engine: number; bare: number; bytes: number }> {
  const engineMBps: number[] = [];
  const bareMBps: number[] = [];
  let payloadBytes = 0;
  let chunks = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh database per round; one side runs after the other, in alternating order (whichever goes second
    // also pays for the collection of the first one's garbage and of the submit's).
    const dir = mkdtempSync(join(tmpdir(), 'rediver-upload-bench-'));
    const manager = new ChunkManager({
      databasePath: join(dir, 'chunks.db'),
      uploader: createBenchUploader(url, CONCURRENCY),
      uploadDelayMs: 0,
      maxConcurrentUploads: CONCURRENCY,
      adaptive: false, // the same number in flight as the bare loop
      maxStorageMB: 4096,
      cleanupIntervalMinutes: 0,
    });
    try {
      const reportId = report.metadata.id;
      const stored = await manager.submitReport(report, { tenantId: 'bench' });
      chunks = stored.totalChunks;
      // The bare client's bodies: exactly what the engine will send for this report.
      const bodies: Array<{ body: string; key: string }> = [];
      const rows = manager.store.sqlite
        .prepare(
          `SELECT c.chunk_index, b.data, c.tail, c.checksum FROM chunks c JOIN chunk_blobs b ON b.chunk_id = c.id
           WHERE c.report_id = ? ORDER BY c.chunk_index`,
        )
        .all(reportId) as Array<{ chunk_index: number; data: Buffer; tail: Buffer | null; checksum: string }>;
      for (const row of rows) {
        const req = buildChunkUploadRequest({
          reportId,
          chunkIndex: row.chunk_index,
          totalChunks: stored.totalChunks,
          data: row.tail === null ? row.data : Buffer.concat([row.data, row.tail]),
          checksum: row.checksum,
        }) as ChunkUploadRequest;
        const key = chunkIdempotencyKey({
          tenantId: 'bench',
          reportId,
          chunkIndex: row.chunk_index,
          checksum: row.checksum,
        });
        bodies.push({ body: JSON.stringify(req), key });
      }
      payloadBytes = bodies.reduce((n, b) => n + Buffer.byteLength(b.body), 0);

      const runBare = async (): Promise<void> => {
        const t = performance.now();
        await postBare(url, bodies);
        bareMBps.push(payloadBytes / MiB / ((performance.now() - t) / 1000));
        bodies.length = 0;
      };
      const runEngine = async (): Promise<void> => {
        const t = performance.now();
        void manager.start();
        await manager.waitForReport('bench', reportId);
        engineMBps.push(payloadBytes / MiB / ((performance.now() - t) / 1000));
      };
      if (round % 2 === 0) {
        await runBare();
        await runEngine();
      } else {
        await runEngine();
        await runBare();
      }
    } finally {
      await manager.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `report: ${report.findings?.length ?? 0} findings, ${chunks} chunks, ${(payloadBytes / MiB).toFixed(1)} MB of ` +
      `request bodies; ${CONCURRENCY} in flight over ${BENCH_UPLOADER}, uploadDelayMs 0, median of ${ROUNDS}\n`,
  );
  return { engine: median(engineMBps), bare: median(bareMBps), bytes: payloadBytes };
}

function runChild(script: string, args: string[], nodeArgs: string[] = []): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? res(out) : rej(new Error(`replay child exited ${code}: ${out}`)),
    );
  });
}

/** Runs the upload benchmark; returns the ratio and the replay's peak RSS. */
export async function runUploadBench(report: Report): Promise<{ ratio: number; replayPeakRssBytes: number }> {
  const server = await startAckServer();
  try {
    const t = await throughput(report, server.url);
    const ratio = t.engine / t.bare;
    process.stdout.write(`bare ${BENCH_UPLOADER} client: ${t.bare.toFixed(1)} MB/s\n`);
    process.stdout.write(
      `ChunkManager:       ${t.engine.toFixed(1)} MB/s (claim, read + verify, send, ack, cleanup)\n`,
    );
    process.stdout.write(`upload_ratio=${ratio.toFixed(2)}\n`);

    const backlogMB = Number(process.env.BENCH_BACKLOG_MB ?? 1024);
    // Bundled (no tsx loader in the measured process), so the figure is the engine's, not the tooling's.
    const script = await bundleEntry('bench/uploadReplayChild.ts');
    const dir = mkdtempSync(join(tmpdir(), 'rediver-replay-bench-'));
    try {
      const databasePath = join(dir, 'chunks.db');
      const built = JSON.parse(await runChild(script, ['build', databasePath, String(backlogMB)])) as {
        storedBytes: number;
        chunks: number;
        ms: number;
      };
      process.stdout.write(
        `backlog: ${(built.storedBytes / MiB).toFixed(0)} MB stored in ${built.chunks} chunks (built in ${(built.ms / 1000).toFixed(1)} s)\n`,
      );
      const replay = JSON.parse(
        await runChild(
          script,
          ['replay', databasePath, server.url],
          // The child reads BENCH_UPLOADER from the environment it inherits.
          // e.g. BENCH_REPLAY_NODE_ARGS=--max-old-space-size=128: shows how much of the peak is uncollected garbage.
          (process.env.BENCH_REPLAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
        ),
      ) as {
        maxRssBytes: number;
        baselineRssBytes: number;
        chunks: number;
        ms: number;
      };
      process.stdout.write(
        `replay: ${replay.chunks} chunks in ${(replay.ms / 1000).toFixed(1)} s ` +
          `(${(built.storedBytes / MiB / (replay.ms / 1000)).toFixed(1)} MB/s stored data); ` +
          `RSS after open ${(replay.baselineRssBytes / MiB).toFixed(0)} MB\n`,
      );
      process.stdout.write(`replay_peak_rss_mb=${(replay.maxRssBytes / MiB).toFixed(0)} (goal <= 256)\n`);
      return { ratio, replayPeakRssBytes: replay.maxRssBytes };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    server.stop();
  }
}
