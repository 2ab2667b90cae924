/** Where a figure was measured (`cgroup`: either cgroup version; `FigureOrigins` says which). */
export type MetricOrigin = 'host' | 'cgroup' | 'process' | 'unavailable';

/**
 * Where a figure was read, precisely: the process's cgroup in the v2 (unified) or a v1 hierarchy, the whole
 * host from procfs (`/proc/stat`, `/proc/meminfo`, `/proc/pressure`), Node's `os` module when procfs is not
 * readable, or nowhere.
 */
export type FigureOrigin = 'cgroup-v2' | 'cgroup-v1' | 'host' | 'os' | 'unavailable';

/** The origin of each figure of a `SystemMetrics` sample. */
export interface FigureOrigins {
  /** `cpuPercent`: cgroup CPU usage against its quota, or the host's CPU time. */
  cpu: FigureOrigin;
  /** `effectiveCpus`: a cgroup CPU quota, or the host's CPU count (`host`). */
  cpuLimit: FigureOrigin;
  /** `memoryUsedBytes` (and `memoryPercent`): cgroup usage minus inactive file cache, or the host's. */
  memory: FigureOrigin;
  /** `memoryLimitBytes`: a cgroup memory limit, or the host's memory. */
  memoryLimit: FigureOrigin;
  /** `pressure`: the cgroup's PSI files, or the host's. */
  pressure: FigureOrigin;
}

/** Pressure stall information (PSI): share of time some task stalled, averaged over 10 s. */
export interface PressureMetrics {
  /** `some avg10` of CPU pressure, percent. */
  cpuSomeAvg10?: number;
  /** `some avg10` of memory pressure, percent. */
  memorySomeAvg10?: number;
  /** `full avg10` of memory pressure, percent. */
  memoryFullAvg10?: number;
  origin: MetricOrigin;
}

/** One sample of machine and process load. */
export interface SystemMetrics {
  /** Epoch ms of the sample. */
  timestamp: number;
  /** CPU in use, percent of the effective CPUs (cgroup quota or host). */
  cpuPercent: number;
  cpuOrigin: MetricOrigin;
  /** This process's CPU, percent of one effective CPU set (same scale as `cpuPercent`). */
  processCpuPercent: number;
  /** Effective CPUs: the cgroup quota when one applies, else the host's. */
  effectiveCpus: number;
  /** Memory in use, percent of the limit (cgroup `memory.max` / v1 `memory.limit_in_bytes`, or host total). */
  memoryPercent: number;
  memoryOrigin: MetricOrigin;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /** Resident set size of this process. */
  processRssBytes: number;
  /** V8 heap in use by this process. */
  processHeapUsedBytes: number;
  /** p99 event-loop delay over the last interval, ms. */
  eventLoopDelayP99Ms: number;
  /** Event-loop utilisation over the last interval, 0..1. */
  eventLoopUtilization: number;
  pressure?: PressureMetrics;
  /** Where each figure was read (cgroup v1 or v2, host, `os`); set by `@rediver/resource`'s default source. */
  origins?: FigureOrigins;
}

/** Admission state of a resource controller. */
export interface ResourceStatus {
  throttled: boolean;
  /** Epoch ms throttling started, when throttled. */
  throttledAt?: number;
  throttleReason?: string;
  activeJobs: number;
  pendingJobs: number;
  rejectedJobs: number;
  maxJobs: number;
  metrics?: SystemMetrics;
}
