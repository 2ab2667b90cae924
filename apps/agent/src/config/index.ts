/*
 * The agent's configuration, one concept a file: its shape (`types.ts`), defaults (`defaults.ts`), the layers it
 * is read from — file (`fileLayer.ts`, parse errors `syntaxProblem.ts`), environment (`envLayer.ts`), flags and
 * `--set` (`layers.ts`, which also merges them) — the YAML parser loaded on demand (`yaml.ts`), validation
 * (`validation.ts`, `validator.ts`, scanners `scanners.ts`), the package option names (`registry.ts`) and
 * `loadConfig` (`load.ts`).
 */
export { DEFAULT_AGENT_CONFIG } from './defaults';
export { loadConfig, requirePlatform } from './load';
export { registerSectionKeys } from './registry';
export { builtinScanners, resolveScanner, splitCommand } from './scanners';
export { PACKAGE_SECTIONS, PROGRESS_MODES, SCANNER_KINDS } from './types';
export type {
  AgentConfig,
  ConfigSources,
  PackageSection,
  PackageSectionName,
  ProgressMode,
  ScannerConfig,
  ScannerKind,
} from './types';
