import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  keyedValue,
  parseCfsQuota,
  parseCgroupV2Path,
  parseCounter,
  parseCpuMax,
  parseMeminfo,
  parseMemoryMax,
  parseMountinfo,
  parseProcCgroup,
  parsePressure,
  parseProcStat,
  parseV1MemoryLimit,
} from './parsers';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'latin1');

describe('parseProcStat', () => {
  it('sums the aggregate line: user..steal as total, idle + iowait as idle', () => {
    // cpu  62437 120 8537 98863 287 0 171 427 0 0 — guest (last two) is already inside user/nice.
    expect(parseProcStat(fixture('proc-stat'))).toEqual({
      total: 62437 + 120 + 8537 + 98863 + 287 + 0 + 171 + 427,
      idle: 98863 + 287,
    });
  });

  it('reads the 4-field line of old kernels', () => {
    expect(parseProcStat(fixture('proc-stat-2.4'))).toEqual({ total: 1000, idle: 850 });
  });

  it('refuses text without an aggregate cpu line or with bad numbers', () => {
    expect(parseProcStat('cpu0 1 2 3 4\n')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 3\n')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 x 4\n')).toBeUndefined();
    expect(parseProcStat('')).toBeUndefined();
  });
});

describe('parseMeminfo', () => {
  it('reads MemTotal and MemAvailable in bytes', () => {
    expect(parseMeminfo(fixture('meminfo'))).toEqual({
      totalBytes: 24683656 * 1024,
      availableBytes: 18512742 * 1024,
    });
  });

  it('reports MemAvailable as unknown on kernels before 3.14', () => {
    expect(parseMeminfo(fixture('meminfo-2.6'))).toEqual({
      totalBytes: 2048000 * 1024,
      availableBytes: undefined,
    });
  });

  it('refuses text without MemTotal', () => {
    expect(parseMeminfo('MemFree: 10 kB\n')).toBeUndefined();
    expect(parseMeminfo('MemTotal: 0 kB\n')).toBeUndefined();
  });
});

describe('parseCpuMax', () => {
  it('reads `max 100000` as no quota', () => {
    expect(parseCpuMax(fixture('cpu.max-unlimited'))).toEqual({ quotaUs: null, periodUs: 100000 });
  });

  it('reads `50000 100000` as half a CPU', () => {
    expect(parseCpuMax(fixture('cpu.max-half'))).toEqual({ quotaUs: 50000, periodUs: 100000 });
  });

  it('defaults a missing period to 100 ms and refuses garbage', () => {
    expect(parseCpuMax('200000\n')).toEqual({ quotaUs: 200000, periodUs: 100000 });
    expect(parseCpuMax('')).toBeUndefined();
    expect(parseCpuMax('abc 100000')).toBeUndefined();
    expect(parseCpuMax('50000 0')).toBeUndefined();
    expect(parseCpuMax('0 100000')).toBeUndefined();
    expect(parseCpuMax('1 2 3')).toBeUndefined();
  });
});

describe('parseMemoryMax / parseCounter', () => {
  it('reads `max` as no limit', () => {
    expect(parseMemoryMax(fixture('memory.max-unlimited'))).toBeNull();
  });

  it('reads a byte count', () => {
    expect(parseMemoryMax(fixture('memory.max-512mib'))).toBe(536870912);
  });

  it('refuses anything else', () => {
    expect(parseMemoryMax('')).toBeUndefined();
    expect(parseMemoryMax('-1')).toBeUndefined();
    expect(parseCounter('12x')).toBeUndefined();
    expect(parseCounter('4096\n')).toBe(4096);
  });
});

describe('keyedValue (memory.stat, cpu.stat)', () => {
  it('finds inactive_file without matching it inside another key', () => {
    const text = fixture('memory.stat');
    expect(keyedValue(text, 'inactive_file')).toBe(150000000);
    expect(keyedValue(text, 'active_file')).toBe(59715200);
    expect(keyedValue(text, 'anon')).toBe(104857600);
    expect(keyedValue(text, 'file')).toBe(209715200);
  });

  it('reads cpu.stat usage_usec', () => {
    expect(keyedValue(fixture('cpu.stat'), 'usage_usec')).toBe(8000000);
  });

  it('returns undefined for a missing key or a non-number', () => {
    expect(keyedValue(fixture('memory.stat'), 'workingset')).toBeUndefined();
    expect(keyedValue('usage_usec abc\n', 'usage_usec')).toBeUndefined();
  });
});

