import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Clock, MetricOrigin, PressureMetrics, SystemMetrics } from '@rediver/core';
import { systemClock } from '@rediver/core';
import { ResourceError } from './errors';
import type { MetricsSource } from './metricsSource';
import { discoverCgroup } from './internal/cgroup';
import { KernelFile } from './internal/kernelFile';
import {
  keyedValue,
  parseCounter,
  parseCpuMax,
  parseMeminfo,
  parseMemoryMax,
  parsePressure,
  parseProcStat,
} from './internal/parsers';

/** Options of `SystemMetricsSource`. */
export interface SystemMetricsSourceOptions {
  /** Where procfs is mounted (`stat`, `meminfo`, `pressure/*`, `self/cgroup`); a fixture directory in tests. */
  procRoot?: string;
  /** Where cgroupfs is mounted (cgroup v2 at the root, or the hybrid layout's `unified/`). */
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

interface CpuLevel {
  max: KernelFile;
  stat: KernelFile | undefined;
  lastUsageUs: number | undefined;
  lastAtMs: number;
}

interface MemoryLevel {
  max: KernelFile;
  current: KernelFile | undefined;
  stat: KernelFile | undefined;
}

interface Figure {
  percent: number;
  origin: MetricOrigin;
}

const clampPercent = (value: number): number => (value < 0 ? 0 : value > 100 ? 100 : value);

/**
 * Reads the real machine (Linux procfs and cgroup v2, with `os` fallbacks elsewhere):
 * - CPU: the process's cgroup `cpu.stat` usage against its `cpu.max` quota when a quota below the host's
 *   CPU count applies, else whole-machine `/proc/stat` deltas, else `os.cpus()` deltas.
 * - Memory: `memory.current` minus `inactive_file` against `memory.max` (the kubelet's working set) when a
 *   limit below the host's memory applies, else `/proc/meminfo` `MemTotal - MemAvailable`, else `os`.
 * - PSI from the cgroup's `cpu.pressure`/`memory.pressure`, else `/proc/pressure/*`.
 * - Process CPU (`process.cpuUsage()`), RSS (`process.memoryUsage.rss()`), V8 heap in use, event-loop
 *   delay p99 and utilisation.
 * Rates cover the time since the previous `sample()` (the first: since construction). The cgroup layout and
 * which files exist are found once, at construction; the limits' values are re-read on every sample.
 * Files stay open (re-read with pread) until `close()`.
 */
export class SystemMetricsSource implements MetricsSource {
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
  private readonly pressureOrigin: MetricOrigin;
  private readonly histogram: IntervalHistogram | undefined;
  private readonly resolutionMs: number;
  private lastElu: EventLoopUtilization | undefined;
  private lastHost: HostCpuTimes | undefined;
  private lastProcess: { usage: NodeJS.CpuUsage; atMs: number };
  private lastCpu: Figure = { percent: 0, origin: 'unavailable' };
  private effective: number;
  private closed = false;

