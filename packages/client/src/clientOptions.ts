import type { Clock, Logger } from '@rediver/core';
import {
  COMPRESSION_THRESHOLD_BYTES,
  findUnknownOption,
  MAX_TIMER_MS,
  optionChecker,
  optionNames,
  silentLogger,
  systemClock,
  unknownOptionMessage,
} from '@rediver/core';
import { ClientError } from './clientError';
import { VERSION } from './version';

/** Options of `createClient`. */
export interface ClientOptions {
  /** Platform base URL (http or https), may carry a path prefix. Required. */
  baseUrl: string;
  /** API key (`rdv_...`), at least 8 visible ASCII characters; sent only in `Authorization`. Required. */
  apiKey: string;
  /** Agent id, sent as `X-Agent-ID` when set. */
  agentId?: string;
  /** Limit for one whole request (connect, send, answer), ms. */
  timeoutMs?: number;
  /** `User-Agent` header. */
  userAgent?: string;
  /** Keep-alive sockets the pool may open to the platform. */
  maxConnections?: number;
  /** JSON bodies larger than this are gzip-compressed when that makes them smaller, bytes. */
  compressionThresholdBytes?: number;
  /** Pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Time source for `Retry-After` dates. */
  clock?: Clock;
}

/** Defaults of the optional `ClientOptions`. */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  timeoutMs: 30_000,
  userAgent: `rediver-agent-sdk-ts/${VERSION}`,
  maxConnections: 8,
  compressionThresholdBytes: COMPRESSION_THRESHOLD_BYTES,
  logger: silentLogger,
  clock: systemClock,
} as const);

/** `ClientOptions` with every default applied and every value checked. */
export interface ResolvedClientOptions {
  readonly origin: string;
  readonly pathPrefix: string;
  readonly apiKey: string;
  readonly agentId: string | undefined;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly maxConnections: number;
  readonly compressionThresholdBytes: number;
  readonly logger: Logger;
  readonly clock: Clock;
}

const API_KEY = /^[\x21-\x7e]{8,}$/;
const HEADER_TEXT = /^[\x20-\x7e]+$/;

/**
 * The client's option checks: `` Invalid client option `timeoutMs`: expected <rule>, got <value>. `` or, when no
 * value is echoed (never the API key), `` Invalid client option `apiKey`: <reason>. ``; `details.option` is set.
 */
const check = optionChecker({
  error: (message, o) => new ClientError('INVALID_OPTION', message, o),
  message: (option, rule, got) =>
    got === undefined
      ? `Invalid client option \`${option}\`: ${rule}.`
      : `Invalid client option \`${option}\`: expected ${rule}, got ${got}.`,
});

/** Every key of `ClientOptions`: any other is refused with a did-you-mean. */
const OPTION_KEYS = optionNames<ClientOptions>({
  baseUrl: true,
  apiKey: true,
  agentId: true,
  timeoutMs: true,
  userAgent: true,
  maxConnections: true,
  compressionThresholdBytes: true,
  logger: true,
  clock: true,
});

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return check.integer(name, value, { min, max });
}

/** Applies defaults and validates; throws `ClientError` `INVALID_OPTION` (never clamps). */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw check.invalid('options', 'expected an object');
  // First: a misspelt key (`apikey`) also leaves the real one missing; the did-you-mean explains both.
  const unknown = findUnknownOption(options, OPTION_KEYS);
  if (unknown !== undefined) {
    throw new ClientError('INVALID_OPTION', unknownOptionMessage('createClient', unknown, OPTION_KEYS), {
      details: { option: unknown.key },
    });
  }
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw check.invalid('baseUrl', 'expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw check.invalid('baseUrl', `expected http: or https:, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '')
    throw check.invalid('baseUrl', 'credentials belong in apiKey, not the URL');
  if (url.search !== '' || url.hash !== '')
    throw check.invalid('baseUrl', 'expected no query string or fragment');
  // The key itself is never put in a message: only what is wrong with it.
  if (typeof options.apiKey !== 'string' || !API_KEY.test(options.apiKey)) {
    throw check.invalid('apiKey', 'expected at least 8 visible ASCII characters (no spaces)');
  }
  const agentId = options.agentId;
  if (agentId !== undefined && (typeof agentId !== 'string' || !HEADER_TEXT.test(agentId))) {
    throw check.invalid('agentId', 'expected non-empty printable ASCII');
  }
  const userAgent = options.userAgent ?? DEFAULT_CLIENT_OPTIONS.userAgent;
  if (typeof userAgent !== 'string' || !HEADER_TEXT.test(userAgent)) {
    throw check.invalid('userAgent', 'expected non-empty printable ASCII');
  }
  const logger = options.logger ?? DEFAULT_CLIENT_OPTIONS.logger;
  if (typeof logger.debug !== 'function' || typeof logger.warn !== 'function') {
    throw check.invalid('logger', 'expected a pino-compatible logger');
  }
  const clock = options.clock ?? DEFAULT_CLIENT_OPTIONS.clock;
  if (typeof clock.now !== 'function') throw check.invalid('clock', 'expected { now(): number }');
  return Object.freeze({
    origin: url.origin,
    pathPrefix: url.pathname.replace(/\/+$/, ''),
    apiKey: options.apiKey,
    agentId,
    timeoutMs: checkInteger(
      'timeoutMs',
      options.timeoutMs ?? DEFAULT_CLIENT_OPTIONS.timeoutMs,
      1,
      MAX_TIMER_MS,
    ),
    userAgent,
    maxConnections: checkInteger(
      'maxConnections',
      options.maxConnections ?? DEFAULT_CLIENT_OPTIONS.maxConnections,
      1,
    ),
    compressionThresholdBytes: checkInteger(
      'compressionThresholdBytes',
      options.compressionThresholdBytes ?? DEFAULT_CLIENT_OPTIONS.compressionThresholdBytes,
      0,
    ),
    logger,
    clock,
  });
}
