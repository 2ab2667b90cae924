import { join } from 'node:path';
import { findCgroupContainment } from '@rediver/resource';

/*
 * Where may the agent create a child cgroup for a scanner? @rediver/resource's `findCgroupContainment` reads
 * /proc and the cgroup mounts (v1, v2, hybrid; nothing is created or changed); this maps its answer onto what
 * the agent's containment needs.
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

/**
 * Where the agent may create a child cgroup with cpu and memory limits, or undefined (then scanners are
 * contained by priority and the watchdog).
 */
export function detectCgroupPlacement(options: CgroupFsOptions = {}): CgroupPlacement | undefined {
  const found = findCgroupContainment({
    ...(options.procRoot === undefined ? {} : { procRoot: options.procRoot }),
    ...(options.mountPrefix === undefined
      ? {}
      : { cgroupRoot: join(options.mountPrefix, 'sys', 'fs', 'cgroup') }),
  });
  switch (found.kind) {
    case 'cgroup-v2':
      return {
        version: 2,
        parent: found.parentDir,
        moveSelfTo: found.leafRequired ? join(found.parentDir, 'agent') : undefined,
      };
    case 'cgroup-v1':
      return { version: 1, cpuParent: found.cpuDir, memoryParent: found.memoryDir };
    case 'none':
      return undefined;
  }
}
