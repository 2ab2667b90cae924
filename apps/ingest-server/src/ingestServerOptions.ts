import {
  DEFAULT_DECOMPRESSION_LIMITS,
  findUnknownOption,
  INGEST_DECOMPRESSION_LIMITS,
  optionChecker,
  silentLogger,
  unknownOptionMessage,
} from '@rediver/core';
import type { DecompressionLimits, Logger } from '@rediver/core';
import { IngestServerError } from './ingestServerError';

/** Faults the server injects into agent API requests (`/api/v1/agent/*`, except `_stats`). */
export interface FaultOptions {
  /** Share of requests answered 503 (0..1). */
  errorRate: number;
  /** Delay added before every request is handled, ms. */
  latencyMs: number;
  /** Share of requests answered 429 with `Retry-After` (0..1). */
  rateLimitRate: number;
  /** `Retry-After` of injected 429 answers, whole seconds. */
  retryAfterSeconds: number;
  /** Share of requests whose connection is reset (socket destroyed, no answer) (0..1). */
  resetRate: number;
}

/** No faults: every request is served normally. */
export const DEFAULT_FAULT_OPTIONS: Readonly<FaultOptions> = Object.freeze({
  errorRate: 0,
  latencyMs: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  resetRate: 0,
});

/** Options of `startIngestServer`. */
export interface IngestServerOptions {
  /** Interface to listen on. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  /** SQLite file; `':memory:'` keeps everything in memory (gone on close). */
  databasePath?: string;
  /** API key → tenant id. Requests with any other key get 401. */
  apiKeys?: Readonly<Record<string, string>>;
  /**
   * When set, `/_admin/*` requires `Authorization: Bearer <adminKey>`. Unset, `/_admin/*` is open, which is
   * allowed only on a loopback `host`: anywhere else the key is required (INVALID_OPTION without it).
   */
  adminKey?: string;
  /** Initial faults (change them later with `setFaults` or `PUT /_admin/faults`). */
  faults?: Partial<FaultOptions>;
  /** Body limits of the ingest routes (`/api/v1/agent/ingest*`). */
  ingestLimits?: DecompressionLimits;
  /** Body limits of every other route. */
  defaultLimits?: DecompressionLimits;
  /** Limits applied to a chunk's inner `data` once base64-decoded. */
  chunkDataLimits?: DecompressionLimits;
  /**
   * Worker threads that decode, scan, parse and validate chunk and report bodies, so that no body holds the
   * event loop; 0 does that work on the main thread. Started on first use.
   */
  bodyWorkers?: number;
  /** Random source of fault injection (tests make it deterministic). */
  random?: () => number;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
}

/** Options after defaults are applied. */
export interface ResolvedIngestServerOptions {
  host: string;
  port: number;
  databasePath: string;
  apiKeys: Record<string, string>;
  adminKey: string | undefined;
  faults: FaultOptions;
  ingestLimits: DecompressionLimits;
  defaultLimits: DecompressionLimits;
  chunkDataLimits: DecompressionLimits;
  bodyWorkers: number;
  random: () => number;
  logger: Logger;
}

/** Defaults of `startIngestServer`. */
export const DEFAULT_INGEST_SERVER_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  databasePath: ':memory:',
  apiKeys: Object.freeze({}) as Readonly<Record<string, string>>,
  adminKey: undefined as string | undefined,
  faults: DEFAULT_FAULT_OPTIONS,
  ingestLimits: INGEST_DECOMPRESSION_LIMITS,
  defaultLimits: DEFAULT_DECOMPRESSION_LIMITS,
  chunkDataLimits: DEFAULT_DECOMPRESSION_LIMITS,
  bodyWorkers: 2,
  random: Math.random,
  logger: silentLogger,
});

/** Most body worker threads one server may run. */
export const MAX_BODY_WORKERS = 16;

/** The server's option checks: `<option> must be <rule>, got <value>` (HTTP 400 on the admin API), `details.option` set. */
const check = optionChecker({
  error: (message, o) => new IngestServerError('INVALID_OPTION', message, { ...o, status: 400 }),
  message: (option, rule, got) => `${option} must be ${rule}${got === undefined ? '' : `, got ${got}`}`,
});

