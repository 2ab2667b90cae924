import type { SystemMetrics } from '@rediver/core';

/**
 * Where a `ResourceController` gets its figures. The default, `SystemMetricsSource`, reads the real
 * machine; tests and special hosts inject their own.
 */
export interface MetricsSource {
  /**
   * One sample: rates (CPU, event-loop) cover the time since the previous call. Synchronous so the
   * controller decides in the same tick it measures; a source whose data arrives asynchronously should
   * return its latest figures. Mark a figure it cannot measure with origin `'unavailable'` rather than throw.
   */
  sample(): SystemMetrics;
  /** CPUs the process may use (cgroup quota or host); the controller's default `maxConcurrentJobs`. */
  effectiveCpus?(): number;
  /** Releases the source's handles; called by the controller's `close()` for a source it created. */
  close?(): void | Promise<void>;
}
