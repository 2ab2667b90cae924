// Large scanner outputs streamed into the chunk store while they are converted (issue 13), with real processes:
// a 100,000-result SARIF written by a real command to {output}, the agent CLI, a real ingest server on loopback.
import { join } from 'node:path';
import { ChunkStore } from '@rediver/chunk';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticSarif } from '../../bench/syntheticSarif';
import { tempDir, waitFor } from '@rediver/testkit';
import { agentArgs, runCli, startCli, startServer, totals, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();
const RESULTS = 100_000;
let work: string;
let sarif: string;
let target: string;

beforeAll(async () => {
  const dir = tempDir('agent-e2e-stream-');
  work = dir.path;
  sarif = join(work, 'results.sarif');
  target = join(work, 'repo');
  // The source files the results point at are written too: line hashes come from real content.
  await writeSyntheticSarif(sarif, { results: RESULTS, sourceRoot: target });
  return dir.cleanup;
}, 120_000);

/** The store's staging figures, read as `status` does (read-only, while the agent may be writing). */
async function staging(dataDir: string): Promise<{ reports: number; bytes: number }> {
  const store = new ChunkStore({ databasePath: join(dataDir, 'chunks.db'), readOnly: true });
  try {
    const s = await store.getStats();
    return { reports: s.stagingReports, bytes: s.stagedBytes };
  } finally {
    await store.close();
  }
}

describe('scanner output streamed into the chunk store (real processes)', () => {
  it('a 100k-result SARIF is converted, streamed and delivered: every finding arrives exactly once', async () => {
    const dir = tempDir('agent-e2e-100k-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const data = join(dir.path, 'agent');
    const r = await runCli(
      ['scan', target, ...agentArgs(server, data), '--scanner', `cp ${sarif} {output}`],
      {},
      400_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const t = totals(server);
    // Exactly once: a chunk sent twice would count its findings again.
    expect(t.findingsReceived).toBe(RESULTS);
    expect(t.reports).toHaveLength(1);
    expect(t.reports[0]).toMatchObject({ complete: true });
    expect(t.reports[0]!.chunksReceived).toBe(t.reports[0]!.totalChunks);
    expect(r.stdout).toMatch(/100000 finding\(s\) in 1 report\(s\); 1 delivered \(100000 findings/);
    expect(r.stderr).toMatch(/chunks \d+\/\d+ \(100%\)/);
    expect(await staging(data)).toEqual({ reports: 0, bytes: 0 });
  }, 420_000);

  it('SIGKILL while the report streams into the store leaves no half report; the rerun delivers exactly once', async () => {
    const dir = tempDir('agent-e2e-kill-stream-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const data = join(dir.path, 'agent');
    const args = ['scan', target, ...agentArgs(server, data), '--scanner', `cp ${sarif} {output}`];
    const run = startCli(args);
    let exited = false;
    void run.exit.then(() => (exited = true));
    // Chunks written and not committed: the report is being streamed.
    await waitFor(
      async () => exited || (await staging(data).catch(() => ({ reports: 0, bytes: 0 }))).bytes > 0,
      { timeoutMs: 200_000, what: 'staged chunks on disk', intervalMs: 50 },
    );
    expect(exited, run.stdout() + run.stderr()).toBe(false);
    run.child.kill('SIGKILL');
    await run.exit;
    // Nothing of it is visible: not delivered, not pending for the next start.
    expect(totals(server).chunks).toBe(0);
    const status = await runCli(['status', '--data-dir', data, '--tenant-id', 'e2e-tenant', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      undelivered: [],
      reports: { pending: 0, uploading: 0 },
    });
    const again = await runCli(args, {}, 400_000);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const t = totals(server);
    expect(t.findingsReceived).toBe(RESULTS);
    expect(t.reports).toHaveLength(1);
    expect(t.reports[0]).toMatchObject({ complete: true });
    // The killed writer's staging was discarded by the rerun's store.
    expect(await staging(data)).toEqual({ reports: 0, bytes: 0 });
  }, 600_000);
});
