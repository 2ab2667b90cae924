// Issue 15: a program whose only work is to await the manager's promises (waitForReport, drain, close) while a
// chunk waits for its retry after a 503 must see them settle and exit 0 — the retry timer such a promise depends on
// keeps the process alive. A real child process; the server runs here, in the parent.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngestPlatform, tempDir } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { bundleEntry, removeBundles } from './helpers/bundle';

let childScript: string;
let dir: TempDir;

beforeAll(async () => {
  childScript = await bundleEntry('test/fixtures/lifetimeChild.ts');
  dir = tempDir();
}, 60_000);

afterAll(async () => {
  await dir?.cleanup();
  removeBundles();
});

describe('promise lifetimes in a process with nothing else alive', () => {
  it('waitForReport, drain and close settle while a retry waits after a 503, and the process exits 0', async () => {
    // The first request is answered 503, then the server heals: the chunk waits retryBaseDelayMs on a timer,
    // alone in the child.
    const server = await startIngestPlatform({ errorRate: 1 });
    const healed = setInterval(() => {
      if (server.counters.error > 0) server.setFaults({});
    }, 1);
    try {
      const { NODE_PATH: _ignored, ...env } = process.env;
      const child = spawn(process.execPath, [childScript, join(dir.path, 'chunks.db'), server.url], {
        cwd: dir.path,
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      clearTimeout(killer);
      expect(out).toContain('retry-waiting');
      expect(code).toBe(0);
      expect(out).toContain('delivered 1');
      expect(out).toContain('done');
      expect(server.counters.error).toBeGreaterThanOrEqual(1);
    } finally {
      clearInterval(healed);
      await server.close();
    }
  }, 60_000);
});
