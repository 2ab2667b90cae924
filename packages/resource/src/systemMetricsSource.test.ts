import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRediverError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { put, putFixture } from '../test/fixtureTree';
import { SystemMetricsSource } from './systemMetricsSource';

let root: string;
let procRoot: string;
let cgroupRoot: string;
let now: number;
const sources: SystemMetricsSource[] = [];

function source(extra: { eventLoopMonitoring?: boolean } = {}): SystemMetricsSource {
  const s = new SystemMetricsSource({
    procRoot,
    cgroupRoot,
    monotonicNowMs: () => now,
    clock: { now: () => 1_700_000_000_000 + now },
    eventLoopMonitoring: extra.eventLoopMonitoring ?? false,
  });
  sources.push(s);
  return s;
}
/** /proc/stat with the given busy and idle tick counts (busy split over user and system). */
function procStat(busy: number, idle: number): string {
  return `cpu  ${busy - 100} 0 100 ${idle} 0 0 0 0 0 0\ncpu0 ${busy - 100} 0 100 ${idle} 0 0 0 0 0 0\n`;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rediver-resource-'));
  procRoot = join(root, 'proc');
  cgroupRoot = join(root, 'cgroup');
  mkdirSync(procRoot, { recursive: true });
  mkdirSync(cgroupRoot, { recursive: true });
  now = 0;
});

afterEach(() => {
  for (const s of sources.splice(0)) void s.close();
  rmSync(root, { recursive: true, force: true });
});

describe('SystemMetricsSource on a host without cgroup limits', () => {
  beforeEach(() => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'pressure', 'cpu'), 'pressure-cpu');
    putFixture(join(procRoot, 'pressure', 'memory'), 'pressure-memory');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v1');
  });

  it('computes machine CPU from /proc/stat deltas since the previous reading', () => {
    const s = source();
    // No tick passed since construction: no figure yet, and it says so.
    const first = s.sample();
    expect(first.cpuOrigin).toBe('unavailable');
    expect(first.cpuPercent).toBe(0);

    put(join(procRoot, 'stat'), procStat(1000 + 75, 9000 + 25));
    now += 1000;
    const second = s.sample();
    expect(second.cpuOrigin).toBe('host');
    expect(second.cpuPercent).toBeCloseTo(75, 10);

    put(join(procRoot, 'stat'), procStat(1075 + 10, 9025 + 90));
    now += 1000;
    expect(s.sample().cpuPercent).toBeCloseTo(10, 10);

    // Same counters again (two samples in one tick): the last figure stands.
    const repeat = s.sample();
    expect(repeat.cpuPercent).toBeCloseTo(10, 10);
    expect(repeat.cpuOrigin).toBe('host');
  });

  it('computes memory from MemAvailable, not MemFree', () => {
    const m = source().sample();
    const total = 24683656 * 1024;
    const available = 18512742 * 1024;
    expect(m.memoryOrigin).toBe('host');
    expect(m.memoryLimitBytes).toBe(total);
    expect(m.memoryUsedBytes).toBe(total - available);
    expect(m.memoryPercent).toBeCloseTo(((total - available) / total) * 100, 10);
  });

  it('reads PSI from /proc/pressure and reports the host CPU count', () => {
    const m = source().sample();
    expect(m.pressure).toEqual({
      origin: 'host',
      cpuSomeAvg10: 12.14,
      memorySomeAvg10: 3.5,
      memoryFullAvg10: 1.75,
    });
    expect(m.effectiveCpus).toBe(availableParallelism());
    expect(m.timestamp).toBe(1_700_000_000_000);
  });

  it('reports the process RSS and heap', () => {
    const m = source().sample();
    expect(m.processRssBytes).toBeGreaterThan(0);
    expect(m.processHeapUsedBytes).toBeGreaterThan(0);
    expect(m.processRssBytes).toBeGreaterThan(m.processHeapUsedBytes);
    expect(m.eventLoopDelayP99Ms).toBe(0);
    expect(m.eventLoopUtilization).toBe(0);
  });
});

