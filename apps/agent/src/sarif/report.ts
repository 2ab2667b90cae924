/**
 * SARIF to RIS reports: streaming (`openSarifReport`, result by result from a file, bounded memory) and whole
 * (`sarifToReport`, from a parsed log, for small outputs and tests). Both run the same `SarifConverter`.
 */
import type { Asset, Finding, Report } from '@rediver/core';
import { AgentError } from '../errors';
import { SarifConverter } from './convert';
import type { ReportHeader, RunInput, RunState, SarifConversionOptions, SarifSummary } from './convert';
import { readSarif } from './reader';
import type { SarifEvent, SarifReadOptions } from './reader';
import type { SarifLog } from './types';

/** Options of `openSarifReport`. */
export interface OpenSarifReportOptions extends SarifConversionOptions, Omit<SarifReadOptions, 'name'> {
  /**
   * Read the file once first to learn the values of its secret results (so that they are masked everywhere and
   * never hashed). Default: true. The agent's job runner collects the secrets of every secret scanner of the scan
   * first (`collectSecrets`) and passes false.
   */
  collectSecrets?: boolean;
}

/** A SARIF file being converted, finding by finding. */
export interface SarifReportStream {
  /** The report's id. */
  readonly reportId: string;
  /**
   * What is known before the findings: metadata, the first run's tool, properties. Provisional: SARIF puts
   * invocations and notifications anywhere (often after the results), so `coverage_type` and the counts are
   * final only in `final()`.
   */
  readonly header: ReportHeader;
  /** The report's assets (the scanned repository). */
  readonly assets: Asset[];
  /** The findings, converted one result at a time while the file is read; iterate once. */
  readonly findings: AsyncIterable<Finding>;
  /**
   * Settles once every finding was read from `findings`: the final header (`coverage_type` is `partial` when a
   * tool run failed or reported errors; `properties.scan_summary` holds the counts) and the conversion summary.
   * Rejects with the conversion's error, or with `ABORTED` when the iteration was abandoned.
   */
  final(): Promise<{ header: ReportHeader; summary: SarifSummary }>;
  /** Stops reading and removes scratch files (idempotent; also done when the iteration ends). */
  close(): Promise<void>;
}

function checkVersion(version: unknown, name: string): void {
  if (version === undefined) return;
  const v =
    typeof version === 'string' || typeof version === 'number' ? String(version) : JSON.stringify(version);
  if (!v.startsWith('2.1')) {
    throw new AgentError('SCANNER_FAILED', `${name} wrote SARIF ${v.slice(0, 40)}; 2.1.0 is required`, {
      details: { reason: 'sarif_version' },
    });
  }
}

function noRuns(name: string): AgentError {
  return new AgentError('SCANNER_FAILED', `${name} did not produce a SARIF log (no "runs")`, {
    details: { reason: 'no_runs' },
  });
}

function readOptions(options: OpenSarifReportOptions): SarifReadOptions {
  const o: SarifReadOptions = { name: options.scannerName };
  if (options.maxValueBytes !== undefined) o.maxValueBytes = options.maxValueBytes;
  if (options.maxArtifacts !== undefined) o.maxArtifacts = options.maxArtifacts;
  if (options.spoolDir !== undefined) o.spoolDir = options.spoolDir;
  if (options.signal !== undefined) o.signal = options.signal;
  if (options.readBytes !== undefined) o.readBytes = options.readBytes;
  return o;
}

/**
 * Reads a SARIF file and teaches `converter.masker` the values of its secret results (read from the scanned
 * files), without converting anything. Returns how many secret results were seen.
 */
export async function collectSarifSecrets(
  file: string,
  converter: SarifConverter,
  options: Omit<SarifReadOptions, 'name'> = {},
): Promise<number> {
  let n = 0;
  const runs = new Map<number, RunState>();
  for await (const e of readSarif(file, { ...options, name: converter.options.scannerName })) {
    if (e.kind === 'version') checkVersion(e.version, converter.options.scannerName);
    else if (e.kind === 'run') runs.set(e.index, converter.beginRun(e.index, e.run));
    else if (e.kind === 'result') {
      const run = runs.get(e.index);
      if (run !== undefined && converter.isSecret(run, e.result)) {
        n++;
        converter.learnSecret(run, e.result);
      }
    }
  }
  return n;
}

/**
 * Opens a SARIF file for conversion into one RIS report. Resolves once the first run's tool is known (the header);
 * the findings are then converted as they are iterated, one result at a time, so that memory does not depend on
 * the file's size. See `SarifReportStream`.
 */
