import { readFile } from 'node:fs/promises';
import { hostname, homedir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { parse as YamlParse } from 'yaml';
import { expandHome, MAX_TIMER_MS, suggestName } from '@rediver/core';
import { AgentError, configError } from './errors';
import { appRoot } from './paths';

/** How progress is shown: a live display on a terminal, plain lines, or nothing. */
export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'quiet'] as const;
/** How progress is shown. */
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Kinds of scanner the agent can run. */
export const SCANNER_KINDS = ['secretlint', 'sarif', 'synthetic'] as const;
/** Kind of scanner. */
export type ScannerKind = (typeof SCANNER_KINDS)[number];

/** One scanner: the built-in secretlint, any command writing SARIF 2.1.0, or the synthetic load generator. */
export interface ScannerConfig {
  /** Name used in `--scanner`, reports' tool name fallback and audit lines. */
  name: string;
  kind: ScannerKind;
  /** `sarif`: argv template; `{target}` is the scanned path, `{output}` a file the tool writes SARIF to. */
  command?: string[];
  /** Per-scanner timeout, ms (default: `scanTimeoutMs`). */
  timeoutMs?: number;
  /** Exit codes that still mean "ran fine" (scanners exit 1 when they find something). Default [0, 1]. */
  okExitCodes?: number[];
  /** Finding type to give every result (default: `secret` for secret scanners, else from the rule). */
  findingType?: string;
  /** `synthetic`: findings to generate. */
  findings?: number;
  /** `synthetic`: assets to spread the findings over. */
  assets?: number;
  /**
   * Folder the scanner runs in (`{target}` allowed). Default: the agent's working directory, so that relative
   * paths in the command resolve where the agent was started; the built-in secretlint runs in the target.
   */
  cwd?: string;
  /** Largest SARIF output accepted (`{output}`, `{outputDir}` or stdout), MiB. Default 1024 (it is on disk, never in memory). */
  maxOutputMB?: number;
}

/**
 * Caps of every scanner process group (`scanners.maxCpuPercent`, `scanners.maxMemoryMB`) and the environment
 * variables a scanner gets besides the fixed allow-list (`scanners.passEnv`). Undefined caps are derived at start
 * from the resource thresholds (see `internal/containment.ts`).
 */
export interface ScannerLimitsConfig {
  /** CPU a scanner's process group may use, percent of the effective CPUs (100 = all of them). */
  maxCpuPercent: number | undefined;
  /** Memory a scanner's process group may use, MiB. */
  maxMemoryMB: number | undefined;
  /** Extra variable names (or `PREFIX_*`) passed to scanners; `REDIVER_*` never is. */
  passEnv: string[];
}

/** Options of a package, passed through to its constructor as they are. */
export type PackageSection = Record<string, unknown>;

