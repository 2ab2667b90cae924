import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Clock, FigureOrigin, MetricOrigin, PressureMetrics, SystemMetrics } from '@rediver/core';
import { ClosableBase, closeOnce, optionNames, systemClock } from '@rediver/core';
import type { CgroupHierarchy } from './cgroupLayout';
import { matchingDir, readCgroupLayout } from './cgroupLayout';
import { ResourceError } from './errors';
import type { MetricsSource } from './metricsSource';
import { KernelFile } from './internal/kernelFile';
import { resourceOptionChecker } from './internal/optionCheck';
import { unknownKeyError } from './internal/optionKeys';

/** The source's option checks: `SystemMetricsSource: <option> must be <rule>, got <value>`. */
const check = resourceOptionChecker('SystemMetricsSource');
import {
  keyedValue,
  parseCfsQuota,
  parseCounter,
  parseCpuMax,
  parseMeminfo,
  parseMemoryMax,
  parsePressure,
  parseProcStat,
  parseV1MemoryLimit,
} from './internal/parsers';

/** Options of `SystemMetricsSource`. */
export interface SystemMetricsSourceOptions {
  /** Where procfs is mounted (`stat`, `meminfo`, `pressure/*`, `self/cgroup`, `self/mountinfo`); a fixture directory in tests. */
  procRoot?: string;
  /**
   * Where cgroupfs is mounted: cgroup v2 at the root, v1 controllers in subdirectories, or both (hybrid, v2
   * under `unified/`). Mount points `/proc/self/mountinfo` gives under `/sys/fs/cgroup` are read under it.
   */
  cgroupRoot?: string;
  /** Measure event-loop delay (`monitorEventLoopDelay`) and utilisation; off reports 0 for both. */
  eventLoopMonitoring?: boolean;
  /** Sampling resolution of the event-loop delay histogram, ms. */
  eventLoopResolutionMs?: number;
  /** Time source of `SystemMetrics.timestamp`. */
  clock?: Clock;
  /** Monotonic milliseconds, for rates (CPU per wall time); injectable for fixture tests. */
  monotonicNowMs?: () => number;
}

/** Defaults of `SystemMetricsSourceOptions`. */
export const DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS = Object.freeze({
  procRoot: '/proc',
  cgroupRoot: '/sys/fs/cgroup',
  eventLoopMonitoring: true,
  eventLoopResolutionMs: 10,
});

/** One cgroup on the process's path that may carry a CPU quota, with where its usage is read. */
interface CpuLevel {
  origin: 'cgroup-v2' | 'cgroup-v1';
  /** v2 `cpu.max`; v1 `cpu.cfs_quota_us`. */
  quota: KernelFile;
  /** v1 `cpu.cfs_period_us` (v2 has the period in `cpu.max`). */
  period: KernelFile | undefined;
  /** v2 `cpu.stat` (`usage_usec`); v1 `cpuacct.usage` (ns) of the matching cpuacct cgroup. */
  usage: KernelFile | undefined;
  lastUsageUs: number | undefined;
  lastAtMs: number;
}

/** One cgroup on the process's path that may carry a memory limit. */
interface MemoryLevel {
  origin: 'cgroup-v2' | 'cgroup-v1';
  /** v2 `memory.max`; v1 `memory.limit_in_bytes`. */
  limit: KernelFile;
  /** v2 `memory.current`; v1 `memory.usage_in_bytes`. */
  usage: KernelFile | undefined;
  /** `memory.stat`, for the inactive file cache (v2 `inactive_file`; v1 `total_inactive_file`, with children). */
  stat: KernelFile | undefined;
}

interface Figure {
  percent: number;
  origin: FigureOrigin;
}

/** The coarse origin of `SystemMetrics.cpuOrigin`/`memoryOrigin` for a precise one. */
const coarse = (origin: FigureOrigin): MetricOrigin =>
  origin === 'cgroup-v1' || origin === 'cgroup-v2' ? 'cgroup' : origin === 'os' ? 'host' : origin;

const clampPercent = (value: number): number => (value < 0 ? 0 : value > 100 ? 100 : value);

/** Every key of `SystemMetricsSourceOptions`: any other is refused with a did-you-mean. */
const SOURCE_OPTION_KEYS = optionNames<SystemMetricsSourceOptions>({
  procRoot: true,
  cgroupRoot: true,
  eventLoopMonitoring: true,
  eventLoopResolutionMs: true,
  clock: true,
  monotonicNowMs: true,
});

