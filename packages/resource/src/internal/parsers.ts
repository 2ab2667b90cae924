// Parsers of the kernel's text files (procfs, cgroup v1 and v2). Pure functions over the file's text so they
// can be tested against fixtures; each returns `undefined` for text it does not understand, never throws.

/** Cumulative CPU time of the whole machine from `/proc/stat`, in clock ticks. */
export interface ProcStatCpu {
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is already in user/nice). */
  total: number;
  /** idle + iowait: time no task wanted the CPU. */
  idle: number;
}

/** Parses the aggregate `cpu ` line (the first line) of `/proc/stat`. */
export function parseProcStat(text: string): ProcStatCpu | undefined {
  if (!text.startsWith('cpu ')) return undefined;
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const fields = text.slice(4, end).trim().split(/\s+/);
  // Kernels since 2.6.11 print at least 8 fields; 2.6 had 7 and very old ones 4.
  if (fields.length < 4) return undefined;
  let total = 0;
  const n = Math.min(fields.length, 8);
  for (let i = 0; i < n; i++) {
    const v = Number(fields[i]);
    if (!Number.isFinite(v) || v < 0) return undefined;
    total += v;
  }
  const idle = Number(fields[3]) + (fields.length > 4 ? Number(fields[4]) : 0);
  return { total, idle };
}

/** Machine memory from `/proc/meminfo`, bytes. */
export interface MemInfo {
  totalBytes: number;
  /** `MemAvailable` (kernel 3.14+): memory that can be given to new work without swapping. */
  availableBytes: number | undefined;
}

/** Parses `MemTotal` and `MemAvailable` from `/proc/meminfo` (values are in kB). */
export function parseMeminfo(text: string): MemInfo | undefined {
  const total = keyedValue(text, 'MemTotal:');
  if (total === undefined || total <= 0) return undefined;
  const available = keyedValue(text, 'MemAvailable:');
  return { totalBytes: total * 1024, availableBytes: available === undefined ? undefined : available * 1024 };
}

/** A cgroup v2 `cpu.max`: the quota per period, or no quota. */
export interface CpuMax {
  /** Microseconds of CPU per period; `null` when the file says `max` (no quota). */
  quotaUs: number | null;
  periodUs: number;
}

/** Parses `cpu.max`: `max 100000` or `50000 100000`. */
export function parseCpuMax(text: string): CpuMax | undefined {
  const parts = text.trim().split(/\s+/);
  const [quota, period] = parts;
  if (quota === undefined || quota === '' || parts.length > 2) return undefined;
  // The kernel always prints the period; tolerate it missing (default 100 ms) rather than drop the quota.
  const periodUs = period === undefined ? 100_000 : Number(period);
  if (!Number.isFinite(periodUs) || periodUs <= 0) return undefined;
  if (quota === 'max') return { quotaUs: null, periodUs };
  const quotaUs = Number(quota);
  if (!Number.isFinite(quotaUs) || quotaUs <= 0) return undefined;
  return { quotaUs, periodUs };
}

/** Parses `memory.max` (or any single-value limit file): bytes, or `null` for `max` (no limit). */
export function parseMemoryMax(text: string): number | null | undefined {
  const value = text.trim();
  if (value === 'max') return null;
  return parseCounter(value);
}

/** Parses a single non-negative integer file such as `memory.current`. */
export function parseCounter(text: string): number | undefined {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The value of `key` in a flat keyed file (`memory.stat`, `cpu.stat`, `/proc/meminfo`): the number after
 * the key at the start of a line. `key` must include its separator where the file has one (`MemTotal:`).
 */
export function keyedValue(text: string, key: string): number | undefined {
  let from = 0;
  for (;;) {
    const at = text.indexOf(key, from);
    if (at < 0) return undefined;
    const next = text.charCodeAt(at + key.length);
    // Whole key at a line start: `active_file` must not match inside `inactive_file`.
    if ((at === 0 || text.charCodeAt(at - 1) === 10) && (next === 32 || next === 9)) {
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      const token =
        text
          .slice(at + key.length, end)
          .trim()
          .split(/\s+/)[0] ?? '';
      if (!/^\d+$/.test(token)) return undefined;
      return Number(token);
    }
    from = at + key.length;
  }
}

/** One line of a PSI file: share of wall time stalled, percent, averaged over 10/60/300 s. */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, microseconds. */
  totalUs: number;
}

/** A PSI file (`/proc/pressure/cpu`, cgroup `memory.pressure` ...): its `some` and `full` lines. */
export interface Pressure {
  some: PressureLine | undefined;
  full: PressureLine | undefined;
}

