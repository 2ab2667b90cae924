// The compression worker in a real process: a bundled program (like an application's build) stores a
// multi-chunk report on the worker thread and exits by itself without closing the store.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { bundleEntry, removeBundles } from './helpers/bundle';

let childScript: string;
let dir: TempDir;

beforeAll(async () => {
  childScript = await bundleEntry('test/fixtures/noCloseChild.ts');
  dir = tempDir();
}, 60_000);

afterAll(async () => {
  await dir?.cleanup();
  removeBundles();
});

async function runChild(script: string, databasePath: string): Promise<{ code: number | null; out: string }> {
  // Without NODE_PATH: pnpm's scripts point it at its hoisted store, where anything resolves.
  const { NODE_PATH: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [script, databasePath], {
    cwd: dir.path,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  clearTimeout(killer);
  return { code, out };
}

/**
 * Runs the bundled child and checks what every setup must give: it exits 0 by itself (the timer's SIGKILL
 * would give null), stored the report, and never fell back to the main thread (the worker found its
 * native packages).
 */
async function expectStoredOnWorker(script: string, databasePath: string): Promise<void> {
  const { code, out } = await runChild(script, databasePath);
  expect(code).toBe(0);
  const res = JSON.parse(out.trim()) as { created: boolean; totalChunks: number; warnings: string[] };
  expect(res).toMatchObject({ created: true, totalChunks: 40 });
  expect(res.warnings).toEqual([]);
}

describe('compression worker in a process', () => {
  it('runs from a bundle and never keeps the process alive once the work is done', async () => {
    await expectStoredOnWorker(childScript, join(dir.path, 'chunks.db'));
  });

  it('runs from an application bundle elsewhere that imports zstd-napi by absolute path', async () => {
    // Nothing resolves from /tmp/…: the worker finds zstd-napi where the loaded copy came from.
    const script = await bundleEntry('test/fixtures/noCloseChild.ts', { outDir: join(dir.path, 'app') });
    await expectStoredOnWorker(script, join(dir.path, 'app.db'));
  });

  it('runs from a CommonJS application bundle, where import.meta is empty', async () => {
    const script = await bundleEntry('test/fixtures/noCloseChild.ts', {
      outDir: join(dir.path, 'cjs-app'),
      format: 'cjs',
    });
    await expectStoredOnWorker(script, join(dir.path, 'cjs-app.db'));
  });
});