/**
 * Reads the real machine (Linux procfs and cgroups, v1, v2 or both, with `os` fallbacks elsewhere):
 * - CPU: the process's cgroup CPU usage (v2 `cpu.stat`, v1 `cpuacct.usage`) against its quota (v2 `cpu.max`,
 *   v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`) when a quota below the host's CPU count applies, else
 *   whole-machine `/proc/stat` deltas, else `os.cpus()` deltas.
 * - Memory: cgroup usage minus the inactive file cache (v2 `memory.current` − `inactive_file`, v1
 *   `memory.usage_in_bytes` − `total_inactive_file`: the kubelet's working set) against the tightest limit (v2
 *   `memory.max`, v1 `memory.limit_in_bytes`) when one below the host's memory applies, else `/proc/meminfo`
 *   `MemTotal - MemAvailable`, else `os`.
 * - PSI from the cgroup's `cpu.pressure`/`memory.pressure` (v2), else `/proc/pressure/*`.
 * - Process CPU (`process.cpuUsage()`), RSS (`process.memoryUsage.rss()`), V8 heap in use, event-loop
 *   delay p99 and utilisation.
 * Each sample says where each figure came from (`origins`: `cgroup-v2`, `cgroup-v1`, `host`, `os`).
 * Rates cover the time since the previous `sample()` (the first: since construction). The cgroup layout
 * (`/proc/self/cgroup`, `/proc/self/mountinfo`) and which files exist are found once, at construction; the
 * limits' values are re-read on every sample. Files stay open (re-read with pread) until `close()`.
 */
export class SystemMetricsSource extends ClosableBase implements MetricsSource {
  private readonly clock: Clock;
  private readonly monotonicNowMs: () => number;
  private readonly hostCpus: number;
  private readonly hostMemoryBytes: number;
  private readonly procStat: KernelFile | undefined;
  private readonly meminfo: KernelFile | undefined;
  private readonly cpuLevels: CpuLevel[] = [];
  private readonly memoryLevels: MemoryLevel[] = [];
  private readonly cpuPressure: KernelFile | undefined;
  private readonly memoryPressure: KernelFile | undefined;
  private readonly pressureOrigin: 'cgroup-v2' | 'host';
  private readonly histogram: IntervalHistogram | undefined;
  private readonly resolutionMs: number;
  private lastElu: EventLoopUtilization | undefined;
  private lastHost: HostCpuTimes | undefined;
  private lastProcess: { usage: NodeJS.CpuUsage; atMs: number };
  private lastCpu: Figure = { percent: 0, origin: 'unavailable' };
  private effective: number;
  private effectiveOrigin: FigureOrigin = 'host';
  private closed = false;

  constructor(options: SystemMetricsSourceOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw check.invalid('options', 'an object', options);
    const unknown = unknownKeyError('SystemMetricsSource', options, SOURCE_OPTION_KEYS);
    if (unknown !== undefined) throw unknown;
    const procRoot = options.procRoot ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.procRoot;
    const cgroupRoot = options.cgroupRoot ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.cgroupRoot;
    const monitoring =
      options.eventLoopMonitoring ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.eventLoopMonitoring;
    const resolution =
      options.eventLoopResolutionMs ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.eventLoopResolutionMs;
    if (typeof procRoot !== 'string' || procRoot === '')
      throw check.invalid('procRoot', 'a non-empty path', procRoot);
    if (typeof cgroupRoot !== 'string' || cgroupRoot === '')
      throw check.invalid('cgroupRoot', 'a non-empty path', cgroupRoot);
    if (!Number.isInteger(resolution) || resolution < 1)
      throw check.invalid('eventLoopResolutionMs', 'an integer >= 1', resolution);
    this.resolutionMs = resolution;
    this.clock = options.clock ?? systemClock;
    this.monotonicNowMs = options.monotonicNowMs ?? (() => performance.now());
    this.hostCpus = availableParallelism();
    this.effective = this.hostCpus;

    this.procStat = KernelFile.open(join(procRoot, 'stat'));
    this.meminfo = KernelFile.open(join(procRoot, 'meminfo'));
    const meminfoText = this.meminfo?.read();
    this.hostMemoryBytes =
      (meminfoText === undefined ? undefined : parseMeminfo(meminfoText)?.totalBytes) ?? totalmem();

    const layout = readCgroupLayout({ procRoot, cgroupRoot });
    if (layout.v2 !== undefined) this.openV2Levels(layout.v2);
    this.openV1Levels(layout.v1.get('cpu'), layout.v1.get('cpuacct'), layout.v1.get('memory'));
    let cpuPressure: KernelFile | undefined;
    let memoryPressure: KernelFile | undefined;
    const leaf = layout.v2?.dirs[0];
    if (leaf !== undefined) {
      cpuPressure = KernelFile.open(join(leaf, 'cpu.pressure'));
      memoryPressure = KernelFile.open(join(leaf, 'memory.pressure'));
    }
    this.pressureOrigin = cpuPressure !== undefined || memoryPressure !== undefined ? 'cgroup-v2' : 'host';
    if (this.pressureOrigin === 'host') {
      cpuPressure = KernelFile.open(join(procRoot, 'pressure', 'cpu'));
      memoryPressure = KernelFile.open(join(procRoot, 'pressure', 'memory'));
    }
    this.cpuPressure = cpuPressure;
    this.memoryPressure = memoryPressure;

    if (monitoring) {
      this.histogram = monitorEventLoopDelay({ resolution });
      this.histogram.enable();
      this.lastElu = performance.eventLoopUtilization();
    }
    // Baselines, so the first sample's rates cover the time since construction.
    this.lastProcess = { usage: process.cpuUsage(), atMs: this.monotonicNowMs() };
    this.measureCpu();
  }