describe('parsePressure', () => {
  it('reads the some and full lines', () => {
    expect(parsePressure(fixture('pressure-memory'))).toEqual({
      some: { avg10: 3.5, avg60: 1.25, avg300: 0.4, totalUs: 912345 },
      full: { avg10: 1.75, avg60: 0.6, avg300: 0.2, totalUs: 456789 },
    });
    expect(parsePressure(fixture('pressure-cpu'))?.some?.avg10).toBe(12.14);
  });

  it('reads a cpu file without the full line (kernels before 5.13)', () => {
    expect(parsePressure(fixture('pressure-cpu-4.x'))).toEqual({
      some: { avg10: 0.51, avg60: 0.2, avg300: 0.05, totalUs: 12345 },
      full: undefined,
    });
  });

  it('refuses text with no valid line', () => {
    expect(parsePressure('')).toBeUndefined();
    expect(parsePressure('some avg10=x avg60=0 avg300=0 total=0')).toBeUndefined();
  });
});

describe('parseCgroupV2Path', () => {
  it('reads the 0:: line', () => {
    expect(parseCgroupV2Path(fixture('self-cgroup-v2'))).toBe('/kubepods.slice/pod-1234/agent');
    expect(parseCgroupV2Path(fixture('self-cgroup-hybrid'))).toBe('/');
  });

  it('finds none on a cgroup v1 host or for a deleted cgroup', () => {
    expect(parseCgroupV2Path(fixture('self-cgroup-v1'))).toBeUndefined();
    expect(parseCgroupV2Path('0::/gone (deleted)\n')).toBeUndefined();
  });
});

describe('parseProcCgroup', () => {
  it('reads every hierarchy line, v1 controller lists and the v2 line, paths with colons', () => {
    expect(parseProcCgroup(fixture('self-cgroup-hybrid-nested'))).toEqual([
      { id: 9, controllers: ['name=systemd'], path: '/' },
      { id: 5, controllers: ['devices'], path: '/' },
      { id: 4, controllers: ['memory'], path: '/process_api/b3d2aa6e87c964911f635c1c1c4c865e' },
      { id: 3, controllers: ['cpuset'], path: '/' },
      { id: 2, controllers: ['cpuacct'], path: '/agent' },
      { id: 1, controllers: ['cpu'], path: '/agent' },
      { id: 0, controllers: [], path: '/' },
    ]);
    expect(parseProcCgroup('3:cpu,cpuacct:/a:b\n')).toEqual([
      { id: 3, controllers: ['cpu', 'cpuacct'], path: '/a:b' },
    ]);
  });

  it('skips deleted cgroups and lines it cannot read', () => {
    expect(parseProcCgroup('4:memory:/gone (deleted)\nnonsense\nx:cpu:/\n1:cpu:relative\n')).toEqual([]);
  });
});

describe('parseMountinfo', () => {
  it('finds v1 mounts with their controllers and the cgroup2 mount, not other filesystems', () => {
    const mounts = parseMountinfo(fixture('mountinfo-hybrid'));
    expect(mounts.map((m) => [m.version, m.mountPoint, m.controllers.join(',')])).toEqual([
      [1, '/sys/fs/cgroup/cpu', 'cpu'],
      [1, '/sys/fs/cgroup/cpuacct', 'cpuacct'],
      [1, '/sys/fs/cgroup/cpuset', 'cpuset'],
      [1, '/sys/fs/cgroup/memory', 'memory'],
      [1, '/sys/fs/cgroup/devices', 'devices'],
      [1, '/sys/fs/cgroup/systemd', 'name=systemd'],
      [2, '/sys/fs/cgroup/unified', ''],
    ]);
  });

  it('reads the mounted root, read-only mounts and escaped paths', () => {
    const [systemd, cpu] = parseMountinfo(fixture('mountinfo-v1-container'));
    expect(systemd).toMatchObject({ root: '/docker/abc', readOnly: true, controllers: ['name=systemd'] });
    expect(cpu).toMatchObject({ mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] });
    const [spaced] = parseMountinfo('40 30 0:37 /a\\040b /mnt/c\\040g rw - cgroup2 cgroup2 rw\n');
    expect(spaced).toMatchObject({ version: 2, root: '/a b', mountPoint: '/mnt/c g', readOnly: false });
  });
});

describe('cgroup v1 limit files', () => {
  it('reads cpu.cfs_quota_us: -1 is no quota', () => {
    expect(parseCfsQuota('50000\n')).toBe(50000);
    expect(parseCfsQuota('-1\n')).toBeNull();
    expect(parseCfsQuota('0\n')).toBeUndefined();
    expect(parseCfsQuota('x')).toBeUndefined();
  });

  it('reads memory.limit_in_bytes: the page counter maximum (any page size) is no limit', () => {
    expect(parseV1MemoryLimit('536870912\n')).toBe(536870912);
    expect(parseV1MemoryLimit('9223372036854771712\n')).toBeNull(); // 4 KiB pages
    expect(parseV1MemoryLimit('9223372036854710272\n')).toBeNull(); // 64 KiB pages
    expect(parseV1MemoryLimit('-1')).toBeUndefined();
  });
});