/** The agent's resolved configuration (defaults < file < environment < flags). */
export interface AgentConfig {
  /** Platform base URL, e.g. `https://api.rediver.io` (`REDIVER_SERVER`). Required by `scan` and `run`. */
  server: string | undefined;
  /** API key (`REDIVER_API_KEY`); never logged. Required by `scan` and `run`. */
  apiKey: string | undefined;
  /** Agent id stamped on audit lines and requests (`REDIVER_AGENT_ID`). */
  agentId: string;
  /** Name sent in heartbeats. */
  agentName: string;
  /** Tenant id for audit lines and local storage scoping (`REDIVER_TENANT_ID`). */
  tenantId: string;
  /** Region sent in heartbeats. */
  region: string | undefined;
  /** Folder for the audit log, the chunk store and scanner scratch files (`REDIVER_DATA_DIR`). */
  dataDir: string;
  /** Scanners a job runs when it names none. */
  scanners: string[];
  /** Scanner definitions by name (built-ins: secretlint, code-patterns, synthetic). */
  scannerDefs: Record<string, ScannerConfig>;
  /** Default scanner timeout, ms. */
  scanTimeoutMs: number;
  /** `run`: interval between command polls, ms. */
  pollIntervalMs: number;
  /** `run`: most jobs held locally (waiting for a slot or running); polls ask for no more. */
  maxQueuedJobs: number;
  /** `run`: interval between heartbeats, ms. */
  heartbeatIntervalMs: number;
  /** On SIGINT/SIGTERM: how long in-hand work may take before it is persisted, ms. */
  shutdownTimeoutMs: number;
  /**
   * `scan`/`deliver`/`demo`: how long delivery may go without progress (no chunk or report acknowledged) before
   * they give up (exit 3, everything kept), ms. While acknowledgements come, they wait. Set as
   * `deliveryStallTimeoutMs`, or by its earlier name `deliveryTimeoutMs` (which now means the same: a stall, not a
   * total, since a million-finding delivery may rightly take longer than any fixed total).
   */
  deliveryStallTimeoutMs: number;
  /** @deprecated The earlier name of `deliveryStallTimeoutMs` (the same value). */
  deliveryTimeoutMs: number;
  /** Progress display. */
  progress: ProgressMode;
  /** How scanner processes are contained and what they inherit (`scanners.*` besides the list). */
  scannerLimits: ScannerLimitsConfig;
  /** `run --metrics-port`: port of the OpenMetrics and health endpoints; undefined = off. */
  metricsPort: number | undefined;
  /** Address the metrics endpoint listens on (default loopback). */
  metricsHost: string;
  /** `@rediver/audit` options (`logFile` defaults to `<dataDir>/audit/audit.log`). */
  audit: PackageSection;
  /** `@rediver/resource` options. */
  resource: PackageSection;
  /** `@rediver/pipeline` options. */
  pipeline: PackageSection;
  /** `@rediver/chunk` options (`databasePath` defaults to `<dataDir>/chunks.db`). */
  chunk: PackageSection;
  /** `@rediver/client` options (`baseUrl`/`apiKey` come from `server`/`apiKey`). */
  client: PackageSection;
}

/** Package sections of the configuration. */
export const PACKAGE_SECTIONS = ['audit', 'resource', 'pipeline', 'chunk', 'client'] as const;
/** A package section name. */
export type PackageSectionName = (typeof PACKAGE_SECTIONS)[number];

/**
 * Bounds of the agent's duration options, ms: `[min, max]`. A value outside is refused (never clamped): a poll
 * interval of 99999999999 would overflow Node's timer to 1 ms and poll thousands of times a second.
 */
export const DURATION_BOUNDS = Object.freeze({
  scanTimeoutMs: [1, 7 * 24 * 3_600_000],
  pollIntervalMs: [1, 3_600_000],
  heartbeatIntervalMs: [1, 3_600_000],
  shutdownTimeoutMs: [0, 3_600_000],
  deliveryStallTimeoutMs: [1, 7 * 24 * 3_600_000],
  deliveryTimeoutMs: [1, 7 * 24 * 3_600_000],
} as const satisfies Record<string, readonly [number, number]>);

/** A tenant id: 1..128 letters, digits, `_ . : -` (no slash, space or control character). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Keys of the `scanners` mapping (`scanners.list` is the list of scanners a job runs when it names none). */
export const SCANNERS_KEYS = ['list', 'maxCpuPercent', 'maxMemoryMB', 'passEnv'] as const;

/** Defaults of the agent's own fields. */
export const DEFAULT_AGENT_CONFIG = Object.freeze({
  scanners: Object.freeze<string[]>(['secretlint']),
  scanTimeoutMs: 600_000,
  pollIntervalMs: 10_000,
  maxQueuedJobs: 8,
  heartbeatIntervalMs: 30_000,
  shutdownTimeoutMs: 15_000,
  deliveryStallTimeoutMs: 120_000,
  progress: 'auto',
});

const TOP_LEVEL_KEYS = [
  'server',
  'apiKey',
  'agentId',
  'agentName',
  'tenantId',
  'region',
  'dataDir',
  'scanners',
  'scanTimeoutMs',
  'pollIntervalMs',
  'maxQueuedJobs',
  'heartbeatIntervalMs',
  'shutdownTimeoutMs',
  'deliveryStallTimeoutMs',
  'deliveryTimeoutMs',
  'progress',
  'metricsPort',
  'metricsHost',
  ...PACKAGE_SECTIONS,
] as const;

/**
 * Option names each package accepts. Filled from the packages' `DEFAULT_*_OPTIONS` plus their
 * callback/object options (see `wiring.ts`); used to refuse typos with a message naming the field.
 * A section without an entry accepts any key and lets the package's constructor judge.
 */
const sectionKeys = new Map<PackageSectionName, readonly string[]>();