  /** CPUs the process may use: the cgroup quota (v2 `cpu.max`, v1 CFS quota) when below the host's, else the host's. */
  effectiveCpus(): number {
    this.readCpuQuota();
    return this.effective;
  }

  /** One sample of the machine and the process (see the class description for where each figure comes from). */
  sample(): SystemMetrics {
    if (this.closed) throw new ResourceError('CLOSED', 'SystemMetricsSource is closed');
    const cpu = this.measureCpu();
    const nowMs = this.monotonicNowMs();
    const usage = process.cpuUsage();
    const wallMs = nowMs - this.lastProcess.atMs;
    const cpuMs =
      (usage.user - this.lastProcess.usage.user + usage.system - this.lastProcess.usage.system) / 1000;
    this.lastProcess = { usage, atMs: nowMs };
    const processCpuPercent = wallMs > 0 ? clampPercent((cpuMs / (wallMs * this.effective)) * 100) : 0;

    const memory = this.measureMemory();
    // Not process.memoryUsage(): it also walks external and array-buffer memory, several times the cost.
    const rss = process.memoryUsage.rss();
    const heapUsed = getHeapStatistics().used_heap_size;
    const pressure = this.measurePressure();
    const metrics: SystemMetrics = {
      timestamp: this.clock.now(),
      cpuPercent: cpu.percent,
      cpuOrigin: coarse(cpu.origin),
      processCpuPercent,
      effectiveCpus: this.effective,
      memoryPercent: memory.limitBytes > 0 ? clampPercent((memory.usedBytes / memory.limitBytes) * 100) : 0,
      memoryOrigin: coarse(memory.origin),
      memoryUsedBytes: memory.usedBytes,
      memoryLimitBytes: memory.limitBytes,
      processRssBytes: rss,
      processHeapUsedBytes: heapUsed,
      eventLoopDelayP99Ms: 0,
      eventLoopUtilization: 0,
      pressure: pressure.figures,
      origins: {
        cpu: cpu.origin,
        cpuLimit: this.effectiveOrigin,
        memory: memory.origin,
        memoryLimit: memory.origin,
        pressure: pressure.origin,
      },
    };
    if (this.histogram !== undefined && this.lastElu !== undefined) {
      // An empty histogram (its timer has not fired since the last sample) has no p99; percentile() on
      // an empty one walks every bucket (~70 µs), so it and the reset are skipped.
      if (this.histogram.count > 0) {
        // The histogram records the time between its timer's ticks, resolution included (an idle loop
        // reads ~10 ms at 10 ms resolution): the delay is what exceeds the resolution.
        metrics.eventLoopDelayP99Ms = Math.max(0, this.histogram.percentile(99) / 1e6 - this.resolutionMs);
        this.histogram.reset();
      }
      const elu = performance.eventLoopUtilization();
      metrics.eventLoopUtilization = performance.eventLoopUtilization(elu, this.lastElu).utilization;
      this.lastElu = elu;
    }
    return metrics;
  }

  /**
   * Stops event-loop monitoring and closes the held files (synchronously: they are closed when this returns); the
   * same promise on every call.
   */
  close(): Promise<void> {
    return this.#close();
  }

  readonly #close = closeOnce(() => this.#release());

