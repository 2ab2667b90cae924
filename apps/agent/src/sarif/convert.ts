/**
 * SARIF results to RIS findings, one result at a time: the code path shared by the whole-report conversion
 * (`sarifToReport`) and the streaming one (`openSarifReport`).
 */
import { resolve } from 'node:path';
import { RIS_VERSION } from '@rediver/core';
import type { Asset, BranchInfo, Finding, FindingLocation, Report, Severity, ToolInfo } from '@rediver/core';
import { FingerprintSet, sha256 } from './fingerprint';
import { LineHashes } from './lineHash';
import type { LineHashOptions } from './lineHash';
import { maskSecret, SecretMasker } from './masking';
import type { TextPlace } from './masking';
import { RegionReader } from './region';
import { PathResolver } from './uri';
import type { ResolvedPath } from './uri';
import type {
  SarifArtifact,
  SarifArtifactLocation,
  SarifInvocation,
  SarifMessage,
  SarifRegion,
  SarifResult,
  SarifRule,
  SarifToolComponent,
} from './types';

/** Tools whose every result is a secret. */
export const SECRET_TOOLS =
  /secretlint|gitleaks|trufflehog|detect-secrets|ggshield|talisman|noseyparker|kingfisher/i;

/** Options of a SARIF conversion (`sarifToReport`, `openSarifReport`). */
export interface SarifConversionOptions {
  /** Report id (valid per `isValidReportId`). */
  reportId: string;
  /** The scanned folder. */
  target: string;
  /** The scanned repository; every finding points at it. */
  asset: Asset;
  /** Tool name when the log has none (the scanner's configured name). */
  scannerName: string;
  /** Type for every finding (e.g. `secret`); default: `secret` for known secret scanners, else inferred. */
  findingType?: string;
  /** Scan start (RFC 3339 timestamp of the report). */
  startedAt: Date;
  durationMs?: number;
  /** Branch/commit context for the report metadata. */
  branch?: BranchInfo;
  /**
   * Root that paths are made relative to: default the asset's `git_root` property (the git work tree holding the
   * target), else the target.
   */
  root?: string;
  /** The scanner's working directory: relative paths that do not resolve in the target are tried there. */
  cwd?: string;
  /** Masks secrets in everything sent; holds the secrets known for this scan. Default: a new one. */
  masker?: SecretMasker;
  /** Line hashing of scanned files (fingerprints): options, or a cache shared by the reports of one scan. */
  lineHashes?: LineHashOptions | LineHashes;
  /** Reads a region's text (a secret's value); default: bounded reads of the scanned file. */
  readRegion?: (path: string, region: SarifRegion) => string | undefined;
}

/** One notable tool notification, as kept in the summary (masked). */
export interface SarifNotificationSummary {
  tool: string;
  level: string;
  message: string;
  id?: string;
  path?: string;
}

/** What a conversion did: counts for the scan summary and the audit log. */
export interface SarifSummary {
  runs: number;
  tools: string[];
  /** Results read. */
  results: number;
  /** Findings produced. */
  findings: number;
  /** Results with a suppression in force (status absent or `accepted`), not sent. */
  suppressed: number;
  /** Results whose `kind` is not a failure (`pass`, `notApplicable`, `informational`, `review`), not sent. */
  notFailures: number;
  /** Invocations with `executionSuccessful: false`. */
  failedInvocations: number;
  /** Error-level tool execution or configuration notifications. */
  errorNotifications: number;
  /** The first error notifications and failed invocations (at most 20), masked. */
  notifications: SarifNotificationSummary[];
  /** Findings whose file is outside the repository root. */
  outsidePaths: number;
  /** How fingerprints were made. */
  fingerprints: {
    partial: number;
    lineHash: number;
    file: number;
    snippet: number;
    position: number;
    message: number;
    /** Results whose identity equalled an earlier one's (an occurrence index was added). */
    duplicates: number;
  };
  /** Files hashed for fingerprints, and files that could not be (unreadable, too large). */
  filesHashed: number;
  filesSkipped: number;
  /** Secret values masked in what is sent. */
  masked: number;
  /** True when a tool run failed or reported errors: the report's `coverage_type` is `partial`. */
  partial: boolean;
}

