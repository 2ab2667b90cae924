// Runs a package's lifetime script in a child process, as a user's program would run: nothing but the script
// keeps the process alive, so a promise whose settling depends on an unref()'d timer ends the program in the
// middle of an `await` (exit code 13 for ESM) instead of settling. Shared by the packages' lifetime tests.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How a lifetime script ended. */
export interface LifetimeResult {
  /** Exit code (13: Node ended with a top-level `await` still unsettled). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options of `runLifetimeScript`. */
export interface LifetimeOptions {
  /** Extra environment variables for the script. */
  env?: Record<string, string>;
  /** Kill the script after this long (a hang is reported as `signal: 'SIGKILL'`); default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs `script` (TypeScript, an ES module) with plain `node` and the tsx loader, reading workspace packages
 * from their sources.
 */
export function runLifetimeScript(script: string, options: LifetimeOptions = {}): Promise<LifetimeResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@rediver/source', script], {
      cwd: workspaceRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * What a lifetime script that settled every promise looks like: exit 0 by itself with `stdout` printed and
 * nothing on stderr. (Exit code 13 and missing steps: Node ended it in the middle of an `await`.)
 */
export function settledCleanly(stdout: string): LifetimeResult {
  return { code: 0, signal: null, stdout, stderr: '' };
}
