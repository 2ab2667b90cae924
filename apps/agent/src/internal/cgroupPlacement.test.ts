import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroupPlacement } from './cgroupPlacement';
import { ScannerCgroup } from './containment';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agent-cgroup-fixture-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fixture: /proc/self/{cgroup,mountinfo} and cgroup directories (files under `<root>/fs`). */
function fixture(
  cgroup: string,
  mounts: string[],
  files: Record<string, string>,
): { procRoot: string; mountPrefix: string } {
  const proc = join(root, 'proc', 'self');
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, 'cgroup'), cgroup);
  writeFileSync(
    join(proc, 'mountinfo'),
    mounts.map((m, i) => `${30 + i} 22 0:${27 + i} ${m}`).join('\n') + '\n',
  );
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, 'fs', path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  return { procRoot: join(root, 'proc'), mountPrefix: join(root, 'fs') };
}

const V1_MOUNTS = [
  '/ /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '/ /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
];

describe('detectCgroupPlacement (fixture trees)', () => {
  it('cgroup v1: the cpu and memory directories of the process', () => {
    const o = fixture('5:memory:/svc/agent\n3:cpu,cpuacct:/svc/agent\n0::/\n', V1_MOUNTS, {
      '/sys/fs/cgroup/cpu,cpuacct/svc/agent/cgroup.procs': '',
      '/sys/fs/cgroup/memory/svc/agent/cgroup.procs': '',
    });
    expect(detectCgroupPlacement(o)).toEqual({
      version: 1,
      cpuParent: join(o.mountPrefix, '/sys/fs/cgroup/cpu,cpuacct/svc/agent'),
      memoryParent: join(o.mountPrefix, '/sys/fs/cgroup/memory/svc/agent'),
    });
  });

  it('cgroup v1 in a container whose mount root is its own cgroup', () => {
    const o = fixture(
      '5:memory:/kubepods/pod1/c1\n3:cpu,cpuacct:/kubepods/pod1/c1\n',
      [
        '/kubepods/pod1/c1 /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
        '/kubepods/pod1/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      ],
      { '/sys/fs/cgroup/cpu,cpuacct/cgroup.procs': '', '/sys/fs/cgroup/memory/cgroup.procs': '' },
    );
    expect(detectCgroupPlacement(o)).toMatchObject({
      version: 1,
      memoryParent: join(o.mountPrefix, '/sys/fs/cgroup/memory'),
    });
  });

  it('cgroup v2, a delegated service cgroup holding the agent: move into a leaf first', () => {
    const o = fixture('0::/system.slice/rediver.service\n', ['/ /sys/fs/cgroup rw - cgroup2 cgroup2 rw'], {
      '/sys/fs/cgroup/system.slice/rediver.service/cgroup.procs': '123\n',
      '/sys/fs/cgroup/system.slice/rediver.service/cgroup.controllers': 'cpuset cpu io memory pids\n',
      '/sys/fs/cgroup/system.slice/rediver.service/cgroup.subtree_control': '\n',
      // Every cgroup but the real root has a cgroup.type: this is how the root is told apart.
      '/sys/fs/cgroup/system.slice/rediver.service/cgroup.type': 'domain\n',
    });
    const dir = join(o.mountPrefix, '/sys/fs/cgroup/system.slice/rediver.service');
    expect(detectCgroupPlacement(o)).toEqual({ version: 2, parent: dir, moveSelfTo: join(dir, 'agent') });
  });

  it('cgroup v2 with controllers already enabled for children, and a namespace root', () => {
    const ready = fixture('0::/a\n', ['/ /sys/fs/cgroup rw - cgroup2 cgroup2 rw'], {
      '/sys/fs/cgroup/a/cgroup.procs': '',
      '/sys/fs/cgroup/a/cgroup.controllers': 'cpu memory\n',
      '/sys/fs/cgroup/a/cgroup.subtree_control': 'cpu memory\n',
    });
    expect(detectCgroupPlacement(ready)).toMatchObject({ version: 2, moveSelfTo: undefined });
  });

  it('cgroup v2 without the memory controller, and nothing writable: no placement (the watchdog is used)', () => {
    const o = fixture('0::/a\n', ['/ /sys/fs/cgroup rw - cgroup2 cgroup2 rw'], {
      '/sys/fs/cgroup/a/cgroup.procs': '',
      '/sys/fs/cgroup/a/cgroup.controllers': 'cpu pids\n',
      '/sys/fs/cgroup/a/cgroup.subtree_control': '',
    });
    expect(detectCgroupPlacement(o)).toBeUndefined();
    expect(detectCgroupPlacement({ procRoot: join(root, 'nothing') })).toBeUndefined();
  });

  it('hybrid: an empty unified hierarchy and v1 controllers (this machine’s kind) uses v1', () => {
    const o = fixture(
      '4:memory:/x\n1:cpu:/\n0::/\n',
      [
        ...V1_MOUNTS.map((m) => m.replace('cpu,cpuacct rw', 'cpu rw').replace('/cpu,cpuacct', '/cpu')),
        '/ /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      ],
      {
        '/sys/fs/cgroup/cpu/cgroup.procs': '',
        '/sys/fs/cgroup/memory/x/cgroup.procs': '',
        '/sys/fs/cgroup/unified/cgroup.procs': '',
        '/sys/fs/cgroup/unified/cgroup.controllers': '\n',
      },
    );
    expect(detectCgroupPlacement(o)).toMatchObject({
      version: 1,
      memoryParent: join(o.mountPrefix, '/sys/fs/cgroup/memory/x'),
    });
  });
});

describe('ScannerCgroup.create (cgroup v2 files, on a fixture tree: this machine has no v2 controllers)', () => {
  it('moves the agent into a leaf, enables cpu and memory for children, writes cpu.max and memory.max', async () => {
    const parent = join(root, 'svc');
    mkdirSync(parent, { recursive: true });
    writeFileSync(join(parent, 'cgroup.subtree_control'), '');
    const placement = { version: 2 as const, parent, moveSelfTo: join(parent, 'agent') };
    const caps = { maxCpuPercent: 50, maxMemoryBytes: 512 * 1024 * 1024, effectiveCpus: 2 };
    const cg = ScannerCgroup.create(placement, 'rediver-scanner-test', caps);
    expect(cg?.dirs).toEqual([join(parent, 'rediver-scanner-test')]);
    expect(readFileSync(join(parent, 'agent', 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
    expect(readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory');
    // 50 % of 2 CPUs = one CPU: a 100 ms quota per 100 ms period.
    expect(readFileSync(join(parent, 'rediver-scanner-test', 'cpu.max'), 'utf8')).toBe('100000 100000');
    expect(readFileSync(join(parent, 'rediver-scanner-test', 'memory.max'), 'utf8')).toBe(
      String(512 * 1024 * 1024),
    );
    expect(cg!.procsFiles()).toEqual([join(parent, 'rediver-scanner-test', 'cgroup.procs')]);
    // A kernel's memory.events after an OOM kill, and memory.peak / cpu.stat for the usage.
    writeFileSync(
      join(parent, 'rediver-scanner-test', 'memory.events'),
      'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    );
    writeFileSync(join(parent, 'rediver-scanner-test', 'memory.peak'), '536870912\n');
    writeFileSync(
      join(parent, 'rediver-scanner-test', 'cpu.stat'),
      'usage_usec 2500000\nuser_usec 2000000\n',
    );
    expect(cg!.oomKilled()).toBe(true);
    expect(cg!.usage()).toEqual({ containedBy: 'cgroup-v2', peakMemoryBytes: 536870912, cpuSeconds: 2.5 });
  });

  it("never joins a cgroup that already exists (another scanner's): no placement for that name", () => {
    const parent = join(root, 'ro');
    mkdirSync(join(parent, 'rediver-scanner-x'), { recursive: true });
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'cpu memory');
    expect(
      ScannerCgroup.create({ version: 2, parent, moveSelfTo: undefined }, 'rediver-scanner-y', {
        maxCpuPercent: 10,
        maxMemoryBytes: 1e8,
        effectiveCpus: 1,
      }),
    ).toBeDefined();
    expect(
      ScannerCgroup.create({ version: 2, parent, moveSelfTo: undefined }, 'rediver-scanner-x', {
        maxCpuPercent: 10,
        maxMemoryBytes: 1e8,
        effectiveCpus: 1,
      }),
    ).toBeUndefined();
  });
});
