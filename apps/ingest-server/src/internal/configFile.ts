import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { findUnknownOption, unknownOptionMessage } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import type { FaultOptions } from '../ingestServerOptions';

/** The `serve` config file (JSON). */
export interface ConfigFile {
  host?: string;
  port?: number;
  db?: string;
  /** Same as `db`. */
  databasePath?: string;
  apiKeys?: Record<string, string>;
  adminKey?: string;
  faults?: Partial<FaultOptions>;
}

/** Keys a config file may have. */
export const CONFIG_FILE_KEYS: readonly string[] = Object.freeze([
  'host',
  'port',
  'db',
  'databasePath',
  'apiKeys',
  'adminKey',
  'faults',
]);

/** Largest config file read: a config is a few hundred bytes; anything bigger is not one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

function configError(message: string, cause?: unknown): IngestServerError {
  return new IngestServerError('CONFIG_INVALID', message, cause === undefined ? {} : { cause });
}

/**
 * Reads the bytes of a config file: a regular file of at most `MAX_CONFIG_BYTES`. Opened non-blocking and
 * checked on the open descriptor, so a FIFO, a device (`/dev/urandom`, `/dev/zero`) or a directory is refused at
 * once instead of blocking or reading forever.
 */
function readConfigBytes(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw configError(
      `cannot open config ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
      cause,
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw configError(`config ${path} is not a regular file`);
    if (stat.size > MAX_CONFIG_BYTES) {
      throw configError(`config ${path} is ${stat.size} bytes; a config file is at most ${MAX_CONFIG_BYTES}`);
    }
    const bytes = Buffer.alloc(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

function parseConfigJson(path: string, bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    // JSON.parse quotes the text around the error, which may be a key: say where, never what.
    const position = /position (\d+)/.exec((cause as Error).message);
    const where = position === null ? '' : ` at ${lineColumn(text, Number(position[1]))}`;
    throw configError(
      `config ${path} is not valid JSON${where} (its content is not shown: it may hold keys)`,
    );
  }
}

function checkString(path: string, key: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    throw configError(`config ${path}: ${key} must be a non-empty string`);
  }
}

/**
 * Reads and checks a `serve` config file: JSON object, known keys only (a misspelt key is refused with a
 * did-you-mean), each of the right type. Messages never show a key or secret. Throws CONFIG_INVALID.
 */
export function readConfigFile(path: string): ConfigFile {
  const parsed = parseConfigJson(path, readConfigBytes(path));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError(`config ${path} must be a JSON object`);
  }
  const unknown = findUnknownOption(parsed, CONFIG_FILE_KEYS);
  if (unknown !== undefined) {
    throw configError(
      `config ${path}: ${unknownOptionMessage('the config file', unknown, CONFIG_FILE_KEYS)}`,
    );
  }
  const c = parsed as Record<string, unknown>;
  for (const key of ['host', 'db', 'databasePath', 'adminKey']) checkString(path, key, c[key]);
  if (c.port !== undefined && (typeof c.port !== 'number' || !Number.isInteger(c.port))) {
    throw configError(`config ${path}: port must be an integer`);
  }
  if (c.apiKeys !== undefined) {
    const keys = c.apiKeys;
    if (
      typeof keys !== 'object' ||
      keys === null ||
      Array.isArray(keys) ||
      Object.values(keys).some((t) => typeof t !== 'string')
    ) {
      throw configError(`config ${path}: apiKeys must be an object of API key → tenant id strings`);
    }
  }
  if (
    c.faults !== undefined &&
    (typeof c.faults !== 'object' || c.faults === null || Array.isArray(c.faults))
  ) {
    throw configError(`config ${path}: faults must be an object`);
  }
  return c;
}
