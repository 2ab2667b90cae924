import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@rediver/core';
import { afterEach, beforeEach } from 'vitest';

/** A temp folder removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rediver-audit-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A clock tests move by hand. */
export function manualClock(
  startMs = Date.UTC(2026, 0, 15, 10, 30, 0, 0),
): Clock & { set(ms: number): void; advance(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** The file's complete lines (the last piece must be empty: no torn line). */
export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error(`${file} ends with a torn line`);
  return text.slice(0, -1).split('\n');
}

/** Polls `check` until true (bounded; generous timeout for loaded CI machines). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fresh temp folder per test (`tmp.dir`), removed after it. */
export function useTempDir(): { readonly dir: string } {
  let current: { dir: string; cleanup: () => Promise<void> } | undefined;
  beforeEach(async () => {
    current = await tempDir();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return {
    get dir(): string {
      if (current === undefined) throw new Error('useTempDir: only inside a test');
      return current.dir;
    },
  };
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

/** A loopback HTTP endpoint per test, closed after it: `start(handler)` resolves with its URL. */
export function useEndpoint(): { start(handler: RequestListener): Promise<string> } {
  let server: Server | undefined;
  afterEach(async () => {
    if (server === undefined) return;
    const s = server;
    server = undefined;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  });
  return {
    async start(handler) {
      const s = createServer(handler);
      server = s;
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}/ingest`;
    },
  };
}
