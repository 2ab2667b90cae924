// Benchmark of the ingest server: `pnpm --filter @rediver/ingest-server bench [-- --chunks 2000 --baseline-dir DIR]`.
//
// 1. Throughput (issue 13: the server must not be what limits the agent). 2,000 chunks of 500 realistic findings
//    (1M findings, zstd, the agent's chunk shape) POSTed by 4 keep-alive connections to a fresh server process,
//    side by side with the anchor: a bare node:http server in the same kind of process that only reads each body
//    and answers 201. `ingest_vs_sink_ratio=` is ingest chunks/s ÷ sink chunks/s. Also the server on the main
//    thread only (`bodyWorkers: 0`) and with a file database (WAL), so each design choice shows its effect.
// 2. Hostile mixed load (issue 20). A probe of a third tenant every 20 ms (alternately `_stats` and a one-finding
//    chunk): first with the server idle, then while a legitimate chunk stream runs all along and, in every other
//    2-second window, two connections send the bombs back to back (104 MB and 20 MB object bombs, the 52 MB
//    chunk-data bomb, 40 MiB without a key). `hostile_p99_probe_ms=` is the probes' p99 in the bomb windows, beside
//    `legit_probe_p99_ms=` of the windows between them (alternating windows: the growing database weighs on both).
// `--baseline-dir DIR` adds another checkout's apps/ingest-server (e.g. main's) to the throughput runs, for a
// before/after figure in the same run (`ingest_vs_baseline_ratio=`). Every line is `key=value`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_PATHS } from '@rediver/core';
import { makeHostileBodies } from '../test/hostileBodies';
import { makeChunks } from './workload';
import { rawRequest } from '../test/rawHttp';