/** Registers the option names a package section accepts (called by the wiring). */
export function registerSectionKeys(section: PackageSectionName, keys: readonly string[]): void {
  sectionKeys.set(section, [...new Set(keys)].sort());
}

/** Where configuration comes from. */
export interface ConfigSources {
  /** Config file path (YAML or JSON); also `REDIVER_CONFIG`. */
  file?: string | undefined;
  /** Environment (default: none — pass `process.env` explicitly). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values from flags, as dotted paths (`pipeline.workers`) or top-level names (`server`). */
  flags?: Readonly<Record<string, unknown>>;
  /** `--set path=value` strings (value parsed as YAML: numbers, booleans, lists). */
  sets?: readonly string[];
}

type Layer = { values: Record<string, unknown>; origin: Map<string, string> };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The YAML parser, loaded by `loadConfig` only when something needs it (a YAML file, a `--set` or environment
 * value that is not a plain string): it adds about 8 MB to the daemon's RSS (measured by `bench:idle`).
 */
let parseYaml: typeof YamlParse | undefined;
/** Set when `parseScalar` met a value while the parser was not loaded (`loadConfig` then loads it and reads again). */
let yamlWanted = false;

async function loadYaml(): Promise<typeof YamlParse> {
  return (parseYaml ??= (await import('yaml')).parse);
}

function parseScalar(raw: string): unknown {
  if (parseYaml === undefined) {
    yamlWanted = true;
    return raw;
  }
  try {
    const v: unknown = parseYaml(raw);
    return v === null ? raw : v;
  } catch {
    return raw;
  }
}

function setPath(layer: Layer, path: string, value: unknown, origin: string): void {
  // `scanners` is a mapping (caps, passEnv) whose `list` holds the scanners; a bare list is that `list`.
  if (path === 'scanners' && Array.isArray(value)) path = 'scanners.list';
  const parts = path.split('.');
  let node = layer.values;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isPlainObject(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
  layer.origin.set(path, origin);
}

function flatten(prefix: string, value: unknown, out: Map<string, unknown>): void {
  if (isPlainObject(value) && prefix.split('.').length < 2) {
    for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out);
  } else {
    out.set(prefix, value);
  }
}

/** Normalises a key for case- and underscore-insensitive matching (`MAX_SIZE_MB` ~ `maxSizeMB`). */
function squash(name: string): string {
  return name.replace(/[_-]/g, '').toLowerCase();
}

function camel(snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function matchKey<K extends string>(candidates: readonly K[], envName: string): K | undefined {
  const s = squash(envName);
  return candidates.find((k) => squash(k) === s);
}

const STRING_KEYS = new Set([
  'server',
  'apiKey',
  'agentId',
  'agentName',
  'tenantId',
  'region',
  'dataDir',
  'progress',
  'metricsHost',
]);

/** The command-line flag that sets a top-level field, for messages (`apiKey` is `--api-key`). */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  apiKey: '--api-key',
  dataDir: '--data-dir',
  agentId: '--agent-id',
  tenantId: '--tenant-id',
  'scanners.list': '--scanner',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
};

/** The flag for a config path: its own flag when it has one, else the `--set` form. */
function flagName(path: string): string {
  return FLAG_NAMES[path] ?? `--${path}`;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = { values: {}, origin: new Map() };
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('REDIVER_') || name === 'REDIVER_CONFIG') continue;
    const rest = name.slice('REDIVER_'.length);
    const origin = `environment variable ${name}`;
    const sep = rest.indexOf('__');
    if (sep > 0) {
      const optionEnv = rest.slice(sep + 2);
      if (squash(rest.slice(0, sep)) === 'scanners') {
        const option = matchKey(SCANNERS_KEYS, optionEnv);
        if (option === undefined) {
          throw configError(
            `scanners.${camel(optionEnv)}`,
            `is not an option of scanners (options: ${SCANNERS_KEYS.join(', ')})`,
            origin,
          );
        }
        const list = option === 'list' || option === 'passEnv';
        setPath(layer, `scanners.${option}`, list ? splitList(raw) : parseScalar(raw), origin);
        continue;
      }
      const section = matchKey(PACKAGE_SECTIONS, rest.slice(0, sep));
      if (section === undefined) {
        throw configError(rest.slice(0, sep).toLowerCase(), 'is not a configuration section', origin);
      }
      const known = sectionKeys.get(section);
      const option = known === undefined ? camel(optionEnv) : matchKey(known, optionEnv);
      if (option === undefined) {
        throw configError(`${section}.${camel(optionEnv)}`, `is not an option of ${section}`, origin);
      }
      setPath(layer, `${section}.${option}`, parseScalar(raw), origin);
      continue;
    }
    const key = matchKey(TOP_LEVEL_KEYS, rest);
    if (key === undefined || (PACKAGE_SECTIONS as readonly string[]).includes(key)) continue;
    const value = key === 'scanners' ? splitList(raw) : STRING_KEYS.has(key) ? raw : parseScalar(raw);
    setPath(layer, key, value, origin);
  }
  return layer;
}

