import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { CgroupMountEntry, ProcCgroupEntry } from './internal/parsers';
import { parseMountinfo, parseProcCgroup } from './internal/parsers';

/** Where cgroupfs is mounted on a standard Linux host; mount points under it are read under `cgroupRoot`. */
export const STANDARD_CGROUP_ROOT = '/sys/fs/cgroup';

/** The process's place in one cgroup hierarchy. */
export interface CgroupHierarchy {
  /** 1 (a v1 hierarchy with its controllers) or 2 (the unified hierarchy). */
  readonly version: 1 | 2;
  /** v1: the controllers bound to this hierarchy (`cpu`, `cpuacct`, `memory` ...); v2: those in `cgroup.controllers`. */
  readonly controllers: readonly string[];
  /** Where the hierarchy is mounted (under `cgroupRoot` when that option is set). */
  readonly mountPoint: string;
  /** Mounted read-only. */
  readonly readOnly: boolean;
  /** The process's path in the hierarchy, as `/proc/self/cgroup` gives it. */
  readonly path: string;
  /** The process's cgroup directory first, then each parent up to and including the mount point. */
  readonly dirs: readonly string[];
}

/** Every cgroup hierarchy the process is in, as `readCgroupLayout` found them. */
export interface CgroupLayout {
  /** The unified (v2) hierarchy, when mounted: pure v2, or hybrid's (often empty) `unified` mount. */
  readonly v2: CgroupHierarchy | undefined;
  /** v1 hierarchies by controller name (`cpu` and `cpuacct` map to the same one when co-mounted). */
  readonly v1: ReadonlyMap<string, CgroupHierarchy>;
}

