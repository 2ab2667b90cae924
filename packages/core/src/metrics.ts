/** Where a figure was measured. */
export type MetricOrigin = 'host' | 'cgroup' | 'process' | 'unavailable';

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
  /** Memory in use, percent of the limit (cgroup `memory.max` or host total). */
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
