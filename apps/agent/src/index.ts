/**
 * @rediver/agent — the sample agent composing the Rediver agent SDK's packages. The CLI (`rediver-agent`,
 * `src/cli.ts`) is the main entry; these exports let integrators reuse its parts.
 */
export { VERSION } from './version';
export { Agent } from './agent';
export type { AgentCounters, AgentDeps, AgentEvents, Delivery, DeliveryState, JobHooks } from './agent';
export {
  builtinScanners,
  DEFAULT_AGENT_CONFIG,
  loadConfig,
  PACKAGE_SECTIONS,
  PROGRESS_MODES,
  registerSectionKeys,
  requirePlatform,
  resolveScanner,
  SCANNER_KINDS,
  splitCommand,
} from './config';
export type {
  AgentConfig,
  ConfigSources,
  PackageSection,
  PackageSectionName,
  ProgressMode,
  ScannerConfig,
  ScannerKind,
} from './config';
export { AgentError, configError } from './errors';
export type {
  AuditEntry,
  AuditPort,
  ChunkEvents,
  ChunkPort,
  PipelinePort,
  PipelineSubmit,
  PlatformPort,
  ResourcePort,
  SlotPort,
  StoredReportInfo,
} from './ports';
export { dataPaths } from './paths';
export { attachProgress, formatBytes, statusLine } from './progress';
export type { ProgressDisplay } from './progress';
export { newReportId } from './reportId';
export { branchInfo, describeRepository, repositoryAsset, stripCredentials } from './repository';
export type { RepositoryInfo } from './repository';
export {
  maskSecret,
  openSarifReport,
  regionReader,
  sarifToReport,
  SecretMasker,
  severityFromLevel,
  severityFromScore,
} from './sarif';
export type {
  OpenSarifReportOptions,
  ReportHeader,
  SarifConversionOptions,
  SarifLog,
  SarifReportStream,
  SarifSummary,
} from './sarif';
export {
  DEFAULT_MAX_OUTPUT_MB,
  runScanJob,
  runScanner,
  scannerArgv,
  ScanSession,
  SECRETLINT_CONFIG,
  secretlintPaths,
} from './scanners';
export type { ScanJobHooks, ScannerRun, ScanOptions, ScanOutcome } from './scanners';
export { generateLargeReport } from './synthetic';
export type { SyntheticReportOptions } from './synthetic';
export {
  createAgentDeps,
  createAudit,
  createChunks,
  createPipeline,
  createPlatformClient,
  createResource,
  heartbeatMetrics,
  platformPort,
} from './wiring';
export { main } from './main';
