import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RIS_VERSION } from '@rediver/core';
import type { Asset, Finding, FindingLocation, Report, Severity, ToolInfo } from '@rediver/core';
import { AgentError } from './errors';

/* The subset of SARIF 2.1.0 the conversion reads. Everything is optional: tools differ. */
interface SarifMessage {
  text?: string;
  markdown?: string;
}
interface SarifRegion {
  startLine?: number;
  startColumn?: number;
  endLine?: number;
  endColumn?: number;
  snippet?: { text?: string };
}
interface SarifPhysicalLocation {
  artifactLocation?: { uri?: string; uriBaseId?: string; index?: number };
  region?: SarifRegion;
}
interface SarifRule {
  id?: string;
  name?: string;
  shortDescription?: SarifMessage;
  fullDescription?: SarifMessage;
  help?: SarifMessage;
  helpUri?: string;
  defaultConfiguration?: { level?: string };
  properties?: Record<string, unknown>;
}
interface SarifResult {
  ruleId?: string;
  ruleIndex?: number;
  rule?: { id?: string; index?: number };
  level?: string;
  kind?: string;
  message?: SarifMessage;
  locations?: { physicalLocation?: SarifPhysicalLocation }[];
  fingerprints?: Record<string, string>;
  partialFingerprints?: Record<string, string>;
  properties?: Record<string, unknown>;
  suppressions?: unknown[];
  baselineState?: string;
}
interface SarifRun {
  tool?: {
    driver?: {
      name?: string;
      version?: string;
      semanticVersion?: string;
      organization?: string;
      informationUri?: string;
      rules?: SarifRule[];
    };
    extensions?: { rules?: SarifRule[] }[];
  };
  originalUriBaseIds?: Record<string, { uri?: string }>;
  results?: SarifResult[];
}
/** A SARIF 2.1.0 log (the fields the agent reads). */
export interface SarifLog {
  version?: string;
  runs?: SarifRun[];
}

/** Options of `sarifToReport`. */
export interface SarifConversionOptions {
  /** Report id (valid per `isValidReportId`). */
  reportId: string;
  /** The scanned folder: locations are made relative to it. */
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
  branch?: Report['metadata']['branch'];
  /** Reads a file's text for masking secret values; default none (masked value from the message). */
  readRegion?: (path: string, region: SarifRegion) => string | undefined;
}

const SECRET_TOOLS =
  /secretlint|gitleaks|trufflehog|detect-secrets|ggshield|talisman|noseyparker|kingfisher/i;

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

/** Masks a secret: keeps at most the first 4 characters (never more than a quarter), stars the rest. */
export function maskSecret(value: string): string {
  const v = value.trim();
  if (v.length === 0) return '';
  const keep = Math.min(4, Math.floor(v.length / 4));
  return v.slice(0, keep) + '*'.repeat(Math.min(Math.max(v.length - keep, 4), 32));
}

function sha256(parts: readonly (string | number | undefined)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p ?? '')).update('\u0000');
  return h.digest('hex');
}

