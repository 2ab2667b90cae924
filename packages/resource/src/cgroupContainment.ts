import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupHierarchy, CgroupRoots } from './cgroupLayout';
import { readCgroupLayout } from './cgroupLayout';

/**
 * Scanners can be contained in cgroup v2: create `<parentDir>/<name>`, write `cpu.max` and `memory.max` there,
 * then the scanner's pid to its `cgroup.procs`; `rmdir` it once the scanner's processes are gone.
 */
export interface CgroupV2Containment {
  readonly kind: 'cgroup-v2';
  /** This process's own cgroup directory: scanner cgroups are created under it. */
  readonly parentDir: string;
  /**
   * Whether `cpu` and `memory` are already enabled for children (in `<parentDir>/cgroup.subtree_control`).
   * When false they are available and the file is writable: write `+cpu +memory` to it first.
   */
  readonly controllersEnabled: boolean;
  /**
   * True when enabling must first empty `parentDir`: the kernel refuses `subtree_control` (EBUSY) while
   * processes sit in a non-root cgroup itself, so move them (this process among them) into a leaf such as
   * `<parentDir>/agent` before enabling. False when enabled already, or `parentDir` is the root or empty.
   */
  readonly leafRequired: boolean;
}

/**
 * Scanners can be contained in cgroup v1: create `<cpuDir>/<name>` (write `cpu.cfs_period_us` and
 * `cpu.cfs_quota_us`) and `<memoryDir>/<name>` (write `memory.limit_in_bytes`), write the scanner's pid to
 * each one's `cgroup.procs` (and to `<cpuacctDir>/<name>` when that is separate), `rmdir` them afterwards.
 */
export interface CgroupV1Containment {
  readonly kind: 'cgroup-v1';
  /** This process's cgroup in the `cpu` hierarchy. */
  readonly cpuDir: string;
  /** This process's cgroup in the `memory` hierarchy. */
  readonly memoryDir: string;
  /**
   * This process's cgroup in the `cpuacct` hierarchy when that is mounted apart from `cpu` (a scanner's CPU
   * time is measured there, `cpuacct.usage`); undefined when co-mounted with `cpu` (use `cpuDir`) or absent.
   */
  readonly cpuacctDir: string | undefined;
}

/** No cgroup this process may create can contain a scanner: fall back to priority and a watchdog. */
export interface NoCgroupContainment {
  readonly kind: 'none';
  /** Why, one line per hierarchy looked at (`cgroup v2 at /sys/fs/cgroup/unified: no cpu controller`). */
  readonly reasons: readonly string[];
}

/** What `findCgroupContainment` found. */
export type CgroupContainment = CgroupV2Containment | CgroupV1Containment | NoCgroupContainment;

/** Options of `findCgroupContainment`. */
export interface CgroupContainmentOptions extends CgroupRoots {
  /**
   * Whether this process may create and write cgroups at `path`; default `access(path, W_OK)` (which also says
   * no on a read-only mount). Injectable because tests run as root, for whom `access` always says yes.
   */
  isWritable?: (path: string) => boolean;
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function words(path: string): string[] {
  try {
    return readFileSync(path, 'latin1').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

const NEEDED = ['cpu', 'memory'] as const;

function v2Containment(
  v2: CgroupHierarchy,
  writable: (path: string) => boolean,
  reasons: string[],
): CgroupV2Containment | undefined {
  const dir = v2.dirs[0] ?? v2.mountPoint;
  const where = `cgroup v2 at ${dir}`;
  const available = words(join(dir, 'cgroup.controllers'));
  const missing = NEEDED.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    reasons.push(
      `${where}: ${missing.join(' and ')} controller${missing.length > 1 ? 's' : ''} not available`,
    );
    return undefined;
  }
  if (v2.readOnly || !writable(dir)) {
    reasons.push(`${where}: not writable by this process (not delegated, or mounted read-only)`);
    return undefined;
  }
  const enabled = words(join(dir, 'cgroup.subtree_control'));
  const controllersEnabled = NEEDED.every((c) => enabled.includes(c));
  if (!controllersEnabled && !writable(join(dir, 'cgroup.subtree_control'))) {
    reasons.push(
      `${where}: cpu and memory are not enabled for children and cgroup.subtree_control is not writable`,
    );
    return undefined;
  }
  // Only the real root cgroup is exempt from the "no internal processes" rule, and only it has no
  // `cgroup.type` (a cgroup namespace's root is not the real root: it has one).
  const isRoot = !existsSync(join(dir, 'cgroup.type'));
  const leafRequired = !controllersEnabled && !isRoot && words(join(dir, 'cgroup.procs')).length > 0;
  return { kind: 'cgroup-v2', parentDir: dir, controllersEnabled, leafRequired };
}

function v1Containment(
  v1: ReadonlyMap<string, CgroupHierarchy>,
  writable: (path: string) => boolean,
  reasons: string[],
): CgroupV1Containment | undefined {
  const cpu = v1.get('cpu');
  const memory = v1.get('memory');
  if (cpu === undefined || memory === undefined) {
    const missing = NEEDED.filter((c) => !v1.has(c));
    if (v1.size > 0) reasons.push(`cgroup v1: no ${missing.join(' or ')} hierarchy mounted`);
    return undefined;
  }
  const cpuDir = cpu.dirs[0] ?? cpu.mountPoint;
  const memoryDir = memory.dirs[0] ?? memory.mountPoint;
  const blocked = [
    ...(cpu.readOnly || !writable(cpuDir) ? [cpuDir] : []),
    ...(memory.readOnly || !writable(memoryDir) ? [memoryDir] : []),
  ];
  if (blocked.length > 0) {
    reasons.push(`cgroup v1: ${blocked.join(' and ')} not writable by this process (or mounted read-only)`);
    return undefined;
  }
  const cpuacct = v1.get('cpuacct');
  const cpuacctDir =
    cpuacct === undefined || cpuacct === cpu ? undefined : (cpuacct.dirs[0] ?? cpuacct.mountPoint);
  return { kind: 'cgroup-v1', cpuDir, memoryDir, cpuacctDir };
}

/**
 * Where this process may create child cgroups that cap a scanner's CPU and memory: a cgroup v2 subtree it
 * may write with the `cpu` and `memory` controllers available (its own cgroup, delegated), else writable
 * cgroup v1 `cpu` and `memory` hierarchies, else `none` with the reasons. Reads only; creates nothing.
 * Linux only (elsewhere: `none`).
 */
export function findCgroupContainment(options: CgroupContainmentOptions = {}): CgroupContainment {
  const writable = options.isWritable ?? canWrite;
  const layout = readCgroupLayout(options);
  const reasons: string[] = [];
  const v2 = layout.v2 === undefined ? undefined : v2Containment(layout.v2, writable, reasons);
  if (v2 !== undefined) return v2;
  const v1 = v1Containment(layout.v1, writable, reasons);
  if (v1 !== undefined) return v1;
  if (layout.v2 === undefined && layout.v1.size === 0)
    reasons.push('no cgroup hierarchy found for this process');
  return { kind: 'none', reasons };
}
