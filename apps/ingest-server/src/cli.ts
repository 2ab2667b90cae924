/**
 * `rediver-ingest-server` — run the ingest server, print what it stored, or queue a command for an agent.
 *
 *   rediver-ingest-server serve [--host 127.0.0.1] [--port 8080] [--db file] [--key rdv_x=tenant]... [--config file.json]
 *                               [--admin-key k] [--error-rate 0.1] [--latency-ms 50] [--rate-limit-rate 0.1]
 *                               [--retry-after-seconds 1] [--reset-rate 0.05] [--verbose]
 *   rediver-ingest-server stats --db file [--tenant t] [--json]
 *   rediver-ingest-server enqueue --db file --tenant t --type scan [--payload '{"target":"."}'] [--priority 5] [--agent id]
 */
import { parseArgs } from 'node:util';
import { isRediverError } from '@rediver/core';
import type { Logger } from '@rediver/core';
import { startIngestServer } from './ingestServer';
import { IngestServerError } from './ingestServerError';
import { isLoopbackHost } from './ingestServerOptions';
import type { FaultOptions, IngestServerOptions } from './ingestServerOptions';
import { openIngestStore } from './ingestStore';
import type { IngestStats } from './ingestStore';
import { readConfigFile } from './internal/configFile';

const SERVE_USAGE = `usage: rediver-ingest-server serve [--host H] [--port N] [--db FILE] [--key rdv_x=tenant]... [--config FILE]
                                   [--admin-key K] [--error-rate R] [--latency-ms MS] [--rate-limit-rate R]
                                   [--retry-after-seconds S] [--reset-rate R] [--verbose]
  Starts the server (127.0.0.1:8080, in-memory database by default). On a host other than loopback it needs
  --admin-key (else /_admin/* would be open to the network) and at least one --key.`;
const STATS_USAGE = `usage: rediver-ingest-server stats --db FILE [--tenant T] [--json]
  Prints what the server stored, per tenant and report.`;
const ENQUEUE_USAGE = `usage: rediver-ingest-server enqueue --db FILE --tenant T --type TYPE [--payload JSON] [--priority N] [--agent ID]
  Queues a command for a tenant's agents.`;
const USAGE = `usage:
  rediver-ingest-server serve [--host H] [--port N] [--db FILE] [--key rdv_x=tenant]... [--config FILE]
                              [--admin-key K] [--error-rate R] [--latency-ms MS] [--rate-limit-rate R]
                              [--retry-after-seconds S] [--reset-rate R] [--verbose]
  rediver-ingest-server stats --db FILE [--tenant T] [--json]
  rediver-ingest-server enqueue --db FILE --tenant T --type TYPE [--payload JSON] [--priority N] [--agent ID]
  rediver-ingest-server <command> --help
`;

/** Exit codes (as the README says). */
export const EXIT = Object.freeze({
  ok: 0,
  /** Something failed at run time (the database, the port…). */
  failed: 1,
  /** Bad usage or configuration: flags, config file, option values. */
  usage: 2,
});

/** The dev key `serve` uses when no key is configured, so one command gives a usable server. */
export const DEV_API_KEY = 'rdv_dev_key';
/** The tenant of `DEV_API_KEY`. */
export const DEV_TENANT = 'dev-tenant';

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A usage or configuration error: exit code 2. */
function configError(message: string): IngestServerError {
  return new IngestServerError('CONFIG_INVALID', message);
}

function parseKeys(values: string[] | undefined): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const v of values ?? []) {
    const at = v.indexOf('=');
    if (at <= 0 || at === v.length - 1)
      throw configError('--key must look like rdv_xxx=tenant (the value is not shown: it may be a key)');
    keys[v.slice(0, at)] = v.slice(at + 1);
  }
  return keys;
}

function parseNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw configError(`--${name} must be a number, got ${JSON.stringify(value.slice(0, 40))}`);
  return n;
}

