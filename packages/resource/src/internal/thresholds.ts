import type { SystemMetrics } from '@rediver/core';

/** The thresholds a sample is judged against; undefined ones are off. */
export interface Limits {
  cpuPercent: number;
  memoryPercent: number;
  eventLoopDelayMs: number | undefined;
  cpuPressurePercent: number | undefined;
  memoryPressurePercent: number | undefined;
}

/** One decimal at most, no trailing `.0`: `90.5`, `85`. */
const fmt = (value: number): string => String(Math.round(value * 10) / 10);

/**
 * Every figure at or over its limit, as text (`CPU 90.5% >= 85%`), in a fixed order. A figure its
 * source could not measure (origin `unavailable`) never throttles: no figure is not a high figure.
 */
export function figuresOverLimits(m: SystemMetrics, limits: Limits): string[] {
  const over: string[] = [];
  if (m.cpuOrigin !== 'unavailable' && m.cpuPercent >= limits.cpuPercent) {
    over.push(`CPU ${fmt(m.cpuPercent)}% >= ${fmt(limits.cpuPercent)}%`);
  }
  if (m.memoryOrigin !== 'unavailable' && m.memoryPercent >= limits.memoryPercent) {
    over.push(`memory ${fmt(m.memoryPercent)}% >= ${fmt(limits.memoryPercent)}%`);
  }
  if (limits.eventLoopDelayMs !== undefined && m.eventLoopDelayP99Ms >= limits.eventLoopDelayMs) {
    over.push(`event-loop delay p99 ${fmt(m.eventLoopDelayP99Ms)} ms >= ${fmt(limits.eventLoopDelayMs)} ms`);
  }
  const cpuPressure = m.pressure?.cpuSomeAvg10;
  if (
    limits.cpuPressurePercent !== undefined &&
    cpuPressure !== undefined &&
    cpuPressure >= limits.cpuPressurePercent
  ) {
    over.push(`CPU pressure ${fmt(cpuPressure)}% >= ${fmt(limits.cpuPressurePercent)}%`);
  }
  const memoryPressure = m.pressure?.memorySomeAvg10;
  if (
    limits.memoryPressurePercent !== undefined &&
    memoryPressure !== undefined &&
    memoryPressure >= limits.memoryPressurePercent
  ) {
    over.push(`memory pressure ${fmt(memoryPressure)}% >= ${fmt(limits.memoryPressurePercent)}%`);
  }
  return over;
}

/**
 * Headroom of the tightest figure, 0..1: `min((limit - value) / limit)` over every enabled, measured
 * figure; 1 when nothing is measured.
 */
export function headroom(m: SystemMetrics, limits: Limits): number {
  let h = 1;
  const take = (value: number | undefined, limit: number | undefined): void => {
    if (value === undefined || limit === undefined) return;
    h = Math.min(h, (limit - value) / limit);
  };
  if (m.cpuOrigin !== 'unavailable') take(m.cpuPercent, limits.cpuPercent);
  if (m.memoryOrigin !== 'unavailable') take(m.memoryPercent, limits.memoryPercent);
  take(m.eventLoopDelayP99Ms, limits.eventLoopDelayMs);
  take(m.pressure?.cpuSomeAvg10, limits.cpuPressurePercent);
  take(m.pressure?.memorySomeAvg10, limits.memoryPressurePercent);
  return h < 0 ? 0 : h;
}
