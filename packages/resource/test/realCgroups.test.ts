// cgroups on this machine, read and written for real: the figures' origins must match what is mounted, and a
// child process placed in cgroups this test creates (where the process may create them) must read their limits.
// Linux only; the second test needs a writable hierarchy (root, or a delegated v2 subtree).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SystemMetrics } from '@rediver/core';
import { findCgroupContainment, readCgroupLayout, SystemMetricsSource } from '../src/index';

const linux = process.platform === 'linux' && existsSync('/proc/self/mountinfo');
const packageDir = join(import.meta.dirname, '..');

/** What mountinfo says is mounted, read here independently of the code under test. */
function mounted(): { v1: Map<string, { mountPoint: string; readOnly: boolean }>; v2: string | undefined } {
  const v1 = new Map<string, { mountPoint: string; readOnly: boolean }>();
  let v2: string | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const [fstype, , options] = right.split(' ');
    const fields = left.split(' ');
    const mountPoint = fields[4] ?? '';
    if (fstype === 'cgroup2') v2 ??= mountPoint;
    if (fstype !== 'cgroup') continue;
    for (const option of (options ?? '').split(',')) {
      v1.set(option, { mountPoint, readOnly: (fields[5] ?? '').split(',').includes('ro') });
    }
  }
  return { v1, v2 };
}

function words(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** The process's path in the v1 hierarchy of `controller`, from /proc/self/cgroup. */
function v1Path(controller: string): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, list, path] = line.split(':');
    if (list?.split(',').includes(controller)) return path;
  }
  return undefined;
}

/** Every value of `file` from the process's v1 cgroup up to the hierarchy's mount point. */
function v1Values(controller: string, file: string): number[] {
  const mount = mounted().v1.get(controller)?.mountPoint;
  const path = v1Path(controller);
  if (mount === undefined || path === undefined) return [];
  const values: number[] = [];
  for (let dir = join(mount, path); dir.startsWith(mount); dir = dirname(dir)) {
    const [value] = words(join(dir, file));
    if (value !== undefined) values.push(Number(value));
    if (dir === mount) break;
  }
  return values;
}

