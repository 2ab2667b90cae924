import { hostname } from 'node:os';
import { PACKAGE_SECTIONS } from './types';

/**
 * Bounds of the agent's duration options, ms: `[min, max]`. A value outside is refused (never clamped): a poll
 * interval of 99999999999 would overflow Node's timer to 1 ms and poll thousands of times a second.
 */
export const DURATION_BOUNDS = Object.freeze({
  scanTimeoutMs: [1, 7 * 24 * 3_600_000],
  pollIntervalMs: [1, 3_600_000],
  heartbeatIntervalMs: [1, 3_600_000],
  shutdownTimeoutMs: [0, 3_600_000],
  deliveryStallTimeoutMs: [1, 7 * 24 * 3_600_000],
  deliveryTimeoutMs: [1, 7 * 24 * 3_600_000],
} as const satisfies Record<string, readonly [number, number]>);

/** A tenant id: 1..128 letters, digits, `_ . : -` (no slash, space or control character). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Keys of the `scanners` mapping (`scanners.list` is the list of scanners a job runs when it names none). */
export const SCANNERS_KEYS = ['list', 'maxCpuPercent', 'maxMemoryMB', 'passEnv'] as const;

/** Defaults of the agent's own fields. */
export const DEFAULT_AGENT_CONFIG = Object.freeze({
  scanners: Object.freeze<string[]>(['secretlint']),
  scanTimeoutMs: 600_000,
  pollIntervalMs: 10_000,
  maxQueuedJobs: 8,
  heartbeatIntervalMs: 30_000,
  shutdownTimeoutMs: 15_000,
  deliveryStallTimeoutMs: 120_000,
  progress: 'auto',
});

export const TOP_LEVEL_KEYS = [
  'server',
  'apiKey',
  'agentId',
  'agentName',
  'tenantId',
  'region',
  'dataDir',
  'scanners',
  'scanTimeoutMs',
  'pollIntervalMs',
  'maxQueuedJobs',
  'heartbeatIntervalMs',
  'shutdownTimeoutMs',
  'deliveryStallTimeoutMs',
  'deliveryTimeoutMs',
  'progress',
  'metricsPort',
  'metricsHost',
  ...PACKAGE_SECTIONS,
] as const;

export function defaultAgentId(): string {
  const id = `agent-${hostname()}`.replace(/[^A-Za-z0-9_-]/g, '-');
  return id.slice(0, 128);
}
