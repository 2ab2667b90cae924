// A streaming submit killed with SIGKILL in the middle (issue 13): the staged chunks never become visible, the
// next open discards them, and a rerun delivers the report exactly once. Real child processes, a real SQLite file,
// a real loopback server that deduplicates by Idempotency-Key.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngestPlatform, tempDir } from '@rediver/testkit';
import type { IngestPlatform, TempDir } from '@rediver/testkit';
import { ChunkStore } from '../src/chunkStore';
import { bundleEntry, removeBundles } from './helpers/bundle';

const FINDINGS = 20_000; // 200 chunks of 100
const packageDir = resolve(import.meta.dirname, '..');
let childScript: string;
let dir: TempDir;
let server: IngestPlatform | undefined;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  childScript = await bundleEntry('test/fixtures/streamChild.ts');
  dir = tempDir();
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
  await dir?.cleanup();
  removeBundles();
});

function run(
  databasePath: string,
  url: string,
): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const { NODE_PATH: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [childScript, databasePath, url, String(FINDINGS)], {
    cwd: packageDir,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      children.delete(child);
      res(code);
    }),
  );
  return { child, lines, exited };
}

async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('SIGKILL during a streaming submit', () => {
  it('leaves no half report; the rerun delivers every chunk exactly once', async () => {
    server = await startIngestPlatform({ verifyData: true });
    const databasePath = join(dir.path, 'chunks.db');
    for (const at of [10, 60, 150]) {
      const r = run(databasePath, server.url);
      // Killed once this many chunks are on disk, staged (not committed).
      await until(
        () => r.lines.some((l) => l.startsWith('staged ') && Number(l.slice(7)) >= at),
        60_000,
        `${at} chunks staged`,
      );
      expect(r.lines).not.toContain('committed');
      r.child.kill('SIGKILL');
      await r.exited;
      // Nothing is visible, and the next open discards the staged rows.
      const store = new ChunkStore({ databasePath, cleanupIntervalMinutes: 0 });
      try {
        const stats = await store.getStats();
        expect(stats).toMatchObject({ stagingReports: 0, stagedBytes: 0, storedBytes: 0 });
        expect(stats.reports.pending + stats.reports.uploading).toBe(0);
        expect(store.sqlite.prepare('SELECT count(*) AS n FROM chunks').get()).toEqual({ n: 0 });
        expect(store.sqlite.prepare('SELECT count(*) AS n FROM chunk_blobs').get()).toEqual({ n: 0 });
      } finally {
        await store.close();
      }
    }
    expect(server.counters.requests).toBe(0);
    const last = run(databasePath, server.url);
    expect(await last.exited).toBe(0);
    expect(last.lines).toContain('done');
    for (let i = 0; i < FINDINGS / 100; i++) {
      const applied = server.appliedFor('stream-crash', i);
      expect(applied, `chunk ${i}`).toHaveLength(1);
      expect(applied[0]!.totalChunks).toBe(FINDINGS / 100);
    }
    expect(server.applied.size).toBe(FINDINGS / 100);
    expect(server.counters.invalid).toBe(0);
  }, 180_000);
});
