// End-to-end bench of the agent at scale (issue 13), everything side by side in one run:
//   pnpm --filter @rediver/agent bench:e2e
// Generates SARIF files of 10k, 100k and 1M results with realistic shapes (50 rules, locations with snippets, some
// partialFingerprints, the 700 source files they point at) on disk, starts apps/ingest-server in its own process on
// loopback, and runs the bundled `rediver-agent scan` with a scanner command that copies the SARIF to {output}, each in
// a fresh process under /usr/bin/time (wall, CPU, peak RSS). On the largest file it also runs the anchor
// (bench/e2eAnchor.ts: stream-parse, 500-result JSON chunks, zstd, POST with 4 keep-alive requests) against the same
// server. Then the adaptive part: the agent (default delivery options, 1-finding chunks) against a loopback platform
// that serves K = 8 requests at once at 80 ms, slows down past K and answers 429 + Retry-After past 2K.
// Prints key=value lines:
//   e2e_ratio            agent findings/s ÷ anchor findings/s at the largest size (goal ≥ 0.5)
//   peak_rss_mb          the agent's peak RSS at the largest size (goal ≤ 200), peak_rss_mb_10000 at 10k, and
//   rss_growth           their ratio (goal ≤ 1.2: within 20%)
//   cost_growth          agent CPU-seconds per finding at 1M ÷ at 100k (goal ≤ 1.2)
//   adaptive_ratio       chunks acknowledged per second once settled ÷ the platform's capacity (goal ≥ 0.8),
//   adaptive_429_share   share of requests refused once settled (goal ≤ 0.02)
// Environment: BENCH_E2E_SIZES (default 10000,100000,1000000), BENCH_E2E_PARTS (default e2e,adaptive),
// BENCH_ADAPTIVE_FINDINGS (default 4000).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCapacityPlatform } from '@rediver/testkit';
import { bundleCli } from '../test/e2e/bundle';
import { writeSyntheticSarif } from './syntheticSarif';

const APP = resolve(import.meta.dirname, '..');
const KEY = 'rdv_bench_key_0123456789';
const TENANT = 'bench';

interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** Runs a command under /usr/bin/time (wall, user + system CPU, peak RSS of the process). */
function timed(argv: string[], cwd = APP): Promise<Timed> {
  return new Promise((done, fail) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', ...argv], {
      cwd,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('exit', (code) => {
      const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
      if (m === null) return fail(new Error(`no timing from ${argv.join(' ')}: ${stderr.slice(-500)}`));
      done({
        code,
        stdout,
        stderr,
        wallSeconds: Number(m[1]),
        cpuSeconds: Number(m[2]) + Number(m[3]),
        peakRssMb: Number(m[4]) / 1024,
      });
    });
  });
}

/** apps/ingest-server in its own process; resolves with its URL. */
function startIngestServer(
  dir: string,
): Promise<{ url: string; stop: () => Promise<void>; cpuSeconds: () => number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@rediver/source',
      join(APP, '../ingest-server/src/cli.ts'),
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, 'server.db'),
      '--key',
      `${KEY}=${TENANT}`,
    ],
    { cwd: APP, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m !== null)
        done({
          url: m[1]!,
          cpuSeconds: () => processCpuSeconds(child.pid!),
          stop: () =>
            new Promise((r) => {
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
    });
    child.on('exit', (code) => fail(new Error(`ingest server exited ${code}: ${out}`)));
  });
}

