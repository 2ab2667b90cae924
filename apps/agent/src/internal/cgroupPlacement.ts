import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/*
 * Where may the agent create a child cgroup for a scanner? A pure look at /proc and the cgroup mounts: nothing
 * is created or changed here. One function (`detectCgroupPlacement`) so that it can later be swapped for the
 * detector @rediver/resource is getting (branch feat/pkgs), whose layouts (v1, v2, hybrid) are the same.
 */

/** Where scanner cgroups go: under one cgroup v2 directory, or under the v1 `cpu` and `memory` directories. */
export type CgroupPlacement =
  | {
      version: 2;
      /** The directory scanner cgroups are created in (the agent's own cgroup, or the one it moves into). */
      parent: string;
      /**
       * The agent's own cgroup holds the agent: cgroup v2 allows controllers for children only in a cgroup
       * without processes, so the agent first moves itself into `<parent>/agent` and enables cpu and memory for
       * `parent`'s children (what systemd's `Delegate=yes` hands a service).
       */
      moveSelfTo: string | undefined;
    }
  | { version: 1; cpuParent: string; memoryParent: string };

/** Where the kernel files are (fixture trees in tests). */
export interface CgroupFsOptions {
  /** procfs (`self/cgroup`, `self/mountinfo`). Default `/proc`. */
  procRoot?: string;
  /** Prefix put before every mount point read from mountinfo (a fixture tree). Default none. */
  mountPrefix?: string;
}

interface Mount {
  /** Root of the mount inside its hierarchy (`/` unless a cgroup namespace or bind mount says otherwise). */
  root: string;
  point: string;
  fsType: string;
  superOptions: string[];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** mountinfo lines: `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    const root = left[3];
    const point = left[4];
    if (root === undefined || point === undefined || right[0] === undefined) continue;
    const unescape = (s: string): string =>
      s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({
      root: unescape(root),
      point: unescape(point),
      fsType: right[0],
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/** `/proc/self/cgroup`: hierarchy id → controllers → path. */
export function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  const out: { controllers: string[]; path: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    out.push({ controllers: m[2] === '' ? [] : m[2]!.split(','), path: m[3]! });
  }
  return out;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function words(path: string): string[] {
  return (readText(path) ?? '').split(/\s+/).filter(Boolean);
}

/** The directory of `cgroupPath` inside a mount (the mount may show only a sub-tree: its `root`). */
function dirIn(mount: Mount, cgroupPath: string, prefix: string): string | undefined {
  const rel = relative(mount.root, cgroupPath);
  if (rel.startsWith('..')) return undefined;
  return resolve(prefix + mount.point, rel);
}

/**
 * Where the agent may create a child cgroup with cpu and memory limits, or undefined (then scanners are
 * contained by priority and the watchdog). Reads only: `/proc/self/cgroup`, `/proc/self/mountinfo`, and the
 * candidate directories' `cgroup.controllers`/`cgroup.subtree_control`, `cgroup.procs` and write permission.
 */
export function detectCgroupPlacement(options: CgroupFsOptions = {}): CgroupPlacement | undefined {
  const procRoot = options.procRoot ?? '/proc';
  const prefix = options.mountPrefix ?? '';
  const cgroupText = readText(join(procRoot, 'self', 'cgroup'));
  const mountText = readText(join(procRoot, 'self', 'mountinfo'));
  if (cgroupText === undefined || mountText === undefined) return undefined;
  const entries = parseProcCgroup(cgroupText);
  const mounts = parseMountinfo(mountText);
  // cgroup v1 with both controllers: preferred where the v2 hierarchy has no controllers (hybrid hosts).
  const v1 = (controller: string): string | undefined => {
    const entry = entries.find((e) => e.controllers.includes(controller));
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    if (entry === undefined || mount === undefined) return undefined;
    const dir = dirIn(mount, entry.path, prefix);
    return dir !== undefined && existsSync(join(dir, 'cgroup.procs')) && writable(dir) ? dir : undefined;
  };
  const unified = entries.find(
    (e) => e.controllers.length === 0 && e.path !== undefined && e.path.startsWith('/'),
  );
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (unified !== undefined && v2Mount !== undefined) {
    const own = dirIn(v2Mount, unified.path, prefix);
    if (own !== undefined && existsSync(join(own, 'cgroup.procs')) && writable(own)) {
      const available = words(join(own, 'cgroup.controllers'));
      if (available.includes('cpu') && available.includes('memory')) {
        const enabled = words(join(own, 'cgroup.subtree_control'));
        const isRoot = v2Mount.root === unified.path || resolve(prefix + v2Mount.point) === own;
        // Children may get controllers when they are already enabled (nothing else of ours lives here), when
        // this is the namespace's root (exempt from the no-internal-process rule), or after moving out.
        const ready = enabled.includes('cpu') && enabled.includes('memory');
        return { version: 2, parent: own, moveSelfTo: ready || isRoot ? undefined : join(own, 'agent') };
      }
    }
  }
  const cpuParent = v1('cpu');
  const memoryParent = v1('memory');
  if (cpuParent !== undefined && memoryParent !== undefined) return { version: 1, cpuParent, memoryParent };
  return undefined;
}
