import { describe, expect, it } from 'vitest';
import type { IngestServer } from '@rediver/ingest-server';
import { tempDir, waitFor } from '@rediver/testkit';
import { agentArgs, runCli, SAMPLE, startCli, startServer, totals, TENANT, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();

async function setup(
  options: Parameters<typeof startServer>[1] = {},
): Promise<{ dir: string; server: IngestServer }> {
  const dir = tempDir('agent-e2e-');
  cleanups.push(dir.cleanup);
  const server = await startServer(dir.path, options);
  cleanups.push(() => server.close());
  return { dir: dir.path, server };
}

describe('delivery under faults (real processes)', () => {
  it('scan against a server failing 30% of requests delivers everything', async () => {
    const { dir, server } = await setup({
      faults: { errorRate: 0.2, rateLimitRate: 0.05, resetRate: 0.05, retryAfterSeconds: 1 },
    });
    const r = await runCli([
      'scan',
      SAMPLE,
      ...agentArgs(server, `${dir}/agent`),
      '--scanner',
      'secretlint',
      '--scanner',
      'code-patterns',
      '--scanner',
      'synthetic:2500',
      '--set',
      'chunk.maxRetries=30',
      '--set',
      'pipeline.retryAttempts=30',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const t = totals(server);
    expect(t.findingsReceived).toBe(8 + 7 + 2500);
    expect(t.reports).toHaveLength(3);
    expect(t.reports.every((rep) => rep.complete)).toBe(true);
    const m = server.metrics() as unknown as { faults?: Record<string, number> };
    expect(Object.values(m.faults ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('server down for a while, then up: delivered', async () => {
    const { dir, server } = await setup();
    const port = server.port;
    await server.close();
    const run = startCli([
      'scan',
      SAMPLE,
      ...agentArgs({ url: `http://127.0.0.1:${port}` }, `${dir}/agent`),
      '--scanner',
      'secretlint',
      '--scanner',
      'synthetic:2200',
      '--set',
      'chunk.maxRetries=40',
      '--set',
      'pipeline.retryAttempts=40',
    ]);
    // Down until the agent has tried (and failed) to upload.
    await waitFor(() => /retried|retries [1-9]/.test(run.stdout() + run.stderr()), {
      timeoutMs: 60_000,
      what: 'a failed upload attempt',
      intervalMs: 50,
    });
    const again = await startServer(dir, { port });
    cleanups.push(() => again.close());
    const code = await run.exit;
    expect(code, run.stdout() + run.stderr()).toBe(0);
    const t = totals(again);
    expect(t.findingsReceived).toBe(8 + 2200);
    expect(t.reports.every((rep) => rep.complete)).toBe(true);
  });

  it(
    'scan survives three 2-second server restarts (exit 0, every finding once)',
    { timeout: 300_000 },
    async () => {
      const { dir, server } = await setup({ faults: { latencyMs: 20 } });
      const port = server.port;
      const run = startCli([
        'scan',
        SAMPLE,
        ...agentArgs(server, `${dir}/agent`),
        '--scanner',
        'synthetic:3000',
        '--set',
        'chunk.maxFindingsPerChunk=10',
        '--set',
        'chunk.maxConcurrentUploadsCeiling=2',
        // Default-like: retries go on at the backoff's cap, never given up.
        '--set',
        'chunk.retryMaxDelayMs=1000',
      ]);
      let current = server;
      for (const at of [30, 100, 170]) {
        await waitFor(() => totals(current).chunks >= at, {
          timeoutMs: 120_000,
          what: `${at} chunks`,
          intervalMs: 50,
        });
        await current.close();
        await new Promise((r) => setTimeout(r, 2000));
        const next = await startServer(dir, { port, faults: { latencyMs: 20 } });
        cleanups.push(() => next.close());
        current = next;
      }
      const code = await run.exit;
      expect(code, run.stdout() + run.stderr()).toBe(0);
      const t = totals(current);
      expect(t.findingsReceived).toBe(3000);
      expect(t.reports).toHaveLength(1);
      expect(t.reports[0]).toMatchObject({ complete: true, chunksReceived: 300, totalChunks: 300 });
    },
  );

  it('scan exits 3 with the reports kept when delivery cannot finish; the next start delivers them', async () => {
    const { dir, server } = await setup();
    const port = server.port;
    await server.close();
    const args = [
      ...agentArgs({ url: `http://127.0.0.1:${port}` }, `${dir}/agent`),
      '--set',
      'deliveryTimeoutMs=3000',
    ];
    const r = await runCli([
      'scan',
      SAMPLE,
      ...args,
      '--scanner',
      'secretlint',
      '--scanner',
      'synthetic:2100',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/2 report\(s\) not acknowledged — kept in/);
    const status = await runCli(['status', '--data-dir', `${dir}/agent`, '--tenant-id', TENANT]);
    expect(status.stdout).toMatch(/secretlint-\d{8}T\d{6}-[0-9a-f]{12}/); // the small one was persisted too
    const again = await startServer(dir, { port });
    cleanups.push(() => again.close());
    const d = await runCli(['deliver', ...args.slice(0, -2)]);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(totals(again).findingsReceived).toBe(8 + 2100);
  });

  it(
    'killed with SIGKILL mid-upload 10 times and restarted: every finding arrives exactly once',
    { timeout: 400_000 },
    async () => {
      // Slow uploads (latency, one at a time, small chunks) so each kill lands mid-upload.
      const { dir, server } = await setup({ faults: { latencyMs: 40 } });
      const args = [
        ...agentArgs(server, `${dir}/agent`),
        '--set',
        'chunk.maxConcurrentUploads=1',
        '--set',
        'chunk.uploadDelayMs=20',
        '--set',
        'chunk.maxFindingsPerChunk=50',
        '--set',
        'chunk.maxAssetsPerChunk=20',
      ];
      const findings = 3000;
      let kills = 0;
      let seen = 0;
      let first = true;
      const t0 = Date.now();
      while (kills < 10) {
        const run = first
          ? startCli(['scan', SAMPLE, ...args, '--scanner', `synthetic:${findings}`])
          : startCli(['deliver', ...args]);
        first = false;
        // Kill once this process got at least one more chunk acknowledged (so it is mid-upload, not before or after).
        let exited = false;
        void run.exit.then(() => (exited = true));
        await waitFor(() => exited || totals(server).chunks > seen, {
          timeoutMs: 60_000,
          what: 'a chunk upload',
          intervalMs: 50,
        });
        if (exited) break; // everything was delivered before we could kill it again
        // A little later, at a random point: often while the next chunk is in flight (sent, not yet recorded).
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
        run.child.kill('SIGKILL');
        await run.exit;
        kills++;
        seen = totals(server).chunks;
        if (process.env.E2E_DEBUG !== undefined)
          console.log(`kill ${kills} at ${seen} chunks, ${Date.now() - t0} ms`);
      }
      expect(kills).toBeGreaterThanOrEqual(5);
      const last = await runCli(['deliver', ...args]);
      expect(last.code, last.stdout + last.stderr).toBe(0);
      const t = totals(server);
      expect(t.reports).toHaveLength(1);
      const rep = t.reports[0]!;
      expect(rep.complete).toBe(true);
      expect(rep.chunksReceived).toBe(rep.totalChunks);
      // Exactly once: repeats would be counted again in findingsReceived.
      expect(t.findingsReceived).toBe(findings);
      expect(t.findings).toBe(findings);
    },
  );
});
