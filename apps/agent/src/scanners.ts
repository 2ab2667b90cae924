import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Report } from '@rediver/core';
import type { ScannerConfig } from './config';
import { AgentError } from './errors';
import { runChild } from './internal/childProcess';
import { branchInfo, describeRepository, repositoryAsset } from './repository';
import type { RepositoryInfo } from './repository';
import { newReportId } from './reportId';
import { regionReader, sarifToReport } from './sarif';
import type { SarifLog } from './sarif';
import { generateLargeReport } from './synthetic';

/** Options of one scanner run. */
export interface ScanOptions {
  /** Aborts the run (the scanner's process group is killed). */
  signal?: AbortSignal;
  /** Folder for scratch files (default: the OS temp folder). */
  scratchDir?: string;
  /** Precomputed repository info (saves the git calls when several scanners share a target). */
  repository?: RepositoryInfo;
}

/** What one scanner run produced. */
export interface ScanOutcome {
  report: Report;
  scanner: string;
  durationMs: number;
  exitCode: number | null;
}

const require = createRequire(import.meta.url);

/** Paths of the secretlint CLI and its SARIF formatter, resolved from this package's dependencies. */
export function secretlintPaths(): { cli: string; formatter: string } {
  const pkg = require.resolve('secretlint/package.json');
  return {
    cli: join(pkg, '..', 'bin', 'secretlint.js'),
    formatter: require.resolve('@secretlint/secretlint-formatter-sarif'),
  };
}

/** The generated `.secretlintrc` for the built-in scanner: the recommended preset, AWS key ids included. */
export const SECRETLINT_CONFIG = Object.freeze({
  rules: [
    {
      id: '@secretlint/secretlint-rule-preset-recommend',
      rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
    },
  ],
});

/** argv of a scanner for `target`, with `{target}` and `{output}` substituted. */
export function scannerArgv(
  def: ScannerConfig,
  target: string,
  outputFile: string,
  ignoreFile: string,
): string[] {
  if (def.kind === 'secretlint') {
    const { cli, formatter } = secretlintPaths();
    return [
      process.execPath,
      cli,
      '--secretlintrcJSON',
      JSON.stringify(SECRETLINT_CONFIG),
      '--secretlintignore',
      ignoreFile,
      '--format',
      formatter,
      '--no-color',
      '--no-terminalLink',
      '**/*',
    ];
  }
  if (def.command === undefined) throw new AgentError('SCANNER_FAILED', `scanner ${def.name} has no command`);
  return def.command.map((a) => a.replaceAll('{target}', target).replaceAll('{output}', outputFile));
}

function safeRead(path: string): string | undefined {
  try {
    if (statSync(path).size > 4 * 1024 * 1024) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Runs one scanner on `target` and converts its SARIF into a RIS report. Child processes run in their own
 * process group with the scanner's timeout and die with the agent (`signal`).
 */
export async function runScanner(
  def: ScannerConfig,
  target: string,
  options: ScanOptions = {},
): Promise<ScanOutcome> {
  const abs = resolve(target);
  const st = await stat(abs).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) {
    throw new AgentError('SCANNER_FAILED', `scan target ${abs} is not a readable folder`);
  }
  const startedAt = new Date();
  const reportId = newReportId(def.name.replace(/:.*/, ''), startedAt);
  if (def.kind === 'synthetic') {
    const report = generateLargeReport({
      reportId,
      findings: def.findings ?? 6000,
      assets: def.assets ?? 320,
      timestamp: startedAt,
    });
    return { report, scanner: def.name, durationMs: Date.now() - startedAt.getTime(), exitCode: 0 };
  }
  const repository = options.repository ?? (await describeRepository(abs));
  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), 'scan-'));
  try {
    const outputFile = join(scratch, 'out.sarif');
    const ignoreFile = join(scratch, 'secretlintignore');
    await writeFile(ignoreFile, '**/node_modules/**\n**/.git/**\n');
    const argv = scannerArgv(def, abs, outputFile, ignoreFile);
    const runOpts: Parameters<typeof runChild>[1] = {
      cwd: abs,
      timeoutMs: def.timeoutMs ?? 600_000,
    };
    if (options.signal !== undefined) runOpts.signal = options.signal;
    const res = await runChild(argv, runOpts);
    const ok = def.okExitCodes ?? [0, 1];
    if (res.exitCode === null || !ok.includes(res.exitCode)) {
      throw new AgentError(
        'SCANNER_FAILED',
        `${def.name} exited with ${res.exitCode ?? res.signal}: ${res.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}`,
        { details: { exitCode: res.exitCode, signal: res.signal } },
      );
    }
    const usesFile = argv.some((a) => a.includes(outputFile));
    const raw = usesFile ? await readFile(outputFile, 'utf8').catch(() => '') : res.stdout;
    let log: SarifLog;
    try {
      log = JSON.parse(raw) as SarifLog;
    } catch (cause) {
      throw new AgentError(
        'SCANNER_FAILED',
        `${def.name} did not write SARIF JSON (${(cause as Error).message})`,
        {
          cause,
        },
      );
    }
    const convert: Parameters<typeof sarifToReport>[1] = {
      reportId,
      target: abs,
      asset: repositoryAsset(repository),
      scannerName: def.name,
      startedAt,
      durationMs: res.durationMs,
      readRegion: regionReader(safeRead),
    };
    if (def.findingType !== undefined) convert.findingType = def.findingType;
    const branch = branchInfo(repository);
    if (branch !== undefined) convert.branch = branch;
    const report = sarifToReport(log, convert);
    return { report, scanner: def.name, durationMs: res.durationMs, exitCode: res.exitCode };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