const APP_DIR = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  // `pnpm bench -- --chunks 400` passes the `--` through.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    chunks: { type: 'string', default: '2000' },
    'findings-per-chunk': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '4' },
    'app-dir': { type: 'string', default: APP_DIR },
    'baseline-dir': { type: 'string' },
    'hostile-seconds': { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const CHUNKS = Number(values.chunks);
const PER_CHUNK = Number(values['findings-per-chunk']);
const CONCURRENCY = Number(values.concurrency);
const KEYS = { a: 'rdv_bench_a', b: 'rdv_bench_b', c: 'rdv_bench_c' };
const API_KEYS = { [KEYS.a]: 'tenant-a', [KEYS.b]: 'tenant-b', [KEYS.c]: 'tenant-c' };
const TICKS_PER_SECOND = 100;

function line(key: string, value: number | string): void {
  process.stdout.write(`${key}=${typeof value === 'number' ? Number(value.toFixed(2)) : value}\n`);
}

interface Child {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startChild(
  mode: 'ingest' | 'sink',
  options: Record<string, unknown> = {},
  appDir = values['app-dir'],
): Promise<Child> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@rediver/source',
      join(APP_DIR, 'bench/serverChild.ts'),
      mode,
      appDir,
      JSON.stringify({ apiKeys: API_KEYS, ...options }),
    ],
    { cwd: APP_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) done((JSON.parse(out.slice(0, nl)) as { url: string }).url);
    });
    child.once('exit', (code) => fail(new Error(`server child exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU ticks (user + system, every thread) of a process. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Peak resident memory of a process, MiB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) / 1024;
}

/** POSTs one body on a keep-alive agent; resolves with the status. */
function postOnce(
  agent: Agent,
  to: { url: string; path: string; key: string },
  body: Buffer,
): Promise<number> {
  const { url, path, key } = to;
  const target = new URL(url);
  return new Promise((done, fail) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** Sends every body with `concurrency` keep-alive connections; every answer must be 201. */
async function sendAll(url: string, key: string, bodies: Buffer[], concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const status = await postOnce(agent, { url, path: API_PATHS.ingestChunk, key }, body);
        if (status !== 201) throw new Error(`chunk answered ${status}`);
      }
    }),
  );
  agent.destroy();
  return performance.now() - started;
}

async function throughput(chunks: Buffer[]): Promise<void> {
  const configs: Array<[string, 'sink' | 'ingest', Record<string, unknown>, string?]> = [
    ['sink', 'sink', {}],
    ['ingest', 'ingest', {}],
    ['ingest_main_thread', 'ingest', { bodyWorkers: 0 }],
    ['ingest_file_db', 'ingest', { databasePath: join(tmpdir(), `ingest-bench-${process.pid}.db`) }],
  ];
  // Another checkout's server (e.g. main's) on the same workload, for a before/after figure.
  if (values['baseline-dir'] !== undefined) configs.push(['baseline', 'ingest', {}, values['baseline-dir']]);
  const rates: Record<string, number> = {};
  for (const [name, mode, options, appDir] of configs) {
    const child = await startChild(mode, options, appDir);
    const ticks = cpuTicks(child.pid);
    const ms = await sendAll(child.url, KEYS.a, chunks, CONCURRENCY);
    const cpuMs = ((cpuTicks(child.pid) - ticks) / TICKS_PER_SECOND) * 1000;
    rates[name] = (chunks.length / ms) * 1000;
    line(`${name}_chunks_per_s`, rates[name]);
    line(`${name}_findings_per_s`, rates[name] * PER_CHUNK);
    line(`${name}_server_cpu_ms_per_chunk`, cpuMs / chunks.length);
    line(`${name}_server_peak_rss_mb`, peakRssMb(child.pid));
    await child.stop();
  }
  line('ingest_vs_sink_ratio', rates.ingest! / rates.sink!);
  if (rates.baseline !== undefined) line('ingest_vs_baseline_ratio', rates.ingest! / rates.baseline);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One probe as tenant C, alternately `_stats` and a one-finding chunk; resolves with its latency (ms). */
function probeOnce(agent: Agent, url: string, n: number, body: Buffer): Promise<number> {
  const started = performance.now();
  const answered =
    n % 2 === 0
      ? new Promise<number>((done, fail) => {
          const target = new URL(url + '/api/v1/agent/_stats');
          request(
            {
              agent,
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              headers: { authorization: `Bearer ${KEYS.c}` },
            },
            (res) => {
              res.resume();
              res.on('end', () => done(res.statusCode ?? 0));
            },
          )
            .on('error', fail)
            .end();
        })
      : postOnce(agent, { url, path: API_PATHS.ingestChunk, key: KEYS.c }, body);
  return answered.then((status) => {
    if (status >= 300) throw new Error(`probe answered ${status}`);
    return performance.now() - started;
  });
}

/**
 * Issue 20's mixed load. Tenant A streams chunks all along (two connections); tenant B sends the bombs back to
 * back (two connections) in every other 2-second window; tenant C probes every 20 ms. Windows alternate so that
 * the database's growth weighs on both kinds alike; a probe belongs to the window it started in.
 */
async function hostile(chunks: Buffer[]): Promise<void> {
  const bodies = await makeHostileBodies();
  const child = await startChild('ingest');
  const seconds = Number(values['hostile-seconds']);
  const json = { 'content-type': 'application/json' };
  const b = { authorization: `Bearer ${KEYS.b}`, ...json };
  const bombs = [
    () =>
      rawRequest(child.url, {
        path: API_PATHS.ingest,
        body: bodies.bomb104.frame,
        headers: { ...b, 'content-encoding': 'zstd' },
      }),
    () => rawRequest(child.url, { path: API_PATHS.ingest, body: bodies.plain20, headers: b }),
    () => rawRequest(child.url, { path: API_PATHS.ingest, body: bodies.plainProperties20, headers: b }),
    () =>
      rawRequest(child.url, { path: API_PATHS.ingestChunk, body: bodies.chunkBomb52Envelope, headers: b }),
    () => rawRequest(child.url, { path: '/no/such/route', body: bodies.anonymous40, headers: json }),
    () => rawRequest(child.url, { path: API_PATHS.ingest, body: bodies.anonymous40, headers: json }),
  ];
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const probeBody = makeChunks('probe', 1, 1)[0]!;
  const probe = async (ms: number): Promise<number[]> => {
    const latencies: number[] = [];
    for (const end = performance.now() + ms; performance.now() < end;) {
      latencies.push(await probeOnce(probeAgent, child.url, latencies.length, probeBody));
      await new Promise((r) => setTimeout(r, 20));
    }
    return latencies;
  };
  const report = (name: string, latencies: number[]): void => {
    latencies.sort((x, y) => x - y);
    line(`${name}_probes`, latencies.length);
    line(`${name}_probe_p50_ms`, percentile(latencies, 50));
    line(`${name}_probe_p99_ms`, percentile(latencies, 99));
    line(`${name}_probe_max_ms`, latencies.at(-1) ?? 0);
  };
  report('idle', await probe(3000));

  let running = true;
  let hostileOn = false;
  const legitAgent = new Agent({ keepAlive: true, maxSockets: 2 });
  let next = 0;
  const legitLoops = Array.from({ length: 2 }, async () => {
    while (running) {
      const status = await postOnce(
        legitAgent,
        { url: child.url, path: API_PATHS.ingestChunk, key: KEYS.a },
        chunks[next++ % chunks.length]!,
      );
      if (status !== 201) throw new Error(`legit chunk answered ${status}`);
    }
  });
  const statuses: Record<string, number> = {};
  let hostileCount = 0;
  const hostileLoops = [0, 3].map(async (offset) => {
    for (let i = offset; running;) {
      if (!hostileOn) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const answer = await bombs[i++ % bombs.length]!();
      hostileCount++;
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    }
  });
  const legit: number[] = [];
  const mixed: number[] = [];
  const rssBefore = peakRssMb(child.pid);
  for (let w = 0; w < Math.max(2, Math.round(seconds / 2)); w++) {
    hostileOn = w % 2 === 1;
    (hostileOn ? mixed : legit).push(...(await probe(2000)));
  }
  running = false;
  hostileOn = false;
  await Promise.all([...legitLoops, ...hostileLoops]);
  legitAgent.destroy();
  probeAgent.destroy();
  report('legit', legit);
  report('hostile', mixed);
  line('hostile_requests', hostileCount);
  line(
    'hostile_statuses',
    Object.entries(statuses)
      .map(([s, n]) => `${s}:${n}`)
      .join(','),
  );
  line('hostile_p99_probe_ms', percentile(mixed, 99));
  // How much the bombs add to what the legitimate load alone costs a probe (1 = nothing).
  line('hostile_vs_legit_p99_ratio', percentile(mixed, 99) / percentile(legit, 99));
  line('server_peak_rss_mb_before_load', rssBefore);
  line('server_peak_rss_mb_after_load', peakRssMb(child.pid));
  await child.stop();
}

const generated = performance.now();
const chunks = makeChunks('bench-report', CHUNKS, PER_CHUNK);
line('chunks', CHUNKS);
line('findings', CHUNKS * PER_CHUNK);
line('wire_mb', chunks.reduce((n, c) => n + c.length, 0) / 1024 / 1024);
line('generate_s', (performance.now() - generated) / 1000);
if (values.only !== 'hostile') await throughput(chunks);
if (values.only !== 'throughput') await hostile(chunks);
