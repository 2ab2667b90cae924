import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { isRediverError } from '@rediver/core';
import type { Asset, Finding, Report } from '@rediver/core';
import type { ScannerConfig } from './config';
import { AgentError } from './errors';
import { runChild } from './internal/childProcess';
import { branchInfo, describeRepository, repositoryAsset } from './repository';
import type { RepositoryInfo } from './repository';
import { newReportId } from './reportId';
import {
  collectSarifSecrets,
  LineHashes,
  openSarifReport,
  SarifConverter,
  SECRET_TOOLS,
  SecretMasker,
} from './sarif';
import type { OpenSarifReportOptions, ReportHeader, SarifSummary } from './sarif';
import { syntheticReportStream } from './synthetic';

/**
 * A scanner's report being converted, finding by finding (a SARIF file's `openSarifReport`, or the synthetic
 * scanner's generator): read every finding, then `final()` for the final header (and the SARIF summary).
 */
export interface ReportStream {
  readonly reportId: string;
  /** What is known before the findings (provisional: `final()` has the final header). */
  readonly header: ReportHeader;
  readonly assets: Asset[];
  /** Iterate once. */
  readonly findings: AsyncIterable<Finding>;
  /** Settles once every finding was read: the final header and, for SARIF, the conversion summary. */
  final(): Promise<{ header: ReportHeader; summary?: SarifSummary }>;
  /** Stops reading and removes scratch files (idempotent). */
  close(): Promise<void>;
}

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
  /** What the SARIF conversion did (absent for the synthetic scanner). */
  summary?: SarifSummary;
}

/** A scanner that ran: its SARIF waits on disk for conversion. */
export interface ScannerRun {
  readonly def: ScannerConfig;
  readonly reportId: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly exitCode: number | null;
  /** The SARIF file (absent for the synthetic scanner, whose report is generated). */
  readonly sarifFile?: string;
  /** The folder the scanner ran in (relative paths in its output are tried there). */
  readonly cwd: string;
  /** Whether its findings are secrets whose values are collected before any output is converted. */
  readonly secretScanner: boolean;
  /** The synthetic scanner's report (generated finding by finding when read). */
  readonly synthetic?: { findings: number; assets: number };
}

/** Default cap of a scanner's SARIF output (`{output}` file or stdout), MiB. */
export const DEFAULT_MAX_OUTPUT_MB = 1024;

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

/**
 * argv of a scanner for `target`, with `{target}` and `{output}` substituted. The built-in secretlint writes its
 * SARIF to `files.outputFile` (`--output`): a pipe loses what a process writes after 64 KiB when it exits early;
 * `{outputDir}` is `files.outputDir` (default: `report` next to the output file); `files.ignoreFile` is secretlint's.
 */
export function scannerArgv(
  def: ScannerConfig,
  target: string,
  files: { outputFile: string; ignoreFile: string; outputDir?: string },
): string[] {
  const { outputFile, ignoreFile, outputDir = join(outputFile, '..', 'report') } = files;
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
      '--output',
      outputFile,
      '--no-color',
      '--no-terminalLink',
      '**/*',
    ];
  }
  if (def.command === undefined) throw new AgentError('SCANNER_FAILED', `scanner ${def.name} has no command`);
  return def.command.map((a) =>
    a.replaceAll('{target}', target).replaceAll('{outputDir}', outputDir).replaceAll('{output}', outputFile),
  );
}

/** The folder a scanner runs in: its `cwd` (`{target}` allowed), the target for secretlint, else the agent's. */
export function scannerCwd(def: ScannerConfig, target: string): string {
  if (def.cwd !== undefined) return resolve(def.cwd.replaceAll('{target}', target));
  if (def.kind === 'secretlint') return target;
  return process.cwd();
}

/** Whether a scanner's findings are secrets (its output is read first, to learn the values to mask). */
export function isSecretScanner(def: ScannerConfig): boolean {
  return (
    def.kind === 'secretlint' ||
    def.findingType === 'secret' ||
    SECRET_TOOLS.test(def.name) ||
    SECRET_TOOLS.test((def.command ?? []).slice(0, 3).join(' '))
  );
}