/** A report without its findings and assets: what is known before (provisional) and after (final) a conversion. */
export type ReportHeader = Omit<Report, 'findings' | 'assets' | 'dependencies'>;

/** The parts of a run the conversion reads (mutable: the streaming reader fills `artifacts` as they arrive). */
export interface RunInput {
  driver?: SarifToolComponent;
  extensions?: SarifToolComponent[];
  bases: Record<string, SarifArtifactLocation>;
  artifacts: (SarifArtifact | undefined)[];
}

interface RuleInfo {
  title?: string;
  /** Finding type of the rule's results (rules belong to one run, hence one tool). */
  type?: string;
  cwe: string[];
  props: Record<string, unknown>;
}

/** A run being converted. */
export interface RunState {
  readonly index: number;
  readonly input: RunInput;
  readonly toolName: string;
  readonly tool: ToolInfo;
  readonly secretTool: boolean;
  readonly byId: Map<string, SarifRule>;
  readonly byIndex: SarifRule[];
}

const MAX_NOTIFICATIONS = 20;

/** Maps a CVSS-like `security-severity` score (GitHub's bands) to a severity. */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'info';
}

/** Maps a SARIF `level` to a severity (used when no `security-severity` is given). */
export function severityFromLevel(level: string | undefined): Severity {
  switch (level) {
    case 'error':
      return 'high';
    case 'warning':
      return 'medium';
    case 'note':
      return 'low';
    case 'none':
      return 'info';
    default:
      // SARIF's default level is `warning`.
      return 'medium';
  }
}

function scoreOf(...bags: (Record<string, unknown> | undefined)[]): number | undefined {
  for (const bag of bags) {
    const raw = bag?.['security-severity'];
    const n = typeof raw === 'string' ? Number.parseFloat(raw) : typeof raw === 'number' ? raw : Number.NaN;
    if (Number.isFinite(n) && n >= 0 && n <= 10) return n;
  }
  return undefined;
}

