import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CgroupPlacement } from './cgroupPlacement';

/*
 * Containing a scanner's process group: its own cgroup with cpu and memory limits where the agent may create
 * one (v2 `cpu.max`/`memory.max`, v1 `cpu.cfs_quota_us`/`memory.limit_in_bytes`), else a lower scheduling
 * priority and a watchdog that samples the group from /proc and stops it over budget (osquery's watchdog).
 */

/** The caps of one scanner's process group. */
export interface ScannerCaps {
  /** CPU, percent of the effective CPUs (100 = all of them). */
  maxCpuPercent: number;
  /** Memory (RSS of the group; the cgroup's charge), bytes. */
  maxMemoryBytes: number;
  /** The effective CPUs the percent refers to. */
  effectiveCpus: number;
}

/** What a contained scanner used, as far as it could be measured. */
export interface ScannerUsage {
  /** How it was contained. */
  containedBy: 'cgroup-v2' | 'cgroup-v1' | 'watchdog' | 'none';
  /** Highest memory seen (cgroup peak, or the watchdog's largest sample), bytes. */
  peakMemoryBytes?: number;
  /** CPU time of the group, seconds (cgroup v2, or the watchdog's sum). */
  cpuSeconds?: number;
}

/** Least a derived memory cap gives a scanner (an explicit `scanners.maxMemoryMB` may be lower). */
export const MIN_DERIVED_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Default caps, derived from the resource thresholds: a scanner may use the CPU the controller allows the whole
 * host (`cpuThreshold` of the effective CPUs, at least one CPU), and its share of the memory the controller allows
 * (`memoryThreshold` of the effective memory divided between the concurrent jobs, at least 256 MiB), so that every
 * slot busy still stays under the line where the agent stops admitting jobs. Explicit values are taken as given.
 */
export function defaultScannerCaps(input: {
  cpuThreshold: number;
  memoryThreshold: number;
  maxConcurrentJobs: number;
  effectiveCpus?: number;
  memoryLimitBytes?: number;
  maxCpuPercent?: number | undefined;
  maxMemoryMB?: number | undefined;
}): ScannerCaps {
  const effectiveCpus = input.effectiveCpus ?? availableParallelism();
  const memory = input.memoryLimitBytes ?? totalmem();
  const share = Math.floor(((input.memoryThreshold / 100) * memory) / Math.max(1, input.maxConcurrentJobs));
  const oneCpu = Math.min(100, 100 / Math.max(1, effectiveCpus));
  return {
    maxCpuPercent: input.maxCpuPercent ?? Math.max(input.cpuThreshold, oneCpu),
    maxMemoryBytes:
      input.maxMemoryMB === undefined
        ? Math.min(memory, Math.max(share, MIN_DERIVED_MEMORY_BYTES))
        : input.maxMemoryMB * 1024 * 1024,
    effectiveCpus,
  };
}

const PERIOD_US = 100_000;

function tryWrite(path: string, text: string): boolean {
  try {
    writeFileSync(path, text);
    return true;
  } catch {
    return false;
  }
}

