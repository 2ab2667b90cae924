import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '@rediver/testkit';
import { agentArgs, runCli, SAMPLE, startCli, startServer, TENANT, totals, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();

describe('daemon lifecycle (real processes)', () => {
  it('SIGTERM mid-job: exits 0, nothing lost, the rest is delivered after restart', async () => {
    const dir = tempDir('agent-e2e-run-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path, { faults: { latencyMs: 40 } });
    cleanups.push(() => server.close());
    const cmd = server.enqueueCommand({
      tenantId: TENANT,
      type: 'scan',
      payload: { target: SAMPLE, scanners: ['secretlint', 'synthetic:2500'] },
    });
    const args = [
      ...agentArgs(server, join(dir.path, 'agent')),
      '--set',
      'pollIntervalMs=200',
      '--set',
      'heartbeatIntervalMs=300',
      '--set',
      'chunk.maxConcurrentUploads=1',
      '--set',
      'chunk.uploadDelayMs=30',
      '--set',
      'chunk.maxFindingsPerChunk=50',
      '--set',
      'chunk.maxAssetsPerChunk=20',
    ];
    const run = startCli(['run', ...args]);
    await waitFor(() => totals(server).chunks >= 2, {
      timeoutMs: 90_000,
      what: 'chunks of the job arriving',
      intervalMs: 50,
    });
    expect(server.getCommand(TENANT, cmd.id)?.status).toMatch(/running|completed/);
    run.child.kill('SIGTERM');
    const code = await run.exit;
    expect(code, run.stdout() + run.stderr()).toBe(0);
    // Its reports are not all acknowledged: the command is not completed (issue 18), and a record of it waits in
    // the data dir for the next start.
    expect(server.getCommand(TENANT, cmd.id)?.status).toBe('running');
    expect(readdirSync(join(dir.path, 'agent/commands')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const audit = readFileSync(join(dir.path, 'agent/audit/audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message: string });
    expect(audit.filter((l) => l.type === 'agent_stop').length).toBeGreaterThanOrEqual(2);
    expect(audit.some((l) => l.type === 'job_received')).toBe(true);
    // Not everything had arrived at SIGTERM; the rest was kept and goes out on the next start.
    const before = totals(server).findingsReceived;
    expect(before).toBeLessThan(8 + 2500);
    const status = await runCli(['status', '--data-dir', join(dir.path, 'agent'), '--tenant-id', TENANT]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/synthetic-\d{8}T\d{6}-[0-9a-f]{12}\s+(pending|uploading)/);
    expect(status.stdout).toMatch(/agent_stop: agent stopped/);
    const again = await runCli(['deliver', ...args]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const t = totals(server);
    expect(t.findingsReceived).toBe(8 + 2500);
    expect(t.reports.every((r) => r.complete)).toBe(true);
    // The next start told the platform once the reports were acknowledged.
    expect(server.getCommand(TENANT, cmd.id)?.status).toBe('completed');
    expect(readdirSync(join(dir.path, 'agent/commands')).filter((f) => f.endsWith('.json'))).toHaveLength(0);
  });

  it(
    'run: the server down 15 s after 30 of 200 chunks, restarted on the same port and database: everything delivered, the command completed only then',
    { timeout: 300_000 },
    async () => {
      const dir = tempDir('agent-e2e-outage-');
      cleanups.push(dir.cleanup);
      const server = await startServer(dir.path, { faults: { latencyMs: 20 } });
      const port = server.port;
      const cmd = server.enqueueCommand({
        tenantId: TENANT,
        type: 'scan',
        payload: { target: SAMPLE, scanners: ['synthetic:2000'] },
      });
      const args = [
        ...agentArgs(server, join(dir.path, 'agent')),
        '--set',
        'pollIntervalMs=200',
        '--set',
        'heartbeatIntervalMs=300',
        '--set',
        'chunk.maxFindingsPerChunk=10',
        '--set',
        'chunk.maxConcurrentUploads=1',
        '--set',
        'chunk.maxConcurrentUploadsCeiling=2',
        '--set',
        'chunk.uploadDelayMs=20',
        // Backoff as the defaults would reach it in a long outage, compressed: 0.1 s doubling to 2 s.
        '--set',
        'chunk.retryMaxDelayMs=2000',
      ];
      const run = startCli(['run', ...args]);
      await waitFor(() => totals(server).chunks >= 30, {
        timeoutMs: 120_000,
        what: '30 chunks delivered',
        intervalMs: 50,
      });
      await server.close(); // killed: every chunk in flight now fails, for 15 s
      const down = Date.now();
      // Not completed while its reports wait for the platform (the database says so after the restart).
      await new Promise((r) => setTimeout(r, 15_000 - (Date.now() - down)));
      const again = await startServer(dir.path, { port });
      cleanups.push(() => again.close());
      expect(again.getCommand(TENANT, cmd.id)?.status).toBe('running');
      expect(totals(again).chunks).toBeLessThan(200);
      let completedAt: ReturnType<typeof totals> | undefined;
      await waitFor(
        () => {
          if (again.getCommand(TENANT, cmd.id)?.status !== 'completed') return false;
          completedAt ??= totals(again);
          return true;
        },
        { timeoutMs: 180_000, what: 'the command completing after the restart', intervalMs: 50 },
      );
      // Completed only once every chunk was acknowledged.
      expect(completedAt!.findingsReceived).toBe(2000);
      expect(completedAt!.reports).toHaveLength(1);
      expect(completedAt!.reports[0]).toMatchObject({
        complete: true,
        chunksReceived: 200,
        totalChunks: 200,
      });
      const audit = readFileSync(join(dir.path, 'agent/audit/audit.log'), 'utf8');
      expect(audit).not.toMatch(/dead-lettered/);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(totals(again).findingsReceived).toBe(2000); // nothing twice
    },
  );

  it('run: a report the platform refuses for good fails its command, with the reason', async () => {
    const dir = tempDir('agent-e2e-refused-');
    cleanups.push(dir.cleanup);
    // Chunks of more than 1 KiB of data are refused (413, permanent): the large report is dead-lettered.
    const server = await startServer(dir.path, {
      chunkDataLimits: { maxCompressedBytes: 1024, maxDecompressedBytes: 1 << 20, maxRatio: 100 },
    });
    cleanups.push(() => server.close());
    const cmd = server.enqueueCommand({
      tenantId: TENANT,
      type: 'scan',
      payload: { target: SAMPLE, scanners: ['synthetic:2100'] },
    });
    const run = startCli([
      'run',
      ...agentArgs(server, join(dir.path, 'agent')),
      '--set',
      'pollIntervalMs=200',
    ]);
    await waitFor(() => server.getCommand(TENANT, cmd.id)?.status === 'failed', {
      timeoutMs: 120_000,
      what: 'the command failing',
      intervalMs: 50,
    });
    const failed = server.getCommand(TENANT, cmd.id) as unknown as { error_message?: string };
    expect(failed.error_message).toMatch(/^not every report was delivered: report synthetic-\S+: .*HTTP 413/);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('a second signal exits at once; the chunk store still delivers everything afterwards', async () => {
    const dir = tempDir('agent-e2e-sig2-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path, { faults: { latencyMs: 40 } });
    cleanups.push(() => server.close());
    const args = [
      ...agentArgs(server, join(dir.path, 'agent')),
      '--set',
      'chunk.maxConcurrentUploads=1',
      '--set',
      'chunk.maxFindingsPerChunk=50',
      '--set',
      'chunk.maxAssetsPerChunk=20',
    ];
    const run = startCli(['scan', SAMPLE, ...args, '--scanner', 'synthetic:2500']);
    await waitFor(() => totals(server).chunks >= 1, {
      timeoutMs: 90_000,
      what: 'the first chunk',
      intervalMs: 50,
    });
    // Slow answers from now on: the graceful stop waits for the chunk in flight, so the second signal lands in it.
    server.setFaults({ latencyMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    run.child.kill('SIGINT');
    await waitFor(() => /SIGINT received/.test(run.stderr()), {
      timeoutMs: 30_000,
      what: 'the first signal handled',
      intervalMs: 50,
    });
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(run.stderr()).toMatch(/second SIGINT: exiting now/);
    server.setFaults({ latencyMs: 0 });
    const again = await runCli(['deliver', ...args]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(totals(server).findingsReceived).toBe(2500);
  });

  it('sends heartbeats with real metrics and acknowledges a command only when its job starts', async () => {
    const dir = tempDir('agent-e2e-hb-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const args = [
      ...agentArgs(server, join(dir.path, 'agent')),
      '--agent-id',
      'e2e-agent',
      '--set',
      'pollIntervalMs=200',
      '--set',
      'heartbeatIntervalMs=300',
    ];
    // Thresholds nothing can stay under and no job admitted while throttled: the job must wait.
    const run = startCli([
      'run',
      ...args,
      '--set',
      'resource.cpuThreshold=0.01',
      // An idle host's CPU can read exactly 0% over a sample window; memory in use never does.
      '--set',
      'resource.memoryThreshold=0.01',
      '--set',
      'resource.minConcurrentJobs=0',
    ]);
    await waitFor(() => server.lastHeartbeat(TENANT, 'e2e-agent') !== undefined, {
      timeoutMs: 60_000,
      what: 'a heartbeat',
      intervalMs: 50,
    });
    const cmd = server.enqueueCommand({
      tenantId: TENANT,
      type: 'scan',
      payload: { target: SAMPLE, scanners: ['code-patterns'] },
    });
    await waitFor(
      () => /waits for a slot/.test(readFileSync(join(dir.path, 'agent/audit/audit.log'), 'utf8')),
      { timeoutMs: 60_000, what: 'the job waiting', intervalMs: 50 },
    );
    expect(server.getCommand(TENANT, cmd.id)?.status).toBe('pending');
    // The heartbeat on record may predate the throttle by up to one interval: wait for the next one.
    const heartbeatBody = (): string => {
      const hb = server.lastHeartbeat(TENANT, 'e2e-agent') as unknown as Record<string, unknown>;
      return JSON.stringify(hb.body ?? hb);
    };
    await waitFor(() => /throttled/.test(heartbeatBody()), {
      timeoutMs: 60_000,
      what: 'a throttled heartbeat',
      intervalMs: 50,
    });
    expect(heartbeatBody()).toMatch(/"status":"throttled"|throttled/);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    // Never started, so never acknowledged: still the platform's to hand out.
    expect(server.getCommand(TENANT, cmd.id)?.status).toBe('pending');
    // A normal agent then takes it.
    const run2 = startCli(['run', ...args]);
    await waitFor(() => server.getCommand(TENANT, cmd.id)?.status === 'completed', {
      timeoutMs: 60_000,
      what: 'the command completing',
      intervalMs: 50,
    });
    // The heartbeat carries the audit log's checkpoint (the first run's, recorded when it stopped, or newer).
    const hb = JSON.parse(heartbeatBody()) as {
      properties?: { audit_checkpoint?: { seq: number; hash: string } };
    };
    expect(hb.properties?.audit_checkpoint?.seq).toBeGreaterThan(0);
    expect(hb.properties?.audit_checkpoint?.hash).toMatch(/^[0-9a-f]{64}$/);
    run2.child.kill('SIGTERM');
    expect(await run2.exit).toBe(0);
    expect(totals(server).findingsReceived).toBe(7);
    const verify = await runCli(
      [
        'audit',
        'verify',
        join(dir.path, 'agent', 'audit'),
        '--checkpoint',
        `${hb.properties!.audit_checkpoint!.seq}:${hb.properties!.audit_checkpoint!.hash}`,
      ],
      {},
    );
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(/1 checkpoint\(s\) matched/);
  });
});

describe('configuration errors (real process)', () => {
  it.each([
    // Refused by the agent's own validation (more cases in src/config.test.ts)...
    ['sever: http://x\n', {}, /sever is not an option \(did you mean server\?\)/],
    // ...and by a package's constructor, reported under the config path.
    ['pipeline:\n  workers: 0\n', {}, /pipeline\.workers/],
    ['', { REDIVER_RESOURCE__CPU_THRESHOLD: '150' }, /resource\.cpuThreshold/],
  ])('%j → a message naming the field', async (yaml, env, msg) => {
    const dir = tempDir('agent-e2e-cfg-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'agent.yaml');
    await writeFile(file, yaml);
    const r = await runCli(
      [
        'scan',
        SAMPLE,
        '--config',
        file,
        '--server',
        'http://127.0.0.1:9',
        '--api-key',
        'rdv_e2e_config_key',
        '--data-dir',
        join(dir.path, 'd'),
      ],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
