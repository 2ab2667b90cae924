import { homedir, hostname } from 'node:os';
import { resolve } from 'node:path';
import { expandHome, MAX_TIMER_MS } from '@rediver/core';
import {
  DEFAULT_AGENT_CONFIG,
  defaultAgentId,
  DURATION_BOUNDS,
  SCANNERS_KEYS,
  TENANT_ID_PATTERN,
  TOP_LEVEL_KEYS,
} from './defaults';
import type { Layer } from './layers';
import { isPlainObject } from './layers';
import { sectionKeysOf } from './registry';
import { builtinScanners, resolveScanners } from './scanners';
import { didYouMean } from './suggestions';
import type {
  AgentConfig,
  PackageSection,
  PackageSectionName,
  ProgressMode,
  ScannerLimitsConfig,
} from './types';
import { PACKAGE_SECTIONS, PROGRESS_MODES } from './types';
import { shown, Validator } from './validator';

/** `~`-expanded (core's `expandHome`) and absolute. */
function expandPath(p: string): string {
  return resolve(expandHome(p, homedir()));
}

/** Units of package duration options by name suffix, in ms. */
const DURATION_SUFFIXES: readonly (readonly [RegExp, number])[] = [
  [/Ms$/, 1],
  [/Seconds$/, 1000],
  [/Minutes$/, 60_000],
];

/**
 * A package's duration option (`*Ms`, `*Seconds`, `*Minutes`) must fit Node's timers: past 2^31 - 1 ms a
 * `setTimeout` fires after 1 ms, turning a long interval into a busy loop. The package judges everything else.
 */
function checkTimerBound(v: Validator, path: string, key: string, value: unknown): void {
  if (typeof value !== 'number') return;
  for (const [suffix, unitMs] of DURATION_SUFFIXES) {
    if (suffix.test(key) && value * unitMs > MAX_TIMER_MS) {
      v.fail(
        path,
        `must be at most ${Math.floor(MAX_TIMER_MS / unitMs)} (Node's timers stop at 2^31 - 1 ms, about 24.8 days)`,
      );
    }
  }
}

/** Names a scanner may never inherit, whatever `passEnv` says: the agent's own configuration and key. */
const NEVER_PASSED = /^REDIVER_/i;

function validateScannerLimits(v: Validator, raw: Record<string, unknown>): ScannerLimitsConfig {
  const limits: ScannerLimitsConfig = { maxCpuPercent: undefined, maxMemoryMB: undefined, passEnv: [] };
  const cpu = raw.maxCpuPercent;
  if (cpu !== undefined) {
    if (typeof cpu !== 'number' || !(cpu > 0 && cpu <= 100))
      v.fail(
        'scanners.maxCpuPercent',
        `must be a number above 0 and at most 100 (percent of the effective CPUs; got ${shown('', cpu)})`,
      );
    limits.maxCpuPercent = cpu;
  }
  const mem = raw.maxMemoryMB;
  if (mem !== undefined) {
    if (typeof mem !== 'number' || !Number.isInteger(mem) || mem < 16 || mem > 16 * 1024 * 1024)
      v.fail(
        'scanners.maxMemoryMB',
        `must be an integer from 16 to ${16 * 1024 * 1024} (MiB; got ${shown('', mem)})`,
      );
    limits.maxMemoryMB = mem;
  }
  const pass = raw.passEnv;
  if (pass !== undefined) {
    if (
      !Array.isArray(pass) ||
      !pass.every((n) => typeof n === 'string' && /^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(n))
    )
      v.fail('scanners.passEnv', 'must be a list of variable names (a trailing * passes a prefix)');
    const refused = (pass as string[]).find((n) => NEVER_PASSED.test(n) || n === '*');
    if (refused !== undefined)
      v.fail(
        'scanners.passEnv',
        `may not pass ${refused}: the agent's REDIVER_* variables (its API key among them) never reach a scanner`,
      );
    limits.passEnv = [...(pass as string[])];
  }
  return limits;
}

