// Idle footprint of the daemon: `pnpm --filter @rediver/agent bench:idle` (or `tsx bench/idle.ts [--seconds 60]
// [--mode dist|tsx|both]`). Starts apps/ingest-server on loopback, then `rediver-agent run` against it with no
// jobs, and measures the agent process from /proc for the window: CPU seconds (utime+stime) per wall second,
// RSS at the end, and the start peak (VmHWM). Side by side, in the same window, a bare Node process that only
// keeps its loop alive (the anchor: what Node itself costs). Prints key=value lines.
//
// Production runs the built bundle: `dist/cli.js` (the `rediver-agent` bin, built by `pnpm nx run-many -t
// build`), so `--mode dist` (the default) measures that; `--mode tsx` measures the sources through tsx as
// `npm run demo` does, for comparison.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startIngestServer } from '@rediver/ingest-server';

const APP = resolve(import.meta.dirname, '..');
const ROOT = resolve(APP, '../..');
const KEY = 'rdv_bench_idle_key';
const TENANT = 'bench-tenant';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    mode: { type: 'string', default: 'dist' },
    // V8's memory reducer runs its full collections ~8-9 s after start (--trace-gc: two Mark-Compact (reduce), 5-14 ms
    // each, plus incremental marking): one-off start-up work, reported as startup_cpu_seconds, not idle cost.
    'settle-seconds': { type: 'string', default: '15' },
    // Extra flags for the agent, e.g. --agent-arg=--set --agent-arg=pollIntervalMs=30000 (to compare settings).
    'agent-arg': { type: 'string', multiple: true, default: [] },
    // Node flags for the agent process, e.g. --node-arg=--max-semi-space-size=1.
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const seconds = Number(values.seconds);
const settle = Number(values['settle-seconds']);
const modes = values.mode === 'both' ? ['dist', 'tsx'] : [values.mode];

interface ProcFigures {
  /** CPU time of every thread, ns (schedstat: exact, where utime/stime count 10 ms ticks). */
  cpuNs: number;
  rssKb: number;
  hwmKb: number;
}

function procFigures(pid: number): ProcFigures {
  let cpuNs = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that just ended
    }
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { cpuNs, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ensureBuilt(): string {
  const cli = join(APP, 'dist', 'cli.js');
  // Cached by Nx: a no-op when nothing changed.
  const r = spawnSync('pnpm', ['exec', 'nx', 'run', '@rediver/agent:build', '--outputStyle=static'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' },
  });
  if (r.status !== 0 || !existsSync(cli)) throw new Error('building the agent failed');
  return cli;
}

async function measure(mode: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-idle-bench-'));
  const server = await startIngestServer({
    host: '127.0.0.1',
    port: 0,
    databasePath: join(dir, 'server.db'),
    apiKeys: { [KEY]: TENANT },
  });
  const entry =
    mode === 'dist'
      ? [ensureBuilt()]
      : ['--import', 'tsx', '--conditions=@rediver/source', join(APP, 'src/cli.ts')];
  const children: ChildProcess[] = [];
  try {
    const agent = spawn(
      process.execPath,
      [
        ...values['node-arg'],
        ...entry,
        'run',
        '--server',
        server.url,
        '--api-key',
        KEY,
        '--data-dir',
        join(dir, 'agent'),
        '--tenant-id',
        TENANT,
        '--progress',
        'plain',
        ...values['agent-arg'],
      ],
      { cwd: APP, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    children.push(agent);
    let out = '';
    agent.stdout.on('data', (b: Buffer) => (out += b.toString()));
    agent.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const anchor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    children.push(anchor);
    // The floor of any Node daemon with the spec's cadence on this machine: empty timers every 5 s (audit flush),
    // 5 s (resource sample, started a little later) and 10 s (command poll), doing nothing.
    const cadence = spawn(
      process.execPath,
      [
        '-e',
        'setInterval(() => {}, 5000); setTimeout(() => setInterval(() => {}, 5000), 200); setInterval(() => {}, 10000)',
      ],
      { stdio: 'ignore' },
    );
    children.push(cadence);
    const t0 = Date.now();
    while (!/running as/.test(out)) {
      if (agent.exitCode !== null) throw new Error(`agent exited: ${out}`);
      if (Date.now() - t0 > 60_000) throw new Error(`agent did not start: ${out}`);
      await sleep(50);
    }
    const startMs = Date.now() - t0;
    // Let start-up work (first samples, first heartbeat, backlog check) finish: the window is the idle state.
    await sleep(settle * 1000);
    const a0 = procFigures(agent.pid!);
    const b0 = procFigures(anchor.pid!);
    const c0 = procFigures(cadence.pid!);
    const w0 = performance.now();
    // RSS moves with the young generation between collections: sampled every second, the median reported.
    const rss: number[] = [];
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      rss.push(procFigures(agent.pid!).rssKb / 1024);
    }
    rss.sort((x, y) => x - y);
    const a1 = procFigures(agent.pid!);
    const b1 = procFigures(anchor.pid!);
    const c1 = procFigures(cadence.pid!);
    const wall = (performance.now() - w0) / 1000;
    const pct = (ns: number): number => (ns / 1e9 / wall) * 100;
    const agentCpu = pct(a1.cpuNs - a0.cpuNs);
    const anchorCpu = pct(b1.cpuNs - b0.cpuNs);
    const cadenceCpu = pct(c1.cpuNs - c0.cpuNs);
    const p = (k: string, v: number | string, digits = 2): void => {
      process.stdout.write(`${k}=${typeof v === 'number' ? v.toFixed(digits) : v}\n`);
    };
    p('mode', mode);
    p('window_seconds', wall, 1);
    p('start_ms', startMs, 0);
    p('startup_cpu_seconds', a0.cpuNs / 1e9, 3);
    p('idle_cpu_percent', agentCpu, 3);
    p('idle_cpu_seconds', (a1.cpuNs - a0.cpuNs) / 1e9, 3);
    p('idle_rss_mb', rss[Math.floor(rss.length / 2)] ?? a1.rssKb / 1024, 1);
    p('idle_rss_min_mb', rss[0] ?? 0, 1);
    p('idle_rss_max_mb', rss[rss.length - 1] ?? 0, 1);
    p('start_peak_rss_mb', a1.hwmKb / 1024, 1);
    p('anchor_idle_cpu_percent', anchorCpu, 3);
    p('anchor_idle_rss_mb', b1.rssKb / 1024, 1);
    p('cadence_floor_cpu_percent', cadenceCpu, 3);
    p('cpu_ratio_vs_cadence_floor', cadenceCpu > 0 ? agentCpu / cadenceCpu : 0, 2);
    p('rss_ratio_vs_bare_node', a1.rssKb / b1.rssKb, 2);
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

for (const mode of modes) await measure(mode);
