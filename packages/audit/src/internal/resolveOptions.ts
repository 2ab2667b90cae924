import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { silentLogger, systemClock } from '@rediver/core';
import type { Clock, Logger } from '@rediver/core';
import { AuditError } from '../auditError';
import { DEFAULT_AUDIT_LOGGER_OPTIONS } from '../options';
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
  /** The shipper's settings (its runtime hooks and random source are added where it is built) plus the close bound. */
  remote: (Omit<RemoteShipperConfig, 'random' | 'hooks'> & { closeTimeoutMs: number }) | undefined;
  transport: AuditTransportOptions | undefined;
  redact: AuditRedactOptions | undefined;
  hashChain: boolean;
  verbose: boolean;
  verboseStream: { write(chunk: string): unknown };
  logger: Logger;
  clock: Clock;
  random: () => number;
}

function invalid(name: string, value: unknown, rule: string): AuditError {
  return new AuditError('INVALID_OPTION', `audit: option ${name} must be ${rule} (got ${String(value)})`, {
    details: { option: name },
  });
}

function positive(name: string, value: number, { integer = false, infinite = false } = {}): number {
  const ok =
    typeof value === 'number' &&
    value > 0 &&
    (Number.isFinite(value) || (infinite && value === Number.POSITIVE_INFINITY)) &&
    (!integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) {
    const rule = `a positive ${integer ? 'integer' : 'number'}${infinite ? ' or Infinity' : ''}`;
    throw invalid(name, value, rule);
  }
  return value;
}

/** `~` and `~/x` expand to the home folder; the result is absolute. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(path);
}

/** Resolves options in one place; throws `AuditError` (`INVALID_OPTION`) for an invalid explicit value. */
export function resolveAuditOptions(options: AuditLoggerOptions): ResolvedAuditOptions {
  const d = DEFAULT_AUDIT_LOGGER_OPTIONS;
  const logFile = options.logFile ?? d.logFile;
  if (typeof logFile !== 'string' || logFile.trim() === '') throw invalid('logFile', logFile, 'a file path');
  const maxSizeMB = positive('maxSizeMB', options.maxSizeMB ?? d.maxSizeMB);
  const maxBytes = Math.floor(maxSizeMB * 1024 * 1024);
  if (maxBytes < 1) throw invalid('maxSizeMB', maxSizeMB, 'at least one byte');
  const maxAgeDays = positive('maxAgeDays', options.maxAgeDays ?? d.maxAgeDays, { infinite: true });
  const maxFiles = positive('maxFiles', options.maxFiles ?? d.maxFiles, { integer: true, infinite: true });
  const bufferSize = positive('bufferSize', options.bufferSize ?? d.bufferSize, { integer: true });
  const flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? d.flushIntervalMs, {
    integer: true,
  });
  const endpoint = options.remoteEndpoint ?? d.remoteEndpoint;
  let remote: ResolvedAuditOptions['remote'];
  if (endpoint !== '') {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw invalid('remoteEndpoint', endpoint, 'an http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalid('remoteEndpoint', endpoint, 'an http(s) URL');
    }
    const format = options.remoteFormat ?? d.remoteFormat;
    if (format !== 'json' && format !== 'ndjson') throw invalid('remoteFormat', format, "'json' or 'ndjson'");
    const retryBaseMs = positive('remoteRetryBaseMs', options.remoteRetryBaseMs ?? d.remoteRetryBaseMs);
    const retryMaxMs = positive('remoteRetryMaxMs', options.remoteRetryMaxMs ?? d.remoteRetryMaxMs);
    if (retryMaxMs < retryBaseMs) throw invalid('remoteRetryMaxMs', retryMaxMs, '>= remoteRetryBaseMs');
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
    logFile: expandHome(logFile),
    maxBytes,
    maxAgeMs: maxAgeDays * 86_400_000,
    maxFiles,
    compress: options.compress ?? d.compress,
    bufferSize,
    flushIntervalMs,
    remote,
    transport: options.transport,
    redact: options.redact,
    hashChain: options.hashChain ?? d.hashChain,
    verbose: options.verbose ?? d.verbose,
    verboseStream: options.verboseStream ?? process.stderr,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}