/** CPU seconds (user + system) a live process has used, from /proc (clock ticks of 10 ms). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function agentArgs(cli: string, url: string, dataDir: string): string[] {
  return [
    process.execPath,
    cli,
    'scan',
    '--server',
    url,
    '--api-key',
    KEY,
    '--tenant-id',
    TENANT,
    '--data-dir',
    dataDir,
    '--progress',
    'quiet',
    // A bench machine is busy by design: jobs are not held back by the host's CPU.
    '--set',
    'resource.cpuThreshold=100',
    '--set',
    'resource.memoryThreshold=99',
  ];
}

function line(key: string, value: number | string): void {
  process.stdout.write(`${key}=${typeof value === 'number' ? Number(value.toFixed(4)) : value}\n`);
}

async function e2e(work: string, cli: string, sizes: number[]): Promise<void> {
  const root = join(work, 'repo');
  const files = new Map<number, string>();
  for (const [i, n] of sizes.entries()) {
    const file = join(work, `scan-${n}.sarif`);
    const bytes = await writeSyntheticSarif(file, { results: n, ...(i === 0 ? { sourceRoot: root } : {}) });
    files.set(n, file);
    line(`sarif_mb_${n}`, bytes / 1e6);
  }
  const server = await startIngestServer(work);
  try {
    const runs = new Map<number, Timed>();
    const serverCpu = new Map<number, number>();
    for (const n of sizes) {
      const before = server.cpuSeconds();
      const r = await timed([
        ...agentArgs(cli, server.url, join(work, `agent-${n}`)),
        root,
        '--scanner',
        `cp ${files.get(n)!} {output}`,
      ]);
      if (r.code !== 0 || !r.stdout.includes(`${n} finding(s)`))
        throw new Error(`agent scan of ${n} exited ${r.code}: ${r.stdout}${r.stderr.slice(-2000)}`);
      runs.set(n, r);
      serverCpu.set(n, server.cpuSeconds() - before);
      line(`agent_seconds_${n}`, r.wallSeconds);
      line(`agent_findings_per_s_${n}`, n / r.wallSeconds);
      line(`agent_cpu_s_${n}`, r.cpuSeconds);
      line(`agent_peak_rss_mb_${n}`, r.peakRssMb);
    }
    const largest = Math.max(...sizes);
    const anchorBefore = server.cpuSeconds();
    const a = await timed([
      process.execPath,
      '--import',
      'tsx',
      '--conditions=@rediver/source',
      join(APP, 'bench/e2eAnchor.ts'),
      files.get(largest)!,
      String(largest),
      server.url,
      KEY,
    ]);
    if (a.code !== 0) throw new Error(`anchor exited ${a.code}: ${a.stderr.slice(-2000)}`);
    const anchor = JSON.parse(a.stdout.trim().split('\n').pop()!) as { findings: number; seconds: number };
    if (anchor.findings !== largest) throw new Error(`anchor read ${anchor.findings} results`);
    line('anchor_findings_per_s', largest / a.wallSeconds);
    line('anchor_cpu_s', a.cpuSeconds);
    line('anchor_peak_rss_mb', a.peakRssMb);
    // The platform's side of each run: the same server ingesting the agent's findings (every field the SARIF
    // gives) and the anchor's (the least the platform accepts). When the server's CPU is close to a run's wall
    // time, that run was paced by the server, not by the sender.
    line(`server_cpu_s_agent_${largest}`, serverCpu.get(largest)!);
    line('server_cpu_s_anchor', server.cpuSeconds() - anchorBefore);
    const big = runs.get(largest)!;
    line('e2e_ratio', largest / big.wallSeconds / (largest / a.wallSeconds));
    line('peak_rss_mb', big.peakRssMb);
    const smallest = Math.min(...sizes);
    line(`peak_rss_mb_${smallest}`, runs.get(smallest)!.peakRssMb);
    line('rss_growth', big.peakRssMb / runs.get(smallest)!.peakRssMb);
    const mid = sizes.find((n) => n * 10 === largest);
    if (mid !== undefined) {
      line('cost_growth', big.cpuSeconds / largest / (runs.get(mid)!.cpuSeconds / mid));
    }
  } finally {
    await server.stop();
  }
}

async function adaptive(work: string, cli: string): Promise<void> {
  const K = 8;
  const server = await startCapacityPlatform({ capacity: K, baseLatencyMs: 80 });
  const findings = Number(process.env.BENCH_ADAPTIVE_FINDINGS ?? 4000);
  try {
    const child = timed([
      ...agentArgs(cli, server.url, join(work, 'agent-adaptive')),
      join(APP, 'sample-target'),
      '--scanner',
      `synthetic:${findings}`,
      '--set',
      'chunk.maxFindingsPerChunk=1',
    ]);
    // Sampled here: acknowledgements and refusals between a quarter and the end of the run.
    let from: { t: number; acked: number; requests: number; refused: number } | undefined;
    let to: typeof from;
    const sampler = setInterval(() => {
      const c = server.counters;
      const s = { t: performance.now(), acked: c.acked, requests: c.requests, refused: c.rateLimited };
      if (from === undefined && c.acked >= findings / 4) from = s;
      if (from !== undefined && c.acked < findings * 0.98) to = s;
    }, 100);
    const r = await child;
    clearInterval(sampler);
    if (r.code !== 0) throw new Error(`adaptive agent exited ${r.code}: ${r.stderr.slice(-2000)}`);
    if (from === undefined || to === undefined || to.t <= from.t) throw new Error('adaptive run too short');
    const rate = ((to.acked - from.acked) * 1000) / (to.t - from.t);
    line('adaptive_capacity_per_s', server.capacityPerSecond());
    line('adaptive_chunks_per_s', rate);
    line('adaptive_ratio', rate / server.capacityPerSecond());
    line('adaptive_429_share', (to.refused - from.refused) / Math.max(1, to.requests - from.requests));
    line('adaptive_max_in_flight', server.counters.maxInFlight);
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_E2E_SIZES ?? '10000,100000,1000000').split(',').map(Number);
  const parts = (process.env.BENCH_E2E_PARTS ?? 'e2e,adaptive').split(',');
  const work = await mkdtemp(join(tmpdir(), 'agent-bench-e2e-'));
  const cli = await bundleCli();
  try {
    if (parts.includes('e2e')) await e2e(work, cli, sizes);
    if (parts.includes('adaptive')) await adaptive(work, cli);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(resolve(cli, '..'), { recursive: true, force: true });
  }
}

await main();