function text(m: SarifMessage | undefined): string | undefined {
  const t = m?.text ?? m?.markdown;
  return typeof t === 'string' && t.trim() !== '' ? t.trim() : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A rule id as a short name: the last segment of `preset > rule` / `a/b/c`. */
function shortRule(ruleId: string): string {
  const last = ruleId.split(/\s*>\s*|\//).pop() ?? ruleId;
  return last.replace(/^secretlint-rule-/, '');
}

function tagsOf(bag: Record<string, unknown> | undefined): string[] {
  const t = bag?.tags;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

function inferType(rule: SarifRule | undefined, ruleId: string, secretTool: boolean): string {
  if (secretTool) return 'secret';
  const tagText = tagsOf(rule?.properties).join(' ').toLowerCase();
  if (/secret|credential/.test(tagText) || /secret|credential|token|password/i.test(ruleId)) return 'secret';
  if (/cve-|ghsa-|vulnerab|dependency|sca\b/i.test(`${ruleId} ${tagText}`)) return 'vulnerability';
  if (/misconfig|iac|terraform|kubernetes|docker/i.test(`${ruleId} ${tagText}`)) return 'misconfiguration';
  return 'code';
}

/** CWE ids (`CWE-79`) from tags (`external/cwe/cwe-079`, `CWE-79: …`), a `cwe` property, and CWE relationships. */
export function cweOf(rule: SarifRule | undefined, resultProps?: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (raw: unknown): void => {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0) out.add(`CWE-${raw}`);
    if (typeof raw !== 'string') return;
    const m = /^(?:external\/cwe\/)?cwe[-_:\s]*0*(\d{1,6})\b/i.exec(raw.trim());
    if (m !== null) out.add(`CWE-${m[1]!}`);
  };
  for (const bag of [rule?.properties, resultProps]) {
    for (const t of tagsOf(bag)) add(t);
    const cwe = bag?.cwe ?? bag?.CWE;
    if (Array.isArray(cwe)) cwe.forEach(add);
    else add(cwe);
  }
  for (const rel of rule?.relationships ?? []) {
    if (typeof rel?.target?.toolComponent?.name === 'string' && /^cwe$/i.test(rel.target.toolComponent.name))
      add(`CWE-${String(rel.target.id ?? '')}`);
  }
  return [...out];
}

/**
 * SARIF §3.27.23: a result is suppressed when it has a suppression in force (status absent or `accepted`) and
 * none under review or rejected.
 */
export function isSuppressed(suppressions: unknown): boolean {
  if (!Array.isArray(suppressions) || suppressions.length === 0) return false;
  let accepted = false;
  for (const s of suppressions as { status?: unknown }[]) {
    const status = s?.status;
    if (status === 'underReview' || status === 'rejected') return false;
    if (status === undefined || status === null || status === 'accepted') accepted = true;
  }
  return accepted;
}

/** The part of a secret's text its mask is made from: a key block's first body line, else the first line. */
function secretShown(value: string): string {
  const lines = value.split(/\r\n|\r|\n/).map((l) => l.trim());
  return lines.find((l) => l !== '' && !/^-----(?:BEGIN|END)\b/.test(l)) ?? lines[0] ?? value;
}

function cap(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** A fresh summary. */
function emptySummary(): SarifSummary {
  return {
    runs: 0,
    tools: [],
    results: 0,
    findings: 0,
    suppressed: 0,
    notFailures: 0,
    failedInvocations: 0,
    errorNotifications: 0,
    notifications: [],
    outsidePaths: 0,
    fingerprints: { partial: 0, lineHash: 0, file: 0, snippet: 0, position: 0, message: 0, duplicates: 0 },
    filesHashed: 0,
    filesSkipped: 0,
    masked: 0,
    partial: false,
  };
}

/**
 * Converts the results of one SARIF log (any number of runs) into findings of one report. Holds per-report state:
 * the masker, the line-hash cache, the fingerprints seen and the summary.
 */
export class SarifConverter {
  readonly options: SarifConversionOptions;
  readonly masker: SecretMasker;
  readonly summary: SarifSummary = emptySummary();
  readonly #paths: PathResolver;
  readonly #lines: LineHashes;
  readonly #regions = new RegionReader();
  readonly #seen = new FingerprintSet();
  readonly #rules = new WeakMap<SarifRule, RuleInfo>();
  readonly #resolved = new Map<string, ResolvedPath | undefined>();
  #firstTool: ToolInfo | undefined;

  constructor(options: SarifConversionOptions) {
    this.options = options;
    this.masker = options.masker ?? new SecretMasker();
    const target = resolve(options.target);
    const gitRoot = str(options.asset.properties?.git_root);
    this.#paths = new PathResolver({
      root: options.root ?? gitRoot ?? target,
      target,
      cwd: options.cwd ?? process.cwd(),
    });
    this.#lines =
      options.lineHashes instanceof LineHashes
        ? options.lineHashes
        : new LineHashes(this.masker, options.lineHashes);
  }

  /** Starts a run: its tool, rules, base ids and artifacts (the latter two may keep filling up). */
  beginRun(index: number, input: RunInput): RunState {
    const driver = input.driver;
    const toolName = str(driver?.name) ?? this.options.scannerName;
    const tool: ToolInfo = { name: toolName };
    const version = str(driver?.semanticVersion) ?? str(driver?.version);
    if (version !== undefined) tool.version = version;
    if (str(driver?.organization) !== undefined) tool.vendor = driver!.organization!;
    if (str(driver?.informationUri) !== undefined) tool.info_url = driver!.informationUri!;
    const secretTool = SECRET_TOOLS.test(toolName);
    tool.capabilities = [secretTool ? 'secret' : 'sast'];
    this.#firstTool ??= tool;
    this.summary.runs++;
    if (!this.summary.tools.includes(toolName)) this.summary.tools.push(toolName);
    const byIndex = Array.isArray(driver?.rules) ? driver.rules : [];
    const byId = new Map<string, SarifRule>();
    const all = [
      ...byIndex,
      ...(input.extensions ?? []).flatMap((e) => (Array.isArray(e?.rules) ? e.rules : [])),
    ];
    for (const r of all) if (typeof r?.id === 'string' && !byId.has(r.id)) byId.set(r.id, r);
    return { index, input, toolName, tool, secretTool, byId, byIndex };
  }

  #rule(run: RunState, result: SarifResult): SarifRule | undefined {
    const extIndex = result.rule?.toolComponent?.index;
    const idx = result.ruleIndex ?? result.rule?.index;
    if (typeof extIndex === 'number' && typeof idx === 'number') {
      const r = run.input.extensions?.[extIndex]?.rules?.[idx];
      if (r !== undefined) return r;
    }
    return (
      (typeof result.ruleId === 'string' ? run.byId.get(result.ruleId) : undefined) ??
      (typeof result.rule?.id === 'string' ? run.byId.get(result.rule.id) : undefined) ??
      (typeof idx === 'number' ? run.byIndex[idx] : undefined)
    );
  }

  #ruleInfo(rule: SarifRule | undefined): RuleInfo {
    if (rule === undefined || typeof rule !== 'object') return { cwe: [], props: {} };
    let info = this.#rules.get(rule);
    if (info !== undefined) return info;
    const props: Record<string, unknown> = {};
    const mask = (s: string, n: number): string => cap(this.masker.maskText(s), n);
    const name = str(rule.name);
    if (name !== undefined && name !== rule.id) props.rule_name = mask(name, 200);
    const full = text(rule.fullDescription);
    if (full !== undefined) props.rule_description = mask(full, 4000);
    const helpText = str(rule.help?.text)?.trim();
    const helpMd = str(rule.help?.markdown)?.trim();
    if (helpText !== undefined || helpMd !== undefined) props.remediation = mask((helpText ?? helpMd)!, 4000);
    if (helpMd !== undefined) props.remediation_markdown = mask(helpMd, 4000);
    if (str(rule.helpUri) !== undefined) props.help_uri = rule.helpUri;
    const tags = tagsOf(rule.properties);
    if (tags.length > 0) props.tags = tags.slice(0, 50).map((t) => cap(t, 200));
    const short = text(rule.shortDescription);
    info = { cwe: cweOf(rule), props };
    if (short !== undefined) info.title = mask(short, 500);
    this.#rules.set(rule, info);
    return info;
  }

  /** Whether a result of this run is a secret (its value is then masked and known). */
  isSecret(run: RunState, result: SarifResult): boolean {
    return this.#type(run, result, this.#rule(run, result)) === 'secret';
  }

  #type(run: RunState, result: SarifResult, rule: SarifRule | undefined): string {
    if (this.options.findingType !== undefined) return this.options.findingType;
    const ruleId = str(result.ruleId) ?? str(result.rule?.id) ?? str(rule?.id) ?? 'unknown-rule';
    if (rule === undefined || rule.id !== ruleId) return inferType(rule, ruleId, run.secretTool);
    const info = this.#ruleInfo(rule);
    return (info.type ??= inferType(rule, ruleId, run.secretTool));
  }

  #resolve(run: RunState, loc: SarifArtifactLocation | undefined): ResolvedPath | undefined {
    if (loc === null || typeof loc !== 'object') return undefined;
    // Results point at the same files over and over: resolve each (run, uri, base, index) once.
    const key = `${run.index}\u0000${loc.uri}\u0000${loc.uriBaseId}\u0000${loc.index}`;
    if (this.#resolved.has(key)) return this.#resolved.get(key);
    const r = this.#paths.resolve(loc, run.input.bases, run.input.artifacts);
    if (this.#resolved.size >= 20_000) this.#resolved.clear();
    this.#resolved.set(key, r);
    return r;
  }

  #location(run: RunState, result: SarifResult): { resolved?: ResolvedPath; region?: SarifRegion } {
    const phys = Array.isArray(result.locations) ? result.locations[0]?.physicalLocation : undefined;
    const region = phys?.region !== null && typeof phys?.region === 'object' ? phys.region : undefined;
    const resolved = this.#resolve(run, phys?.artifactLocation);
    const out: { resolved?: ResolvedPath; region?: SarifRegion } = {};
    if (resolved !== undefined) out.resolved = resolved;
    if (region !== undefined) out.region = region;
    return out;
  }

  #regionText(resolved: ResolvedPath | undefined, region: SarifRegion | undefined): string | undefined {
    if (resolved?.abs === undefined || region === undefined) return undefined;
    if (this.options.readRegion !== undefined) return this.options.readRegion(resolved.abs, region);
    return this.#regions.read(resolved.abs, region);
  }

  /**
   * Learns the secret value of a secret result (read from the scanned file) so that it is masked everywhere.
   * Returns the value when one was read.
   */
  learnSecret(run: RunState, result: SarifResult): string | undefined {
    const { resolved, region } = this.#location(run, result);
    const value = this.#regionText(resolved, region);
    if (value === undefined || value.trim() === '') return undefined;
    const place =
      resolved !== undefined && region?.startLine !== undefined
        ? { path: resolved.path, line: region.startLine }
        : undefined;
    this.masker.addKnown(value, place);
    return value;
  }

  /** Records an invocation: failed executions and error notifications make the report partial. */
  invocation(run: RunState | undefined, inv: SarifInvocation): void {
    if (inv === null || typeof inv !== 'object') return;
    const tool = run?.toolName ?? this.options.scannerName;
    if (inv.executionSuccessful === false) {
      this.summary.failedInvocations++;
      this.summary.partial = true;
      this.#note({
        tool,
        level: 'error',
        message: `execution not successful${typeof inv.exitCode === 'number' ? ` (exit code ${inv.exitCode})` : ''}`,
      });
    }
    for (const list of [inv.toolExecutionNotifications, inv.toolConfigurationNotifications]) {
      if (!Array.isArray(list)) continue;
      for (const n of list) {
        if ((n?.level ?? 'warning') !== 'error') continue;
        this.summary.errorNotifications++;
        this.summary.partial = true;
        if (this.summary.notifications.length >= MAX_NOTIFICATIONS) continue;
        const note: SarifNotificationSummary = {
          tool,
          level: 'error',
          message: cap(this.masker.maskText(text(n.message) ?? '(no message)'), 500),
        };
        if (str(n.descriptor?.id) !== undefined) note.id = n.descriptor!.id!;
        const loc = run === undefined ? undefined : this.#location(run, { locations: n.locations ?? [] });
        if (loc?.resolved !== undefined) note.path = loc.resolved.path;
        this.#note(note);
      }
    }
  }

  #note(n: SarifNotificationSummary): void {
    if (this.summary.notifications.length < MAX_NOTIFICATIONS) this.summary.notifications.push(n);
  }

  /** What a result is fingerprinted from, best first: partial fingerprints, lines, snippet, message. */
  #fingerprint(
    run: RunState,
    ruleId: string,
    r: {
      resolved: ResolvedPath | undefined;
      region: SarifRegion | undefined;
      partial: Record<string, string> | undefined;
      snippet: string | undefined;
      message: string;
    },
  ): string {
    const { resolved, region, partial, snippet, message } = r;
    const fp = this.summary.fingerprints;
    const tool = run.toolName;
    const path = resolved?.path;
    if (partial !== undefined) {
      fp.partial++;
      const keys = Object.keys(partial).sort();
      return sha256([tool, ruleId, path, ...keys.flatMap((k) => [k, partial[k]])]);
    }
    if (path === undefined) {
      fp.message++;
      return sha256([tool, ruleId, 'message', message]);
    }
    const line = region?.startLine;
    if (resolved?.abs !== undefined) {
      if (line === undefined) {
        fp.file++;
        return sha256([tool, ruleId, path, 'file']);
      }
      const end = typeof region?.endLine === 'number' ? region.endLine : line;
      const h = this.#lines.get(resolved.abs, path, line, end);
      if (h !== undefined) {
        fp.lineHash++;
        return sha256([tool, ruleId, path, 'lines', h]);
      }
    }
    if (snippet !== undefined && snippet.trim() !== '') {
      fp.snippet++;
      return sha256([tool, ruleId, path, 'snippet', snippet.replace(/\s+/g, '')]);
    }
    fp.position++;
    return sha256([tool, ruleId, path, 'line', line, region?.startColumn]);
  }

  /** Converts one result; undefined when it is not sent (suppressed, or not a failure). */
  convert(run: RunState, result: SarifResult): Finding | undefined {
    if (result === null || typeof result !== 'object') return undefined;
    this.summary.results++;
    if (result.kind !== undefined && result.kind !== 'fail' && result.kind !== 'open') {
      this.summary.notFailures++;
      return undefined;
    }
    if (isSuppressed(result.suppressions)) {
      this.summary.suppressed++;
      return undefined;
    }
    const opts = this.options;
    const rule = this.#rule(run, result);
    const info = this.#ruleInfo(rule);
    const ruleId = str(result.ruleId) ?? str(result.rule?.id) ?? str(rule?.id) ?? 'unknown-rule';
    const { resolved, region } = this.#location(run, result);
    if (resolved?.outside === true) this.summary.outsidePaths++;
    const type = this.#type(run, result, rule);
    const isSecret = type === 'secret';
    const path = resolved?.abs !== undefined ? resolved.path : undefined;
    const startLine = typeof region?.startLine === 'number' ? region.startLine : undefined;
    const endLine = typeof region?.endLine === 'number' ? region.endLine : startLine;
    let secretValue: string | undefined;
    if (isSecret) {
      secretValue = this.#regionText(resolved, region);
      // A secret this scan did not know yet (a secret-typed rule of a non-secret tool): learn it, and forget
      // hashes of its file computed without it.
      if (
        secretValue !== undefined &&
        secretValue.trim() !== '' &&
        path !== undefined &&
        startLine !== undefined
      ) {
        const before = this.masker.knownCount;
        this.masker.addKnown(secretValue, { path, line: startLine });
        if (this.masker.knownCount !== before) this.#lines.invalidate(resolved!.abs!);
      }
    }
    const scope: TextPlace | undefined =
      path !== undefined && startLine !== undefined ? { path, line: startLine } : undefined;
    const maskMsg = (s: string): string => {
      let out = this.masker.maskText(s);
      if (scope !== undefined && this.masker.hasPlaced(scope.path)) {
        // Secrets known at the finding's own lines, wherever they appear in the message.
        for (let l = scope.line; l <= Math.min(endLine ?? scope.line, scope.line + 50); l++)
          out = out
            .split(/(\r\n|\r|\n)/)
            .map((part, i) =>
              i % 2 === 1 ? part : this.masker.maskLine(part, { path: scope.path, line: l }),
            )
            .join('');
      }
      return out;
    };
    const message = maskMsg(text(result.message) ?? info.title ?? ruleId);
    const score = scoreOf(result.properties, rule?.properties);
    const severity =
      score !== undefined
        ? severityFromScore(score)
        : severityFromLevel(str(result.level) ?? str(rule?.defaultConfiguration?.level));
    const location: FindingLocation = {};
    if (resolved !== undefined) location.path = resolved.path;
    if (startLine !== undefined) location.start_line = startLine;
    if (typeof region?.endLine === 'number') location.end_line = region.endLine;
    if (typeof region?.startColumn === 'number') location.start_column = region.startColumn;
    if (typeof region?.endColumn === 'number') location.end_column = region.endColumn;
    const rawSnippet = str(region?.snippet?.text);
    const snippet = rawSnippet === undefined ? undefined : this.masker.maskText(rawSnippet, scope);
    if (snippet !== undefined && !isSecret) location.snippet = cap(snippet, 4096);
    const rawPartial = result.partialFingerprints;
    let partial: Record<string, string> | undefined;
    if (rawPartial !== null && typeof rawPartial === 'object') {
      for (const [k, v] of Object.entries(rawPartial)) {
        if (typeof v !== 'string' && typeof v !== 'number') continue;
        (partial ??= {})[cap(k, 200)] = cap(this.masker.maskText(String(v)), 1000);
      }
    }
    let fingerprint = this.#fingerprint(run, ruleId, { resolved, region, partial, snippet, message });
    // Two results with the same identity in one report are two findings: an occurrence index keeps them apart.
    const n = this.#seen.add(fingerprint);
    if (n > 0) {
      this.summary.fingerprints.duplicates++;
      fingerprint = sha256([fingerprint, n]);
    }
    // Some tools (secretlint) describe every rule as "rule <id> error": the message says more then.
    const generic = info.title !== undefined && /\brule\b/i.test(info.title) && info.title.includes(ruleId);
    const title =
      info.title !== undefined && !generic
        ? info.title
        : `${shortRule(ruleId)}: ${message.split('\n')[0]!.slice(0, 200)}`;
    const finding: Finding = {
      type,
      title: cap(title, 500),
      description: cap(message, 8000),
      severity,
      rule_id: cap(ruleId, 500),
      asset_ref: opts.asset.id!,
      asset_value: opts.asset.value,
      location,
      fingerprint,
    };
    if (partial !== undefined) finding.partial_fingerprints = partial;
    if (isSecret) {
      finding.secret = {
        secret_type: shortRule(ruleId),
        masked_value:
          secretValue !== undefined && secretValue.trim() !== ''
            ? maskSecret(secretShown(secretValue))
            : (/:\s*(\*+)\s*$/.exec(message)?.[1] ?? '****'),
      };
    }
    const cwe = info.cwe.length > 0 ? info.cwe : cweOf(undefined, result.properties);
    if (cwe.length > 0) finding.vulnerability = { cwe };
    const props: Record<string, unknown> = { tool: run.toolName, ...info.props };
    if (run.tool.version !== undefined) props.tool_version = run.tool.version;
    if (score !== undefined) props['security-severity'] = score;
    if (str(result.level) !== undefined) props.sarif_level = result.level;
    if (str(result.baselineState) !== undefined) props.baseline_state = result.baselineState;
    finding.properties = props;
    this.summary.findings++;
    return finding;
  }

  /** The report header: provisional before the conversion ends, final after (coverage, summary). */
  header(final: boolean): ReportHeader {
    const o = this.options;
    const s = this.summary;
    s.filesHashed = this.#lines.filesHashed;
    s.filesSkipped = this.#lines.filesSkipped;
    s.masked = this.masker.maskedCount;
    const metadata: Report['metadata'] = {
      id: o.reportId,
      timestamp: o.startedAt.toISOString(),
      source_type: 'scanner',
      source_ref: o.scannerName,
      coverage_type: s.partial ? 'partial' : 'full',
    };
    if (o.durationMs !== undefined) metadata.duration_ms = Math.round(o.durationMs);
    if (o.branch !== undefined) metadata.branch = o.branch;
    const properties: Record<string, unknown> = { tools: [...s.tools] };
    if (final) properties.scan_summary = summaryForReport(s);
    return {
      version: RIS_VERSION,
      metadata,
      tool: { ...(this.#firstTool ?? { name: o.scannerName }) },
      properties,
    };
  }
}

/** The summary as sent in a report's `properties.scan_summary` (counts only). */
export function summaryForReport(s: SarifSummary): Record<string, unknown> {
  return {
    results: s.results,
    findings: s.findings,
    suppressed: s.suppressed,
    not_failures: s.notFailures,
    failed_invocations: s.failedInvocations,
    error_notifications: s.errorNotifications,
    partial: s.partial,
  };
}
