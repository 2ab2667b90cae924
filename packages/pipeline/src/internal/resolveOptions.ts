import type { Clock, Logger, QueueItem, RediverError, UploadResult } from '@rediver/core';
import {
  findUnknownOption,
  optionNames,
  silentLogger,
  systemClock,
  unknownOptionMessage,
} from '@rediver/core';
import type { UploadPipelineOptions } from '../options';
import { DEFAULT_UPLOAD_PIPELINE_OPTIONS } from '../options';
import { PipelineError } from '../pipelineError';
import { MAX_TIMER_MS } from './backoff';

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  readonly queueSize: number;
  readonly workers: number;
  readonly retryAttempts: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly retryJitterRatio: number;
  readonly uploadTimeoutMs: number;
  readonly verbose: boolean;
  readonly onSubmitted: ((item: QueueItem) => void) | undefined;
  readonly onCompleted: ((item: QueueItem, result: UploadResult) => void) | undefined;
  readonly onFailed: ((item: QueueItem, error: RediverError) => void) | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
}

function invalid(name: string, value: unknown, rule: string): PipelineError {
  return new PipelineError(
    'INVALID_OPTION',
    `pipeline option ${name} must be ${rule} (got ${String(value)})`,
    {
      details: { option: name },
    },
  );
}

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function num(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(name, value, `a number from ${min} to ${max}`);
  }
  return value;
}

function bool(name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw invalid(name, value, 'a boolean');
  return value;
}

function fn<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, value, 'a function');
  return value;
}

/** Every key of `UploadPipelineOptions`: any other is refused with a did-you-mean. */
const OPTION_KEYS = optionNames<UploadPipelineOptions>({
  queueSize: true,
  workers: true,
  retryAttempts: true,
  retryDelayMs: true,
  maxRetryDelayMs: true,
  retryJitterRatio: true,
  uploadTimeoutMs: true,
  verbose: true,
  onSubmitted: true,
  onCompleted: true,
  onFailed: true,
  logger: true,
  clock: true,
  random: true,
});

/** Applies defaults and validates, throwing `INVALID_OPTION` for any bad explicit value or unknown key. */
export function resolveOptions(options: UploadPipelineOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', options, 'an object');
  const unknown = findUnknownOption(options, OPTION_KEYS);
  if (unknown !== undefined) {
    throw new PipelineError('INVALID_OPTION', unknownOptionMessage('UploadPipeline', unknown, OPTION_KEYS), {
      details: { option: unknown.key },
    });
  }
  const d = DEFAULT_UPLOAD_PIPELINE_OPTIONS;
  const retryDelayMs = num('retryDelayMs', options.retryDelayMs ?? d.retryDelayMs, 0, MAX_TIMER_MS);
  const maxRetryDelayMs = num(
    'maxRetryDelayMs',
    options.maxRetryDelayMs ?? d.maxRetryDelayMs,
    0,
    MAX_TIMER_MS,
  );
  if (maxRetryDelayMs < retryDelayMs) {
    throw invalid('maxRetryDelayMs', maxRetryDelayMs, `at least retryDelayMs (${retryDelayMs})`);
  }
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  if (typeof logger?.warn !== 'function') throw invalid('logger', logger, 'a pino-compatible logger');
  if (typeof clock?.now !== 'function') throw invalid('clock', clock, 'a Clock');
  return {
    queueSize: int('queueSize', options.queueSize ?? d.queueSize, 1, 2 ** 32),
    workers: int('workers', options.workers ?? d.workers, 1, 10_000),
    retryAttempts: int('retryAttempts', options.retryAttempts ?? d.retryAttempts, 0, 1000),
    retryDelayMs,
    maxRetryDelayMs,
    retryJitterRatio: num('retryJitterRatio', options.retryJitterRatio ?? d.retryJitterRatio, 0, 1),
    uploadTimeoutMs: num('uploadTimeoutMs', options.uploadTimeoutMs ?? d.uploadTimeoutMs, 1, MAX_TIMER_MS),
    verbose: bool('verbose', options.verbose ?? d.verbose),
    onSubmitted: fn('onSubmitted', options.onSubmitted),
    onCompleted: fn('onCompleted', options.onCompleted),
    onFailed: fn('onFailed', options.onFailed),
    logger,
    clock,
    random: fn('random', options.random) ?? Math.random,
  };
}