  constructor(options: SystemMetricsSourceOptions = {}) {
    const procRoot = options.procRoot ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.procRoot;
    const cgroupRoot = options.cgroupRoot ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.cgroupRoot;
    const monitoring =
      options.eventLoopMonitoring ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.eventLoopMonitoring;
    const resolution =
      options.eventLoopResolutionMs ?? DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS.eventLoopResolutionMs;
    if (typeof procRoot !== 'string' || procRoot === '') invalid('procRoot', 'a non-empty path', procRoot);
    if (typeof cgroupRoot !== 'string' || cgroupRoot === '')
      invalid('cgroupRoot', 'a non-empty path', cgroupRoot);
    if (!Number.isInteger(resolution) || resolution < 1)
      invalid('eventLoopResolutionMs', 'an integer >= 1', resolution);
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

    const layout = discoverCgroup(procRoot, cgroupRoot);
    let cpuPressure: KernelFile | undefined;
    let memoryPressure: KernelFile | undefined;
    if (layout !== undefined) {
      for (const dir of layout.dirs) {
        const cpuMax = KernelFile.open(join(dir, 'cpu.max'));
        if (cpuMax !== undefined) {
          const stat = KernelFile.open(join(dir, 'cpu.stat'));
          this.cpuLevels.push({ max: cpuMax, stat, lastUsageUs: undefined, lastAtMs: 0 });
        }
        const memoryMax = KernelFile.open(join(dir, 'memory.max'));
        if (memoryMax !== undefined) {
          this.memoryLevels.push({
            max: memoryMax,
            current: KernelFile.open(join(dir, 'memory.current')),
            stat: KernelFile.open(join(dir, 'memory.stat')),
          });
        }
      }
      const leaf = layout.dirs[0];
      if (leaf !== undefined) {
        cpuPressure = KernelFile.open(join(leaf, 'cpu.pressure'));
        memoryPressure = KernelFile.open(join(leaf, 'memory.pressure'));
      }
    }
    this.pressureOrigin = cpuPressure !== undefined || memoryPressure !== undefined ? 'cgroup' : 'host';
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

  /** CPUs the process may use: the cgroup quota (`cpu.max`) when below the host's, else the host's. */
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
    const metrics: SystemMetrics = {
      timestamp: this.clock.now(),
      cpuPercent: cpu.percent,
      cpuOrigin: cpu.origin,
      processCpuPercent,
      effectiveCpus: this.effective,
      memoryPercent: memory.limitBytes > 0 ? clampPercent((memory.usedBytes / memory.limitBytes) * 100) : 0,
      memoryOrigin: memory.origin,
      memoryUsedBytes: memory.usedBytes,
      memoryLimitBytes: memory.limitBytes,
      processRssBytes: rss,
      processHeapUsedBytes: heapUsed,
      eventLoopDelayP99Ms: 0,
      eventLoopUtilization: 0,
      pressure: this.measurePressure(),
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

  /** Stops event-loop monitoring and closes the held files. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.histogram?.disable();
    this.procStat?.close();
    this.meminfo?.close();
    this.cpuPressure?.close();
    this.memoryPressure?.close();
    for (const level of this.cpuLevels) {
      level.max.close();
      level.stat?.close();
    }
    for (const level of this.memoryLevels) {
      level.max.close();
      level.current?.close();
      level.stat?.close();
    }
  }

  /** The binding CPU quota level (smallest quota in CPUs, below the host's count), updating `effective`. */
  private readCpuQuota(): CpuLevel | undefined {
    let binding: CpuLevel | undefined;
    let bindingCpus = this.hostCpus;
    for (const level of this.cpuLevels) {
      const text = level.max.read();
      const max = text === undefined ? undefined : parseCpuMax(text);
      if (max === undefined || max.quotaUs === null) continue;
      const quotaCpus = max.quotaUs / max.periodUs;
      if (quotaCpus < bindingCpus) {
        binding = level;
        bindingCpus = quotaCpus;
      }
    }
    this.effective = bindingCpus;
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
    const text = level.stat?.read();
    const usageUs = text === undefined ? undefined : keyedValue(text, 'usage_usec');
    if (usageUs === undefined) return undefined;
    const atMs = this.monotonicNowMs();
    const { lastUsageUs, lastAtMs } = level;
    level.lastUsageUs = usageUs;
    level.lastAtMs = atMs;
    if (lastUsageUs === undefined || atMs <= lastAtMs) return undefined;
    const percent = ((usageUs - lastUsageUs) / 1000 / ((atMs - lastAtMs) * this.effective)) * 100;
    return { percent: clampPercent(percent), origin: 'cgroup' };
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
    return { percent: clampPercent(((total - (now.idle - last.idle)) / total) * 100), origin: 'host' };
  }

  private measureMemory(): { usedBytes: number; limitBytes: number; origin: MetricOrigin } {
    let binding: MemoryLevel | undefined;
    let limit = this.hostMemoryBytes;
    for (const level of this.memoryLevels) {
      const text = level.max.read();
      const max = text === undefined ? undefined : parseMemoryMax(text);
      if (typeof max === 'number' && max > 0 && max < limit) {
        binding = level;
        limit = max;
      }
    }
    if (binding !== undefined) {
      const currentText = binding.current?.read();
      const current = currentText === undefined ? undefined : parseCounter(currentText);
      if (current !== undefined) {
        // The kubelet's working set: inactive file cache can be reclaimed before the OOM killer acts.
        const statText = binding.stat?.read();
        const inactiveFile =
          (statText === undefined ? undefined : keyedValue(statText, 'inactive_file')) ?? 0;
        return { usedBytes: Math.max(0, current - inactiveFile), limitBytes: limit, origin: 'cgroup' };
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
    return { usedBytes: Math.max(0, total - freemem()), limitBytes: total, origin: 'host' };
  }

  private measurePressure(): PressureMetrics {
    const cpuText = this.cpuPressure?.read();
    const memoryText = this.memoryPressure?.read();
    const cpu = cpuText === undefined ? undefined : parsePressure(cpuText);
    const memory = memoryText === undefined ? undefined : parsePressure(memoryText);
    if (cpu === undefined && memory === undefined) return { origin: 'unavailable' };
    const pressure: PressureMetrics = { origin: this.pressureOrigin };
    if (cpu?.some !== undefined) pressure.cpuSomeAvg10 = cpu.some.avg10;
    if (memory?.some !== undefined) pressure.memorySomeAvg10 = memory.some.avg10;
    if (memory?.full !== undefined) pressure.memoryFullAvg10 = memory.full.avg10;
    return pressure;
  }
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

function invalid(name: string, expected: string, value: unknown): never {
  throw new ResourceError(
    'INVALID_OPTION',
    `SystemMetricsSource: ${name} must be ${expected}, got ${String(value)}`,
    {
      details: { option: name },
    },
  );
}