function toRelative(
  uri: string | undefined,
  target: string,
  bases: Record<string, string>,
  baseId?: string,
): string | undefined {
  if (uri === undefined || uri === '') return undefined;
  let u = uri;
  if (baseId !== undefined && bases[baseId] !== undefined && !/^[a-z]+:/i.test(u)) u = bases[baseId] + u;
  let p: string;
  if (u.startsWith('file:')) {
    try {
      p = fileURLToPath(u);
    } catch {
      return u;
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    return u;
  } else {
    p = decodeURIComponent(u);
  }
  const abs = isAbsolute(p) ? p : resolve(target, p);
  const rel = relative(target, abs);
  // Outside the target (a scanner run from elsewhere): keep what the tool said.
  return rel.startsWith('..') ? p : rel.split(sep).join('/');
}

function ruleLookup(run: SarifRun): { byId: Map<string, SarifRule>; byIndex: SarifRule[] } {
  const byIndex = run.tool?.driver?.rules ?? [];
  const byId = new Map<string, SarifRule>();
  for (const r of [...byIndex, ...(run.tool?.extensions ?? []).flatMap((e) => e.rules ?? [])]) {
    if (typeof r.id === 'string') byId.set(r.id, r);
  }
  return { byId, byIndex };
}

function text(m: SarifMessage | undefined): string | undefined {
  const t = m?.text ?? m?.markdown;
  return typeof t === 'string' && t.trim() !== '' ? t.trim() : undefined;
}

/** A rule id as a short name: the last segment of `preset > rule` / `a/b/c` / `a.b.c`. */
function shortRule(ruleId: string): string {
  const last = ruleId.split(/\s*>\s*|\//).pop() ?? ruleId;
  return last.replace(/^secretlint-rule-/, '');
}

function inferType(rule: SarifRule | undefined, ruleId: string, secretTool: boolean): string {
  if (secretTool) return 'secret';
  const tags = rule?.properties?.tags;
  const tagText = Array.isArray(tags) ? tags.join(' ').toLowerCase() : '';
  if (/secret|credential/.test(tagText) || /secret|credential|token|password/i.test(ruleId)) return 'secret';
  if (/cve-|ghsa-|vulnerab|dependency|sca\b/i.test(`${ruleId} ${tagText}`)) return 'vulnerability';
  if (/misconfig|iac|terraform|kubernetes|docker/i.test(`${ruleId} ${tagText}`)) return 'misconfiguration';
  return 'code';
}

/**
 * Converts a SARIF 2.1.0 log into one RIS report: rules become findings' rule ids and titles, levels and
 * `security-severity` become severities, the first physical location becomes the finding's location,
 * fingerprints come from `partialFingerprints` (or a stable SHA-256 of rule, path and snippet/position),
 * secrets are typed `secret` with masked values, and the scanned repository is the asset of every finding.
 */
export function sarifToReport(log: SarifLog, options: SarifConversionOptions): Report {
  if (typeof log !== 'object' || log === null || !Array.isArray(log.runs)) {
    throw new AgentError('SCANNER_FAILED', `${options.scannerName} did not produce a SARIF log (no "runs")`);
  }
  if (log.version !== undefined && !String(log.version).startsWith('2.1')) {
    throw new AgentError(
      'SCANNER_FAILED',
      `${options.scannerName} wrote SARIF ${log.version}; 2.1.0 is required`,
    );
  }
  const target = resolve(options.target);
  const findings: Finding[] = [];
  const toolNames = new Set<string>();
  let tool: ToolInfo | undefined;
  const seen = new Map<string, number>();
  for (const run of log.runs) {
    const driver = run.tool?.driver;
    const toolName = driver?.name ?? options.scannerName;
    toolNames.add(toolName);
    if (tool === undefined) {
      tool = { name: toolName };
      const version = driver?.semanticVersion ?? driver?.version;
      if (version !== undefined) tool.version = version;
      if (driver?.organization !== undefined) tool.vendor = driver.organization;
      if (driver?.informationUri !== undefined) tool.info_url = driver.informationUri;
      tool.capabilities = [SECRET_TOOLS.test(toolName) ? 'secret' : 'sast'];
    }
    const secretTool = SECRET_TOOLS.test(toolName);
    const rules = ruleLookup(run);
    const bases: Record<string, string> = {};
    for (const [k, v] of Object.entries(run.originalUriBaseIds ?? {}))
      if (v.uri !== undefined) bases[k] = v.uri;
    for (const result of run.results ?? []) {
      if (result.kind !== undefined && result.kind !== 'fail' && result.kind !== 'open') continue;
      if (Array.isArray(result.suppressions) && result.suppressions.length > 0) continue;
      const idx = result.ruleIndex ?? result.rule?.index;
      const rule =
        (result.ruleId !== undefined ? rules.byId.get(result.ruleId) : undefined) ??
        (result.rule?.id !== undefined ? rules.byId.get(result.rule.id) : undefined) ??
        (idx !== undefined ? rules.byIndex[idx] : undefined);
      const ruleId = result.ruleId ?? result.rule?.id ?? rule?.id ?? 'unknown-rule';
      const phys = result.locations?.[0]?.physicalLocation;
      const region = phys?.region;
      const path = toRelative(phys?.artifactLocation?.uri, target, bases, phys?.artifactLocation?.uriBaseId);
      const type = options.findingType ?? inferType(rule, ruleId, secretTool);
      const isSecret = type === 'secret';
      const message = text(result.message) ?? text(rule?.shortDescription) ?? ruleId;
      const score = scoreOf(result.properties, rule?.properties);
      const severity =
        score !== undefined
          ? severityFromScore(score)
          : severityFromLevel(result.level ?? rule?.defaultConfiguration?.level);
      const location: FindingLocation = {};
      if (path !== undefined) location.path = path;
      if (region?.startLine !== undefined) location.start_line = region.startLine;
      if (region?.endLine !== undefined) location.end_line = region.endLine;
      if (region?.startColumn !== undefined) location.start_column = region.startColumn;
      if (region?.endColumn !== undefined) location.end_column = region.endColumn;
      const snippet = region?.snippet?.text;
      if (snippet !== undefined && !isSecret) location.snippet = snippet.slice(0, 4096);
      let fingerprint: string;
      const partial = result.partialFingerprints;
      if (partial !== undefined && Object.keys(partial).length > 0) {
        const keys = Object.keys(partial).sort();
        fingerprint = sha256([toolName, ruleId, path, ...keys.flatMap((k) => [k, partial[k]])]);
      } else {
        // No tool fingerprint: rule + path + the code itself when known (survives line shifts), else the position.
        // Never hash a secret's own text: a hash of a short secret can be brute-forced.
        const anchor =
          snippet !== undefined && !isSecret
            ? snippet.trim().replace(/\s+/g, ' ')
            : `${region?.startLine ?? ''}:${region?.startColumn ?? ''}`;
        fingerprint = sha256([toolName, ruleId, path, anchor]);
      }
      // Two results with the same fingerprint in one report are two findings: keep them apart.
      const n = seen.get(fingerprint) ?? 0;
      seen.set(fingerprint, n + 1);
      if (n > 0) fingerprint = sha256([fingerprint, n]);
      const short = text(rule?.shortDescription);
      // Some tools (secretlint) put a generic "rule <id> error" here; the message says more then.
      const title =
        short !== undefined && !short.includes(ruleId)
          ? short
          : `${shortRule(ruleId)}: ${message.split('\n')[0]!.slice(0, 200)}`;
      const finding: Finding = {
        type,
        title: title.slice(0, 500),
        description: message.slice(0, 8000),
        severity,
        rule_id: ruleId,
        asset_ref: options.asset.id!,
        asset_value: options.asset.value,
        location,
        fingerprint,
      };
      if (partial !== undefined && Object.keys(partial).length > 0)
        finding.partial_fingerprints = { ...partial };
      if (isSecret) {
        const raw =
          path !== undefined && region !== undefined
            ? options.readRegion?.(resolve(target, path), region)
            : undefined;
        finding.secret = {
          secret_type: shortRule(ruleId),
          masked_value: raw !== undefined ? maskSecret(raw) : (/:\s*(\*+)\s*$/.exec(message)?.[1] ?? '****'),
        };
      }
      const props: Record<string, unknown> = {};
      if (score !== undefined) props['security-severity'] = score;
      if (result.level !== undefined) props.sarif_level = result.level;
      if (rule?.helpUri !== undefined) props.help_uri = rule.helpUri;
      if (Object.keys(props).length > 0) finding.properties = props;
      findings.push(finding);
    }
  }
  const metadata: Report['metadata'] = {
    id: options.reportId,
    timestamp: options.startedAt.toISOString(),
    source_type: 'scanner',
    source_ref: options.scannerName,
    coverage_type: 'full',
  };
  if (options.durationMs !== undefined) metadata.duration_ms = Math.round(options.durationMs);
  if (options.branch !== undefined) metadata.branch = options.branch;
  return {
    version: RIS_VERSION,
    metadata,
    tool: tool ?? { name: options.scannerName },
    assets: [options.asset],
    findings,
    properties: { tools: [...toolNames] },
  };
}

/** Reads the text of a region of a file (bounded), for masking a secret's value. */
export function regionReader(
  readFile: (path: string) => string | undefined,
): SarifConversionOptions['readRegion'] {
  const cache = new Map<string, string[] | undefined>();
  return (path, region) => {
    if (!cache.has(path)) cache.set(path, readFile(path)?.split(/\r?\n/));
    const lines = cache.get(path);
    if (lines === undefined || region.startLine === undefined) return undefined;
    const line = lines[region.startLine - 1];
    if (line === undefined) return undefined;
    const sameLine = region.endLine === undefined || region.endLine === region.startLine;
    const start = (region.startColumn ?? 1) - 1;
    const end = sameLine && region.endColumn !== undefined ? region.endColumn - 1 : line.length;
    return line.slice(start, end).slice(0, 512);
  };
}
