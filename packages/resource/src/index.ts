/**
 * @rediver/resource — admission control from real measurements: a `ResourceController` that throttles
 * new jobs on CPU, memory, event-loop delay and pressure, measured by a `MetricsSource` (the default
 * reads procfs and cgroups, v1 and v2), and where scanners could be contained in cgroups.
 */
// What a user needs to handle this package's errors and read its figures, from this one import.
export type {
  ErrorCode,
  FigureOrigin,
  FigureOrigins,
  MetricOrigin,
  PressureMetrics,
  RediverError,
  ResourceStatus,
  SystemMetrics,
} from '@rediver/core';
export { isRediverError, isRetryableError } from '@rediver/core';
export type { CgroupHierarchy, CgroupLayout, CgroupRoots } from './cgroupLayout';
export { readCgroupLayout } from './cgroupLayout';
export type {
  CgroupContainment,
  CgroupContainmentOptions,
  CgroupV1Containment,
  CgroupV2Containment,
  NoCgroupContainment,
} from './cgroupContainment';
export { findCgroupContainment } from './cgroupContainment';
export type { ResourceErrorCode } from './errors';
export { RESOURCE_ERROR_CODES, ResourceError } from './errors';
export type {
  ResourceControllerEvents,
  ResourceWarning,
  ResourceWarningCode,
  ResumeEvent,
  ThrottleEvent,
} from './events';
export { RESOURCE_WARNING_CODES } from './events';
export type { MetricsSource } from './metricsSource';
export type { AcquireSlotOptions, ResourceControllerOptions } from './options';
export { DEFAULT_RESOURCE_CONTROLLER_OPTIONS } from './options';
export type { ResourceControllerStatus } from './resourceController';
export { ResourceController } from './resourceController';
export type { SlotHandle } from './slotHandle';
export type { SystemMetricsSourceOptions } from './systemMetricsSource';
export { DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS, SystemMetricsSource } from './systemMetricsSource';

export { VERSION } from './version';
