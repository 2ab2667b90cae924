import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { put, putFixture } from '../test/fixtureTree';
import { findCgroupContainment } from './cgroupContainment';
import { readCgroupLayout } from './cgroupLayout';

let root: string;
let procRoot: string;
let cgroupRoot: string;

const roots = (): { procRoot: string; cgroupRoot: string } => ({ procRoot, cgroupRoot });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rediver-cgroups-'));
  procRoot = join(root, 'proc');
  cgroupRoot = join(root, 'cgroup');
  mkdirSync(procRoot, { recursive: true });
  mkdirSync(cgroupRoot, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** This machine's layout: v1 cpu, cpuacct, memory (nested path) mounted apart, an empty unified hierarchy. */
function hybrid(): void {
  putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-hybrid-nested');
  putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-hybrid');
  put(join(cgroupRoot, 'unified', 'cgroup.controllers'), '\n');
  put(join(cgroupRoot, 'unified', 'cgroup.subtree_control'), '\n');
  put(join(cgroupRoot, 'unified', 'cgroup.procs'), '1\n42\n');
  for (const dir of ['cpu/agent', 'cpuacct/agent', 'memory/process_api/b3d2aa6e87c964911f635c1c1c4c865e']) {
    put(join(cgroupRoot, dir, 'cgroup.procs'), '42\n');
  }
  mkdirSync(join(cgroupRoot, 'cpuset'), { recursive: true });
  mkdirSync(join(cgroupRoot, 'devices'), { recursive: true });
  mkdirSync(join(cgroupRoot, 'systemd'), { recursive: true });
}

/** A systemd service with `Delegate=yes` under pure cgroup v2. */
function delegatedV2(subtreeControl: string): string {
  const dir = join(cgroupRoot, 'system.slice', 'rediver-agent.service');
  put(join(procRoot, 'self', 'cgroup'), '0::/system.slice/rediver-agent.service\n');
  putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-v2');
  put(join(cgroupRoot, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  put(join(dir, 'cgroup.controllers'), 'cpu io memory pids\n');
  put(join(dir, 'cgroup.subtree_control'), subtreeControl);
  put(join(dir, 'cgroup.type'), 'domain\n');
  put(join(dir, 'cgroup.procs'), '42\n');
  return dir;
}

describe('readCgroupLayout', () => {
  it('finds every hierarchy of a hybrid host, with nested paths from /proc/self/cgroup and mountinfo', () => {
    hybrid();
    const layout = readCgroupLayout(roots());
    expect(layout.v2).toMatchObject({
      version: 2,
      controllers: [],
      path: '/',
      dirs: [join(cgroupRoot, 'unified')],
    });
    expect(layout.v1.get('memory')).toMatchObject({
      version: 1,
      path: '/process_api/b3d2aa6e87c964911f635c1c1c4c865e',
      dirs: [
        join(cgroupRoot, 'memory', 'process_api', 'b3d2aa6e87c964911f635c1c1c4c865e'),
        join(cgroupRoot, 'memory', 'process_api'),
        join(cgroupRoot, 'memory'),
      ],
    });
    expect(layout.v1.get('cpu')?.dirs).toEqual([join(cgroupRoot, 'cpu', 'agent'), join(cgroupRoot, 'cpu')]);
    expect(layout.v1.get('cpuacct')?.mountPoint).toBe(join(cgroupRoot, 'cpuacct'));
    expect(layout.v1.get('name=systemd')?.dirs).toEqual([join(cgroupRoot, 'systemd')]);
  });

  it('maps co-mounted controllers to one hierarchy, and a container mount root to its mount point', () => {
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v1');
    putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-v1-container');
    mkdirSync(join(cgroupRoot, 'cpu,cpuacct'), { recursive: true });
    mkdirSync(join(cgroupRoot, 'memory'), { recursive: true });
    const layout = readCgroupLayout(roots());
    expect(layout.v2).toBeUndefined();
    expect(layout.v1.get('cpu')).toBe(layout.v1.get('cpuacct'));
    expect(layout.v1.get('cpu')).toMatchObject({ readOnly: true, dirs: [join(cgroupRoot, 'cpu,cpuacct')] });
    expect(layout.v1.get('memory')?.dirs).toEqual([join(cgroupRoot, 'memory')]);
  });

  it('finds nothing without /proc/self/cgroup (not Linux)', () => {
    const layout = readCgroupLayout(roots());
    expect(layout.v2).toBeUndefined();
    expect(layout.v1.size).toBe(0);
  });
});

describe('findCgroupContainment', () => {
  it('prefers a delegated v2 subtree with cpu and memory enabled for children', () => {
    const dir = delegatedV2('cpu memory\n');
    expect(findCgroupContainment({ ...roots(), isWritable: () => true })).toEqual({
      kind: 'cgroup-v2',
      parentDir: dir,
      controllersEnabled: true,
      leafRequired: false,
    });
  });

  it('says when the controllers must be enabled first, and that the agent must leave its cgroup to do it', () => {
    const dir = delegatedV2('\n');
    expect(findCgroupContainment({ ...roots(), isWritable: () => true })).toEqual({
      kind: 'cgroup-v2',
      parentDir: dir,
      controllersEnabled: false,
      leafRequired: true,
    });
  });

  it('refuses a v2 subtree this process may not write (not delegated)', () => {
    const dir = delegatedV2('cpu memory\n');
    const found = findCgroupContainment({ ...roots(), isWritable: (p) => !p.startsWith(dir) });
    expect(found).toEqual({
      kind: 'none',
      reasons: [`cgroup v2 at ${dir}: not writable by this process (not delegated, or mounted read-only)`],
    });
  });

  it('falls back to writable v1 cpu and memory hierarchies on a hybrid host (empty unified)', () => {
    hybrid();
    expect(findCgroupContainment({ ...roots(), isWritable: () => true })).toEqual({
      kind: 'cgroup-v1',
      cpuDir: join(cgroupRoot, 'cpu', 'agent'),
      memoryDir: join(cgroupRoot, 'memory', 'process_api', 'b3d2aa6e87c964911f635c1c1c4c865e'),
      cpuacctDir: join(cgroupRoot, 'cpuacct', 'agent'),
    });
  });

  it('gives the reasons when neither version can be used', () => {
    hybrid();
    const memory = join(cgroupRoot, 'memory', 'process_api', 'b3d2aa6e87c964911f635c1c1c4c865e');
    const found = findCgroupContainment({ ...roots(), isWritable: (p) => p !== memory });
    expect(found).toEqual({
      kind: 'none',
      reasons: [
        `cgroup v2 at ${join(cgroupRoot, 'unified')}: cpu and memory controllers not available`,
        `cgroup v1: ${memory} not writable by this process (or mounted read-only)`,
      ],
    });
  });

  it('treats a read-only mount as not writable whatever access() says (containers)', () => {
    putFixture(join(procRoot, 'self', 'cgroup'), 'self-cgroup-v1');
    putFixture(join(procRoot, 'self', 'mountinfo'), 'mountinfo-v1-container');
    mkdirSync(join(cgroupRoot, 'cpu,cpuacct'), { recursive: true });
    mkdirSync(join(cgroupRoot, 'memory'), { recursive: true });
    const found = findCgroupContainment({ ...roots(), isWritable: () => true });
    expect(found.kind).toBe('none');
  });

  it('says none outside Linux', () => {
    expect(findCgroupContainment({ ...roots(), isWritable: () => true })).toEqual({
      kind: 'none',
      reasons: ['no cgroup hierarchy found for this process'],
    });
  });
});