/** Line and column (1-based) of character offset `pos` in `text`. */
function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, Math.max(0, Math.min(pos, text.length)));
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/**
 * A parse error described without any of the file's text: the parser's wording up to the first quote or colon
 * (what is wrong, never what was there) and where it is.
 */
export function syntaxProblem(error: unknown, text: string, json: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? '';
  const what =
    firstLine
      .replace(/ at line \d+, column \d+.*$/, '')
      .replace(/ in JSON.*$/, '')
      .split(/[:,'"`]/)[0]
      ?.trim() || 'syntax error';
  if (!json) {
    const e = error as { code?: unknown; linePos?: { line: number; col: number }[] };
    const at = e.linePos?.[0];
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    return `${what}${code}${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`}`;
  }
  const pos = /at position (\d+)/.exec(message);
  if (pos !== null) return `${what} at ${lineColumn(text, Number(pos[1]))}`;
  if (/end of JSON input/.test(message)) return `${what} (the file ends too early)`;
  const at = jsonErrorOffset(text);
  return at === undefined ? what : `${what} at ${lineColumn(text, at)}`;
}

/**
 * Where JSON.parse fails when its message has no position (Node 20's "Unexpected token" quotes the text
 * instead): the shortest prefix whose error is not "end of input" ends just after the bad character.
 */
function jsonErrorOffset(text: string): number | undefined {
  const broken = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (e) {
      // A prefix cut inside valid text fails at its very end ("end of input", or "… at position <length>").
      const m = (e as Error).message;
      const at = /at position (\d+)/.exec(m);
      return at === null ? !/end of JSON input/.test(m) : Number(at[1]) < length;
    }
  };
  if (!broken(text.length)) return undefined;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (broken(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

async function fileLayer(file: string): Promise<Layer> {
  const origin = `config file ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new AgentError('CONFIG_INVALID', `invalid configuration: cannot read config file ${file}`, {
      cause,
      field: 'config',
    });
  }
  let parsed: unknown;
  const json = extname(file).toLowerCase() === '.json';
  try {
    // YAML is a superset of JSON; parse JSON files strictly so their errors point at JSON syntax.
    parsed = json ? JSON.parse(text) : (await loadYaml())(text);
  } catch (error) {
    // Never the parser's own message: YAML's carries a code frame and JSON's a quote of the text around the
    // error, and the line there may hold the API key. The location is enough to find it. No `cause` either.
    throw new AgentError(
      'CONFIG_INVALID',
      `invalid configuration: ${file} is not valid ${json ? 'JSON' : 'YAML'}: ${syntaxProblem(error, text, json)}`,
      { field: 'config' },
    );
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (!isPlainObject(parsed)) throw configError('(root)', 'must be a mapping of options', origin);
  const layer: Layer = { values: {}, origin: new Map() };
  const flat = new Map<string, unknown>();
  flatten('', parsed, flat);
  for (const [path, value] of flat) setPath(layer, path, value, origin);
  return layer;
}

function flagLayer(flags: Readonly<Record<string, unknown>>, sets: readonly string[]): Layer {
  const layer: Layer = { values: {}, origin: new Map() };
  for (const [path, value] of Object.entries(flags)) {
    if (value !== undefined)
      setPath(
        layer,
        path === 'scanners' ? 'scanners.list' : path,
        value,
        `flag ${flagName(path === 'scanners' ? 'scanners.list' : path)}`,
      );
  }
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw configError(s, 'must be written path=value', 'flag --set');
    const path = s.slice(0, eq).trim();
    if (path.split('.').length > 2)
      throw configError(path, 'is nested too deep (use section.option)', 'flag --set');
    setPath(layer, path, parseScalar(s.slice(eq + 1)), `flag --set ${path}`);
  }
  return layer;
}

function merge(layers: Layer[]): Layer {
  const out: Layer = { values: {}, origin: new Map() };
  for (const layer of layers) {
    const flat = new Map<string, unknown>();
    flatten('', layer.values, flat);
    for (const [path, value] of flat) setPath(out, path, value, layer.origin.get(path) ?? 'defaults');
  }
  return out;
}

/** `~`-expanded (core's `expandHome`) and absolute. */
function expandPath(p: string): string {
  return resolve(expandHome(p, homedir()));
}

function defaultAgentId(): string {
  const id = `agent-${hostname()}`.replace(/[^A-Za-z0-9_-]/g, '-');
  return id.slice(0, 128);
}

/** Splits a command line into argv (spaces separate; single/double quotes group; no shell). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (quote !== undefined) throw new Error(`unbalanced ${quote} quote`);
  if (started) out.push(cur);
  return out;
}

/** Built-in scanners. `code-patterns` is a small bundled SARIF scanner run through the generic adapter. */
export function builtinScanners(): Record<string, ScannerConfig> {
  return {
    secretlint: { name: 'secretlint', kind: 'secretlint', findingType: 'secret' },
    'code-patterns': {
      name: 'code-patterns',
      kind: 'sarif',
      command: [process.execPath, join(appRoot(), 'scanners', 'codePatterns.mjs'), '{target}'],
    },
    synthetic: { name: 'synthetic', kind: 'synthetic', findings: 6000, assets: 320 },
  };
}

/**
 * The scanner a job names: a configured or built-in scanner, or `synthetic:<findings>`. Jobs from the
 * platform can only name scanners; they never bring a command line of their own.
 */
export function resolveScanner(config: AgentConfig, name: string): ScannerConfig | undefined {
  const known = config.scannerDefs[name];
  if (known !== undefined) return known;
  const m = /^synthetic:(\d{1,7})$/.exec(name);
  if (m === null) return undefined;
  const findings = Number(m[1]);
  if (findings < 1) return undefined;
  return {
    name,
    kind: 'synthetic',
    findings,
    assets: Math.max(1, Math.ceil(findings / 18)),
    timeoutMs: config.scanTimeoutMs,
  };
}

class Validator {
  constructor(private readonly origin: Map<string, string>) {}

  private src(path: string): string | undefined {
    return this.origin.get(path);
  }

  fail(path: string, problem: string): never {
    throw configError(path, problem, this.src(path));
  }

  string(values: Record<string, unknown>, key: string, path = key): string | undefined {
    const v = values[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') this.fail(path, `must be a string (got ${shown(path, v)})`);
    return v;
  }

  int(
    values: Record<string, unknown>,
    key: string,
    min: number,
    dflt: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number {
    const v = values[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      this.fail(key, `must be an integer ${range} (got ${shown(key, v)})`);
    }
    return v;
  }

  /** A duration option within its `DURATION_BOUNDS`. */
  duration(values: Record<string, unknown>, key: keyof typeof DURATION_BOUNDS, dflt: number): number {
    const [min, max] = DURATION_BOUNDS[key];
    return this.int(values, key, min, dflt, max);
  }
}

/** Names of fields whose values are never echoed in a message (they may hold a credential). */
const SECRET_FIELD = /key|token|secret|passw|auth|header|credential/i;

/** A value as a message may show it: as JSON, or `<redacted>` for a secret-looking field; at most 80 characters. */
function shown(path: string, value: unknown): string {
  if (SECRET_FIELD.test(path)) return '<redacted>';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function validateScannerDef(
  v: Validator,
  name: string,
  raw: unknown,
  path: string,
  dflt: number,
): ScannerConfig {
  if (typeof raw === 'string') raw = { command: raw };
  if (!isPlainObject(raw)) v.fail(path, 'must be a command string or a mapping');
  const known = [
    'name',
    'kind',
    'command',
    'cwd',
    'timeoutMs',
    'maxOutputMB',
    'okExitCodes',
    'findingType',
    'findings',
    'assets',
  ];
  for (const k of Object.keys(raw)) {
    if (known.includes(k)) continue;
    const hint = suggestName(k, known);
    v.fail(`${path}.${k}`, `is not a scanner option${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
  }
  if (raw.cwd !== undefined && (typeof raw.cwd !== 'string' || raw.cwd === ''))
    v.fail(`${path}.cwd`, 'must be a folder path (`{target}` allowed)');
  let command: string[] | undefined;
  if (typeof raw.command === 'string') {
    try {
      command = splitCommand(raw.command);
    } catch (e) {
      v.fail(`${path}.command`, (e as Error).message);
    }
  } else if (Array.isArray(raw.command) && raw.command.every((a) => typeof a === 'string')) {
    command = raw.command;
  } else if (raw.command !== undefined) {
    v.fail(`${path}.command`, 'must be a string or a list of strings');
  }
  const kind = raw.kind ?? (command === undefined ? undefined : 'sarif');
  if (!(SCANNER_KINDS as readonly unknown[]).includes(kind)) {
    v.fail(`${path}.kind`, `must be one of ${SCANNER_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  if (kind === 'sarif' && (command === undefined || command.length === 0))
    v.fail(`${path}.command`, 'is required');
  const posInt = (k: string): number | undefined => {
    const x = raw[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1)
      v.fail(`${path}.${k}`, 'must be a positive integer');
    return x;
  };
  const okExitCodes = raw.okExitCodes;
  if (
    okExitCodes !== undefined &&
    !(Array.isArray(okExitCodes) && okExitCodes.every((c) => Number.isInteger(c)))
  ) {
    v.fail(`${path}.okExitCodes`, 'must be a list of integers');
  }
  if (raw.findingType !== undefined && typeof raw.findingType !== 'string') {
    v.fail(`${path}.findingType`, 'must be a string');
  }
  const def: ScannerConfig = { name, kind: kind as ScannerKind, timeoutMs: posInt('timeoutMs') ?? dflt };
  if (command !== undefined) def.command = command;
  // Relative to where the agent runs; `{target}` stays a placeholder.
  if (typeof raw.cwd === 'string') def.cwd = raw.cwd.startsWith('{target}') ? raw.cwd : resolve(raw.cwd);
  const maxOutputMB = posInt('maxOutputMB');
  if (maxOutputMB !== undefined) def.maxOutputMB = maxOutputMB;
  if (okExitCodes !== undefined) def.okExitCodes = okExitCodes as number[];
  if (typeof raw.findingType === 'string') def.findingType = raw.findingType;
  const findings = posInt('findings');
  const assets = posInt('assets');
  if (findings !== undefined) def.findings = findings;
  if (assets !== undefined) def.assets = assets;
  return def;
}

// Launchers whose first real argument names the scanner (`npx eslint …` is `eslint`).
const LAUNCHERS = new Set([
  'npx',
  'pnpx',
  'bunx',
  'uvx',
  'pipx',
  'node',
  'python',
  'python3',
  'env',
  'sh',
  'bash',
  'exec',
  'npm',
  'pnpm',
  'yarn',
  'run',
  'dlx',
]);

/** A scanner name from its command: the program (past launchers like `npx`), without folders or extension. */
export function commandName(command: readonly string[] | undefined, i: number): string {
  for (const arg of command ?? []) {
    if (arg.startsWith('-') || /[{}=]/.test(arg)) continue;
    const base = arg
      .split(/[\\/]/)
      .pop()!
      .replace(/\.(?:c|m)?[jt]s$|\.py$|\.sh$|\.exe$/i, '');
    if (base === '' || LAUNCHERS.has(base.toLowerCase())) continue;
    const slug = base.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
    if (slug !== '') return slug.slice(0, 48);
  }
  return `scanner${i}`;
}

function uniqueName(base: string, taken: (n: string) => boolean): string {
  if (!taken(base)) return base;
  for (let k = 2; ; k++) if (!taken(`${base}-${k}`)) return `${base}-${k}`;
}

/**
 * Resolves the scanner list: names of built-in or configured scanners, or inline command lines
 * (anything with a space or `{target}`), each becoming a generic SARIF scanner.
 */
function resolveScanners(
  v: Validator,
  raw: unknown,
  defs: Record<string, ScannerConfig>,
  timeoutMs: number,
): string[] {
  const list = raw === undefined ? [...DEFAULT_AGENT_CONFIG.scanners] : raw;
  if (!Array.isArray(list) || list.length === 0) v.fail('scanners', 'must be a non-empty list');
  const names: string[] = [];
  list.forEach((item, i) => {
    const path = `scanners[${i}]`;
    if (typeof item === 'string' && !/\s|\{target\}/.test(item)) {
      const [base, arg] = item.split(':', 2) as [string, string | undefined];
      const def = defs[base];
      if (def === undefined) {
        v.fail(
          path,
          `names an unknown scanner ${JSON.stringify(base)} (known: ${Object.keys(defs).sort().join(', ')})`,
        );
      }
      if (arg !== undefined) {
        // `synthetic:6000` — a size for the load generator.
        const n = Number(arg);
        if (def.kind !== 'synthetic' || !Number.isInteger(n) || n < 1) {
          v.fail(path, 'only the synthetic scanner takes a size (synthetic:<findings>)');
        }
        defs[item] = { ...def, name: item, findings: n, assets: Math.max(1, Math.ceil(n / 18)) };
      }
      names.push(item);
      return;
    }
    const def = validateScannerDef(v, '', item, path, timeoutMs);
    const given =
      typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
        ? (item as { name: string }).name
        : undefined;
    if (given !== undefined && (names.includes(given) || defs[given] !== undefined)) {
      v.fail(`${path}.name`, `${JSON.stringify(given)} is already the name of another scanner`);
    }
    // Every entry is its own scanner: an inline command gets a name of its own, never another entry's.
    const name =
      given ?? uniqueName(commandName(def.command, i), (n) => names.includes(n) || defs[n] !== undefined);
    def.name = name;
    defs[name] = def;
    names.push(name);
  });
  return names;
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
function validate(merged: Layer): AgentConfig {
  const values = merged.values;
  const v = new Validator(merged.origin);
  for (const key of Object.keys(values)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      const hint = suggestName(key, TOP_LEVEL_KEYS);
      v.fail(key, `is not an option${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
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
    const known = sectionKeys.get(section);
    if (known !== undefined) {
      for (const key of Object.keys(raw)) {
        if (!known.includes(key)) {
          const hint = suggestName(key, known);
          v.fail(
            `${section}.${key}`,
            `is not an option of ${section}${hint === undefined ? ` (options: ${known.join(', ')})` : ` (did you mean ${hint}?)`}`,
          );
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
      const hint = suggestName(key, SCANNERS_KEYS);
      v.fail(
        `scanners.${key}`,
        `is not an option of scanners${hint === undefined ? ` (options: ${SCANNERS_KEYS.join(', ')})` : ` (did you mean ${hint}?)`}`,
      );
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
    values.metricsPort === undefined ? undefined : v.int(values, 'metricsPort', 0, 0, 65_535);
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
    maxQueuedJobs: v.int(values, 'maxQueuedJobs', 1, DEFAULT_AGENT_CONFIG.maxQueuedJobs, 10_000),
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

/** Reads and validates the configuration: defaults < file < environment < flags. */
export async function loadConfig(sources: ConfigSources = {}): Promise<AgentConfig> {
  const env = sources.env ?? {};
  const file = sources.file ?? env.REDIVER_CONFIG;
  const layers: Layer[] = [];
  if (file !== undefined && file !== '') layers.push(await fileLayer(file));
  // Values of the environment and of `--set` are YAML scalars (numbers, booleans, lists): read again with the
  // parser when the first reading met one.
  yamlWanted = false;
  const rest = (): Layer[] => [envLayer(env), flagLayer(sources.flags ?? {}, sources.sets ?? [])];
  let later = rest();
  if (yamlWanted) {
    await loadYaml();
    later = rest();
  }
  return validate(merge([...layers, ...later]));
}

/** Requires `server` and `apiKey` (for commands that talk to the platform). */
export function requirePlatform(config: AgentConfig): { server: string; apiKey: string } {
  if (config.server === undefined) {
    throw configError('server', 'is required (set --server, REDIVER_SERVER or `server:` in the config file)');
  }
  if (config.apiKey === undefined) {
    throw configError(
      'apiKey',
      'is required (set --api-key, REDIVER_API_KEY or `apiKey:` in the config file)',
    );
  }
  return { server: config.server, apiKey: config.apiKey };
}
