import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseCgroupV2Path } from './parsers';

/** Where the process's cgroup v2 lives: its own directory and its ancestors up to the mount root. */
export interface CgroupLayout {
  /** The process's cgroup directory first, then each parent up to and including the mount root. */
  dirs: string[];
}

/**
 * Finds the process's cgroup v2 directory under `cgroupRoot` (pure v2 at the root, or the hybrid layout's
 * `unified` mount), or undefined when the process is not in a cgroup v2 hierarchy (v1 only, or not Linux).
 */
export function discoverCgroup(procRoot: string, cgroupRoot: string): CgroupLayout | undefined {
  let path: string | undefined;
  try {
    path = parseCgroupV2Path(readFileSync(join(procRoot, 'self', 'cgroup'), 'latin1'));
  } catch {
    return undefined;
  }
  if (path === undefined) return undefined;
  const found = [cgroupRoot, join(cgroupRoot, 'unified')].find((dir) =>
    existsSync(join(dir, 'cgroup.controllers')),
  );
  if (found === undefined) return undefined;
  const mount = resolve(found);
  // In a container with a cgroup namespace the path is `/` and the mount is the container's own cgroup;
  // without one the path is the host's and may not exist inside the container's mount: use its root.
  let leaf = join(mount, path);
  if (!leaf.startsWith(mount) || !existsSync(leaf)) leaf = mount;
  const dirs = [leaf];
  for (let dir = leaf; dir !== mount && dir.length > mount.length;) {
    dir = dirname(dir);
    dirs.push(dir);
  }
  return { dirs };
}