const created: string[] = [];
afterEach(async () => {
  // A cgroup can be removed once its processes are gone; the kernel may take a moment after exit.
  for (const dir of created.splice(0).reverse()) {
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
});

describe.skipIf(!linux)('cgroups on this machine', () => {
  it('reports each figure from a hierarchy that is mounted, and host only where no cgroup limit binds', () => {
    const source = new SystemMetricsSource({ eventLoopMonitoring: false });
    const m = source.sample();
    void source.close();
    const origins = m.origins;
    expect(origins).toBeDefined();
    if (origins === undefined) return;
    const { v1, v2 } = mounted();
    const v2Controllers = v2 === undefined ? [] : words(join(v2, 'cgroup.controllers'));
    const allowed = (controller: string): string[] => [
      'host',
      ...(v1.has(controller) ? ['cgroup-v1'] : []),
      ...(v2Controllers.includes(controller) ? ['cgroup-v2'] : []),
    ];
    expect(allowed('memory')).toContain(origins.memoryLimit);
    expect(allowed('memory')).toContain(origins.memory);
    expect(allowed('cpu')).toContain(origins.cpuLimit);
    expect([...allowed('cpu'), 'unavailable']).toContain(origins.cpu);
    expect(['cgroup-v2', 'host', 'unavailable']).toContain(origins.pressure);
    expect(m.cpuOrigin).toBe(
      origins.cpu.startsWith('cgroup') ? 'cgroup' : origins.cpu === 'unavailable' ? 'unavailable' : 'host',
    );
    expect(m.memoryOrigin).toBe(origins.memory.startsWith('cgroup') ? 'cgroup' : 'host');

    const memTotal = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    if (origins.memoryLimit === 'cgroup-v1') {
      expect(m.memoryLimitBytes).toBe(Math.min(...v1Values('memory', 'memory.limit_in_bytes')));
    } else if (origins.memoryLimit === 'host') {
      expect(m.memoryLimitBytes).toBe(memTotal);
      // No v1 limit on the way up is below the host's memory.
      for (const limit of v1Values('memory', 'memory.limit_in_bytes'))
        expect(limit).toBeGreaterThanOrEqual(memTotal);
    }
    if (origins.cpuLimit === 'host') {
      expect(m.effectiveCpus).toBe(availableParallelism());
      const periods = v1Values('cpu', 'cpu.cfs_period_us');
      v1Values('cpu', 'cpu.cfs_quota_us').forEach((quota, i) => {
        if (quota > 0) expect(quota / (periods[i] ?? 100_000)).toBeGreaterThanOrEqual(availableParallelism());
      });
    }

    // The layout's hierarchies are the mounted ones.
    const layout = readCgroupLayout();
    if (layout.v2 !== undefined) expect(layout.v2.mountPoint).toBe(v2);
    for (const [controller, hierarchy] of layout.v1) {
      expect(hierarchy.mountPoint).toBe(v1.get(controller)?.mountPoint);
    }
    if (v1.has('memory')) expect(layout.v1.get('memory')?.path).toBe(v1Path('memory'));
  });

  it('finds where it may contain a scanner consistently with the mounts', () => {
    const found = findCgroupContainment();
    const { v1, v2 } = mounted();
    const v2Controllers = v2 === undefined ? [] : words(join(v2, 'cgroup.controllers'));
    if (found.kind === 'cgroup-v1') {
      expect(v1.get('cpu')?.readOnly).toBe(false);
      expect(v1.get('memory')?.readOnly).toBe(false);
      expect(found.memoryDir).toBe(join(v1.get('memory')?.mountPoint ?? '', v1Path('memory') ?? ''));
    } else if (found.kind === 'cgroup-v2') {
      expect(v2Controllers).toEqual(expect.arrayContaining(['cpu', 'memory']));
    }
    // Root on a host with writable v1 cpu and memory and no cpu/memory in v2 (this machine): v1.
    const rootOnV1 =
      process.getuid?.() === 0 &&
      v1.get('cpu')?.readOnly === false &&
      v1.get('memory')?.readOnly === false &&
      !v2Controllers.includes('memory');
    if (rootOnV1) expect(found.kind).toBe('cgroup-v1');
  });

  const containment = linux ? findCgroupContainment() : undefined;
  const usable =
    containment !== undefined &&
    (containment.kind === 'cgroup-v1' ||
      (containment.kind === 'cgroup-v2' && containment.controllersEnabled));

  it.skipIf(!usable)(
    'reads the limits of cgroups it created around a child process (v1 or v2)',
    { timeout: 60_000 },
    async () => {
      const name = `rediver-test-${process.pid}-${Date.now()}`;
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@rediver/source',
          join(packageDir, 'test', 'children', 'sampleInCgroup.ts'),
        ],
        { cwd: packageDir, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const output = new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (b: Buffer) => (text += b.toString()));
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve(text) : reject(new Error(`child exited with ${code}`)),
        );
      });
      const pid = String(child.pid);
      // cgroupfs fills a new directory with the controllers' files.
      const make = (parent: string): string => {
        const dir = join(parent, name);
        mkdirSync(dir);
        created.push(dir);
        return dir;
      };
      if (containment?.kind === 'cgroup-v1') {
        const cpu = make(containment.cpuDir);
        const memory = make(containment.memoryDir);
        writeFileSync(join(cpu, 'cpu.cfs_period_us'), '100000');
        writeFileSync(join(cpu, 'cpu.cfs_quota_us'), '50000');
        writeFileSync(join(memory, 'memory.limit_in_bytes'), String(512 * 1024 * 1024));
        writeFileSync(join(cpu, 'cgroup.procs'), pid);
        writeFileSync(join(memory, 'cgroup.procs'), pid);
        if (containment.cpuacctDir !== undefined)
          writeFileSync(join(make(containment.cpuacctDir), 'cgroup.procs'), pid);
      } else if (containment?.kind === 'cgroup-v2') {
        const dir = make(containment.parentDir);
        writeFileSync(join(dir, 'cpu.max'), '50000 100000');
        writeFileSync(join(dir, 'memory.max'), String(512 * 1024 * 1024));
        writeFileSync(join(dir, 'cgroup.procs'), pid);
      }
      child.stdin.end('go\n');
      const { metrics, cgroup } = JSON.parse(await output) as { metrics: SystemMetrics; cgroup: string };
      const version = containment?.kind === 'cgroup-v1' ? 'cgroup-v1' : 'cgroup-v2';
      expect(cgroup).toContain(name);
      expect(metrics.effectiveCpus).toBe(0.5);
      expect(metrics.memoryLimitBytes).toBe(512 * 1024 * 1024);
      expect(metrics.memoryUsedBytes).toBeGreaterThan(0);
      expect(metrics.memoryUsedBytes).toBeLessThan(512 * 1024 * 1024);
      expect(metrics.origins).toMatchObject({
        cpuLimit: version,
        memory: version,
        memoryLimit: version,
        cpu: version,
      });
      expect(metrics.cpuPercent).toBeGreaterThan(0);
    },
  );
});
