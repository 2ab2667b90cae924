// Crash safety: a child process running the manager is SIGKILLed at random points (during submit, mid-upload)
// at least 20 times and restarted each time; at the end the server has every chunk of every report, applied
// exactly once (it deduplicates by the idempotency key, which must therefore be stable across restarts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, startIngestPlatform, tempDir } from '@rediver/testkit';
import type { IngestPlatform, TempDir } from '@rediver/testkit';
import { bundleEntry, removeBundles } from './helpers/bundle';
import { openManager } from './helpers/harness';
import { memoryUploader } from './helpers/memoryUploader';

const KILLS = 20;
const REPORTS = 6;
const FINDINGS = 200; // 40 chunks of 5 findings per report
const packageDir = resolve(import.meta.dirname, '..');
let childScript: string;
let dir: TempDir;
let server: IngestPlatform | undefined;
const children = new Set<ChildProcess>();

// The child is bundled once: `node --import tsx` costs seconds per start on a loaded machine.
beforeAll(async () => {
  childScript = await bundleEntry('test/fixtures/crashChild.ts');
  dir = tempDir();
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
  await dir?.cleanup();
  removeBundles();
});

interface Run {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function run(databasePath: string, url: string): Run {
  const child = spawn(process.execPath, [childScript, databasePath, url, String(REPORTS), String(FINDINGS)], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const stderr: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      children.delete(child);
      res(code);
    }),
  );
  return { child, lines, stderr, exited };
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Resolves when `ready()` holds (true) or the child exited (false); rejects after `ms`. */
async function waitFor(r: Run, ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return false;
    if (Date.now() > deadline) throw new Error(`child not ready within ${ms} ms: ${r.stderr.join('')}`);
    await sleep(1);
  }
  return true;
}

function waitForLine(r: Run, line: string, ms: number): Promise<boolean> {
  return waitFor(r, () => r.lines.includes(line), ms);
}

describe('crash safety', () => {
  it(`survives ${KILLS}+ SIGKILLs at random points and applies every chunk exactly once`, async () => {
    server = await startIngestPlatform({ latencyMs: 20 });
    const databasePath = join(dir.path, 'chunks.db');
    const random = seededRandom(2026);
    let kills = 0;
    let killsMidUpload = 0;
    for (let i = 0; kills < KILLS && i < KILLS + 10; i++) {
      const r = run(databasePath, server.url);
      if (i % 4 === 0) {
        // Dies around submit / start.
        if (await waitForLine(r, 'opened', 20_000)) await sleep(Math.floor(random() * 40));
      } else {
        // Dies mid-upload: after a random number (1..12) of its requests reached the server, at a random moment.
        const target = server.counters.requests + 1 + Math.floor(random() * 12);
        if (await waitFor(r, () => server!.counters.requests >= target, 20_000))
          await sleep(Math.floor(random() * 25));
      }
      if (r.child.exitCode === null && r.child.signalCode === null) {
        if (server.counters.inFlight > 0) killsMidUpload += 1;
        r.child.kill('SIGKILL');
        kills += 1;
      }
      await r.exited;
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // Most kills landed with uploads in flight (the window the idempotency key exists for).
    expect(killsMidUpload).toBeGreaterThanOrEqual(KILLS / 4);

    const last = run(databasePath, server.url);
    const code = await Promise.race([
      last.exited,
      new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 40_000)),
    ]);
    expect(code, last.stderr.join('')).toBe(0);
    expect(last.lines).toContain('done');

    // Every position of every report applied once, under one stable key.
    const chunksPerReport = FINDINGS / 5;
    for (let rep = 0; rep < REPORTS; rep++) {
      for (let idx = 0; idx < chunksPerReport; idx++) {
        const applied = server.appliedFor(`crash-${rep}`, idx);
        expect(applied, `crash-${rep}#${idx}`).toHaveLength(1);
        expect(applied[0]!.totalChunks).toBe(chunksPerReport);
      }
    }
    expect(server.applied.size).toBe(REPORTS * chunksPerReport);

    // The database agrees: every report completed, its chunks cleaned up, nothing left uploading.
    const m = openManager(dir.path, { uploader: memoryUploader() });
    try {
      for (let rep = 0; rep < REPORTS; rep++) {
        expect(await m.getProgress('tenant-crash', `crash-${rep}`)).toMatchObject({
          status: 'completed',
          uploadedChunks: chunksPerReport,
        });
      }
      expect(m.store.sqlite.prepare('SELECT COUNT(*) AS n FROM chunks').get()).toEqual({ n: 0 });
    } finally {
      await m.close();
    }
  }, 120_000);
});
