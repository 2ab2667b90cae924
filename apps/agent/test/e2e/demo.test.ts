import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@rediver/testkit';
import { killAll, runCli, disposeCli, prepareCli } from './helpers';

// The demo keeps its temp folder for people to look at; in tests it goes under one removed afterwards.
let tmp: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
beforeAll(async () => {
  tmp = tempDir('agent-e2e-demo-');
  env = { TMPDIR: tmp.path };
  await prepareCli();
});
afterAll(async () => {
  await disposeCli();
  await tmp.cleanup();
});
afterEach(() => killAll());

function parseSummary(stdout: string): { sent: number; received: number; auditLog: string } {
  const m = /findings:\s+(\d+) sent by the agent, (\d+) received by the server/.exec(stdout);
  const a = /audit log:\s+(\S+)/.exec(stdout);
  if (m === null || a === null) throw new Error(`no summary in:\n${stdout}`);
  return { sent: Number(m[1]), received: Number(m[2]), auditLog: a[1]! };
}

describe('rediver-agent demo (real processes)', () => {
  it('delivers everything and the server counts what the agent sent', async () => {
    // Through tsx from the sources, as `npm run demo` runs it.
    const r = await runCli(['demo', '--progress', 'plain'], env, 120_000, { tsx: true });
    expect(r.stderr).not.toMatch(/Error:|MaxListeners/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/demo — OK/);
    const s = parseSummary(r.stdout);
    // 8 secrets + 7 code issues, twice (two jobs), plus the 6000-finding chunked report.
    expect(s.sent).toBe(6030);
    expect(s.received).toBe(s.sent);
    expect(r.stdout).toMatch(/in chunks/);
    const types = readFileSync(s.auditLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    for (const t of [
      'agent_start',
      'job_started',
      'scan_started',
      'scan_completed',
      'upload_started',
      'upload_completed',
      'chunk_uploaded',
      'job_completed',
      'agent_stop',
    ]) {
      expect(types).toContain(t);
    }
    const verify = await runCli(['audit', 'verify', s.auditLog.replace(/\/audit\.log$/, '')], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(/intact/);
    // The verification key was shown once, at the first start: with it every seal is checked.
    const key = /audit-key-v1:[0-9a-f]{16}:[0-9a-f]{64}/.exec(r.stderr)?.[0];
    expect(key, r.stderr).toBeDefined();
    const keyed = await runCli(
      ['audit', 'verify', s.auditLog.replace(/\/audit\.log$/, ''), '--key', key!],
      env,
    );
    expect(keyed.code, keyed.stdout).toBe(0);
    expect(keyed.stdout).toMatch(/sealed with the forward-secure key/);
  });

  it('with a forced low CPU threshold, jobs wait for a slot and then run', async () => {
    const r = await runCli(
      [
        'demo',
        '--findings',
        '2500',
        '--set',
        'resource.cpuThreshold=0.01',
        // Over a sample window an idle host's CPU can read exactly 0% (/proc/stat counts 10 ms ticks), which
        // no CPU threshold exceeds; memory in use never reads 0, so this low one makes the throttle certain.
        '--set',
        'resource.memoryThreshold=0.01',
        '--set',
        'resource.minConcurrentJobs=1',
        '--set',
        'resource.maxConcurrentJobs=4',
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const waited = /(\d+) waited for a slot/.exec(r.stdout);
    expect(Number(waited?.[1])).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toMatch(/throttling: [1-9]\d* throttle event/);
    const s = parseSummary(r.stdout);
    expect(s.received).toBe(s.sent);
    const lines = readFileSync(s.auditLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message: string });
    expect(lines.some((l) => l.type === 'resource_throttle')).toBe(true);
    expect(lines.some((l) => l.type === 'resource_warning' && /waits for a slot/.test(l.message))).toBe(true);
    expect(lines.filter((l) => l.type === 'job_completed')).toHaveLength(4);
  });
});
