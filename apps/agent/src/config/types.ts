/* The agent's configuration: its shape, what it is read from, and the names of its closed sets. */

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
