// Operating the daemon on a real host (issues 17 and 18): real agent processes, a real ingest server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processGroup } from '../../src/internal/containment';
import { tempDir, waitFor } from '@rediver/testkit';
import { agentArgs, runCli, startCli, startServer, TENANT, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function auditLines(dataDir: string): { type: string; message: string; details?: Record<string, unknown> }[] {
  const file = join(dataDir, 'audit', 'audit.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; message: string });
}

/** A SARIF "scanner" that records its pid and environment, then runs until killed (never writes SARIF). */
async function sleeperScanner(dir: string): Promise<{ script: string; pidFile: string; envFile: string }> {
  const script = join(dir, 'sleeper.mjs');
  const pidFile = join(dir, 'sleeper.pid');
  const envFile = join(dir, 'sleeper.env');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
     writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env));
     writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
     setInterval(() => {}, 1000);`,
  );
  return { script, pidFile, envFile };
}

describe('operating the daemon (real processes)', () => {
  it('a scanner of an agent killed with SIGKILL is stopped by the next start; it saw no REDIVER_* variable', async () => {
    const dir = tempDir('agent-e2e-orphan-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const { script, pidFile, envFile } = await sleeperScanner(dir.path);
    const dataDir = join(dir.path, 'agent');
    const target = join(dir.path, 'target');
    await mkdir(target);
    server.enqueueCommand({ tenantId: TENANT, type: 'scan', payload: { target, scanners: ['sleeper'] } });
    const config = join(dir.path, 'agent.yaml');
    // The scanner definition comes inline (a list entry with a command).
    writeFileSync(
      config,
      [
        'scanners:',
        '  maxMemoryMB: 256',
        '  passEnv: [E2E_PASSED]',
        '  list:',
        `    - { name: sleeper, command: '${process.execPath} ${script} {target}', timeoutMs: 600000 }`,
        '',
      ].join('\n'),
    );
    const args = ['--config', config, ...agentArgs(server, dataDir), '--set', 'pollIntervalMs=100'];
    const env = {
      REDIVER_API_KEY: 'rdv_env_key_must_not_reach_scanners',
      E2E_PASSED: 'yes',
      E2E_SECRET: 'no',
    };
    const first = startCli(['run', ...args], env);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', {
      timeoutMs: 60_000,
      what: 'the scanner to start',
      intervalMs: 50,
    });
    const scannerPid = Number(readFileSync(pidFile, 'utf8'));
    const seen = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(seen).filter((k) => /^REDIVER_/i.test(k))).toEqual([]);
    expect(JSON.stringify(seen)).not.toContain('rdv_');
    expect(seen.E2E_PASSED).toBe('yes');
    expect(seen.E2E_SECRET).toBeUndefined();
    expect(seen.PATH).toBeDefined();
    // The agent dies without a chance to stop its scanner: it is orphaned and runs on.
    first.child.kill('SIGKILL');
    await first.exit;
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(scannerPid)).toBe(true);
    expect(existsSync(join(dataDir, 'run', `scanner-${scannerPid}.json`))).toBe(true);
    // The next agent on the data dir takes the stale lock over and stops what the last one left.
    const second = startCli(['run', ...args, '--set', 'maxQueuedJobs=1'], env);
    await waitFor(() => !alive(scannerPid) || processGroup(scannerPid).length === 0, {
      timeoutMs: 60_000,
      what: 'the orphan to be stopped',
      intervalMs: 50,
    });
    await waitFor(
      () =>
        auditLines(dataDir).some(
          (l) =>
            l.message.startsWith('stopped scanner') &&
            l.message.includes(`(pid ${scannerPid}) left running by agent pid`),
        ),
      { timeoutMs: 30_000, what: 'the audit line of the sweep', intervalMs: 50 },
    );
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    expect(existsSync(join(dataDir, 'agent.lock'))).toBe(false);
  });

  it('two agents on one data dir: the second names the holder and exits; --wait-lock waits; a stale lock is taken over; status needs no lock', async () => {
    const dir = tempDir('agent-e2e-lock-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const dataDir = join(dir.path, 'agent');
    const args = agentArgs(server, dataDir);
    const first = startCli(['run', ...args, '--set', 'pollIntervalMs=200']);
    await waitFor(() => /running as/.test(first.stderr() + first.stdout()), {
      timeoutMs: 60_000,
      what: 'the first agent',
      intervalMs: 50,
    });
    const pid = first.child.pid!;
    const second = await runCli(['run', ...args]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`LOCKED: data dir .* is in use by another agent: process ${pid} \\(rediver-agent run`),
    );
    // The first agent's audit chain was never touched by the second.
    const deliver = await runCli(['deliver', ...args]);
    expect(deliver.code).toBe(1);
    expect(deliver.stderr).toContain(`process ${pid}`);
    // status only reads: it works while the lock is held, and names the running agent.
    const status = await runCli(['status', '--data-dir', dataDir, '--tenant-id', TENANT]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`agent: running, pid ${pid}`);
    // --wait-lock waits for the holder, then runs.
    const waiting = startCli(['deliver', ...args, '--wait-lock']);
    await waitFor(() => /is in use by process .*; waiting for it/.test(waiting.stderr()), {
      timeoutMs: 30_000,
      what: 'the waiter to say so',
      intervalMs: 50,
    });
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(await waiting.exit).toBe(0);
    // A lock left by a dead agent (SIGKILL) is stale and taken over.
    const third = startCli(['run', ...args]);
    await waitFor(() => /running as/.test(third.stderr() + third.stdout()), {
      timeoutMs: 60_000,
      what: 'the third agent',
      intervalMs: 50,
    });
    third.child.kill('SIGKILL');
    await third.exit;
    expect(existsSync(join(dataDir, 'agent.lock'))).toBe(true);
    const fourth = await runCli(['deliver', ...args]);
    expect(fourth.code, fourth.stderr).toBe(0);
    const audit = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(audit.stdout).toMatch(/audit log intact/);
  });

  it('a tight poll interval adds no abort listener per cycle (no MaxListenersExceededWarning); metrics and health', async () => {
    const dir = tempDir('agent-e2e-poll-');
    cleanups.push(dir.cleanup);
    const server = await startServer(dir.path);
    cleanups.push(() => server.close());
    const dataDir = join(dir.path, 'agent');
    const run = startCli([
      'run',
      ...agentArgs(server, dataDir),
      '--set',
      'pollIntervalMs=5',
      '--metrics-port',
      '0',
    ]);
    await waitFor(() => /metrics http:\/\/127\.0\.0\.1:\d+\/metrics/.test(run.stderr()), {
      timeoutMs: 60_000,
      what: 'the metrics endpoint',
      intervalMs: 50,
    });
    const base = /metrics (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(run.stderr())![1]!;
    // Hundreds of polls, each of which used to add a listener to the same signal.
    await new Promise((r) => setTimeout(r, 3000));
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/application\/openmetrics-text/);
    const text = await metrics.text();
    for (const family of [
      'rediver_agent_jobs_total{outcome="completed"}',
      'rediver_agent_stored_reports{state="pending"}',
      'rediver_agent_stored_chunks{state="failed"}',
      'rediver_agent_backlog_bytes',
      'rediver_agent_retries_total{route="chunks"}',
      'rediver_agent_dead_letters',
      'rediver_agent_upload_concurrency{source="adaptive"} 2',
      'rediver_agent_throttled',
      'rediver_agent_host_cpu_percent',
      'rediver_agent_audit_lines_written_total',
      'rediver_agent_audit_lines_dropped_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text, family).toContain(family);
    }
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { audit: { ok: true }, chunkStore: { ok: true }, platform: { ok: true } },
    });
    // status --json prints the same figures, from the live agent.
    const status = await runCli(['status', '--json', '--data-dir', dataDir, '--tenant-id', TENANT]);
    const figures = (
      JSON.parse(status.stdout) as { figures: { source: string; upload: { concurrencyLimit: number } } }
    ).figures;
    expect(figures).toMatchObject({ source: 'agent', upload: { concurrencyLimit: 2 } });
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stderr()).not.toMatch(/MaxListenersExceededWarning/);
  });

  it('status | head: no EPIPE stack; status shows the first line of a large audit log whole', async () => {
    const dir = tempDir('agent-e2e-status-');
    cleanups.push(dir.cleanup);
    const dataDir = join(dir.path, 'agent');
    await mkdir(join(dataDir, 'audit'), { recursive: true });
    // A 1 MiB audit log of long lines: the tail read starts in the middle of one.
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) {
      lines.push(
        JSON.stringify({
          timestamp: `t${i}`,
          severity: 'INFO',
          type: 'scan_completed',
          message: `event ${i} ${'x'.repeat(600 + (i % 97))}`,
        }),
      );
    }
    writeFileSync(join(dataDir, 'audit', 'audit.log'), `${lines.join('\n')}\n`);
    const json = await runCli(['status', '--json', '--events', '500', '--data-dir', dataDir]);
    expect(json.code).toBe(0);
    const events = (JSON.parse(json.stdout) as { lastEvents: { message?: string; malformed?: string }[] })
      .lastEvents;
    expect(events).toHaveLength(500);
    expect(events.every((e) => e.malformed === undefined)).toBe(true);
    expect(events[0]!.message).toMatch(/^event 1000 /);
    // The reader of a pipe goes away after one line.
    const cli = startCli(['status', '--events', '1500', '--data-dir', dataDir]);
    cli.child.stdout!.removeAllListeners('data');
    const head = spawn('head', ['-n', '1'], { stdio: ['pipe', 'pipe', 'ignore'] });
    cli.child.stdout!.pipe(head.stdin);
    head.stdin.on('error', () => {});
    const code = await cli.exit;
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  });
});