function readNumber(path: string, key?: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (key === undefined) {
    const n = Number(text.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

let selfMoved: string | undefined;

/** A scanner's own cgroup (v2: one directory; v1: one in `cpu`, one in `memory`). Created with its limits. */
export class ScannerCgroup {
  private constructor(
    readonly placement: CgroupPlacement,
    /** The directories, each with its `cgroup.procs` the scanner joins. */
    readonly dirs: string[],
  ) {}

  /**
   * Creates `name` under the placement with `caps` written; undefined when that fails (no permission, a
   * controller missing): the caller falls back to the watchdog. Nothing is left behind on failure.
   */
  static create(placement: CgroupPlacement, name: string, caps: ScannerCaps): ScannerCgroup | undefined {
    const quota = Math.max(1000, Math.round((caps.maxCpuPercent / 100) * caps.effectiveCpus * PERIOD_US));
    const memory = String(Math.max(4 * 1024 * 1024, Math.floor(caps.maxMemoryBytes)));
    const made: string[] = [];
    const fail = (): undefined => {
      for (const d of made.reverse()) {
        try {
          rmdirSync(d);
        } catch {
          // not ours to keep: the sweep of the next start removes what is left
        }
      }
      return undefined;
    };
    const mk = (dir: string): boolean => {
      try {
        mkdirSync(dir);
        made.push(dir);
        return true;
      } catch {
        return false;
      }
    };
    if (placement.version === 2) {
      if (placement.moveSelfTo !== undefined && selfMoved !== placement.moveSelfTo) {
        // Leave the parent without processes (the agent's own threads move with its pid), then let its children
        // have cpu and memory.
        try {
          mkdirSync(placement.moveSelfTo, { recursive: true });
        } catch {
          return undefined;
        }
        if (!tryWrite(join(placement.moveSelfTo, 'cgroup.procs'), String(process.pid))) return undefined;
        selfMoved = placement.moveSelfTo;
      }
      const enabled = readFileSync(join(placement.parent, 'cgroup.subtree_control'), 'utf8');
      if (!/\bcpu\b/.test(enabled) || !/\bmemory\b/.test(enabled)) {
        if (!tryWrite(join(placement.parent, 'cgroup.subtree_control'), '+cpu +memory')) return undefined;
      }
      const dir = join(placement.parent, name);
      if (!mk(dir)) return undefined;
      if (!tryWrite(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`)) return fail();
      if (!tryWrite(join(dir, 'memory.max'), memory)) return fail();
      // Over the cap the group is stopped, not pushed into swap.
      if (existsSync(join(dir, 'memory.swap.max'))) tryWrite(join(dir, 'memory.swap.max'), '0');
      return new ScannerCgroup(placement, [dir]);
    }
    const cpu = join(placement.cpuParent, name);
    const mem = join(placement.memoryParent, name);
    if (!mk(cpu)) return undefined;
    if (!tryWrite(join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US))) return fail();
    if (!tryWrite(join(cpu, 'cpu.cfs_quota_us'), String(quota))) return fail();
    if (!mk(mem)) return fail();
    if (!tryWrite(join(mem, 'memory.limit_in_bytes'), memory)) return fail();
    if (existsSync(join(mem, 'memory.memsw.limit_in_bytes')))
      tryWrite(join(mem, 'memory.memsw.limit_in_bytes'), memory);
    return new ScannerCgroup(placement, [cpu, mem]);
  }

  /** `cgroup.procs` files the scanner's first process writes its pid into before it runs the scanner. */
  procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  /** True when the kernel's OOM killer stopped a process of this group (it went over `memory`). */
  oomKilled(): boolean {
    if (this.placement.version === 2)
      return (readNumber(join(this.dirs[0]!, 'memory.events'), 'oom_kill') ?? 0) > 0;
    const mem = this.dirs[1]!;
    const kills = readNumber(join(mem, 'memory.oom_control'), 'oom_kill');
    // Kernels before 4.13 have no oom_kill count: hitting the limit (failcnt) is the sign.
    return kills === undefined ? (readNumber(join(mem, 'memory.failcnt')) ?? 0) > 0 : kills > 0;
  }

  /** Peak memory and CPU time as the cgroup counted them. */
  usage(): ScannerUsage {
    if (this.placement.version === 2) {
      const dir = this.dirs[0]!;
      const u: ScannerUsage = { containedBy: 'cgroup-v2' };
      const peak = readNumber(join(dir, 'memory.peak'));
      if (peak !== undefined) u.peakMemoryBytes = peak;
      const cpu = readNumber(join(dir, 'cpu.stat'), 'usage_usec');
      if (cpu !== undefined) u.cpuSeconds = cpu / 1e6;
      return u;
    }
    const u: ScannerUsage = { containedBy: 'cgroup-v1' };
    const peak = readNumber(join(this.dirs[1]!, 'memory.max_usage_in_bytes'));
    if (peak !== undefined) u.peakMemoryBytes = peak;
    return u;
  }

  /** Removes the directories (after the group's processes are gone); true when all went. */
  remove(): Promise<boolean> {
    return removeCgroupDirs(this.dirs);
  }
}

/** Removes cgroup directories (each must be empty of processes); retries briefly while the kernel lets go. */
export async function removeCgroupDirs(dirs: readonly string[]): Promise<boolean> {
  let ok = true;
  for (const dir of dirs) {
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      try {
        rmdirSync(dir);
        gone = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') gone = true;
        else await new Promise((r) => setTimeout(r, 20));
      }
    }
    ok &&= gone;
  }
  return ok;
}

/** One process as /proc/<pid>/stat shows it. */
export interface ProcStat {
  pid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime, clock ticks. */
  cpuTicks: number;
  /** Start time after boot, clock ticks (with the pid, identifies the process across pid reuse). */
  startTicks: number;
  rssPages: number;
  nice: number;
}

/** Parses `/proc/<pid>/stat` (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field n is f[n - 3].
  const n = (field: number): number => Number(f[field - 3]);
  return {
    pid,
    pgrp: n(5),
    cpuTicks: n(14) + n(15) + n(16) + n(17),
    startTicks: n(22),
    rssPages: n(24),
    nice: n(19),
  };
}

/** `/proc/<pid>/stat` of one process, or undefined when it is gone. */
export function procStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every live process of process group `pgid` (from a scan of /proc). */
export function processGroup(pgid: number, procRoot = '/proc'): ProcStat[] {
  const out: ProcStat[] = [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const s = procStat(Number(name), procRoot);
    if (s !== undefined && s.pgrp === pgid) out.push(s);
  }
  return out;
}

let pageSize: number | undefined;

/** The kernel's page size (RSS in /proc/<pid>/stat is in pages): from this process's own VmRSS and rss. */
export function kernelPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
    const pages = procStat(process.pid)?.rssPages;
    if (kb > 0 && pages !== undefined && pages > 0) {
      const ratio = (kb * 1024) / pages;
      pageSize = 2 ** Math.round(Math.log2(ratio));
    }
  } catch {
    // not Linux: the watchdog has nothing to read anyway
  }
  return pageSize;
}

/** Clock ticks per second of /proc times (USER_HZ, 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

/** Options of a `Watchdog`. */
export interface WatchdogOptions {
  pgid: number;
  caps: ScannerCaps;
  /** Sampling interval, ms. */
  intervalMs: number;
  /** Consecutive samples over the CPU cap before the group is stopped. */
  cpuGraceSamples: number;
  /** Nice value given to the group's processes (they run after the host's own work). */
  nice: number;
  /** Called once when the group goes over a cap (the caller stops it). */
  onOverBudget: (what: {
    resource: 'memory' | 'cpu';
    used: number;
    cap: number;
    unit: 'bytes' | 'percent';
  }) => void;
  procRoot?: string;
}

/**
 * Samples a process group from /proc: the sum of its RSS against the memory cap (over it: stopped at once), and
 * its CPU against the CPU cap (over it for `cpuGraceSamples` samples in a row: stopped). Lowers the priority of
 * every process of the group it sees (the first one is lowered right after spawn).
 */
export class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  #lastTicks: number | undefined;
  #lastAt = 0;
  #overCpu = 0;
  #fired = false;
  #peakBytes = 0;
  #cpuTicks = 0;
  readonly #niced = new Set<string>();

  constructor(private readonly o: WatchdogOptions) {}

  /** Starts sampling (the first sample at once). */
  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.o.intervalMs);
  }

  /** One sample; public for tests and the final reading. */
  sample(): void {
    const group = processGroup(this.o.pgid, this.o.procRoot);
    if (group.length === 0) return;
    const page = kernelPageSize();
    let rss = 0;
    let ticks = 0;
    for (const p of group) {
      rss += p.rssPages * page;
      ticks += p.cpuTicks;
      const id = `${p.pid}:${p.startTicks}`;
      if (!this.#niced.has(id) && p.nice < this.o.nice) {
        this.#niced.add(id);
        try {
          setPriority(p.pid, this.o.nice);
        } catch {
          // gone, or not ours to change
        }
      }
    }
    this.#peakBytes = Math.max(this.#peakBytes, rss);
    this.#cpuTicks = Math.max(this.#cpuTicks, ticks);
    const now = performance.now();
    if (this.#fired) return;
    if (rss > this.o.caps.maxMemoryBytes) {
      this.#fire({ resource: 'memory', used: rss, cap: this.o.caps.maxMemoryBytes, unit: 'bytes' });
      return;
    }
    if (this.#lastTicks !== undefined && now > this.#lastAt) {
      const seconds = (now - this.#lastAt) / 1000;
      const percent =
        ((ticks - this.#lastTicks) / TICKS_PER_SECOND / seconds / this.o.caps.effectiveCpus) * 100;
      if (percent > this.o.caps.maxCpuPercent) this.#overCpu++;
      else this.#overCpu = 0;
      if (this.#overCpu >= this.o.cpuGraceSamples) {
        this.#fire({
          resource: 'cpu',
          used: Math.round(percent * 10) / 10,
          cap: this.o.caps.maxCpuPercent,
          unit: 'percent',
        });
        return;
      }
    }
    this.#lastTicks = ticks;
    this.#lastAt = now;
  }

  #fire(what: Parameters<WatchdogOptions['onOverBudget']>[0]): void {
    this.#fired = true;
    this.o.onOverBudget(what);
  }

  /** Stops sampling; returns what the group used as seen. */
  stop(): ScannerUsage {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return {
      containedBy: 'watchdog',
      peakMemoryBytes: this.#peakBytes,
      cpuSeconds: this.#cpuTicks / TICKS_PER_SECOND,
    };
  }
}