/** Parses a PSI file: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and the `full` line. */
export function parsePressure(text: string): Pressure | undefined {
  let some: PressureLine | undefined;
  let full: PressureLine | undefined;
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const values: Record<string, number> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq > 0) values[pair.slice(0, eq)] = Number(pair.slice(eq + 1));
    }
    const { avg10, avg60, avg300, total } = values;
    if (!isStat(avg10) || !isStat(avg60) || !isStat(avg300) || !isStat(total)) continue;
    const parsed = { avg10, avg60, avg300, totalUs: total };
    if (kind === 'some') some = parsed;
    else full = parsed;
  }
  return some === undefined && full === undefined ? undefined : { some, full };
}

function isStat(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

/** One line of `/proc/self/cgroup`: a hierarchy the process belongs to and its path there. */
export interface ProcCgroupEntry {
  /** Hierarchy id; 0 is the cgroup v2 (unified) hierarchy. */
  id: number;
  /** v1 controllers of the hierarchy (`cpu`, `cpuacct`, `memory`, `name=systemd` ...); empty for v2. */
  controllers: string[];
  /** The process's cgroup path in that hierarchy, from the root of the process's cgroup namespace. */
  path: string;
}

/**
 * Parses `/proc/self/cgroup` (`hierarchy-id:controller-list:path` per line). Lines it cannot read, and paths
 * the kernel marks ` (deleted)` (the cgroup was removed under us), are skipped.
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const id = Number(line.slice(0, first));
    // The path itself may contain colons: everything after the second one.
    const path = line.slice(second + 1).trim();
    if (!Number.isInteger(id) || id < 0 || !path.startsWith('/') || path.endsWith(' (deleted)')) continue;
    const list = line.slice(first + 1, second);
    entries.push({ id, controllers: list === '' ? [] : list.split(','), path });
  }
  return entries;
}

/** The process's cgroup v2 path from `/proc/self/cgroup` (the `0::/path` line), or undefined (v1 only). */
export function parseCgroupV2Path(text: string): string | undefined {
  return parseProcCgroup(text).find((e) => e.id === 0 && e.controllers.length === 0)?.path;
}

/** A cgroup filesystem mount from `/proc/self/mountinfo`. */
export interface CgroupMountEntry {
  /** 1 for `cgroup`, 2 for `cgroup2`. */
  version: 1 | 2;
  /** The hierarchy path mounted here (`/` unless only a subtree is visible, as in some containers). */
  root: string;
  /** Where it is mounted. */
  mountPoint: string;
  /** Mounted read-only. */
  readOnly: boolean;
  /** v1: the controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd` ...); v2: empty. */
  controllers: string[];
}

/** mountinfo escapes space, tab, newline and backslash as `\ooo` octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** v1 super options that are not controller names. */
const V1_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode']);

/**
 * The cgroup and cgroup2 mounts in `/proc/self/mountinfo`:
 * `id parent major:minor root mount-point mount-options [optional...] - fstype source super-options`.
 */
export function parseMountinfo(text: string): CgroupMountEntry[] {
  const mounts: CgroupMountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountField(fields[3] ?? '');
    const mountPoint = unescapeMountField(fields[4] ?? '');
    if (!root.startsWith('/') || !mountPoint.startsWith('/')) continue;
    const readOnly = (fields[5] ?? '').split(',').includes('ro');
    const superOptions = (fields[dash + 3] ?? '').split(',');
    const controllers =
      fstype === 'cgroup'
        ? superOptions.filter((o) => o !== '' && !V1_OPTIONS.has(o) && !o.startsWith('release_agent='))
        : [];
    mounts.push({ version: fstype === 'cgroup' ? 1 : 2, root, mountPoint, readOnly, controllers });
  }
  return mounts;
}

/**
 * cgroup v1 `cpu.cfs_quota_us`: microseconds of CPU per period, or `null` for `-1` (no quota).
 * Undefined for text it does not understand.
 */
export function parseCfsQuota(text: string): number | null | undefined {
  const value = text.trim();
  if (value === '-1') return null;
  const quota = parseCounter(value);
  return quota === undefined || quota <= 0 ? undefined : quota;
}

/**
 * At or above this a cgroup v1 `memory.limit_in_bytes` means "no limit": the kernel prints its page counter's
 * maximum, `LONG_MAX` rounded down to a page (9223372036854771712 with 4 KiB pages), never a real amount.
 */
export const V1_UNLIMITED_BYTES = 2 ** 62;

/** cgroup v1 `memory.limit_in_bytes`: bytes, or `null` for the "unlimited" value. */
export function parseV1MemoryLimit(text: string): number | null | undefined {
  const value = parseCounter(text);
  if (value === undefined) return undefined;
  return value >= V1_UNLIMITED_BYTES ? null : value;
}
