import type { Clock, Logger, QueueItem, RediverError, UploadResult } from '@rediver/core';
import {
  findUnknownOption,
  optionChecker,
  optionNames,
  silentLogger,
  systemClock,
  unknownOptionMessage,
} from '@rediver/core';
import type { UploadPipelineOptions } from '../options';
import { DEFAULT_UPLOAD_PIPELINE_OPTIONS } from '../options';
import { PipelineError } from '../pipelineError';

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

/** The pipeline's option checks: `pipeline option <name> must be <rule> (got <value>)`, `details.option` set. */
const check = optionChecker({
  error: (message, o) => new PipelineError('INVALID_OPTION', message, o),
  message: (option, rule, got) =>
    `pipeline option ${option} must be ${rule}${got === undefined ? '' : ` (got ${got})`}`,
});

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
  if (typeof options !== 'object' || options === null) throw check.invalid('options', 'an object', options);
  const unknown = findUnknownOption(options, OPTION_KEYS);
  if (unknown !== undefined) {
    throw new PipelineError('INVALID_OPTION', unknownOptionMessage('UploadPipeline', unknown, OPTION_KEYS), {
      details: { option: unknown.key },
    });
  }
  const d = DEFAULT_UPLOAD_PIPELINE_OPTIONS;
  const retryDelayMs = check.duration('retryDelayMs', options.retryDelayMs ?? d.retryDelayMs);
  const maxRetryDelayMs = check.duration('maxRetryDelayMs', options.maxRetryDelayMs ?? d.maxRetryDelayMs);
  if (maxRetryDelayMs < retryDelayMs) {
    throw check.invalid('maxRetryDelayMs', `at least retryDelayMs (${retryDelayMs})`, maxRetryDelayMs);
  }
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  if (typeof logger?.warn !== 'function') throw check.invalid('logger', 'a pino-compatible logger', logger);
  if (typeof clock?.now !== 'function') throw check.invalid('clock', 'a Clock', clock);
  return {
    queueSize: check.integer('queueSize', options.queueSize ?? d.queueSize, { min: 1, max: 2 ** 32 }),
    workers: check.integer('workers', options.workers ?? d.workers, { min: 1, max: 10_000 }),
    retryAttempts: check.integer('retryAttempts', options.retryAttempts ?? d.retryAttempts, {
      min: 0,
      max: 1000,
    }),
    retryDelayMs,
    maxRetryDelayMs,
    retryJitterRatio: check.number('retryJitterRatio', options.retryJitterRatio ?? d.retryJitterRatio, {
      min: 0,
      max: 1,
    }),
    uploadTimeoutMs: check.duration('uploadTimeoutMs', options.uploadTimeoutMs ?? d.uploadTimeoutMs, {
      min: 1,
    }),
    verbose: check.boolean('verbose', options.verbose ?? d.verbose),
    onSubmitted: check.optionalFunction('onSubmitted', options.onSubmitted),
    onCompleted: check.optionalFunction('onCompleted', options.onCompleted),
    onFailed: check.optionalFunction('onFailed', options.onFailed),
    logger,
    clock,
    random: check.optionalFunction('random', options.random) ?? Math.random,
  };
}
