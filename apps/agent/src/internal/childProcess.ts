import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { setPriority } from 'node:os';
import { AgentError } from '../errors';
import type { CgroupPlacement } from './cgroupPlacement';
import { scannerEnv } from './childEnv';
import { ScannerCgroup, Watchdog } from './containment';
import type { ScannerCaps, ScannerUsage } from './containment';
import { childProcessModule } from './lazyModules';
import { recordScanner } from './scannerRegistry';

/** Outcome of one child process run. */
export interface ChildResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** How the process group was contained and what it used (when it was). */
  usage?: ScannerUsage;
}

/** How a child's process group is contained (see `internal/containment.ts`). */
export interface ChildContainment {
  /** The caps; without them the child runs uncontained. */
  caps?: ScannerCaps;
  /** Where its cgroup goes; undefined: a lower priority and the watchdog instead. */
  placement?: CgroupPlacement;
  /** Folder of the running-scanner records (so that a crashed agent's scanners are stopped at the next start). */
  registryDir?: string;
  /** Watchdog sampling interval, ms (default 1000). */
  watchdogIntervalMs?: number;
  /** Watchdog: samples in a row over the CPU cap before the group is stopped (default 5). */
  cpuGraceSamples?: number;
  /** Watchdog: nice value of the group (default 10). */
  nice?: number;
}

/** Defaults every `runChild` uses unless its options say otherwise (set once by the agent at start). */
export interface ChildProcessDefaults extends ChildContainment {
  /** Extra variable names (or `PREFIX_*`) a child inherits besides the allow-list (`scanners.passEnv`). */
  passEnv?: readonly string[];
}

let defaults: ChildProcessDefaults = {};

/** Sets what every child gets unless its own options say otherwise: containment and inherited variables. */
export function configureChildProcesses(d: ChildProcessDefaults): void {
  defaults = { ...d };
}

/** The shell that puts its own pid into the scanner's cgroups, then becomes the scanner (so nothing escapes). */
const SH = '/bin/sh';
const JOIN_CGROUP =
  'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "rediver-agent: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; exec "$@"';

/** Options of `runChild`. */
export interface RunChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the whole process group after this long, ms. */
  timeoutMs: number;
  /** Kill the whole process group when this fires (agent shutdown). */
  signal?: AbortSignal;
  /** Most stdout bytes kept (SARIF can be large); beyond it the run fails. */
  maxStdoutBytes?: number;
  /** Grace between SIGTERM and SIGKILL of the group, ms. */
  killGraceMs?: number;
  /** Containment of this child (default: what `configureChildProcesses` set); `false`: none. */
  containment?: ChildContainment | false;
  /** Name in the running-scanner record and messages (default: the command). */
  label?: string;
}

const live = new Set<number>();