// Terminal colour codes (ESC [ … m).
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
// Lines of a stack trace or a source frame: never the error itself.
const NOISE =
  /^\s*(?:at\s|File "|Traceback \(most recent call last\)|\^+\s*$|\d+\s*\||>\s*\d+\s*\||Node\.js v\d|node:internal|\(Use `node --trace)/;
const ERRORISH =
  /^\s*(?:[\w.$]*(?:Error|Exception)\b|error\b|ERROR\b|fatal\b|FATAL\b|panic\b|Oops\b)|\b(?:ERR_[A-Z_]+|cannot|Cannot|could not|Could not|not found|No such file|Permission denied|EACCES|ENOENT|failed|Failed)\b/;

/**
 * The error line(s) of a failing scanner's stderr: the first lines that look like an error (not stack frames or
 * code frames), else the last meaningful line; masked, at most 500 characters.
 */
export function scannerErrorText(stderr: string, masker: SecretMasker = new SecretMasker()): string {
  const lines = stderr
    .split(/\r\n|\r|\n/)
    .map((l) => l.replace(ANSI, '').trimEnd())
    .filter((l) => l.trim() !== '' && !NOISE.test(l));
  if (lines.length === 0) return 'no error output';
  const errors = lines.filter((l) => ERRORISH.test(l) && !/^\s*Oops\b/.test(l));
  const picked = errors.length > 0 ? errors.slice(0, 2) : [lines[lines.length - 1]!];
  const text = picked.map((l) => l.trim()).join(' | ');
  return masker.maskText(text.length > 500 ? `${text.slice(0, 497)}...` : text);
}

function outputCapBytes(def: ScannerConfig): number {
  return (def.maxOutputMB ?? DEFAULT_MAX_OUTPUT_MB) * 1024 * 1024;
}

function tooLarge(def: ScannerConfig, where: string, bytes: number): AgentError {
  const mb = def.maxOutputMB ?? DEFAULT_MAX_OUTPUT_MB;
  return new AgentError(
    'SCANNER_FAILED',
    `${def.name} wrote more than ${mb} MiB of SARIF to ${where} (${Math.round(bytes / 1048576)} MiB seen); the output was cut off and not converted — raise the scanner's maxOutputMB or narrow the scan`,
    { details: { reason: 'output_too_large', limit_mb: mb, where } },
  );
}

const SHELL = '/bin/sh';

/** Bytes of a scanner's output so far: a file, or every file of an output folder. */
async function outputBytes(path: string, dir: boolean): Promise<number> {
  if (!dir) return (await stat(path)).size;
  let n = 0;
  for (const e of await readdir(path, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
  return n;
}

/** The SARIF file a scanner wrote into `{outputDir}`: the one `.sarif` file (else the one `.json` file). */
async function pickOutput(def: ScannerConfig, dir: string): Promise<string> {
  const files = (await readdir(dir, { withFileTypes: true, recursive: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  const sarif = files.filter((f) => /\.sarif(?:\.json)?$/i.test(f));
  const picked = sarif.length > 0 ? sarif : files.filter((f) => /\.json$/i.test(f));
  if (picked.length === 1) return picked[0]!;
  throw new AgentError(
    'SCANNER_FAILED',
    picked.length === 0
      ? `${def.name} wrote no .sarif or .json file to {outputDir}`
      : `${def.name} wrote several reports to {outputDir} (${picked.map((f) => basename(f)).join(', ')}); make it write one, or use {output}`,
    { details: { reason: 'no_output' } },
  );
}

/**
 * A scan of one target: runs scanners with their SARIF written to scratch files, learns the secrets their
 * secret scanners found, then converts each output (with every known secret masked). Own scratch folder;
 * `close()` removes it.
 */
export class ScanSession implements AsyncDisposable {
  readonly target: string;
  readonly repository: RepositoryInfo;
  /** Secrets known in this scan: masked in every finding of every scanner. */
  readonly masker = new SecretMasker();
  readonly #scratch: string;
  readonly #signal: AbortSignal | undefined;
  readonly #lineHashes: LineHashes;
  #runs = 0;
  #closing: Promise<void> | undefined;

  private constructor(target: string, repository: RepositoryInfo, scratch: string, signal?: AbortSignal) {
    this.target = target;
    this.repository = repository;
    this.#scratch = scratch;
    this.#signal = signal;
    this.#lineHashes = new LineHashes(this.masker);
  }

  /** Opens a scan of `target` (a readable folder). */
  static async open(target: string, options: ScanOptions = {}): Promise<ScanSession> {
    const abs = resolve(target);
    const st = await stat(abs).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) {
      throw new AgentError('SCANNER_FAILED', `scan target ${abs} is not a readable folder`);
    }
    const repository = options.repository ?? (await describeRepository(abs));
    const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), 'scan-'));
    return new ScanSession(abs, repository, scratch, options.signal);
  }

  /** Runs one scanner; its SARIF is then on disk (see `ScannerRun`). */
  async run(def: ScannerConfig): Promise<ScannerRun> {
    const startedAt = new Date();
    const reportId = newReportId(def.name.replace(/:.*/, ''), startedAt);
    const cwd = scannerCwd(def, this.target);
    const secretScanner = isSecretScanner(def);
    if (def.kind === 'synthetic') {
      return {
        def,
        reportId,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        exitCode: 0,
        cwd,
        synthetic: { findings: def.findings ?? 6000, assets: def.assets ?? 320 },
        secretScanner,
      };
    }
    if (this.#signal?.aborted === true)
      throw new AgentError('ABORTED', `${def.name} not started (agent stopping)`);
    const dir = join(this.#scratch, String(this.#runs++));
    await mkdir(dir, { recursive: true });
    const outputFile = join(dir, 'out.sarif');
    const outputDir = join(dir, 'report');
    const stdoutFile = join(dir, 'stdout.sarif');
    const ignoreFile = join(dir, 'secretlintignore');
    await writeFile(ignoreFile, '**/node_modules/**\n**/.git/**\n');
    const argv = scannerArgv(def, this.target, { outputFile, ignoreFile, outputDir });
    const template = def.kind === 'secretlint' ? [] : (def.command ?? []);
    const usesDir = template.some((a) => a.includes('{outputDir}'));
    if (usesDir) await mkdir(outputDir);
    const usesFile = def.kind === 'secretlint' || (!usesDir && template.some((a) => a.includes('{output}')));
    const where = usesDir ? '{outputDir}' : usesFile ? '{output}' : 'stdout';
    // stdout goes to a file through the shell's redirection, so that it is never held in memory and gets the same
    // cap as an `{output}` file.
    const redirect = !usesFile && !usesDir && existsSync(SHELL);
    const cap = outputCapBytes(def);
    const stop = new AbortController();
    let over: number | undefined;
    const watch = setInterval(() => {
      outputBytes(usesDir ? outputDir : usesFile ? outputFile : stdoutFile, usesDir)
        .then((size) => {
          if (size > cap && over === undefined) {
            over = size;
            stop.abort();
          }
        })
        .catch(() => {});
    }, 250);
    watch.unref();
    const signal = this.#signal === undefined ? stop.signal : AbortSignal.any([this.#signal, stop.signal]);
    let res: Awaited<ReturnType<typeof runChild>>;
    try {
      res = await runChild(redirect ? [SHELL, '-c', 'exec "$@" >"$0"', stdoutFile, ...argv] : argv, {
        cwd,
        timeoutMs: def.timeoutMs ?? 600_000,
        signal,
        maxStdoutBytes: cap,
        label: def.name,
      });
    } catch (e) {
      if (over !== undefined) throw tooLarge(def, where, over);
      if (isRediverError(e, 'SCANNER_FAILED') && /wrote more than/.test(e.message))
        throw tooLarge(def, where, cap + 1);
      throw e;
    } finally {
      clearInterval(watch);
    }
    const ok = def.okExitCodes ?? [0, 1];
    if (res.exitCode === null || !ok.includes(res.exitCode)) {
      const program = basename(argv[0] ?? def.name);
      const why =
        redirect && res.exitCode === 127 && /not found/.test(res.stderr)
          ? `cannot run ${program}: command not found (PATH, or a path relative to ${cwd})`
          : scannerErrorText(res.stderr, this.masker);
      throw new AgentError(
        'SCANNER_FAILED',
        `${def.name} exited with ${res.exitCode ?? res.signal}: ${why}`,
        {
          details: { exitCode: res.exitCode, signal: res.signal, cwd },
        },
      );
    }
    let sarifFile = usesDir ? await pickOutput(def, outputDir) : usesFile ? outputFile : stdoutFile;
    if (!redirect && !usesFile && !usesDir) await writeFile(stdoutFile, res.stdout);
    const size = await stat(sarifFile)
      .then((s) => s.size)
      .catch(() => undefined);
    if (size === undefined || size === 0) {
      const hint = res.stderr.trim() === '' ? '' : ` (stderr: ${scannerErrorText(res.stderr, this.masker)})`;
      throw new AgentError('SCANNER_FAILED', `${def.name} wrote no SARIF to ${where}${hint}`, {
        details: { reason: 'no_output', exitCode: res.exitCode },
      });
    }
    if (size > cap) throw tooLarge(def, where, size);
    sarifFile = resolve(sarifFile);
    return {
      def,
      reportId,
      startedAt,
      durationMs: res.durationMs,
      exitCode: res.exitCode,
      sarifFile,
      cwd,
      secretScanner,
    };
  }

  #conversion(run: ScannerRun): OpenSarifReportOptions {
    const o: OpenSarifReportOptions = {
      reportId: run.reportId,
      target: this.target,
      asset: repositoryAsset(this.repository),
      scannerName: run.def.name,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      cwd: run.cwd,
      masker: this.masker,
      lineHashes: this.#lineHashes,
      collectSecrets: false,
      spoolDir: join(run.sarifFile ?? this.#scratch, '..'),
    };
    if (this.repository.gitRoot !== undefined) o.root = this.repository.gitRoot;
    if (run.def.findingType !== undefined) o.findingType = run.def.findingType;
    const branch = branchInfo(this.repository);
    if (branch !== undefined) o.branch = branch;
    return o;
  }

  /** Learns the secret values found by the secret scanners among `runs`. Returns how many secret results. */
  async collectSecrets(runs: readonly ScannerRun[]): Promise<number> {
    let n = 0;
    for (const run of runs) {
      if (!run.secretScanner || run.sarifFile === undefined) continue;
      const o = this.#conversion(run);
      n += await collectSarifSecrets(run.sarifFile, new SarifConverter(o), { spoolDir: o.spoolDir! });
    }
    return n;
  }

  /**
   * Opens a run's output for streaming conversion (call `collectSecrets` with every run of the scan first): its
   * SARIF file, or the synthetic scanner's generator.
   */
  async open(run: ScannerRun): Promise<ReportStream> {
    if (run.synthetic !== undefined) {
      return syntheticReportStream({
        reportId: run.reportId,
        findings: run.synthetic.findings,
        assets: run.synthetic.assets,
        timestamp: run.startedAt,
      });
    }
    if (run.sarifFile === undefined)
      throw new AgentError('INTERNAL', `${run.def.name} has no SARIF output to convert`);
    return openSarifReport(run.sarifFile, this.#conversion(run));
  }

  /** Converts a run into a whole report (findings collected in memory) with its summary. */
  async convert(run: ScannerRun): Promise<ScanOutcome> {
    const base = { scanner: run.def.name, durationMs: run.durationMs, exitCode: run.exitCode };
    const stream = await this.open(run);
    try {
      const findings: Finding[] = [];
      for await (const f of stream.findings) findings.push(f);
      const { header, summary } = await stream.final();
      const report: Report = { ...header, assets: stream.assets, findings };
      return summary === undefined ? { ...base, report } : { ...base, report, summary };
    } finally {
      await stream.close();
    }
  }

  /** Removes the scratch folder (idempotent). */
  close(): Promise<void> {
    this.#closing ??= rm(this.#scratch, { recursive: true, force: true });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
  const session = await ScanSession.open(target, options);
  try {
    const run = await session.run(def);
    await session.collectSecrets([run]);
    return await session.convert(run);
  } finally {
    await session.close();
  }
}

/** Hooks of `runScanJob` (the agent audits and delivers from them). */
export interface ScanJobHooks {
  /** A scanner is about to run. */
  onStarted?(def: ScannerConfig): void;
  /** A scanner failed to run or its output could not be converted. */
  onFailed?(def: ScannerConfig, error: unknown, durationMs: number): void;
  /** A scanner's report is ready (converted with every secret of the scan masked). */
  onReport(def: ScannerConfig, outcome: ScanOutcome): Promise<void>;
  /**
   * When set, outputs are handed over as streams instead of `onReport`: read every finding, then
   * `stream.final()` for the header and summary. The stream is closed (scratch files removed) when the returned
   * promise settles. `convertWhole()` converts the same output again from its start into a whole report (for
   * holding it in memory when the chunk store cannot keep it).
   */
  onReportStream?(
    def: ScannerConfig,
    stream: ReportStream,
    run: ScannerRun,
    convertWhole: () => Promise<ScanOutcome>,
  ): Promise<void>;
}

/**
 * Runs a job's scanners on one target: every scanner first (outputs to files), then the secrets its secret
 * scanners found are learned, then every output is converted and handed to `hooks.onReport`, so that no finding
 * of any scanner carries a secret another scanner found. A scanner that fails does not stop the others; an
 * abort (`signal`) does (ABORTED is thrown).
 */
export async function runScanJob(
  defs: readonly ScannerConfig[],
  target: string,
  options: ScanOptions & ScanJobHooks,
): Promise<{ failures: number; lastError?: unknown }> {
  const session = await ScanSession.open(target, options);
  let failures = 0;
  let lastError: unknown;
  let stopped: AgentError | undefined;
  const failed = (def: ScannerConfig, e: unknown, t0: number): void => {
    failures++;
    lastError = e;
    options.onFailed?.(def, e, Date.now() - t0);
  };
  try {
    const runs: { run: ScannerRun; t0: number }[] = [];
    for (const def of defs) {
      if (options.signal?.aborted === true) {
        stopped = new AgentError('ABORTED', 'agent stopping');
        break;
      }
      options.onStarted?.(def);
      const t0 = Date.now();
      try {
        runs.push({ run: await session.run(def), t0 });
      } catch (e) {
        failed(def, e, t0);
        if (isRediverError(e, 'ABORTED')) break;
      }
    }
    for (const { run } of runs) {
      try {
        await session.collectSecrets([run]);
      } catch {
        // Its conversion below fails the same way and says why.
      }
    }
    // Outputs already on disk are converted and handed over even when the agent is stopping: they are kept.
    for (const { run, t0 } of runs) {
      try {
        if (options.onReportStream !== undefined) {
          const stream = await session.open(run);
          try {
            await options.onReportStream(run.def, stream, run, () => session.convert(run));
          } finally {
            await stream.close();
          }
        } else {
          await options.onReport(run.def, await session.convert(run));
        }
      } catch (e) {
        failed(run.def, e, t0);
      }
    }
    if (stopped !== undefined) throw stopped;
    return lastError === undefined ? { failures } : { failures, lastError };
  } finally {
    await session.close();
  }
}

/** The partial-run counts of a summary, in words (for messages). */
export function partialText(s: SarifSummary): string {
  const parts: string[] = [];
  if (s.failedInvocations > 0) parts.push(`${s.failedInvocations} failed tool run(s)`);
  if (s.errorNotifications > 0) parts.push(`${s.errorNotifications} error notification(s)`);
  return parts.join(', ');
}

/** A summary as audit details (snake_case counts and the first notifications). */
export function scanSummaryDetails(s: SarifSummary): Record<string, unknown> {
  const d: Record<string, unknown> = {
    coverage: s.partial ? 'partial' : 'full',
    tools: s.tools,
    results: s.results,
    suppressed: s.suppressed,
    not_failures: s.notFailures,
    failed_invocations: s.failedInvocations,
    error_notifications: s.errorNotifications,
    outside_paths: s.outsidePaths,
    fingerprints: s.fingerprints,
    files_hashed: s.filesHashed,
    files_skipped: s.filesSkipped,
    masked: s.masked,
  };
  if (s.notifications.length > 0) d.notifications = s.notifications;
  return d;
}
