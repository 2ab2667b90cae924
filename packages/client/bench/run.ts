// Benchmark: `pnpm --filter @rediver/client bench`.
// Chunk uploads through the client vs a bare node:http POST (keep-alive agent) of the same bytes, to the same
// loopback server, in the same run. The server is a plain node:http server in a worker thread (so its CPU is not
// charged to either side) that reads the whole body and answers 201 with a valid ChunkUploadResponse. It is not
// apps/ingest-server: a package must not depend on an app. Final line: `ratio=<client/bare>` (throughput).
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { ChunkUploadRequest } from '@rediver/core';
import { API_PATHS } from '@rediver/core';
import { createClient } from '../src/index';

const API_KEY = 'rdv_bench_key_0123456789';
const CONCURRENCY = 2;
/** Short alternating rounds: each round's ratio compares two runs made moments apart, so load drift cancels. */
const ROUNDS = 15;

// Answers from the first bytes of the body: the client serialises `report_id` and `chunk_index` first, and the
// bare POST sends the very same bytes, so both get the same valid answer for the same server work.
const SERVER_SOURCE = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const head = chunks.length === 0 ? '' : chunks[0].subarray(0, 512).toString('latin1');
    const id = /"report_id":"([^"]*)"/.exec(head);
    const index = /"chunk_index":(\\d+)/.exec(head);
    const body = JSON.stringify({
      chunk_id: 'c-' + (index ? index[1] : '0'), report_id: id ? id[1] : '', chunk_index: index ? Number(index[1]) : 0,
      status: 'accepted', assets_created: 0, assets_updated: 0, findings_created: 10, findings_updated: 0, findings_skipped: 0,
    });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', (m) => { if (m === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); } });
`;

function makeChunk(index: number, total: number, dataBytes: number): ChunkUploadRequest {
  return {
    report_id: 'bench-report-0001',
    chunk_index: index,
    total_chunks: total,
    compression: 'zstd',
    // Base64 of random bytes: what zstd-compressed chunk data looks like on the wire.
    data: randomBytes(Math.ceil((dataBytes * 3) / 4))
      .toString('base64')
      .slice(0, dataBytes),
    is_final: index === total - 1,
  };
}

async function runPool(count: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const server = new Worker(SERVER_SOURCE, { eval: true });
  const port = await new Promise<number>((resolve) => server.once('message', (p: number) => resolve(p)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const client = createClient({
    baseUrl,
    apiKey: API_KEY,
    agentId: 'bench-agent',
    maxConnections: CONCURRENCY,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  const bare = (body: Buffer, key: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: API_PATHS.ingestChunk,
          agent,
          headers: {
            authorization: `Bearer ${API_KEY}`,
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': 'bench-bare/1.0',
            'x-agent-id': 'bench-agent',
            'idempotency-key': key,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            if (res.statusCode !== 201) reject(new Error(`bare POST got ${res.statusCode}`));
            else resolve();
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const cases = [
    { label: '16 KiB', dataBytes: 16 * 1024, count: 400 },
    { label: '600 KiB', dataBytes: 600 * 1024, count: 60 },
  ];
  const allRatios: number[] = [];
  for (const c of cases) {
    const chunks = Array.from({ length: c.count }, (_, i) => makeChunk(i, c.count, c.dataBytes));
    const bodies = chunks.map((ch) => Buffer.from(JSON.stringify(ch)));
    const bytes = bodies.reduce((n, b) => n + b.length, 0);
    const viaClient = async (): Promise<number> => {
      const t = performance.now();
      await runPool(c.count, async (i) => {
        const answer = await client.uploadChunk(chunks[i]!, { idempotencyKey: `bench-report-0001:${i}` });
        if (answer.chunk_index !== i) throw new Error('wrong answer');
      });
      return performance.now() - t;
    };
    const viaBare = async (): Promise<number> => {
      const t = performance.now();
      await runPool(c.count, (i) => bare(bodies[i]!, `bench-report-0001:${i}`));
      return performance.now() - t;
    };
    await viaClient(); // warm-up
    await viaBare();
    const clientMs: number[] = [];
    const bareMs: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so drift on a shared machine hits both sides alike.
      const [cm, bm] =
        r % 2 === 0 ? [await viaClient(), await viaBare()] : [await viaBare(), await viaClient()].reverse();
      clientMs.push(cm!);
      bareMs.push(bm!);
      ratios.push(bm! / cm!);
    }
    allRatios.push(...ratios);
    const cm = median(clientMs);
    const bm = median(bareMs);
    const mbps = (ms: number): string => ((bytes / 1e6 / ms) * 1000).toFixed(0);
    const rps = (ms: number): string => (c.count / (ms / 1000)).toFixed(0);
    process.stdout.write(
      `${c.label} chunks x${c.count} per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians): ` +
        `client ${rps(cm)} req/s ${mbps(cm)} MB/s | bare ${rps(bm)} req/s ${mbps(bm)} MB/s | ` +
        `ratio ${median(ratios).toFixed(3)} (rounds ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)})\n`,
    );
  }
  await client.close();
  agent.destroy();
  server.postMessage('close');
  await new Promise((resolve) => server.once('exit', resolve));
  process.stdout.write('ratio = median over all rounds of (bare time / client time) for the same chunks\n');
  process.stdout.write(`ratio=${median(allRatios).toFixed(3)}\n`);
}

await main();