describe('SystemMetricsSource under cgroup v2 limits', () => {
  const pod = (): string => join(cgroupRoot, 'kubepods.slice', 'pod-1234');
  const leaf = (): string => join(pod(), 'agent');

  beforeEach(() => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'pressure', 'cpu'), 'pressure-cpu');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v2');
    put(join(cgroupRoot, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    // The quota sits on the pod, the leaf has none: the tightest ancestor binds, as the kernel enforces.
    putFixture(join(cgroupRoot, 'kubepods.slice', 'cpu.max'), 'cpu.max-unlimited');
    putFixture(join(pod(), 'cpu.max'), 'cpu.max-half');
    putFixture(join(pod(), 'cpu.stat'), 'cpu.stat');
    putFixture(join(pod(), 'memory.max'), 'memory.max-512mib');
    put(join(pod(), 'memory.current'), '400000000\n');
    putFixture(join(pod(), 'memory.stat'), 'memory.stat');
    putFixture(join(leaf(), 'cpu.max'), 'cpu.max-unlimited');
    putFixture(join(leaf(), 'memory.max'), 'memory.max-unlimited');
    putFixture(join(leaf(), 'cpu.pressure'), 'pressure-cpu-4.x');
    putFixture(join(leaf(), 'memory.pressure'), 'pressure-memory');
  });

  it('follows the cpu.max quota: effective CPUs and CPU % from cpu.stat usage against it', () => {
    const s = source();
    expect(s.effectiveCpus()).toBe(0.5);
    // 250 ms of CPU in 1 s of wall time against half a CPU: 50 %.
    put(join(pod(), 'cpu.stat'), 'usage_usec 8250000\nuser_usec 6000000\nsystem_usec 2250000\n');
    now += 1000;
    const m = s.sample();
    expect(m.cpuOrigin).toBe('cgroup');
    expect(m.effectiveCpus).toBe(0.5);
    expect(m.cpuPercent).toBeCloseTo(50, 10);
    // Use at the quota reads 100 %, never more.
    put(join(pod(), 'cpu.stat'), 'usage_usec 8900000\n');
    now += 1000;
    expect(s.sample().cpuPercent).toBe(100);
  });

  it('measures memory as memory.current minus inactive_file against memory.max', () => {
    const m = source().sample();
    expect(m.memoryOrigin).toBe('cgroup');
    expect(m.memoryLimitBytes).toBe(536870912);
    expect(m.memoryUsedBytes).toBe(400000000 - 150000000);
    expect(m.memoryPercent).toBeCloseTo((250000000 / 536870912) * 100, 10);
  });

  it('reads PSI from the cgroup', () => {
    expect(source().sample().pressure).toEqual({
      origin: 'cgroup',
      cpuSomeAvg10: 0.51,
      memorySomeAvg10: 3.5,
      memoryFullAvg10: 1.75,
    });
  });

  it('re-reads the limits on every sample: a lifted quota or limit falls back to the host figures', () => {
    const s = source();
    put(join(pod(), 'cpu.max'), 'max 100000\n');
    put(join(pod(), 'memory.max'), 'max\n');
    put(join(procRoot, 'stat'), procStat(1000 + 30, 9000 + 70));
    now += 1000;
    const m = s.sample();
    expect(m.effectiveCpus).toBe(availableParallelism());
    expect(m.cpuOrigin).toBe('host');
    expect(m.cpuPercent).toBeCloseTo(30, 10);
    expect(m.memoryOrigin).toBe('host');
    expect(m.memoryLimitBytes).toBe(24683656 * 1024);
  });

  it('ignores limits larger than the host (they bind nothing)', () => {
    put(join(pod(), 'cpu.max'), `${availableParallelism() * 2 * 100000} 100000\n`);
    put(join(pod(), 'memory.max'), `${24683656 * 1024 * 2}\n`);
    const m = source().sample();
    expect(m.effectiveCpus).toBe(availableParallelism());
    expect(m.memoryOrigin).toBe('host');
  });

  it('falls back to the cgroup mount root when the process path does not exist there (no cgroup namespace)', () => {
    rmSync(join(cgroupRoot, 'kubepods.slice'), { recursive: true });
    putFixture(join(cgroupRoot, 'cpu.max'), 'cpu.max-half');
    putFixture(join(cgroupRoot, 'cpu.stat'), 'cpu.stat');
    expect(source().effectiveCpus()).toBe(0.5);
  });
});

