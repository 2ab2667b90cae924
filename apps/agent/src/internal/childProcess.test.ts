import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRediverError } from '@rediver/core';
import { tempDir, waitFor } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { detectCgroupPlacement } from './cgroupPlacement';
import { scannerEnv } from './childEnv';
import { runChild } from './childProcess';
import { defaultScannerCaps } from './containment';
import { sweepLeftScanners } from './scannerRegistry';

let tmp: TempDir;
let dir: string;
beforeAll(async () => {
  tmp = tempDir('agent-child-');
  dir = tmp.path;
});
afterAll(async () => {
  await tmp.cleanup();
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** A scanner that starts a grandchild, records both pids, optionally ignores SIGTERM, and never ends. */
function stubborn(pidFile: string, ignoreTerm: boolean): string[] {
  const script = `
    const { spawn } = require('node:child_process');
    const fs = require('node:fs');
    ${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''}
    const g = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
    fs.writeFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + g.pid);
    setInterval(() => {}, 1000);`;
  return [process.execPath, '-e', script];
}

describe('runChild', () => {
  it('returns output and exit code', async () => {
    const r = await runChild([process.execPath, '-e', 'process.stdout.write("hi"); process.exitCode = 1'], {
      timeoutMs: 20_000,
    });
    expect(r).toMatchObject({ stdout: 'hi', exitCode: 1 });
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const pidFile = join(dir, 'timeout.pids');
    const err = await runChild(stubborn(pidFile, true), { timeoutMs: 1500, killGraceMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(isRediverError(err, 'TIMEOUT')).toBe(true);
    expect(existsSync(pidFile)).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await waitFor(() => pids.every((p) => !alive(p)));
  }, 20_000);

  it('kills the group when the agent aborts', async () => {
    const pidFile = join(dir, 'abort.pids');
    const ac = new AbortController();
    const p = runChild(stubborn(pidFile, false), { timeoutMs: 60_000, signal: ac.signal, killGraceMs: 200 });
    await waitFor(() => existsSync(pidFile));
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    expect(isRediverError(err, 'ABORTED')).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await waitFor(() => pids.every((pid) => !alive(pid)));
  }, 20_000);

  it('does not start after the abort and reports a missing command', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runChild(['true'], { timeoutMs: 1000, signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    await expect(runChild(['/nonexistent/scanner'], { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'SCANNER_FAILED',
    });
  });
});

describe('runChild: environment (issue 18)', () => {
  it('a real child sees no REDIVER_* variable and no other secret, only the allow-list', async () => {
    const before = { ...process.env };
    process.env.REDIVER_API_KEY = 'rdv_secret_key_must_not_leak';
    process.env.REDIVER_SERVER = 'https://platform.example';
    // The audit seal secret an unattended install passes in the environment (audit.sealSecret).
    process.env.REDIVER_AUDIT__SEAL_SECRET = 'seal-secret-must-not-leak';
    process.env.AWS_SECRET_ACCESS_KEY = 'aws-secret';
    process.env.LC_ALL = 'C.UTF-8';
    try {
      const r = await runChild(
        [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
        {
          timeoutMs: 20_000,
        },
      );
      const env = JSON.parse(r.stdout) as Record<string, string>;
      expect(Object.keys(env).filter((k) => /^REDIVER_/i.test(k))).toEqual([]);
      expect(r.stdout).not.toContain('rdv_secret_key_must_not_leak');
      expect(r.stdout).not.toContain('seal-secret-must-not-leak');
      expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.LC_ALL).toBe('C.UTF-8');
      expect(env.NODE_OPTIONS).toBeUndefined();
      // An explicit environment is honoured, less any REDIVER_* variable.
      const r2 = await runChild(
        [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
        {
          timeoutMs: 20_000,
          env: {
            PATH: process.env.PATH ?? '',
            FOO: 'bar',
            REDIVER_API_KEY: 'x',
            REDIVER_AUDIT__SEAL_SECRET: 'y',
            rediver_audit__seal_secret: 'z',
          },
        },
      );
      expect(JSON.parse(r2.stdout)).toEqual({ PATH: process.env.PATH, FOO: 'bar' });
    } finally {
      process.env = before;
    }
  });

  it('passes extra names configured with scanners.passEnv (prefixes too), never REDIVER_*', () => {
    const env = scannerEnv(
      { PATH: '/bin', SEMGREP_APP_TOKEN: 't', JAVA_HOME: '/j', JAVA_OPTS: '-x', REDIVER_X: 'no', OTHER: 'o' },
      ['SEMGREP_APP_TOKEN', 'JAVA_*', 'REDIVER_X'],
    );
    expect(env).toEqual({ PATH: '/bin', SEMGREP_APP_TOKEN: 't', JAVA_HOME: '/j', JAVA_OPTS: '-x' });
    // Not even when passEnv asks for everything or names the secrets themselves.
    const all = scannerEnv(
      {
        PATH: '/bin',
        REDIVER_API_KEY: 'rdv_k',
        REDIVER_AUDIT__SEAL_SECRET: 's',
        Rediver_Audit__Seal_Secret: 's2',
        OTHER: 'o',
      },
      ['*', 'REDIVER_API_KEY', 'REDIVER_AUDIT__SEAL_SECRET', 'REDIVER_*'],
    );
    expect(all).toEqual({ PATH: '/bin', OTHER: 'o' });
  });
});

/** A memory hog: touches 16 MiB more every 20 ms, up to `mb`, and reports how far it got. */
function hog(mb: number): string[] {
  return [
    process.execPath,
    '-e',
    `const keep = []; let n = 0; const t = setInterval(() => { keep.push(Buffer.alloc(16 << 20, 1)); n += 16; if (n >= ${mb}) { clearInterval(t); process.stdout.write('survived ' + n); } }, 20);`,
  ];
}
/** A CPU burner: spins for `ms`, then prints the CPU seconds it got. */
function burner(ms: number): string[] {
  return [
    process.execPath,
    '-e',
    `const end = Date.now() + ${ms}; while (Date.now() < end) {} const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1e6));`,
  ];
}

describe('runChild: containment with the watchdog (no cgroup)', () => {
  it('stops a real memory hog over its cap: SCANNER_OVER_BUDGET with what it used and the cap', async () => {
    const caps = { maxCpuPercent: 100, maxMemoryBytes: 128 * 1024 * 1024, effectiveCpus: 1 };
    const err = await runChild(hog(2048), {
      timeoutMs: 60_000,
      containment: { caps, watchdogIntervalMs: 50 },
    }).catch((e: unknown) => e);
    expect(isRediverError(err, 'SCANNER_OVER_BUDGET')).toBe(true);
    const d = (err as { details: { resource: string; used: number; cap: number; containedBy: string } })
      .details;
    expect(d).toMatchObject({ resource: 'memory', cap: caps.maxMemoryBytes, containedBy: 'watchdog' });
    expect(d.used).toBeGreaterThan(caps.maxMemoryBytes);
    expect((err as Error).message).toMatch(/memory budget \(used [\d.]+ MiB, cap 128 MiB/);
  }, 60_000);

  it('stops a real CPU burner over its cap for several samples in a row', async () => {
    const caps = { maxCpuPercent: 10, maxMemoryBytes: 4 * 1024 ** 3, effectiveCpus: 1 };
    const err = await runChild(burner(30_000), {
      timeoutMs: 60_000,
      killGraceMs: 200,
      containment: { caps, watchdogIntervalMs: 100, cpuGraceSamples: 3 },
    }).catch((e: unknown) => e);
    expect(isRediverError(err, 'SCANNER_OVER_BUDGET')).toBe(true);
    expect((err as { details: { resource: string; cap: number } }).details).toMatchObject({
      resource: 'cpu',
      cap: 10,
    });
  }, 60_000);

  it('leaves a scanner within its caps alone at a lower priority, and reports what it used', async () => {
    const script = 'setTimeout(() => process.stdout.write("ok " + require("os").getPriority()), 300)';
    const r = await runChild([process.execPath, '-e', script], {
      timeoutMs: 20_000,
      containment: {
        caps: { maxCpuPercent: 100, maxMemoryBytes: 1024 ** 3, effectiveCpus: 1 },
        watchdogIntervalMs: 50,
      },
    });
    expect(r.stdout).toBe('ok 10');
    expect(r.usage?.containedBy).toBe('watchdog');
    expect(r.usage?.peakMemoryBytes).toBeGreaterThan(1024 * 1024);
  });

  it('records a running scanner for the next start and removes the record when it ends', async () => {
    const registry = join(dir, 'registry');
    const pidFile = join(dir, 'rec.pids');
    const p = runChild(stubborn(pidFile, false), {
      timeoutMs: 60_000,
      killGraceMs: 200,
      containment: { registryDir: registry },
      label: 'stubborn',
    }).catch((e: unknown) => e);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').includes(' '));
    const [leader] = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    const rec = JSON.parse(readFileSync(join(registry, `scanner-${leader}.json`), 'utf8')) as {
      pid: number;
      command: string;
      startTicks: number;
    };
    expect(rec).toMatchObject({ pid: leader, command: 'stubborn' });
    expect(rec.startTicks).toBeGreaterThan(0);
    // A left scanner (as after a SIGKILL of its agent) is found and stopped by the sweep.
    const swept = await sweepLeftScanners(registry);
    expect(swept.map((s) => s.pid)).toEqual([leader]);
    expect(swept[0]!.stopped).toBeGreaterThanOrEqual(1);
    await p;
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await waitFor(() => pids.every((x) => !alive(x)));
    expect(existsSync(join(registry, `scanner-${leader}.json`))).toBe(false);
  }, 30_000);
});

const placement = process.platform === 'linux' ? detectCgroupPlacement() : undefined;

describe.skipIf(placement === undefined)(
  `runChild: containment in a cgroup (${placement === undefined ? 'no cgroup this process may create here' : `v${placement.version}`})`,
  () => {
    it('the kernel stops a real memory hog at its cap: SCANNER_OVER_BUDGET; the cgroup is removed', async () => {
      const caps = { maxCpuPercent: 100, maxMemoryBytes: 96 * 1024 * 1024, effectiveCpus: 1 };
      const registry = join(dir, 'cg-registry');
      const err = await runChild(hog(1024), {
        timeoutMs: 60_000,
        containment: { caps, placement: placement!, registryDir: registry },
      }).catch((e: unknown) => e);
      expect(isRediverError(err, 'SCANNER_OVER_BUDGET')).toBe(true);
      const d = (err as { details: { resource: string; cap: number; containedBy: string; used: number } })
        .details;
      expect(d).toMatchObject({
        resource: 'memory',
        cap: caps.maxMemoryBytes,
        containedBy: `cgroup-v${placement!.version}`,
      });
      expect(d.used).toBeGreaterThan(caps.maxMemoryBytes * 0.9);
      expect(readdirSync(registry)).toEqual([]);
      expect(leftCgroups()).toEqual([]);
    }, 60_000);

    it('throttles a real CPU burner to its quota (it finishes, it is not stopped)', async () => {
      const caps = { maxCpuPercent: 20, maxMemoryBytes: 1024 ** 3, effectiveCpus: 1 };
      const t0 = Date.now();
      const r = await runChild(burner(1500), {
        timeoutMs: 60_000,
        containment: { caps, placement: placement! },
      });
      const wall = (Date.now() - t0) / 1000;
      const cpu = Number(r.stdout);
      expect(r.exitCode).toBe(0);
      // 20 % of one CPU over the run, plus one 100 ms period of slack; unthrottled it would be about 1.5 s.
      expect(cpu).toBeLessThan(0.2 * wall + 0.15);
      expect(r.usage?.containedBy).toBe(`cgroup-v${placement!.version}`);
      expect(leftCgroups()).toEqual([]);
    }, 60_000);
  },
);

/** Scanner cgroups of this process still present. */
function leftCgroups(): string[] {
  if (placement === undefined) return [];
  const parents =
    placement.version === 2 ? [placement.parent] : [placement.cpuParent, placement.memoryParent];
  return parents.flatMap((p) =>
    readdirSync(p).filter((n) => n.startsWith(`rediver-scanner-${process.pid}-`)),
  );
}

describe('defaultScannerCaps', () => {
  it('derives caps from the thresholds, with floors; explicit values win', () => {
    const gib = 1024 ** 3;
    expect(
      defaultScannerCaps({
        cpuThreshold: 85,
        memoryThreshold: 80,
        maxConcurrentJobs: 2,
        effectiveCpus: 4,
        memoryLimitBytes: 8 * gib,
      }),
    ).toEqual({
      maxCpuPercent: 85,
      maxMemoryBytes: Math.floor((0.8 * 8 * gib) / 2),
      effectiveCpus: 4,
    });
    // A threshold forced low (to make jobs wait) never starves scanners: one CPU, 256 MiB at least.
    expect(
      defaultScannerCaps({
        cpuThreshold: 0.01,
        memoryThreshold: 0.01,
        maxConcurrentJobs: 4,
        effectiveCpus: 2,
        memoryLimitBytes: 8 * gib,
      }),
    ).toEqual({
      maxCpuPercent: 50,
      maxMemoryBytes: 256 * 1024 * 1024,
      effectiveCpus: 2,
    });
    expect(
      defaultScannerCaps({
        cpuThreshold: 85,
        memoryThreshold: 85,
        maxConcurrentJobs: 1,
        effectiveCpus: 2,
        memoryLimitBytes: gib,
        maxCpuPercent: 10,
        maxMemoryMB: 64,
      }),
    ).toMatchObject({
      maxCpuPercent: 10,
      maxMemoryBytes: 64 * 1024 * 1024,
    });
  });
});
