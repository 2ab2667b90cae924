import { homedir } from 'node:os';
import { resolve } from 'node:path';
import {
  AUDIT_EVENT_TYPES,
  expandHome,
  findUnknownOption,
  optionChecker,
  silentLogger,
  systemClock,
  unknownOptionMessage,
} from '@rediver/core';
import type { AuditEventType, Clock, Logger } from '@rediver/core';
import { AuditError } from '../auditError';
import { AUDIT_LOGGER_OPTION_KEYS, DEFAULT_AUDIT_LOGGER_OPTIONS } from '../options';
import type { AuditLoggerOptions, AuditRedactOptions, AuditTransportOptions } from '../options';
import type { RemoteShipperConfig } from './remoteShipper';

/** Options after defaults and validation. */
export interface ResolvedAuditOptions {
  agentId: string | undefined;
  tenantId: string | undefined;
  logFile: string;
  maxBytes: number;
  maxAgeMs: number;
  maxFiles: number;
  compress: boolean;
  bufferSize: number;
  flushIntervalMs: number;
  durableTypes: ReadonlySet<string>;
  /** The shipper's settings (its runtime hooks, clock and random source are added where it is built) plus the close bound. */
  remote: (Omit<RemoteShipperConfig, 'random' | 'now' | 'hooks'> & { closeTimeoutMs: number }) | undefined;
  transport: AuditTransportOptions | undefined;
  redact: AuditRedactOptions | undefined;
  hashChain: boolean;
  /** Sealing settings (hash chain with `seal` only). */
  seal: { keyFile: string; secret: string | undefined } | undefined;
  checkpointEveryLines: number;
  checkpointIntervalMs: number;
  verbose: boolean;
  verboseStream: { write(chunk: string): unknown };
  logger: Logger;
  clock: Clock;
  random: () => number;
}

/** The audit package's option checks: `audit: option <name> must be <rule> (got <value>)`, `details.option` set. */
const check = optionChecker({
  error: (message, o) => new AuditError('INVALID_OPTION', message, o),
  message: (option, rule, got) =>
    `audit: option ${option} must be ${rule}${got === undefined ? '' : ` (got ${got})`}`,
});

/** A positive number (`integer`: a positive integer; `infinite`: Infinity allowed). */
function positive(name: string, value: unknown, { integer = false, infinite = false } = {}): number {
  const range = { min: 0, exclusiveMin: true, infinity: infinite };
  return integer ? check.integer(name, value, range) : check.number(name, value, range);
}

/** Refuses keys `known` does not list, with a did-you-mean (`INVALID_OPTION`, `details.option` = the key). */
export function refuseUnknownOptions(component: string, options: object, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw new AuditError('INVALID_OPTION', `audit: ${component} options must be an object`, {
      details: { option: 'options' },
    });
  }
  const unknown = findUnknownOption(options, known);
  if (unknown) {
    throw new AuditError('INVALID_OPTION', `audit: ${unknownOptionMessage(component, unknown, known)}`, {
      details: { option: unknown.key, suggestion: unknown.suggestion },
    });
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(AUDIT_EVENT_TYPES));

/** `~` and `~/x` expand to the home folder; the result is absolute. */
export function expandPath(path: string): string {
  return resolve(expandHome(path, homedir()));
}