export async function openSarifReport(
  file: string,
  options: OpenSarifReportOptions,
): Promise<SarifReportStream> {
  const name = options.scannerName;
  const collect = options.collectSecrets ?? true;
  if (collect) {
    // A converter of its own: only its masker (shared below) is wanted.
    const learner = new SarifConverter(options);
    await collectSarifSecrets(file, learner, readOptions(options));
    options = { ...options, masker: learner.masker };
  }
  const converter = new SarifConverter(options);
  const events = readSarif(file, readOptions(options));
  const runs = new Map<number, RunState>();
  const early: SarifEvent[] = [];
  let ended: Extract<SarifEvent, { kind: 'end' }> | undefined;

  const handle = (e: SarifEvent): Finding | undefined => {
    switch (e.kind) {
      case 'version':
        checkVersion(e.version, name);
        return undefined;
      case 'run':
        runs.set(e.index, converter.beginRun(e.index, e.run));
        return undefined;
      case 'invocation':
        converter.invocation(runs.get(e.index), e.invocation);
        return undefined;
      case 'result': {
        const run = runs.get(e.index);
        return run === undefined ? undefined : converter.convert(run, e.result);
      }
      case 'end':
        ended = e;
        if (!e.runs) throw noRuns(name);
        return undefined;
      default:
        return undefined;
    }
  };

  // Read up to the first run's `run` event (its tool), so that the header names the tool.
  try {
    for (;;) {
      const next = await events.next();
      if (next.done === true) break;
      const e = next.value;
      if (e.kind === 'version' || e.kind === 'run' || e.kind === 'end') handle(e);
      else early.push(e);
      if (e.kind === 'run' || e.kind === 'end') break;
    }
  } catch (e) {
    await events.return(undefined);
    throw e;
  }

  let outcome: { header: ReportHeader; summary: SarifSummary } | undefined;
  let failure: unknown;
  let settle: (() => void) | undefined;
  const settled = new Promise<void>((r) => (settle = r));
  let closed = false;
  let iterated = false;

  async function* findings(): AsyncGenerator<Finding> {
    if (iterated)
      throw new AgentError('INTERNAL', `the findings of report ${options.reportId} can be read once`);
    iterated = true;
    let done = false;
    try {
      for (const e of early.splice(0)) {
        const f = handle(e);
        if (f !== undefined) yield f;
      }
      for (;;) {
        const next = await events.next();
        if (next.done === true) break;
        const f = handle(next.value);
        if (f !== undefined) yield f;
      }
      if (ended === undefined) throw noRuns(name);
      done = true;
      outcome = { header: converter.header(true), summary: converter.summary };
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      if (!done && failure === undefined)
        failure = new AgentError('ABORTED', `the findings of report ${options.reportId} were not all read`);
      closed = true;
      await events.return(undefined);
      settle!();
    }
  }

  return {
    reportId: options.reportId,
    header: converter.header(false),
    assets: [options.asset],
    findings: { [Symbol.asyncIterator]: () => findings() },
    async final() {
      await settled;
      if (outcome === undefined) throw failure;
      return outcome;
    },
    async close() {
      if (closed) return;
      closed = true;
      await events.return(undefined);
      if (!iterated) {
        failure = new AgentError(
          'ABORTED',
          `report ${options.reportId} was closed before its findings were read`,
        );
        settle!();
      }
    },
  };
}

/**
 * Converts a parsed SARIF 2.1.0 log into one RIS report (the whole report in memory: for small outputs and tests;
 * scanners' files go through `openSarifReport`). Same conversion as the streaming one.
 */
export function sarifToReport(log: SarifLog, options: SarifConversionOptions): Report {
  const name = options.scannerName;
  if (typeof log !== 'object' || log === null || !Array.isArray(log.runs)) throw noRuns(name);
  checkVersion(log.version, name);
  const learner = new SarifConverter(options);
  const converter = new SarifConverter({ ...options, masker: learner.masker });
  const inputs: RunInput[] = log.runs.map((run) => {
    const input: RunInput = {
      bases: run?.originalUriBaseIds ?? {},
      artifacts: Array.isArray(run?.artifacts) ? run.artifacts : [],
    };
    if (run?.tool?.driver !== undefined) input.driver = run.tool.driver;
    if (Array.isArray(run?.tool?.extensions)) input.extensions = run.tool.extensions;
    return input;
  });
  // Learn every secret first: nothing is hashed or sent before the secrets are known.
  inputs.forEach((input, i) => {
    const run = learner.beginRun(i, input);
    for (const r of log.runs![i]?.results ?? []) if (converter.isSecret(run, r)) learner.learnSecret(run, r);
  });
  const findings: Finding[] = [];
  inputs.forEach((input, i) => {
    const run = converter.beginRun(i, input);
    for (const inv of log.runs![i]?.invocations ?? []) converter.invocation(run, inv);
    for (const r of log.runs![i]?.results ?? []) {
      const f = converter.convert(run, r);
      if (f !== undefined) findings.push(f);
    }
  });
  return { ...converter.header(true), assets: [options.asset], findings };
}
