// Audit-specific test helpers; temp dirs, waits, clocks and loopback endpoints come from @rediver/testkit.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file's complete lines (the last piece must be empty: no torn line). */
export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error(`${file} ends with a torn line`);
  return text.slice(0, -1).split('\n');
}

/** A child process running `test/fixtures/<fixture>` from the sources (tsx), with its output collected. */
export interface FixtureRun {
  child: ChildProcessWithoutNullStreams;
  /** stdout and stderr so far. */
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts a fixture; every one still running is SIGKILLed after the test (`killFixtures`). */
export function runFixture(fixture: string, args: readonly string[], env?: NodeJS.ProcessEnv): FixtureRun {
  const file = fixture.startsWith('/') ? fixture : join(import.meta.dirname, 'fixtures', fixture);
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@rediver/source', file, ...args], {
    env: env ?? process.env,
  });
  running.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, out: () => out, exited };
}

/** SIGKILLs the fixtures still running (call from afterEach). */
export function killFixtures(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}
