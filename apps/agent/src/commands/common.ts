import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { isRediverError } from '@rediver/core';
import type { AgentConfig, ConfigSources } from '../config';
import { loadConfig } from '../config';
import { withCode } from '../errors';
import { killAllChildren } from '../internal/childProcess';

/** Exit codes of `rediver-agent`. */
export const EXIT = Object.freeze({
  ok: 0,
  /** Something failed (a job, a scanner, an unexpected error). */
  failed: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** Delivery could not finish: the reports are kept in the data dir for the next start. */
  pending: 3,
  /** Results were not kept: a report could be neither stored in the data dir (e.g. a full disk) nor delivered. */
  notKept: 4,
  /** Second signal: exit at once. */
  interrupted: 130,
});

/** Flags every command that builds an agent understands. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  server: { type: 'string' },
  'api-key': { type: 'string' },
  'data-dir': { type: 'string' },
  'agent-id': { type: 'string' },
  'tenant-id': { type: 'string' },
  scanner: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  progress: { type: 'string' },
  'wait-lock': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Help text of the common flags. */
export const COMMON_HELP = `
Configuration (defaults < config file < environment < flags):
  -c, --config <file>     YAML or JSON config file (env REDIVER_CONFIG)
      --server <url>      platform base URL (env REDIVER_SERVER)
      --api-key <key>     API key (env REDIVER_API_KEY; never logged)
      --data-dir <dir>    audit log, chunk store, scratch (env REDIVER_DATA_DIR; default ~/.rediver)
      --agent-id <id>     agent id (env REDIVER_AGENT_ID; default agent-<hostname>)
      --tenant-id <id>    tenant for audit lines and local storage (env REDIVER_TENANT_ID)
      --scanner <name|cmd>  scanner to run; repeatable. Built in: secretlint, code-patterns, synthetic[:N];
                          or a command writing SARIF 2.1.0, e.g. "semgrep scan --sarif {target}"
      --set <path=value>  any option, e.g. --set pipeline.workers=5 --set resource.cpuThreshold=70
                          (env: REDIVER_PIPELINE__WORKERS=5)
      --progress <mode>   auto | tty | plain | quiet
      --wait-lock         wait while another agent uses the data dir (default: say which process and exit 1)
  -h, --help              this help`;

/** Parses argv for a command; unknown flags are a usage error naming the flag. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  positionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  return parseArgs({ args, options, allowPositionals: positionals, strict: true });
}

/** Builds config sources from the common flags. */
export function sourcesFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ConfigSources {
  const flags: Record<string, unknown> = {};
  if (typeof values.server === 'string') flags.server = values.server;
  if (typeof values['api-key'] === 'string') flags.apiKey = values['api-key'];
  if (typeof values['data-dir'] === 'string') flags.dataDir = values['data-dir'];
  if (typeof values['agent-id'] === 'string') flags.agentId = values['agent-id'];
  if (typeof values['tenant-id'] === 'string') flags.tenantId = values['tenant-id'];
  if (typeof values.progress === 'string') flags.progress = values.progress;
  if (Array.isArray(values.scanner) && values.scanner.length > 0) flags.scanners = values.scanner;
  if (typeof values['metrics-port'] === 'string') {
    const port = values['metrics-port'];
    flags.metricsPort = /^\d+$/.test(port) ? Number(port) : port;
  }
  if (typeof values['metrics-host'] === 'string') flags.metricsHost = values['metrics-host'];
  const sources: ConfigSources = {
    env,
    flags,
    sets: Array.isArray(values.set) ? (values.set as string[]) : [],
  };
  if (typeof values.config === 'string') sources.file = values.config;
  return sources;
}

/** Loads the configuration from the common flags and the environment. */
export function configFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<AgentConfig> {
  return loadConfig(sourcesFrom(values, env));
}

/** Output streams (injectable for tests). */
export interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Prints an error for a user and returns the exit code it deserves. */
export function reportError(io: Io, e: unknown): number {
  if (isRediverError(e, 'CONFIG_INVALID')) {
    io.err.write(`rediver-agent: ${e.message}\n`);
    return EXIT.usage;
  }
  if (
    e instanceof TypeError &&
    'code' in e &&
    String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')
  ) {
    io.err.write(`rediver-agent: ${e.message} (see --help)\n`);
    return EXIT.usage;
  }
  // A storage or system failure (SQLite's SQLITE_*, the OS's ENOSPC, EACCES...) is the host's condition, not a bug:
  // its code and message, never a stack (an operator must act on it, not read it as our crash). A stack is kept
  // for what really is unexpected.
  const code = (e as { code?: unknown } | null)?.code;
  const hostFailure = typeof code === 'string' && /^(SQLITE_[A-Z_]+|E[A-Z]+)$/.test(code);
  io.err.write(
    `rediver-agent: ${isRediverError(e) ? `${e.code}: ${e.message}` : hostFailure ? withCode(e) : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  return EXIT.failed;
}

/**
 * SIGINT/SIGTERM: the first runs `graceful` (stop taking jobs, finish or persist, flush the audit log);
 * a second exits at once (scanners killed; the chunk store already holds what was persisted).
 */
export function onSignals(io: Io, graceful: (signal: NodeJS.Signals) => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      io.err.write(
        `\nrediver-agent: ${signal} received — finishing what is in hand (again to exit at once)\n`,
      );
      graceful(signal);
      return;
    }
    io.err.write(`rediver-agent: second ${signal}: exiting now\n`);
    killAllChildren();
    process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