/** True for hosts only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function checkRate(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw check.invalid(`faults.${name}`, 'a number between 0 and 1', value);
  }
  return value;
}

/** Merges `patch` into `base` and validates the result; throws INVALID_OPTION on a bad value. */
export function resolveFaults(base: FaultOptions, patch: unknown): FaultOptions {
  if (patch === undefined) return { ...base };
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw check.invalid('faults', 'an object');
  }
  const known = Object.keys(DEFAULT_FAULT_OPTIONS);
  const unknown = findUnknownOption(patch, known);
  if (unknown !== undefined) {
    throw check.refuse(`faults.${unknown.key}`, unknownOptionMessage('faults', unknown, known));
  }
  const p = patch as Partial<Record<keyof FaultOptions, unknown>>;
  const latencyMs = p.latencyMs ?? base.latencyMs;
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0 || latencyMs > 600_000) {
    throw check.invalid('faults.latencyMs', 'a number of ms between 0 and 600000', JSON.stringify(latencyMs));
  }
  const retryAfterSeconds = p.retryAfterSeconds ?? base.retryAfterSeconds;
  if (
    typeof retryAfterSeconds !== 'number' ||
    !Number.isInteger(retryAfterSeconds) ||
    retryAfterSeconds < 0
  ) {
    throw check.invalid(
      'faults.retryAfterSeconds',
      'a non-negative integer',
      JSON.stringify(retryAfterSeconds),
    );
  }
  return {
    errorRate: checkRate('errorRate', p.errorRate ?? base.errorRate),
    latencyMs,
    rateLimitRate: checkRate('rateLimitRate', p.rateLimitRate ?? base.rateLimitRate),
    retryAfterSeconds,
    resetRate: checkRate('resetRate', p.resetRate ?? base.resetRate),
  };
}

function checkLimits(name: string, value: DecompressionLimits): DecompressionLimits {
  for (const key of ['maxCompressedBytes', 'maxDecompressedBytes', 'maxRatio'] as const) {
    const v = value[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw check.invalid(`${name}.${key}`, 'a positive number', v);
    }
  }
  return Object.freeze({ ...value });
}

/** Applies defaults and validates; throws `IngestServerError` INVALID_OPTION on an invalid explicit value. */
export function resolveIngestServerOptions(options: IngestServerOptions = {}): ResolvedIngestServerOptions {
  const d = DEFAULT_INGEST_SERVER_OPTIONS;
  const known = [...Object.keys(DEFAULT_INGEST_SERVER_OPTIONS)];
  const unknown = findUnknownOption(options, known);
  if (unknown !== undefined) {
    throw check.refuse(unknown.key, unknownOptionMessage('startIngestServer', unknown, known));
  }
  const port = options.port ?? d.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw check.invalid('port', '0..65535', port);
  const host = options.host ?? d.host;
  if (typeof host !== 'string' || host.length === 0) throw check.invalid('host', 'a non-empty string');
  const databasePath = options.databasePath ?? d.databasePath;
  if (typeof databasePath !== 'string' || databasePath.length === 0) {
    throw check.invalid('databasePath', 'a non-empty string');
  }
  const apiKeys: Record<string, string> = {};
  for (const [key, tenant] of Object.entries(options.apiKeys ?? d.apiKeys)) {
    if (key.length === 0 || /\s/.test(key))
      throw check.refuse('apiKeys', 'API keys must be non-empty and contain no spaces');
    if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 256) {
      throw check.refuse('apiKeys', 'every API key must map to a tenant id of 1..256 characters');
    }
    apiKeys[key] = tenant;
  }
  if (
    options.adminKey !== undefined &&
    (typeof options.adminKey !== 'string' || options.adminKey.length === 0)
  ) {
    throw check.invalid('adminKey', 'a non-empty string when set');
  }
  if (options.adminKey === undefined && !isLoopbackHost(host)) {
    throw check.refuse(
      'adminKey',
      `host ${host} is reachable from other machines: set adminKey, or /_admin/* (stats, faults, commands) ` +
        'would be open to anyone who can reach it',
    );
  }
  const bodyWorkers = options.bodyWorkers ?? d.bodyWorkers;
  if (!Number.isInteger(bodyWorkers) || bodyWorkers < 0 || bodyWorkers > MAX_BODY_WORKERS) {
    throw check.invalid('bodyWorkers', `an integer from 0 to ${MAX_BODY_WORKERS}`, bodyWorkers);
  }
  if (options.random !== undefined && typeof options.random !== 'function')
    throw check.invalid('random', 'a function');
  return {
    host,
    port,
    databasePath,
    apiKeys,
    adminKey: options.adminKey,
    faults: resolveFaults(d.faults, options.faults),
    ingestLimits: checkLimits('ingestLimits', options.ingestLimits ?? d.ingestLimits),
    defaultLimits: checkLimits('defaultLimits', options.defaultLimits ?? d.defaultLimits),
    chunkDataLimits: checkLimits('chunkDataLimits', options.chunkDataLimits ?? d.chunkDataLimits),
    bodyWorkers,
    random: options.random ?? d.random,
    logger: options.logger ?? d.logger,
  };
}