function consoleLogger(io: Io, verbose: boolean): Logger {
  const line = (level: string) => (a: object | string, b?: string) => {
    if (typeof a === 'string') io.err(`[${level}] ${a}`);
    else io.err(`[${level}] ${b ?? ''} ${JSON.stringify(a)}`);
  };
  return {
    debug: verbose ? line('debug') : () => {},
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
}

/** Prints stats as a table: one block per tenant, one line per report. */
export function formatStats(stats: IngestStats): string {
  if (stats.tenants.length === 0) return 'no data\n';
  const lines: string[] = [];
  for (const t of stats.tenants) {
    const c = t.totals;
    const commands =
      Object.entries(c.commands)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${s}=${n}`)
        .join(' ') || 'none';
    lines.push(
      `tenant ${t.tenantId}: reports=${c.reports} complete=${c.completeReports} findings=${c.findings} ` +
        `findings_received=${c.findingsReceived} assets=${c.assets} chunks=${c.chunks} agents=${c.agents} ` +
        `heartbeats=${c.heartbeats} commands: ${commands}`,
    );
    for (const r of t.reports) {
      const chunks = r.source === 'chunks' ? `chunks=${r.chunksReceived}/${r.totalChunks}` : 'whole';
      lines.push(
        `  report ${r.reportId}: ${chunks} findings_received=${r.findingsReceived} assets_received=${r.assetsReceived} ` +
          `${r.complete ? 'complete' : 'INCOMPLETE'}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

async function serve(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
      key: { type: 'string', multiple: true },
      config: { type: 'string' },
      'admin-key': { type: 'string' },
      'error-rate': { type: 'string' },
      'latency-ms': { type: 'string' },
      'rate-limit-rate': { type: 'string' },
      'retry-after-seconds': { type: 'string' },
      'reset-rate': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(SERVE_USAGE);
    return EXIT.ok;
  }
  const config = values.config !== undefined ? readConfigFile(values.config) : {};
  const host = values.host ?? config.host ?? '127.0.0.1';
  const adminKey = values['admin-key'] ?? config.adminKey;
  const apiKeys = { ...(config.apiKeys ?? {}), ...parseKeys(values.key) };
  const loopback = isLoopbackHost(host);
  if (!loopback && adminKey === undefined) {
    throw configError(
      `--host ${host} is reachable from other machines: give --admin-key (or adminKey in the config), or ` +
        '/_admin/* (stats of every tenant, faults, commands) would be open to anyone who can connect. ' +
        'On one machine, keep the default --host 127.0.0.1.',
    );
  }
  if (Object.keys(apiKeys).length === 0) {
    if (!loopback) {
      throw configError(
        `--host ${host} is reachable from other machines: give at least one --key rdv_x=tenant ` +
          `(the built-in ${DEV_API_KEY} is public and only served on loopback)`,
      );
    }
    apiKeys[DEV_API_KEY] = DEV_TENANT;
    io.err(`no API key configured: accepting ${DEV_API_KEY} for tenant ${DEV_TENANT}`);
  }
  if (!loopback) {
    io.err(`warning: listening on ${host}, reachable from other machines, over plain HTTP (no TLS)`);
  }
  const faults: Partial<FaultOptions> = { ...(config.faults ?? {}) };
  const flagFaults: Array<[keyof FaultOptions, string]> = [
    ['errorRate', 'error-rate'],
    ['latencyMs', 'latency-ms'],
    ['rateLimitRate', 'rate-limit-rate'],
    ['retryAfterSeconds', 'retry-after-seconds'],
    ['resetRate', 'reset-rate'],
  ];
  for (const [field, flag] of flagFaults) {
    const v = parseNumber(flag, values[flag as keyof typeof values] as string | undefined);
    if (v !== undefined) faults[field] = v;
  }
  const options: IngestServerOptions = {
    host,
    port: parseNumber('port', values.port) ?? config.port ?? 8080,
    databasePath: values.db ?? config.db ?? config.databasePath ?? ':memory:',
    apiKeys,
    faults,
    logger: consoleLogger(io, values.verbose === true),
    ...(adminKey === undefined ? {} : { adminKey }),
  };
  const server = await startIngestServer(options);
  io.out(`rediver-ingest-server listening on ${server.url} (db ${options.databasePath})`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  io.err('rediver-ingest-server stopped');
  return 0;
}

function stats(args: string[], io: Io): number {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      tenant: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(STATS_USAGE);
    return EXIT.ok;
  }
  if (!values.db) throw configError('stats needs --db FILE (the database the server writes)');
  const store = openIngestStore(values.db);
  try {
    const result = store.stats(values.tenant);
    io.out(values.json ? JSON.stringify(result, null, 2) : formatStats(result).trimEnd());
  } finally {
    void store.close();
  }
  return 0;
}

function enqueue(args: string[], io: Io): number {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      tenant: { type: 'string' },
      type: { type: 'string' },
      payload: { type: 'string' },
      priority: { type: 'string' },
      agent: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(ENQUEUE_USAGE);
    return EXIT.ok;
  }
  if (!values.db || !values.tenant || !values.type)
    throw configError('enqueue needs --db FILE --tenant T --type TYPE');
  let payload: Record<string, unknown> | undefined;
  if (values.payload !== undefined) {
    try {
      payload = JSON.parse(values.payload) as Record<string, unknown>;
    } catch {
      throw configError('--payload must be a JSON object');
    }
  }
  const priority = parseNumber('priority', values.priority);
  const store = openIngestStore(values.db);
  try {
    const command = store.enqueueCommand({
      tenantId: values.tenant,
      type: values.type,
      ...(payload === undefined ? {} : { payload }),
      ...(priority === undefined ? {} : { priority }),
      ...(values.agent === undefined ? {} : { agentId: values.agent }),
    });
    io.out(JSON.stringify(command));
  } finally {
    void store.close();
  }
  return 0;
}

/** True for errors of usage or configuration (exit code 2), as opposed to failures at run time. */
function isUsageError(error: unknown): boolean {
  if (isRediverError(error, 'CONFIG_INVALID', 'INVALID_OPTION', 'VALIDATION_FAILED')) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code (`EXIT`). */
export async function runCli(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') },
): Promise<number> {
  // `pnpm start -- --port 9000` passes the `--` through; it separates nothing here.
  const [command, ...rest] = argv.filter((arg, i) => !(arg === '--' && i <= 1));
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'stats':
        return stats(rest, io);
      case 'enqueue':
        return enqueue(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE.trimEnd());
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        io.err(`unknown command ${JSON.stringify(command.slice(0, 40))}\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    const usage = isUsageError(error);
    const message = isRediverError(error)
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
    io.err(
      `rediver-ingest-server: ${message}${usage ? ` (see rediver-ingest-server ${command} --help)` : ''}`,
    );
    return usage ? EXIT.usage : EXIT.failed;
  }
}

const isMain = process.argv[1] !== undefined && /cli\.(ts|js|mjs|cjs)$/.test(process.argv[1]);
if (isMain) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