describe('SystemMetricsSource elsewhere', () => {
  it('uses the hybrid layout: cgroup2 under unified/, PSI from there, host CPU and memory', () => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-hybrid');
    put(join(cgroupRoot, 'unified', 'cgroup.controllers'), '\n');
    putFixture(join(cgroupRoot, 'unified', 'cpu.pressure'), 'pressure-cpu');
    putFixture(join(cgroupRoot, 'unified', 'memory.pressure'), 'pressure-memory');
    const m = source().sample();
    expect(m.effectiveCpus).toBe(availableParallelism());
    expect(m.memoryOrigin).toBe('host');
    expect(m.pressure?.origin).toBe('cgroup');
    expect(m.pressure?.cpuSomeAvg10).toBe(12.14);
  });

  it(
    'falls back to os.cpus() and os memory without procfs, and says PSI is unavailable',
    { timeout: 20_000 },
    () => {
      const s = source();
      // Burn CPU until the os.cpus() counters (10 ms ticks) move; bounded.
      const deadline = Date.now() + 5000;
      let m = s.sample();
      while (m.cpuOrigin === 'unavailable' && Date.now() < deadline) {
        const until = Date.now() + 20;
        while (Date.now() < until);
        m = s.sample();
      }
      expect(m.cpuOrigin).toBe('host');
      expect(m.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(m.cpuPercent).toBeLessThanOrEqual(100);
      expect(m.memoryOrigin).toBe('host');
      expect(m.memoryLimitBytes).toBeGreaterThan(0);
      expect(m.memoryPercent).toBeGreaterThan(0);
      expect(m.pressure).toEqual({ origin: 'unavailable' });
    },
  );

  it('measures event-loop delay and utilisation when monitoring is on', { timeout: 20_000 }, async () => {
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const s = source({ eventLoopMonitoring: true });
    // The delay monitor's first tick only sets its baseline; after that every tick records its lateness.
    await sleep(30);
    for (let i = 0; i < 3; i++) {
      const until = Date.now() + 50;
      while (Date.now() < until); // block the loop: the next tick is late
      await sleep(30);
    }
    const m = s.sample();
    expect(m.eventLoopDelayP99Ms).toBeGreaterThan(0);
    expect(m.eventLoopUtilization).toBeGreaterThan(0);
    expect(m.eventLoopUtilization).toBeLessThanOrEqual(1);
  });

  it('refuses an unknown option key with a did-you-mean', () => {
    let error: unknown;
    try {
      new SystemMetricsSource({ cgroupRot: '/x' } as never);
    } catch (e) {
      error = e;
    }
    expect(isRediverError(error, 'INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toBe(
      '"cgroupRot" is not an option of SystemMetricsSource (did you mean cgroupRoot?)',
    );
    expect((error as { details?: unknown }).details).toEqual({ option: 'cgroupRot' });
  });

  it('rejects invalid options and sampling after close', () => {
    expect(() => new SystemMetricsSource({ procRoot: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }) as Error,
    );
    expect(() => new SystemMetricsSource({ eventLoopResolutionMs: 0 })).toThrow(/eventLoopResolutionMs/);
    const s = source();
    void s.close();
    void s.close();
    let error: unknown;
    try {
      s.sample();
    } catch (e) {
      error = e;
    }
    expect(isRediverError(error, 'CLOSED')).toBe(true);
  });
});

describe('SystemMetricsSource under cgroup v1 limits (docker: cpu,cpuacct co-mounted, no mountinfo)', () => {
  const cpu = (): string => join(cgroupRoot, 'cpu,cpuacct', 'docker', 'abc');
  const mem = (): string => join(cgroupRoot, 'memory', 'docker', 'abc');

  beforeEach(() => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'pressure', 'cpu'), 'pressure-cpu');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v1');
    // The hierarchy roots say "no quota" and "unlimited", as the kernel does.
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpu.cfs_quota_us'), '-1\n');
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpu.cfs_period_us'), '100000\n');
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpuacct.usage'), '900000000000\n');
    put(join(cgroupRoot, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    put(join(cgroupRoot, 'memory', 'memory.usage_in_bytes'), '9000000000\n');
    put(join(cpu(), 'cpu.cfs_quota_us'), '150000\n');
    put(join(cpu(), 'cpu.cfs_period_us'), '100000\n');
    put(join(cpu(), 'cpuacct.usage'), '8000000000\n');
    put(join(mem(), 'memory.limit_in_bytes'), '536870912\n');
    put(join(mem(), 'memory.usage_in_bytes'), '400000000\n');
    putFixture(join(mem(), 'memory.stat'), 'memory.stat-v1');
  });

  it('follows the CFS quota: effective CPUs, and CPU % from cpuacct.usage against it', () => {
    const s = source();
    expect(s.effectiveCpus()).toBe(1.5);
    // 750 ms of CPU (ns in cpuacct.usage) in 1 s of wall time against 1.5 CPUs: 50 %.
    put(join(cpu(), 'cpuacct.usage'), '8750000000\n');
    now += 1000;
    const m = s.sample();
    expect(m.cpuOrigin).toBe('cgroup');
    expect(m.effectiveCpus).toBe(1.5);
    expect(m.cpuPercent).toBeCloseTo(50, 10);
    expect(m.origins).toMatchObject({ cpu: 'cgroup-v1', cpuLimit: 'cgroup-v1' });
  });

  it('measures memory as usage_in_bytes minus total_inactive_file against memory.limit_in_bytes', () => {
    const m = source().sample();
    expect(m.memoryOrigin).toBe('cgroup');
    expect(m.memoryLimitBytes).toBe(536870912);
    // total_inactive_file (150 MB, children included), not the cgroup's own inactive_file (1 MB).
    expect(m.memoryUsedBytes).toBe(400000000 - 150000000);
    expect(m.origins).toMatchObject({ memory: 'cgroup-v1', memoryLimit: 'cgroup-v1', pressure: 'host' });
  });

  it('treats the "unlimited" value and -1 quota as no limit: host figures', () => {
    put(join(mem(), 'memory.limit_in_bytes'), '9223372036854771712\n');
    put(join(cpu(), 'cpu.cfs_quota_us'), '-1\n');
    put(join(procRoot, 'stat'), procStat(1000 + 40, 9000 + 60));
    const s = source();
    now += 1000;
    put(join(procRoot, 'stat'), procStat(1040 + 40, 9060 + 60));
    const m = s.sample();
    expect(m.effectiveCpus).toBe(availableParallelism());
    expect(m.memoryLimitBytes).toBe(24683656 * 1024);
    expect(m.origins).toEqual({
      cpu: 'host',
      cpuLimit: 'host',
      memory: 'host',
      memoryLimit: 'host',
      pressure: 'host',
    });
  });

  it('falls back to host CPU % (quota still binding) when cpuacct is not readable', () => {
    rmSync(join(cpu(), 'cpuacct.usage'));
    const s = source();
    put(join(procRoot, 'stat'), procStat(1000 + 30, 9000 + 70));
    now += 1000;
    const m = s.sample();
    expect(m.effectiveCpus).toBe(1.5);
    expect(m.cpuPercent).toBeCloseTo(30, 10);
    expect(m.origins).toMatchObject({ cpu: 'host', cpuLimit: 'cgroup-v1' });
  });
});

