import { availableParallelism } from 'node:os';
import type { Clock, Logger, SystemMetrics } from '@rediver/core';
import { MAX_TIMER_MS, optionNames, silentLogger, systemClock } from '@rediver/core';
import { ResourceError } from '../errors';
import type { MetricsSource } from '../metricsSource';
import type { AcquireSlotOptions, ResourceControllerOptions } from '../options';
import { DEFAULT_RESOURCE_CONTROLLER_OPTIONS } from '../options';
import { SystemMetricsSource } from '../systemMetricsSource';
import { resourceOptionChecker } from './optionCheck';
import { unknownKeyError } from './optionKeys';
import type { Limits } from './thresholds';

/** The controller's options after defaults and validation. */
export interface ResolvedOptions {
  limits: Limits;
  maxConcurrentJobs: number;
  minConcurrentJobs: number;
  sampleIntervalMs: number;
  cooldownMs: number;
  verbose: boolean;
  onThresholdExceeded: ((metrics: SystemMetrics, reason: string) => void) | undefined;
  onThresholdCleared: ((metrics: SystemMetrics) => void) | undefined;
  source: MetricsSource;
  ownsSource: boolean;
  logger: Logger;
  clock: Clock;
}

/** The controller's option checks: `ResourceController: <option> must be <rule>, got <value>`. */
const check = resourceOptionChecker('ResourceController');

function percent(name: string, value: unknown): number {
  return check.number(name, value, { min: 0, exclusiveMin: true, max: 100 });
}

function optionalPercent(name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : percent(name, value);
}

function integer(name: string, value: unknown, min: number, max: number): number {
  return check.integer(name, value, { min, max });
}

/** Checks a job count for `setMaxConcurrentJobs`. */
export function checkMaxJobs(value: unknown, minConcurrentJobs: number): number {
  return integer('maxConcurrentJobs', value, Math.max(1, minConcurrentJobs), Number.MAX_SAFE_INTEGER);
}

/** Every key of `ResourceControllerOptions`: any other is refused with a did-you-mean. */
const CONTROLLER_OPTION_KEYS = optionNames<ResourceControllerOptions>({
  cpuThreshold: true,
  memoryThreshold: true,
  eventLoopDelayThresholdMs: true,
  cpuPressureThreshold: true,
  memoryPressureThreshold: true,
  maxConcurrentJobs: true,
  minConcurrentJobs: true,
  sampleIntervalMs: true,
  cooldownMs: true,
  verbose: true,
  onThresholdExceeded: true,
  onThresholdCleared: true,
  metricsSource: true,
  logger: true,
  clock: true,
});

const ACQUIRE_OPTION_KEYS = optionNames<AcquireSlotOptions>({ signal: true, timeoutMs: true });

/** The error for `acquireSlotBlocking` options that are not an object or have a key it does not know. */
export function checkAcquireOptions(options: unknown): ResourceError | undefined {
  if (typeof options !== 'object' || options === null) {
    return new ResourceError(
      'INVALID_OPTION',
      `acquireSlotBlocking options must be an object, got ${String(options)}`,
      {
        details: { option: 'options' },
      },
    );
  }
  return unknownKeyError('acquireSlotBlocking', options, ACQUIRE_OPTION_KEYS);
}

/** Applies defaults and validates; every invalid explicit value throws `INVALID_OPTION`. */
export function resolveOptions(options: ResourceControllerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw check.invalid('options', 'an object', options);
  const unknown = unknownKeyError('ResourceController', options, CONTROLLER_OPTION_KEYS);
  if (unknown !== undefined) throw unknown;
  const d = DEFAULT_RESOURCE_CONTROLLER_OPTIONS;
  const limits: Limits = {
    cpuPercent: percent('cpuThreshold', options.cpuThreshold ?? d.cpuThreshold),
    memoryPercent: percent('memoryThreshold', options.memoryThreshold ?? d.memoryThreshold),
    eventLoopDelayMs: undefined,
    cpuPressurePercent: optionalPercent('cpuPressureThreshold', options.cpuPressureThreshold),
    memoryPressurePercent: optionalPercent('memoryPressureThreshold', options.memoryPressureThreshold),
  };
  const delay = options.eventLoopDelayThresholdMs;
  if (delay !== undefined && (typeof delay !== 'number' || !Number.isFinite(delay) || delay <= 0)) {
    throw check.invalid('eventLoopDelayThresholdMs', 'a number > 0', delay);
  }
  limits.eventLoopDelayMs = delay;
  const minConcurrentJobs = integer(
    'minConcurrentJobs',
    options.minConcurrentJobs ?? d.minConcurrentJobs,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  if (options.maxConcurrentJobs !== undefined) checkMaxJobs(options.maxConcurrentJobs, 1);
  if (options.maxConcurrentJobs !== undefined && options.maxConcurrentJobs < minConcurrentJobs) {
    throw check.invalid(
      'maxConcurrentJobs',
      `>= minConcurrentJobs (${minConcurrentJobs})`,
      options.maxConcurrentJobs,
    );
  }
  const sampleIntervalMs = integer(
    'sampleIntervalMs',
    options.sampleIntervalMs ?? d.sampleIntervalMs,
    1,
    MAX_TIMER_MS,
  );
  const cooldownMs = options.cooldownMs ?? d.cooldownMs;
  if (typeof cooldownMs !== 'number' || !Number.isFinite(cooldownMs) || cooldownMs < 0) {
    throw check.invalid('cooldownMs', 'a number >= 0', cooldownMs);
  }
  for (const name of ['onThresholdExceeded', 'onThresholdCleared'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw check.invalid(name, 'a function', options[name]);
  }
  const source = options.metricsSource;
  if (source !== undefined && typeof source.sample !== 'function') {
    throw check.invalid('metricsSource', 'an object with sample()', source);
  }
  const ownsSource = source === undefined;
  const resolvedSource =
    source ?? new SystemMetricsSource({ ...(options.clock ? { clock: options.clock } : {}) });
  // Not explicit: follow the effective CPUs (cgroup quota or host), rounded up so 1.5 CPUs run 2 jobs,
  // and never below minConcurrentJobs (an explicit value wins over a derived one).
  const cpus = resolvedSource.effectiveCpus?.() ?? availableParallelism();
  const maxConcurrentJobs =
    options.maxConcurrentJobs ?? Math.max(1, minConcurrentJobs, Math.ceil(Number.isFinite(cpus) ? cpus : 1));
  return {
    limits,
    maxConcurrentJobs,
    minConcurrentJobs,
    sampleIntervalMs,
    cooldownMs,
    verbose: options.verbose ?? d.verbose,
    onThresholdExceeded: options.onThresholdExceeded,
    onThresholdCleared: options.onThresholdCleared,
    source: resolvedSource,
    ownsSource,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
  };
}