/** Where to read: procfs and cgroupfs roots (fixture directories in tests). */
export interface CgroupRoots {
  /** procfs (`self/cgroup`, `self/mountinfo`); default `/proc`. */
  procRoot?: string;
  /** cgroupfs; default `/sys/fs/cgroup`. Mount points under `/sys/fs/cgroup` are read under it. */
  cgroupRoot?: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** A mount point as seen from this process's filesystem, moved under `cgroupRoot` when that is not standard. */
function mapMountPoint(mountPoint: string, cgroupRoot: string): string {
  if (cgroupRoot === STANDARD_CGROUP_ROOT) return mountPoint;
  if (mountPoint === STANDARD_CGROUP_ROOT || mountPoint.startsWith(`${STANDARD_CGROUP_ROOT}/`)) {
    return join(cgroupRoot, mountPoint.slice(STANDARD_CGROUP_ROOT.length));
  }
  return join(cgroupRoot, mountPoint);
}

/**
 * The process's directory in a hierarchy mounted at `mountPoint` whose mounted root is `root`, then its
 * parents up to the mount point. A path outside the mounted subtree, or one that does not exist there (a
 * container without a cgroup namespace sees the host's path but only its own subtree), reads the mount point.
 */
function processDirs(mountPoint: string, root: string, path: string): string[] {
  const mount = resolve(mountPoint);
  let rel: string | undefined;
  if (root === '/') rel = path;
  else if (path === root || path.startsWith(`${root}/`)) rel = path.slice(root.length) || '/';
  let leaf = rel === undefined ? mount : resolve(mount, `.${rel}`);
  if (leaf !== mount && (!leaf.startsWith(mount + sep) || !existsSync(leaf))) leaf = mount;
  const dirs = [leaf];
  for (let dir = leaf; dir !== mount && dir.length > mount.length;) {
    dir = dirname(dir);
    dirs.push(dir);
  }
  return dirs;
}

function v2Controllers(dir: string): string[] {
  const text = readText(join(dir, 'cgroup.controllers'));
  return text === undefined ? [] : text.trim().split(/\s+/).filter(Boolean);
}

/** Without mountinfo (a fixture, an odd procfs): the layouts systemd and container runtimes create. */
function conventionalMounts(cgroupRoot: string, entries: readonly ProcCgroupEntry[]): CgroupMountEntry[] {
  const mounts: CgroupMountEntry[] = [];
  const unified = [cgroupRoot, join(cgroupRoot, 'unified')].find((dir) =>
    existsSync(join(dir, 'cgroup.controllers')),
  );
  if (unified !== undefined) {
    mounts.push({ version: 2, root: '/', mountPoint: unified, readOnly: false, controllers: [] });
  }
  let names: string[] = [];
  try {
    names = readdirSync(cgroupRoot);
  } catch {
    // No cgroupfs here: v2 (if found) is all there is.
  }
  for (const entry of entries) {
    if (entry.controllers.length === 0) continue;
    // `cpu,cpuacct` is usually mounted under that name, with `cpu` and `cpuacct` symlinks to it.
    const named = entry.controllers.map((c) => c.replace(/^name=/, ''));
    const dir = [named.join(','), ...named].find((name) => names.includes(name));
    if (dir === undefined) continue;
    mounts.push({
      version: 1,
      root: '/',
      mountPoint: join(cgroupRoot, dir),
      readOnly: false,
      controllers: entry.controllers,
    });
  }
  return mounts;
}

/**
 * Finds the process's cgroups in every mounted hierarchy, v1 and v2 (hybrid hosts have both), from
 * `/proc/self/cgroup` and `/proc/self/mountinfo` (or the standard layout under `cgroupRoot` when there is no
 * mountinfo). Reads a handful of small files; never throws.
 */
export function readCgroupLayout(roots: CgroupRoots = {}): CgroupLayout {
  const procRoot = roots.procRoot ?? '/proc';
  const cgroupRoot = roots.cgroupRoot ?? STANDARD_CGROUP_ROOT;
  const entries = parseProcCgroup(readText(join(procRoot, 'self', 'cgroup')) ?? '');
  const v1 = new Map<string, CgroupHierarchy>();
  if (entries.length === 0) return { v2: undefined, v1 };
  const mountinfo = readText(join(procRoot, 'self', 'mountinfo'));
  const mounts =
    mountinfo === undefined
      ? conventionalMounts(cgroupRoot, entries)
      : parseMountinfo(mountinfo).map((m) => ({ ...m, mountPoint: mapMountPoint(m.mountPoint, cgroupRoot) }));
  // A hierarchy may be mounted more than once (a runtime's private mount, a bind mount): prefer the one
  // under cgroupRoot, where the host's tools look too.
  const underRoot = (m: CgroupMountEntry): number => (m.mountPoint.startsWith(cgroupRoot) ? 0 : 1);
  mounts.sort((a, b) => underRoot(a) - underRoot(b));

  let v2: CgroupHierarchy | undefined;
  const unifiedEntry = entries.find((e) => e.id === 0 && e.controllers.length === 0);
  const unifiedMount = mounts.find((m) => m.version === 2 && existsSync(m.mountPoint));
  if (unifiedEntry !== undefined && unifiedMount !== undefined) {
    const dirs = processDirs(unifiedMount.mountPoint, unifiedMount.root, unifiedEntry.path);
    v2 = {
      version: 2,
      controllers: v2Controllers(dirs[0] ?? unifiedMount.mountPoint),
      mountPoint: resolve(unifiedMount.mountPoint),
      readOnly: unifiedMount.readOnly,
      path: unifiedEntry.path,
      dirs,
    };
  }
  for (const entry of entries) {
    if (entry.controllers.length === 0) continue;
    // The hierarchy whose mount carries every controller of this line (the same set, in any order).
    const mount = mounts.find(
      (m) =>
        m.version === 1 &&
        entry.controllers.every((c) => m.controllers.includes(c)) &&
        existsSync(m.mountPoint),
    );
    if (mount === undefined) continue;
    const hierarchy: CgroupHierarchy = {
      version: 1,
      controllers: entry.controllers,
      mountPoint: resolve(mount.mountPoint),
      readOnly: mount.readOnly,
      path: entry.path,
      dirs: processDirs(mount.mountPoint, mount.root, entry.path),
    };
    for (const controller of entry.controllers) v1.set(controller, hierarchy);
  }
  return { v2, v1 };
}

/**
 * The directory of `hierarchy` that corresponds to `dir` of `other` (same path relative to each mount), when
 * it exists: v1 `cpu` and `cpuacct` may be separate hierarchies with the same tree.
 */
export function matchingDir(
  dir: string,
  other: CgroupHierarchy,
  hierarchy: CgroupHierarchy,
): string | undefined {
  if (other === hierarchy) return dir;
  const rel = relative(other.mountPoint, dir);
  if (rel.startsWith('..')) return undefined;
  const candidate = join(hierarchy.mountPoint, rel);
  return existsSync(candidate) ? candidate : undefined;
}