describe('SystemMetricsSource on a hybrid host (v1 controllers, empty unified) from mountinfo', () => {
  // Mount points in the fixture mountinfo are /sys/fs/cgroup/...: read under cgroupRoot.
  const memParent = (): string => join(cgroupRoot, 'memory', 'process_api');
  const memLeaf = (): string => join(memParent(), 'b3d2aa6e87c964911f635c1c1c4c865e');

  beforeEach(() => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-hybrid-nested');
    putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-hybrid');
    put(join(cgroupRoot, 'unified', 'cgroup.controllers'), '\n');
    putFixture(join(cgroupRoot, 'unified', 'cpu.pressure'), 'pressure-cpu');
    putFixture(join(cgroupRoot, 'unified', 'memory.pressure'), 'pressure-memory');
    // cpu and cpuacct are separate hierarchies with the same tree: usage is paired by path.
    put(join(cgroupRoot, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
    put(join(cgroupRoot, 'cpu', 'agent', 'cpu.cfs_quota_us'), '50000\n');
    put(join(cgroupRoot, 'cpu', 'agent', 'cpu.cfs_period_us'), '100000\n');
    put(join(cgroupRoot, 'cpuacct', 'agent', 'cpuacct.usage'), '1000000000\n');
    // The limit sits on the parent of the process's memory cgroup: the tightest ancestor binds.
    put(join(cgroupRoot, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    put(join(memParent(), 'memory.limit_in_bytes'), '1073741824\n');
    put(join(memParent(), 'memory.usage_in_bytes'), '600000000\n');
    putFixture(join(memParent(), 'memory.stat'), 'memory.stat-v1');
    put(join(memLeaf(), 'memory.limit_in_bytes'), '9223372036854771712\n');
    put(join(memLeaf(), 'memory.usage_in_bytes'), '110000000\n');
  });

  it('reads CPU and memory from the nested v1 cgroups, PSI from the unified root', () => {
    const s = source();
    put(join(cgroupRoot, 'cpuacct', 'agent', 'cpuacct.usage'), '1250000000\n');
    now += 1000;
    const m = s.sample();
    expect(m.effectiveCpus).toBe(0.5);
    expect(m.cpuPercent).toBeCloseTo(50, 10);
    expect(m.memoryLimitBytes).toBe(1073741824);
    expect(m.memoryUsedBytes).toBe(600000000 - 150000000);
    expect(m.pressure?.cpuSomeAvg10).toBe(12.14);
    expect(m.origins).toEqual({
      cpu: 'cgroup-v1',
      cpuLimit: 'cgroup-v1',
      memory: 'cgroup-v1',
      memoryLimit: 'cgroup-v1',
      pressure: 'cgroup-v2',
    });
    expect([m.cpuOrigin, m.memoryOrigin, m.pressure?.origin]).toEqual(['cgroup', 'cgroup', 'cgroup']);
  });

  it('reads host figures when no v1 level binds (this machine: unlimited)', () => {
    put(join(memParent(), 'memory.limit_in_bytes'), '9223372036854771712\n');
    put(join(cgroupRoot, 'cpu', 'agent', 'cpu.cfs_quota_us'), '-1\n');
    const m = source().sample();
    expect(m.origins).toMatchObject({ cpuLimit: 'host', memory: 'host', memoryLimit: 'host' });
    expect(m.memoryLimitBytes).toBe(24683656 * 1024);
  });
});

describe('SystemMetricsSource in a v1 container without a cgroup namespace (mountinfo root /docker/abc)', () => {
  it('reads the limits at the mount point, which is the container cgroup', () => {
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v1');
    putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-v1-container');
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpu.cfs_quota_us'), '150000\n');
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpu.cfs_period_us'), '100000\n');
    put(join(cgroupRoot, 'cpu,cpuacct', 'cpuacct.usage'), '5000000000\n');
    put(join(cgroupRoot, 'memory', 'memory.limit_in_bytes'), '268435456\n');
    put(join(cgroupRoot, 'memory', 'memory.usage_in_bytes'), '200000000\n');
    put(join(cgroupRoot, 'memory', 'memory.stat'), 'total_inactive_file 50000000\n');
    const m = source().sample();
    expect(m.effectiveCpus).toBe(1.5);
    expect(m.memoryLimitBytes).toBe(268435456);
    expect(m.memoryUsedBytes).toBe(150000000);
    expect(m.origins).toMatchObject({ cpuLimit: 'cgroup-v1', memory: 'cgroup-v1' });
  });
});

describe('SystemMetricsSource origins under cgroup v2 (from mountinfo)', () => {
  it('says cgroup-v2 for each figure read from the unified hierarchy', () => {
    const leaf = join(cgroupRoot, 'kubepods.slice', 'pod-1234', 'agent');
    put(join(procRoot, 'stat'), procStat(1000, 9000));
    putFixture(join(procRoot, 'meminfo'), 'meminfo');
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v2');
    putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-v2');
    put(join(cgroupRoot, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    putFixture(join(leaf, 'cpu.max'), 'cpu.max-half');
    putFixture(join(leaf, 'cpu.stat'), 'cpu.stat');
    putFixture(join(leaf, 'memory.max'), 'memory.max-512mib');
    put(join(leaf, 'memory.current'), '400000000\n');
    putFixture(join(leaf, 'memory.stat'), 'memory.stat');
    putFixture(join(leaf, 'cpu.pressure'), 'pressure-cpu-4.x');
    const s = source();
    put(join(leaf, 'cpu.stat'), 'usage_usec 8250000\n');
    now += 1000;
    expect(s.sample().origins).toEqual({
      cpu: 'cgroup-v2',
      cpuLimit: 'cgroup-v2',
      memory: 'cgroup-v2',
      memoryLimit: 'cgroup-v2',
      pressure: 'cgroup-v2',
    });
  });

  it("says 'os' for figures read from Node's os module (no procfs)", () => {
    const m = source().sample();
    expect(m.origins?.memory).toBe('os');
    expect(m.origins?.cpuLimit).toBe('host');
    expect(m.origins?.pressure).toBe('unavailable');
  });
});