/** Resolves options in one place; throws `AuditError` (`INVALID_OPTION`) for an invalid explicit value. */
export function resolveAuditOptions(options: AuditLoggerOptions): ResolvedAuditOptions {
  refuseUnknownOptions('AuditLogger', options, AUDIT_LOGGER_OPTION_KEYS);
  const d = DEFAULT_AUDIT_LOGGER_OPTIONS;
  const logFile = options.logFile ?? d.logFile;
  if (typeof logFile !== 'string' || logFile.trim() === '')
    throw check.invalid('logFile', 'a file path', logFile);
  const maxSizeMB = positive('maxSizeMB', options.maxSizeMB ?? d.maxSizeMB);
  const maxBytes = Math.floor(maxSizeMB * 1024 * 1024);
  if (maxBytes < 1) throw check.invalid('maxSizeMB', 'at least one byte', maxSizeMB);
  const maxAgeDays = positive('maxAgeDays', options.maxAgeDays ?? d.maxAgeDays, { infinite: true });
  const maxFiles = positive('maxFiles', options.maxFiles ?? d.maxFiles, { integer: true, infinite: true });
  const bufferSize = positive('bufferSize', options.bufferSize ?? d.bufferSize, { integer: true });
  const flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? d.flushIntervalMs, {
    integer: true,
  });
  const durable: readonly AuditEventType[] = options.durableTypes ?? d.durableTypes;
  if (!Array.isArray(durable) || durable.some((t) => !EVENT_TYPES.has(t))) {
    throw check.invalid('durableTypes', 'an array of audit event types', durable);
  }
  const checkpointEveryLines = positive(
    'checkpointEveryLines',
    options.checkpointEveryLines ?? d.checkpointEveryLines,
    { integer: true },
  );
  const checkpointIntervalMs = positive(
    'checkpointIntervalMs',
    options.checkpointIntervalMs ?? d.checkpointIntervalMs,
  );
  const hashChain = options.hashChain ?? d.hashChain;
  const sealOn = options.seal ?? d.seal;
  if (typeof sealOn !== 'boolean') throw check.invalid('seal', 'a boolean', sealOn);
  const secret = options.sealSecret;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16)) {
    // Never echo the secret itself.
    throw check.invalid('sealSecret', 'a string of at least 16 characters');
  }
  const keyFileOption = options.sealKeyFile;
  if (keyFileOption !== undefined && (typeof keyFileOption !== 'string' || keyFileOption.trim() === '')) {
    throw check.invalid('sealKeyFile', 'a file path', keyFileOption);
  }
  const resolvedLogFile = expandPath(logFile);
  const seal =
    hashChain && sealOn
      ? {
          keyFile: keyFileOption === undefined ? `${resolvedLogFile}.key` : expandPath(keyFileOption),
          secret,
        }
      : undefined;
  const endpoint = options.remoteEndpoint ?? d.remoteEndpoint;
  let remote: ResolvedAuditOptions['remote'];
  if (endpoint !== '') {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw check.invalid('remoteEndpoint', 'an http(s) URL', endpoint);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw check.invalid('remoteEndpoint', 'an http(s) URL', endpoint);
    }
    const format = options.remoteFormat ?? d.remoteFormat;
    if (format !== 'json' && format !== 'ndjson')
      throw check.invalid('remoteFormat', "'json' or 'ndjson'", format);
    const logger = options.logger ?? silentLogger;
    const warn = (message: string, details: object): void => logger.warn(details, `audit: ${message}`);
    const base = check.renamed(options, {
      name: 'remoteRetryBaseDelayMs',
      deprecated: 'remoteRetryBaseMs',
      warn,
    });
    const max = check.renamed(options, {
      name: 'remoteRetryMaxDelayMs',
      deprecated: 'remoteRetryMaxMs',
      warn,
    });
    const retryBaseMs = positive(
      options.remoteRetryBaseMs === undefined ? 'remoteRetryBaseDelayMs' : 'remoteRetryBaseMs',
      base ?? d.remoteRetryBaseDelayMs,
    );
    const retryMaxMs = positive(
      options.remoteRetryMaxMs === undefined ? 'remoteRetryMaxDelayMs' : 'remoteRetryMaxMs',
      max ?? d.remoteRetryMaxDelayMs,
    );
    if (retryMaxMs < retryBaseMs) {
      throw check.invalid('remoteRetryMaxDelayMs', '>= remoteRetryBaseDelayMs', retryMaxMs);
    }
    remote = {
      url: url.href,
      format,
      headers: { ...options.remoteHeaders },
      batchSize: positive('remoteBatchSize', options.remoteBatchSize ?? d.remoteBatchSize, { integer: true }),
      maxBacklog: positive('remoteMaxBacklog', options.remoteMaxBacklog ?? d.remoteMaxBacklog, {
        integer: true,
      }),
      timeoutMs: positive('remoteTimeoutMs', options.remoteTimeoutMs ?? d.remoteTimeoutMs),
      retryBaseMs,
      retryMaxMs,
      closeTimeoutMs: positive(
        'remoteCloseTimeoutMs',
        options.remoteCloseTimeoutMs ?? d.remoteCloseTimeoutMs,
      ),
    };
  }
  return {
    agentId: options.agentId || undefined,
    tenantId: options.tenantId || undefined,
    logFile: resolvedLogFile,
    maxBytes,
    maxAgeMs: maxAgeDays * 86_400_000,
    maxFiles,
    compress: options.compress ?? d.compress,
    bufferSize,
    flushIntervalMs,
    durableTypes: new Set(durable),
    remote,
    transport: options.transport,
    redact: options.redact,
    hashChain,
    seal,
    checkpointEveryLines,
    checkpointIntervalMs,
    verbose: options.verbose ?? d.verbose,
    verboseStream: options.verboseStream ?? process.stderr,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}