/** Kills every scanner process group still running (last resort on exit). */
export function killAllChildren(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole group, so a scanner's own children die with it.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Runs a command in its own process group with a timeout. On timeout or abort the group gets SIGTERM,
 * then SIGKILL after a grace period; the promise rejects with `TIMEOUT` / `ABORTED` once the child is gone.
 */
export function runChild(argv: readonly string[], options: RunChildOptions): Promise<ChildResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new AgentError('SCANNER_FAILED', 'empty scanner command'));
  const started = Date.now();
  const maxStdout = options.maxStdoutBytes ?? 256 * 1024 * 1024;
  const grace = options.killGraceMs ?? 2000;
  const contain = options.containment === false ? {} : { ...defaults, ...(options.containment ?? {}) };
  const label = options.label ?? basename(cmd);
  return new Promise<ChildResult>((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new AgentError('ABORTED', `not started: ${cmd} (agent stopping)`));
      return;
    }
    const caps = contain.caps;
    // A cgroup of its own where the agent may create one; else the watchdog (below, once the pid is known).
    const cgroup =
      caps !== undefined && contain.placement !== undefined && existsSync(SH)
        ? ScannerCgroup.create(contain.placement, `rediver-scanner-${process.pid}-${started}-${seq++}`, caps)
        : undefined;
    const spawnArgv =
      cgroup === undefined
        ? [cmd, ...args]
        : [SH, '-c', JOIN_CGROUP, 'rediver-cgroup-join', ...cgroup.procsFiles(), '--', cmd, ...args];
    // Never the agent's whole environment: an allow-list, and never a REDIVER_* variable (see childEnv.ts).
    const env = scannerEnv(
      options.env ?? process.env,
      options.env === undefined ? (defaults.passEnv ?? []) : Object.keys(options.env),
    );
    const child = childProcessModule().spawn(spawnArgv[0]!, spawnArgv.slice(1), {
      cwd: options.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    let watchdog: Watchdog | undefined;
    let unrecord: (() => void) | undefined;
    if (pid !== undefined && caps !== undefined && cgroup === undefined) {
      const nice = contain.nice ?? 10;
      try {
        setPriority(pid, nice);
      } catch {
        // the watchdog retries on every process of the group it sees
      }
      watchdog = new Watchdog({
        pgid: pid,
        caps,
        intervalMs: contain.watchdogIntervalMs ?? 1000,
        cpuGraceSamples: contain.cpuGraceSamples ?? 5,
        nice,
        onOverBudget: (what) => {
          const used = what.unit === 'bytes' ? `${mib(what.used)} MiB` : `${what.used}% of the CPUs`;
          const cap = what.unit === 'bytes' ? `${mib(what.cap)} MiB` : `${what.cap}%`;
          kill(
            new AgentError(
              'SCANNER_OVER_BUDGET',
              `${label} went over its ${what.resource} budget (used ${used}, cap ${cap}: scanners.${what.resource === 'memory' ? 'maxMemoryMB' : 'maxCpuPercent'}) and was stopped`,
              { details: { ...what, containedBy: 'watchdog' } },
            ),
            what.resource === 'memory' ? 'SIGKILL' : 'SIGTERM',
          );
        },
      });
      watchdog.start();
    }
    if (pid !== undefined && contain.registryDir !== undefined) {
      unrecord = recordScanner(contain.registryDir, { pid, command: label, cgroups: cgroup?.dirs ?? [] });
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: AgentError | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (why: AgentError, signal: NodeJS.Signals = 'SIGTERM'): void => {
      if (failure !== undefined) return;
      failure = why;
      if (pid === undefined) return;
      killGroup(pid, signal);
      if (signal === 'SIGKILL') return;
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
      killTimer.unref();
    };
    const timer = setTimeout(
      () => kill(new AgentError('TIMEOUT', `${cmd} timed out after ${options.timeoutMs} ms and was killed`)),
      options.timeoutMs,
    );
    timer.unref();
    const onAbort = (): void => kill(new AgentError('ABORTED', `${cmd} was stopped (agent stopping)`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) {
        kill(new AgentError('SCANNER_FAILED', `${cmd} wrote more than ${maxStdout} bytes`));
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      // Keep only the head of stderr: enough for an error message.
      if (errBytes < 64 * 1024) err.push(b);
      errBytes += b.length;
    });
    const finish = async (): Promise<ScannerUsage | undefined> => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      let usage = watchdog?.stop();
      if (pid !== undefined) {
        // The leader is gone: whatever it left in its group (a killed scanner's grandchildren, a stray helper)
        // goes with it, so that nothing of a scanner outlives its run or keeps its cgroup busy.
        killGroup(pid, 'SIGKILL');
        live.delete(pid);
      }
      if (cgroup !== undefined) {
        usage = cgroup.usage();
        if (caps !== undefined && failure === undefined && cgroup.oomKilled()) {
          const used = usage.peakMemoryBytes ?? caps.maxMemoryBytes;
          failure = new AgentError(
            'SCANNER_OVER_BUDGET',
            `${label} went over its memory budget (used ${mib(used)} MiB, cap ${mib(caps.maxMemoryBytes)} MiB: scanners.maxMemoryMB) and was stopped by the kernel (cgroup ${cgroup.placement.version === 2 ? 'v2' : 'v1'})`,
            {
              details: {
                resource: 'memory',
                used,
                cap: caps.maxMemoryBytes,
                unit: 'bytes',
                containedBy: usage.containedBy,
              },
            },
          );
        }
        await cgroup.remove();
      }
      unrecord?.();
      return usage ?? (caps === undefined ? undefined : { containedBy: 'none' });
    };
    child.on('error', (e) => {
      void finish().then(() =>
        reject(new AgentError('SCANNER_FAILED', `cannot run ${cmd}: ${e.message}`, { cause: e })),
      );
    });
    child.on('close', (exitCode, signal) => {
      void finish().then((usage) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const result: ChildResult = {
          exitCode,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err)
            .toString('utf8')
            .slice(0, 64 * 1024),
          durationMs: Date.now() - started,
        };
        if (usage !== undefined) result.usage = usage;
        resolve(result);
      });
    });
  });
}

let seq = 0;

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
