import { spawn } from 'node:child_process';
import { AgentError } from '../errors';

/** Outcome of one child process run. */
export interface ChildResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

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
  return new Promise<ChildResult>((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new AgentError('ABORTED', `not started: ${cmd} (agent stopping)`));
      return;
    }
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: AgentError | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (why: AgentError): void => {
      if (failure !== undefined) return;
      failure = why;
      if (pid === undefined) return;
      killGroup(pid, 'SIGTERM');
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
    const finish = (): void => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) {
        // The leader is gone; make sure no grandchild of a killed group survives it.
        if (failure !== undefined) killGroup(pid, 'SIGKILL');
        live.delete(pid);
      }
    };
    child.on('error', (e) => {
      finish();
      reject(new AgentError('SCANNER_FAILED', `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (exitCode, signal) => {
      finish();
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err)
          .toString('utf8')
          .slice(0, 64 * 1024),
        durationMs: Date.now() - started,
      });
    });
  });
}