/** Validates a merged layer into an `AgentConfig`; throws `CONFIG_INVALID` naming the first bad field. */
export function validate(merged: Layer): AgentConfig {
  const values = merged.values;
  const v = new Validator(merged.origin);
  for (const key of Object.keys(values)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      v.fail(key, `is not an option${didYouMean(key, TOP_LEVEL_KEYS, false)}`);
    }
  }
  const server = v.string(values, 'server');
  if (server !== undefined) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      return v.fail('server', `must be an http(s) URL (got ${JSON.stringify(server)})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') v.fail('server', 'must use http or https');
    if (url.username !== '' || url.password !== '')
      v.fail('server', 'must not carry credentials (use apiKey)');
  }
  const apiKey = v.string(values, 'apiKey');
  if (apiKey !== undefined && /\s/.test(apiKey)) v.fail('apiKey', 'must not contain whitespace');
  const agentId = v.string(values, 'agentId') ?? defaultAgentId();
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(agentId)) {
    v.fail('agentId', 'must be 1..128 characters of letters, digits, _ . : -');
  }
  const tenantId = v.string(values, 'tenantId') ?? 'default';
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    v.fail('tenantId', 'must be 1..128 characters of letters, digits, _ . : - (no slash, space or newline)');
  }
  const dataDir = expandPath(v.string(values, 'dataDir') ?? '~/.rediver');
  const scanTimeoutMs = v.duration(values, 'scanTimeoutMs', DEFAULT_AGENT_CONFIG.scanTimeoutMs);
  const progress = values.progress ?? DEFAULT_AGENT_CONFIG.progress;
  if (!(PROGRESS_MODES as readonly unknown[]).includes(progress)) {
    v.fail('progress', `must be one of ${PROGRESS_MODES.join(', ')} (got ${JSON.stringify(progress)})`);
  }
  const sections = {} as Record<PackageSectionName, PackageSection>;
  for (const section of PACKAGE_SECTIONS) {
    const raw = values[section] ?? {};
    if (!isPlainObject(raw)) v.fail(section, 'must be a mapping of options');
    const known = sectionKeysOf(section);
    if (known !== undefined) {
      for (const key of Object.keys(raw)) {
        if (!known.includes(key)) {
          v.fail(`${section}.${key}`, `is not an option of ${section}${didYouMean(key, known, true)}`);
        }
      }
    }
    for (const [key, value] of Object.entries(raw)) checkTimerBound(v, `${section}.${key}`, key, value);
    sections[section] = { ...raw };
  }
  const scannersValue = values.scanners ?? {};
  if (!isPlainObject(scannersValue))
    v.fail(
      'scanners',
      'must be a list of scanners (or a mapping with list, maxCpuPercent, maxMemoryMB, passEnv)',
    );
  const scannersRaw = scannersValue as Record<string, unknown>;
  for (const key of Object.keys(scannersRaw)) {
    if (!(SCANNERS_KEYS as readonly string[]).includes(key)) {
      v.fail(`scanners.${key}`, `is not an option of scanners${didYouMean(key, SCANNERS_KEYS, true)}`);
    }
  }
  const scannerLimits = validateScannerLimits(v, scannersRaw);
  const defs = builtinScanners();
  for (const d of Object.values(defs)) d.timeoutMs = scanTimeoutMs;
  const scanners = resolveScanners(v, scannersRaw.list, defs, scanTimeoutMs);
  for (const [name, def] of Object.entries(defs)) {
    if (def.timeoutMs !== undefined && def.timeoutMs > DURATION_BOUNDS.scanTimeoutMs[1]) {
      v.fail(`scanners.${name}.timeoutMs`, `must be at most ${DURATION_BOUNDS.scanTimeoutMs[1]} (7 days)`);
    }
  }
  const metricsPort =
    values.metricsPort === undefined
      ? undefined
      : v.int(values, 'metricsPort', { min: 0, dflt: 0, max: 65_535 });
  const metricsHost = v.string(values, 'metricsHost') ?? '127.0.0.1';
  const stall = deliveryStall(v, values);
  return {
    server: server?.replace(/\/+$/, ''),
    apiKey,
    agentId,
    agentName: v.string(values, 'agentName') ?? hostname(),
    tenantId,
    region: v.string(values, 'region'),
    dataDir,
    scanners,
    scannerDefs: defs,
    scanTimeoutMs,
    pollIntervalMs: v.duration(values, 'pollIntervalMs', DEFAULT_AGENT_CONFIG.pollIntervalMs),
    maxQueuedJobs: v.int(values, 'maxQueuedJobs', {
      min: 1,
      dflt: DEFAULT_AGENT_CONFIG.maxQueuedJobs,
      max: 10_000,
    }),
    heartbeatIntervalMs: v.duration(values, 'heartbeatIntervalMs', DEFAULT_AGENT_CONFIG.heartbeatIntervalMs),
    shutdownTimeoutMs: v.duration(values, 'shutdownTimeoutMs', DEFAULT_AGENT_CONFIG.shutdownTimeoutMs),
    deliveryStallTimeoutMs: stall,
    deliveryTimeoutMs: stall,
    progress: progress as ProgressMode,
    scannerLimits,
    metricsPort,
    metricsHost,
    ...sections,
  };
}

/** `deliveryStallTimeoutMs`, or its earlier name `deliveryTimeoutMs` (not both with different values). */
function deliveryStall(v: Validator, values: Record<string, unknown>): number {
  const stall =
    values.deliveryStallTimeoutMs === undefined ? undefined : v.duration(values, 'deliveryStallTimeoutMs', 0);
  const old = values.deliveryTimeoutMs === undefined ? undefined : v.duration(values, 'deliveryTimeoutMs', 0);
  if (stall !== undefined && old !== undefined && stall !== old) {
    v.fail(
      'deliveryTimeoutMs',
      `is the earlier name of deliveryStallTimeoutMs; give one of them (got ${old} and ${stall})`,
    );
  }
  return stall ?? old ?? DEFAULT_AGENT_CONFIG.deliveryStallTimeoutMs;
}
