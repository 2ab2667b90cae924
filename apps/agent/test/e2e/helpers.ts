import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { startIngestServer } from '@rediver/ingest-server';
import type { IngestServer, IngestServerOptions } from '@rediver/ingest-server';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { bundleCli } from './bundle';

export const APP = resolve(import.meta.dirname, '../..');
export const SAMPLE = join(APP, 'sample-target');
export const TENANT = 'e2e-tenant';
export const KEY = 'rdv_e2e_key_0123456789';

/** A running CLI process with its captured output. */
export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exit: Promise<number | string>;
}

const live = new Set<ChildProcess>();

let bundled: string | undefined;

/** Bundles the CLI for fast process starts (call in `beforeAll`); without it, processes run through tsx. */
export async function prepareCli(): Promise<void> {
  bundled = await bundleCli();
}

/** Removes the bundle (call in `afterAll`). */
export async function disposeCli(): Promise<void> {
  if (bundled !== undefined) await rm(dirname(bundled), { recursive: true, force: true });
  bundled = undefined;
}

/** Starts `rediver-agent <args>` (the bundle, or the sources through tsx when asked or not prepared). */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  options: { tsx?: boolean; cwd?: string } = {},
): CliRun {
  const entry =
    bundled !== undefined && options.tsx !== true
      ? [bundled]
      : ['--import', 'tsx', '--conditions=@rediver/source', join(APP, 'src/cli.ts')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? APP,
    env: { ...process.env, CI: 'true', REDIVER_PROGRESS: 'plain', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | string>((done) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      done(code ?? signal ?? 'unknown');
    });
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Runs the CLI to completion (bounded). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  options: { tsx?: boolean; cwd?: string } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = startCli(args, env, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const code = await run.exit;
  clearTimeout(timer);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Kills every CLI process a test left running. */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Starts the ingest server for tests (tenant `TENANT`, key `KEY`). */
export function startServer(dir: string, options: IngestServerOptions = {}): Promise<IngestServer> {
  return startIngestServer({
    host: '127.0.0.1',
    port: 0,
    databasePath: join(dir, 'server.db'),
    apiKeys: { [KEY]: TENANT },
    ...options,
  });
}

/** Server-side totals for the test tenant. */
export function totals(server: IngestServer): {
  findingsReceived: number;
  findings: number;
  chunks: number;
  reports: {
    reportId: string;
    findingsReceived: number;
    complete: boolean;
    chunksReceived: number;
    totalChunks: number | null;
  }[];
} {
  const t = server.stats(TENANT).tenants[0];
  return {
    findingsReceived: t?.totals.findingsReceived ?? 0,
    findings: t?.totals.findings ?? 0,
    chunks: t?.totals.chunks ?? 0,
    reports: t?.reports ?? [],
  };
}

/** Flags pointing the agent at `server` with a data dir, nothing else (the defaults). */
export function plainAgentArgs(server: { url: string }, dataDir: string): string[] {
  return [
    '--server',
    server.url,
    '--api-key',
    KEY,
    '--data-dir',
    dataDir,
    '--tenant-id',
    TENANT,
    '--progress',
    'plain',
  ];
}

/** Flags pointing the agent at `server` with a data dir and fast retries. */
export function agentArgs(server: { url: string }, dataDir: string): string[] {
  return [
    ...plainAgentArgs(server, dataDir),
    '--set',
    'chunk.retryBaseDelayMs=100',
    '--set',
    'chunk.retryMaxDelayMs=1000',
    '--set',
    'chunk.uploadDelayMs=5',
    '--set',
    'pipeline.retryDelayMs=100',
    '--set',
    'pipeline.maxRetryDelayMs=1000',
    '--set',
    'resource.sampleIntervalMs=500',
    '--set',
    'audit.flushIntervalMs=200',
  ];
}

/**
 * Registers the hooks every e2e file needs (bundle the CLI once, kill its processes and run the cleanups
 * after each test) and returns the list a test pushes its cleanups onto.
 */
export function useE2eLifecycle(): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => prepareCli());
  afterAll(() => disposeCli());
  afterEach(async () => {
    killAll();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