  #release(): void {
    this.closed = true;
    this.histogram?.disable();
    this.procStat?.close();
    this.meminfo?.close();
    this.cpuPressure?.close();
    this.memoryPressure?.close();
    for (const level of this.cpuLevels) {
      level.quota.close();
      level.period?.close();
      level.usage?.close();
    }
    for (const level of this.memoryLevels) {
      level.limit.close();
      level.usage?.close();
      level.stat?.close();
    }
  }

  /** cgroup v2: `cpu.max` and `memory.max` on every level of the process's path that has them. */
  private openV2Levels(v2: CgroupHierarchy): void {
    for (const dir of v2.dirs) {
      const quota = KernelFile.open(join(dir, 'cpu.max'));
      if (quota !== undefined) {
        const usage = KernelFile.open(join(dir, 'cpu.stat'));
        this.cpuLevels.push({
          origin: 'cgroup-v2',
          quota,
          period: undefined,
          usage,
          lastUsageUs: undefined,
          lastAtMs: 0,
        });
      }
      const limit = KernelFile.open(join(dir, 'memory.max'));
      if (limit !== undefined) {
        this.memoryLevels.push({
          origin: 'cgroup-v2',
          limit,
          usage: KernelFile.open(join(dir, 'memory.current')),
          stat: KernelFile.open(join(dir, 'memory.stat')),
        });
      }
    }
  }

  /**
   * cgroup v1: the CFS quota on every level of the `cpu` hierarchy (usage from the same cgroup in `cpuacct`,
   * co-mounted or not) and `memory.limit_in_bytes` on every level of the `memory` hierarchy.
   */
  private openV1Levels(
    cpu: CgroupHierarchy | undefined,
    cpuacct: CgroupHierarchy | undefined,
    memory: CgroupHierarchy | undefined,
  ): void {
    for (const dir of cpu?.dirs ?? []) {
      const quota = KernelFile.open(join(dir, 'cpu.cfs_quota_us'));
      if (quota === undefined || cpu === undefined) continue;
      const acctDir = cpuacct === undefined ? undefined : matchingDir(dir, cpu, cpuacct);
      this.cpuLevels.push({
        origin: 'cgroup-v1',
        quota,
        period: KernelFile.open(join(dir, 'cpu.cfs_period_us')),
        usage: acctDir === undefined ? undefined : KernelFile.open(join(acctDir, 'cpuacct.usage')),
        lastUsageUs: undefined,
        lastAtMs: 0,
      });
    }
    for (const dir of memory?.dirs ?? []) {
      const limit = KernelFile.open(join(dir, 'memory.limit_in_bytes'));
      if (limit === undefined) continue;
      this.memoryLevels.push({
        origin: 'cgroup-v1',
        limit,
        usage: KernelFile.open(join(dir, 'memory.usage_in_bytes')),
        stat: KernelFile.open(join(dir, 'memory.stat')),
      });
    }
  }

  /** The binding CPU quota level (smallest quota in CPUs, below the host's count), updating `effective`. */
  private readCpuQuota(): CpuLevel | undefined {
    let binding: CpuLevel | undefined;
    let bindingCpus = this.hostCpus;
    for (const level of this.cpuLevels) {
      const quotaCpus = readQuotaCpus(level);
      if (quotaCpus !== undefined && quotaCpus < bindingCpus) {
        binding = level;
        bindingCpus = quotaCpus;
      }
    }
    this.effective = bindingCpus;
    this.effectiveOrigin = binding?.origin ?? 'host';
    return binding;
  }

  private measureCpu(): Figure {
    const level = this.readCpuQuota();
    let figure: Figure | undefined;
    if (level !== undefined) figure = this.cgroupCpu(level);
    figure ??= this.hostCpu();
    // No time passed since the previous reading (two samples in the same clock tick): repeat the last figure.
    if (figure === undefined) return this.lastCpu;
    this.lastCpu = figure;
    return figure;
  }

  private cgroupCpu(level: CpuLevel): Figure | undefined {
    const text = level.usage?.read();
    let usageUs: number | undefined;
    if (text !== undefined) {
      if (level.origin === 'cgroup-v2') usageUs = keyedValue(text, 'usage_usec');
      else {
        const ns = parseCounter(text);
        usageUs = ns === undefined ? undefined : ns / 1000;
      }
    }
    if (usageUs === undefined) return undefined;
    const atMs = this.monotonicNowMs();
    const { lastUsageUs, lastAtMs } = level;
    level.lastUsageUs = usageUs;
    level.lastAtMs = atMs;
    if (lastUsageUs === undefined || atMs <= lastAtMs) return undefined;
    const percent = ((usageUs - lastUsageUs) / 1000 / ((atMs - lastAtMs) * this.effective)) * 100;
    return { percent: clampPercent(percent), origin: level.origin };
  }

  private hostCpu(): Figure | undefined {
    const text = this.procStat?.read();
    const stat = text === undefined ? undefined : parseProcStat(text);
    // Not Linux (or procfs unreadable): the same counters from os.cpus(), in ms instead of ticks.
    const now: HostCpuTimes = stat === undefined ? osCpuTimes() : { ...stat, unit: 'ticks' };
    const last = this.lastHost;
    this.lastHost = now;
    if (last === undefined || last.unit !== now.unit) return undefined;
    const total = now.total - last.total;
    if (total <= 0) return undefined;
    return {
      percent: clampPercent(((total - (now.idle - last.idle)) / total) * 100),
      origin: now.unit === 'ticks' ? 'host' : 'os',
    };
  }

  private measureMemory(): { usedBytes: number; limitBytes: number; origin: FigureOrigin } {
    let binding: MemoryLevel | undefined;
    let limit = this.hostMemoryBytes;
    for (const level of this.memoryLevels) {
      const text = level.limit.read();
      let max: number | null | undefined;
      if (text !== undefined)
        max = level.origin === 'cgroup-v2' ? parseMemoryMax(text) : parseV1MemoryLimit(text);
      if (typeof max === 'number' && max > 0 && max < limit) {
        binding = level;
        limit = max;
      }
    }
    if (binding !== undefined) {
      const usageText = binding.usage?.read();
      const usage = usageText === undefined ? undefined : parseCounter(usageText);
      if (usage !== undefined) {
        // The kubelet's working set: inactive file cache can be reclaimed before the OOM killer acts.
        // v1's `inactive_file` is the cgroup's own; `total_inactive_file` includes its children, as usage does.
        const statText = binding.stat?.read();
        let inactiveFile: number | undefined;
        if (statText !== undefined) {
          if (binding.origin === 'cgroup-v1') inactiveFile = keyedValue(statText, 'total_inactive_file');
          inactiveFile ??= keyedValue(statText, 'inactive_file');
        }
        return {
          usedBytes: Math.max(0, usage - (inactiveFile ?? 0)),
          limitBytes: limit,
          origin: binding.origin,
        };
      }
    }
    const text = this.meminfo?.read();
    const info = text === undefined ? undefined : parseMeminfo(text);
    if (info?.availableBytes !== undefined) {
      return {
        usedBytes: Math.max(0, info.totalBytes - info.availableBytes),
        limitBytes: info.totalBytes,
        origin: 'host',
      };
    }
    const total = totalmem();
    return { usedBytes: Math.max(0, total - freemem()), limitBytes: total, origin: 'os' };
  }

  private measurePressure(): { figures: PressureMetrics; origin: FigureOrigin } {
    const cpuText = this.cpuPressure?.read();
    const memoryText = this.memoryPressure?.read();
    const cpu = cpuText === undefined ? undefined : parsePressure(cpuText);
    const memory = memoryText === undefined ? undefined : parsePressure(memoryText);
    if (cpu === undefined && memory === undefined) {
      return { figures: { origin: 'unavailable' }, origin: 'unavailable' };
    }
    const figures: PressureMetrics = { origin: coarse(this.pressureOrigin) };
    if (cpu?.some !== undefined) figures.cpuSomeAvg10 = cpu.some.avg10;
    if (memory?.some !== undefined) figures.memorySomeAvg10 = memory.some.avg10;
    if (memory?.full !== undefined) figures.memoryFullAvg10 = memory.full.avg10;
    return { figures, origin: this.pressureOrigin };
  }
}

/** A level's quota in CPUs (quota / period), or undefined when it has none or cannot be read. */
function readQuotaCpus(level: CpuLevel): number | undefined {
  const text = level.quota.read();
  if (text === undefined) return undefined;
  if (level.origin === 'cgroup-v2') {
    const max = parseCpuMax(text);
    return max === undefined || max.quotaUs === null ? undefined : max.quotaUs / max.periodUs;
  }
  const quotaUs = parseCfsQuota(text);
  if (quotaUs === undefined || quotaUs === null) return undefined;
  const periodText = level.period?.read();
  // The kernel's default period is 100 ms; a quota without a readable period still binds.
  const periodUs = (periodText === undefined ? undefined : parseCounter(periodText)) || 100_000;
  return quotaUs / periodUs;
}

interface HostCpuTimes {
  total: number;
  idle: number;
  unit: 'ticks' | 'ms';
}

function osCpuTimes(): HostCpuTimes {
  let total = 0;
  let idle = 0;
  for (const { times } of cpus()) {
    total += times.user + times.nice + times.sys + times.idle + times.irq;
    idle += times.idle;
  }
  return { total, idle, unit: 'ms' };
}
