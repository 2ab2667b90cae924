import {
  COVERAGE_TYPES,
  isValidReportId,
  MAX_CHUNK_DATA_BYTES,
  MAX_REPORT_ID_LENGTH,
  MAX_TOTAL_CHUNKS,
  SEVERITIES,
} from '@rediver/core';
import type { Asset, ChunkCompression, Finding, Report, ReportMetadata, ToolInfo } from '@rediver/core';
import { isUtf8 } from 'node:buffer';
import { IngestServerError } from '../ingestServerError';
import { SMALL_BODY_CONTENT_LIMITS } from './contentLimits';
import type { ContentLimits } from './contentLimits';
import { JsonScanner } from './jsonScanner';
import { isRfc3339DateTime } from './rfc3339';

/** Deepest JSON nesting accepted (RIS needs about 6; the rest is free-form `properties`). */
export const MAX_JSON_DEPTH = 64;
/** Longest identifier-like string (fingerprint, rule id, type, asset ref...). */
export const MAX_IDENTIFIER_LENGTH = 1024;
/** Longest finding title. */
export const MAX_TITLE_LENGTH = 8192;
/** Most fingerprints one check request may carry. */
export const MAX_FINGERPRINTS_PER_CHECK = 10_000;
/** Most validation messages returned in one answer. */
const MAX_ERRORS = 20;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Accumulates readable validation messages, capped. */
export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    if (this.list.length < MAX_ERRORS) this.list.push(`${path} ${message}`);
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
  /** Throws a 400 listing the problems when there are any. */
  throwIfAny(what: string, code: 'VALIDATION_FAILED' | 'REPORT_ID_INVALID' = 'VALIDATION_FAILED'): void {
    if (this.ok) return;
    throw new IngestServerError(code, `invalid ${what}: ${this.list.slice(0, 5).join('; ')}`, {
      status: 400,
      details: { errors: [...this.list] },
    });
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws a 400 when parsed JSON nests deeper than `MAX_JSON_DEPTH` (checked without recursion). */
export function checkJsonDepth(value: unknown): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > MAX_JSON_DEPTH) {
      throw new IngestServerError('VALIDATION_FAILED', `JSON nests deeper than ${MAX_JSON_DEPTH} levels`, {
        status: 400,
      });
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** Options of `parseJsonBody`. */
export interface ParseJsonOptions {
  /** What the body may contain (default: the bounds of small bodies such as heartbeats). */
  limits?: ContentLimits;
  /** True when the bytes already went through a `JsonScanner` with these limits while they streamed in. */
  scanned?: boolean;
  /** The body's name in messages. */
  what?: string;
}

/**
 * Parses a JSON body within its content bounds: scans it first (unless it was scanned while streaming), refuses
 * invalid UTF-8 (which `toString` would silently turn into U+FFFD), then parses. Throws a 400 (413 for too many
 * findings or assets) with the reason. Empty bodies give `undefined`.
 */
export function parseJsonBody(raw: Buffer, options: ParseJsonOptions = {}): unknown {
  if (raw.length === 0) return undefined;
  const what = options.what ?? 'body';
  if (options.scanned !== true) new JsonScanner(options.limits ?? SMALL_BODY_CONTENT_LIMITS, what).write(raw);
  if (!isUtf8(raw)) {
    throw new IngestServerError('VALIDATION_FAILED', `${what} is not valid UTF-8`, { status: 400 });
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unknown reason';
    throw new IngestServerError('VALIDATION_FAILED', `${what} is not valid JSON: ${reason}`, { status: 400 });
  }
}

/**
 * A field's path in messages: `base.key` (or either alone). Helpers take the two parts and join them only
 * when they report a problem: validating 500 findings then builds no strings.
 */
function pathOf(base: string, key: string): string {
  if (key === '') return base;
  return base === '' ? key : `${base}.${key}`;
}

function str(
  p: Problems,
  base: string,
  key: string,
  value: unknown,
  opts: { required?: boolean; max?: number; nonEmpty?: boolean } = {},
): void {
  if (typeof value === 'string') {
    if ((opts.required || opts.nonEmpty) && value.length === 0) p.add(pathOf(base, key), 'must not be empty');
    else if (opts.max !== undefined && value.length > opts.max)
      p.add(pathOf(base, key), `must be at most ${opts.max} characters`);
    return;
  }
  if (value === undefined || value === null) {
    if (opts.required) p.add(pathOf(base, key), 'is required');
    return;
  }
  p.add(pathOf(base, key), `must be a string, got ${typeName(value)}`);
}

/** Lines and columns: 1-based, as in SARIF (§3.30.5), and exact in a JavaScript number. */
const LINE = { integer: true, min: 1 } as const;
/** Counts and durations: whole, not negative, exact in a JavaScript number. */
const COUNT = { integer: true, min: 0 } as const;

function num(
  p: Problems,
  base: string,
  key: string,
  value: unknown,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value))
    return p.add(pathOf(base, key), `must be a number, got ${typeName(value)}`);
  // The platform decodes these into Go ints: 1e300 or 1.5 would fail there; 2^53 and more lose digits here.
  if (opts.integer && !Number.isSafeInteger(value))
    return p.add(pathOf(base, key), 'must be an integer below 2^53');
  if (opts.min !== undefined && value < opts.min) p.add(pathOf(base, key), `must be >= ${opts.min}`);
  if (opts.max !== undefined && value > opts.max) p.add(pathOf(base, key), `must be <= ${opts.max}`);
}

function bool(p: Problems, base: string, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'boolean') p.add(pathOf(base, key), `must be a boolean, got ${typeName(value)}`);
}

function obj(
  p: Problems,
  base: string,
  key: string,
  value: unknown,
  required = false,
): value is Record<string, unknown> {
  if (value === undefined || value === null) {
    if (required) p.add(pathOf(base, key), 'is required');
    return false;
  }
  if (!isObject(value)) {
    p.add(pathOf(base, key), `must be an object, got ${typeName(value)}`);
    return false;
  }
  return true;
}

function strArray(p: Problems, base: string, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value))
    return p.add(pathOf(base, key), `must be an array of strings, got ${typeName(value)}`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') str(p, `${pathOf(base, key)}[${i}]`, '', value[i]);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function oneOf(
  p: Problems,
  base: string,
  key: string,
  value: unknown,
  allowed: readonly string[],
  required: boolean,
): void {
  if (value === undefined || value === null) {
    if (required) p.add(pathOf(base, key), `is required (one of ${allowed.join(', ')})`);
    return;
  }
  if (typeof value !== 'string' || !allowed.includes(value)) {
    p.add(pathOf(base, key), `must be one of ${allowed.join(', ')}`);
  }
}

function checkLocation(p: Problems, path: string, value: unknown): void {
  if (!obj(p, path, '', value)) return;
  str(p, path, 'path', value.path);
  for (const k of ['start_line', 'end_line', 'start_column', 'end_column']) {
    num(p, path, k, value[k], LINE);
  }
  str(p, path, 'snippet', value.snippet);
}

/** Validates RIS metadata (`id` and `timestamp` required). */
export function checkMetadata(p: Problems, path: string, value: unknown): value is ReportMetadata {
  if (!obj(p, path, '', value, true)) return false;
  if (value.id === undefined || value.id === null) p.add(`${path}.id`, 'is required');
  else if (!isValidReportId(value.id)) {
    p.add(`${path}.id`, `must be 1..${MAX_REPORT_ID_LENGTH} characters of [A-Za-z0-9_-]`);
  }
  if (value.timestamp === undefined || value.timestamp === null) p.add(`${path}.timestamp`, 'is required');
  else if (!isRfc3339DateTime(value.timestamp)) {
    p.add(
      `${path}.timestamp`,
      'must be an RFC 3339 date-time on a real calendar day (YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM))',
    );
  }
  num(p, path, 'duration_ms', value.duration_ms, COUNT);
  str(p, path, 'source_type', value.source_type);
  str(p, path, 'source_ref', value.source_ref);
  oneOf(p, path, 'coverage_type', value.coverage_type, COVERAGE_TYPES, false);
  if (obj(p, path, 'branch', value.branch)) {
    const b = value.branch;
    for (const k of ['name', 'commit_sha', 'base_branch', 'pull_request_url', 'repository_url']) {
      str(p, path, `branch.${k}`, b[k]);
    }
    bool(p, path, 'branch.is_default_branch', b.is_default_branch);
    num(p, path, 'branch.pull_request_number', b.pull_request_number, COUNT);
  }
  obj(p, path, 'scope', value.scope);
  obj(p, path, 'properties', value.properties);
  return p.ok;
}

/** Validates RIS tool info (`name` required; the tool itself when `required`). */
export function checkTool(p: Problems, path: string, value: unknown, required = false): value is ToolInfo {
  if (!obj(p, path, '', value, required)) return false;
  str(p, path, 'name', value.name, { required: true, max: MAX_IDENTIFIER_LENGTH });
  for (const k of ['version', 'vendor', 'info_url']) str(p, path, k, value[k]);
  strArray(p, path, 'capabilities', value.capabilities);
  obj(p, path, 'properties', value.properties);
  return true;
}

/** Validates an array of RIS assets. */
export function checkAssets(p: Problems, path: string, value: unknown): value is Asset[] {
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) {
    p.add(path, `must be an array, got ${typeName(value)}`);
    return false;
  }
  value.forEach((a, i) => {
    const at = `${path}[${i}]`;
    if (!obj(p, at, '', a, true)) return;
    str(p, at, 'type', a.type, { required: true, max: MAX_IDENTIFIER_LENGTH });
    str(p, at, 'value', a.value, { required: true, max: MAX_TITLE_LENGTH });
    str(p, at, 'id', a.id, { max: MAX_IDENTIFIER_LENGTH });
    str(p, at, 'name', a.name);
    str(p, at, 'criticality', a.criticality, { max: MAX_IDENTIFIER_LENGTH });
    strArray(p, at, 'tags', a.tags);
    obj(p, at, 'properties', a.properties);
  });
  return true;
}

/** The ids of the assets of a chunk or report: what a finding's `asset_ref` may name. */
export function assetIdsOf(assets: unknown): Set<string> {
  const ids = new Set<string>();
  if (Array.isArray(assets)) {
    for (const a of assets) if (isObject(a) && typeof a.id === 'string') ids.add(a.id);
  }
  return ids;
}

/**
 * Validates an array of RIS findings (`type`, `title`, `severity` required). A finding's `asset_ref` must name an
 * asset of `assetIds` (the assets of its chunk, or of its whole report): the platform resolves it there.
 */
export function checkFindings(
  p: Problems,
  path: string,
  value: unknown,
  assetIds: ReadonlySet<string> = new Set(),
): value is Finding[] {
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) {
    p.add(path, `must be an array, got ${typeName(value)}`);
    return false;
  }
  value.forEach((f, i) => {
    const at = `${path}[${i}]`;
    if (!obj(p, at, '', f, true)) return;
    str(p, at, 'type', f.type, { required: true, max: MAX_IDENTIFIER_LENGTH });
    str(p, at, 'title', f.title, { required: true, max: MAX_TITLE_LENGTH });
    oneOf(p, at, 'severity', f.severity, SEVERITIES, true);
    str(p, at, 'description', f.description);
    for (const k of ['rule_id', 'asset_ref', 'status']) str(p, at, k, f[k], { max: MAX_IDENTIFIER_LENGTH });
    if (typeof f.asset_ref === 'string' && !assetIds.has(f.asset_ref)) {
      p.add(`${at}.asset_ref`, `names no asset of its ${path.startsWith('data.') ? 'chunk' : 'report'}`);
    }
    str(p, at, 'asset_value', f.asset_value, { max: MAX_TITLE_LENGTH });
    str(p, at, 'fingerprint', f.fingerprint, { max: MAX_IDENTIFIER_LENGTH, nonEmpty: true });
    if (f.location !== undefined && f.location !== null) checkLocation(p, `${at}.location`, f.location);
    if (obj(p, at, 'vulnerability', f.vulnerability)) {
      const v = f.vulnerability;
      str(p, at, 'vulnerability.cve', v.cve);
      strArray(p, at, 'vulnerability.cwe', v.cwe);
      if (obj(p, at, 'vulnerability.cvss', v.cvss)) {
        num(p, at, 'vulnerability.cvss.score', v.cvss.score, { min: 0, max: 10 });
        str(p, at, 'vulnerability.cvss.vector', v.cvss.vector);
        str(p, at, 'vulnerability.cvss.version', v.cvss.version);
      }
      str(p, at, 'vulnerability.package', v.package);
      str(p, at, 'vulnerability.installed_version', v.installed_version);
      str(p, at, 'vulnerability.fixed_version', v.fixed_version);
      strArray(p, at, 'vulnerability.references', v.references);
    }
    if (obj(p, at, 'secret', f.secret)) {
      str(p, at, 'secret.secret_type', f.secret.secret_type);
      str(p, at, 'secret.service', f.secret.service);
      str(p, at, 'secret.masked_value', f.secret.masked_value);
      bool(p, at, 'secret.verified', f.secret.verified);
      num(p, at, 'secret.entropy', f.secret.entropy);
    }
    if (obj(p, at, 'partial_fingerprints', f.partial_fingerprints)) {
      for (const [k, v] of Object.entries(f.partial_fingerprints)) {
        if (typeof v !== 'string') str(p, at, `partial_fingerprints.${k}`, v);
      }
    }
    if (f.data_flow !== undefined && f.data_flow !== null) {
      if (!Array.isArray(f.data_flow)) p.add(`${at}.data_flow`, 'must be an array');
      else {
        f.data_flow.forEach((step, j) => {
          if (obj(p, at, `data_flow[${j}]`, step, true)) {
            checkLocation(p, `${at}.data_flow[${j}].location`, step.location ?? {});
            str(p, at, `data_flow[${j}].message`, step.message);
          }
        });
      }
    }
    obj(p, at, 'properties', f.properties);
  });
  return true;
}

/** Validates a whole RIS report, or `{report: <report>}`; returns the report or throws a 400 listing problems. */
export function validateReport(body: unknown): Report {
  const candidate =
    isObject(body) && isObject(body.report) && body.metadata === undefined ? body.report : body;
  const p = new Problems();
  if (!isObject(candidate)) {
    p.add('report', `must be a JSON object, got ${typeName(candidate)}`);
    p.throwIfAny('report');
  }
  const r = candidate as Record<string, unknown>;
  str(p, '', 'version', r.version, { max: 32 });
  str(p, '', '$schema', r.$schema);
  checkMetadata(p, 'metadata', r.metadata);
  if (r.tool !== undefined && r.tool !== null) checkTool(p, 'tool', r.tool);
  checkAssets(p, 'assets', r.assets);
  checkFindings(p, 'findings', r.findings, assetIdsOf(r.assets));
  if (r.dependencies !== undefined && r.dependencies !== null) {
    if (!Array.isArray(r.dependencies)) p.add('dependencies', 'must be an array');
    else {
      r.dependencies.forEach((d, i) => {
        if (obj(p, `dependencies[${i}]`, '', d, true)) {
          str(p, `dependencies[${i}].name`, '', d.name, { required: true });
          for (const k of ['version', 'ecosystem', 'purl']) str(p, `dependencies[${i}].${k}`, '', d[k]);
          bool(p, `dependencies[${i}].direct`, '', d.direct);
        }
      });
    }
  }
  obj(p, '', 'properties', r.properties);
  p.throwIfAny('report');
  return r as unknown as Report;
}

/** A chunk upload envelope after validation. */
export interface ValidChunkEnvelope {
  report_id: string;
  chunk_index: number;
  total_chunks: number;
  compression: ChunkCompression;
  data: string;
  is_final: boolean;
  checksum: string | undefined;
}

/** Validates a chunk envelope by the platform's rules; 400 (413 for oversized `data`). */
export function validateChunkEnvelope(body: unknown): ValidChunkEnvelope {
  const p = new Problems();
  if (!isObject(body)) {
    p.add('body', `must be a JSON object, got ${typeName(body)}`);
    p.throwIfAny('chunk');
  }
  const b = body as Record<string, unknown>;
  if (!isValidReportId(b.report_id)) {
    p.add('report_id', `must be 1..${MAX_REPORT_ID_LENGTH} characters of [A-Za-z0-9_-]`);
    p.throwIfAny('chunk', 'REPORT_ID_INVALID');
  }
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (!isInt(b.total_chunks) || b.total_chunks < 1 || b.total_chunks > MAX_TOTAL_CHUNKS) {
    p.add('total_chunks', `must be an integer from 1 to ${MAX_TOTAL_CHUNKS}`);
  }
  if (!isInt(b.chunk_index) || b.chunk_index < 0) p.add('chunk_index', 'must be a non-negative integer');
  else if (isInt(b.total_chunks) && b.chunk_index >= b.total_chunks) {
    p.add('chunk_index', 'must be less than total_chunks');
  }
  const compression =
    b.compression === undefined || b.compression === null || b.compression === '' ? 'zstd' : b.compression;
  if (compression !== 'zstd' && compression !== 'gzip' && compression !== 'none') {
    p.add('compression', 'must be zstd, gzip or none');
  }
  if (b.is_final !== undefined && typeof b.is_final !== 'boolean') p.add('is_final', 'must be a boolean');
  if (b.checksum !== undefined && (typeof b.checksum !== 'string' || !/^[0-9a-fA-F]{64}$/.test(b.checksum))) {
    p.add('checksum', 'must be a hex SHA-256 (64 hex digits)');
  }
  if (b.data === undefined || b.data === null || b.data === '') p.add('data', 'is required');
  else if (typeof b.data !== 'string') p.add('data', `must be a base64 string, got ${typeName(b.data)}`);
  p.throwIfAny('chunk');
  const data = b.data as string;
  if (data.length > MAX_CHUNK_DATA_BYTES) {
    throw new IngestServerError(
      'REPORT_TOO_LARGE',
      `data is ${data.length} bytes of base64; the limit is ${MAX_CHUNK_DATA_BYTES}`,
      {
        status: 413,
      },
    );
  }
  if (data.length % 4 !== 0 || !BASE64.test(data))
    p.add('data', 'must be standard base64 (A-Z a-z 0-9 + / with = padding)');
  const index = b.chunk_index as number;
  const total = b.total_chunks as number;
  const isFinal = b.is_final === true;
  if (isFinal !== (index === total - 1)) {
    p.add('is_final', `must be true exactly on the last chunk (index ${total - 1})`);
  }
  p.throwIfAny('chunk');
  return {
    report_id: b.report_id as string,
    chunk_index: index,
    total_chunks: total,
    compression: compression as ChunkCompression,
    data,
    is_final: isFinal,
    checksum: typeof b.checksum === 'string' ? b.checksum.toLowerCase() : undefined,
  };
}

/** The decoded `ChunkData` after validation against its envelope. */
export interface ValidChunkData {
  tool: ToolInfo | undefined;
  metadata: ReportMetadata | undefined;
  assets: Asset[];
  findings: Finding[];
}

/** Validates the decoded `ChunkData` JSON and its consistency with the envelope. */
export function validateChunkData(value: unknown, envelope: ValidChunkEnvelope): ValidChunkData {
  const p = new Problems();
  if (!isObject(value)) {
    p.add('data', `must decode to a ChunkData JSON object, got ${typeName(value)}`);
    p.throwIfAny('chunk data');
  }
  const d = value as Record<string, unknown>;
  if (d.report_id !== envelope.report_id) p.add('data.report_id', 'must equal the envelope report_id');
  if (d.chunk_index !== envelope.chunk_index)
    p.add('data.chunk_index', 'must equal the envelope chunk_index');
  if (d.total_chunks !== envelope.total_chunks)
    p.add('data.total_chunks', 'must equal the envelope total_chunks');
  if ((d.is_final ?? false) !== envelope.is_final) p.add('data.is_final', 'must equal the envelope is_final');
  // Chunk 0 carries the report's tool and metadata (platform spec); the platform creates the scan from them.
  const first = envelope.chunk_index === 0;
  if (first || (d.tool !== undefined && d.tool !== null)) checkTool(p, 'data.tool', d.tool, first);
  if (first || (d.metadata !== undefined && d.metadata !== null)) {
    checkMetadata(p, 'data.metadata', d.metadata);
    if (isObject(d.metadata) && typeof d.metadata.id === 'string' && d.metadata.id !== envelope.report_id) {
      p.add('data.metadata.id', 'must equal the envelope report_id');
    }
  }
  checkAssets(p, 'data.assets', d.assets);
  checkFindings(p, 'data.findings', d.findings, assetIdsOf(d.assets));
  p.throwIfAny('chunk data');
  return {
    tool: (d.tool ?? undefined) as ToolInfo | undefined,
    metadata: (d.metadata ?? undefined) as ReportMetadata | undefined,
    assets: (d.assets ?? []) as Asset[],
    findings: (d.findings ?? []) as Finding[],
  };
}

/** Validates `{fingerprints: string[]}`. */
export function validateFingerprintCheck(body: unknown): string[] {
  const p = new Problems();
  if (!isObject(body) || !Array.isArray(body.fingerprints)) {
    p.add('fingerprints', 'must be an array of strings');
    p.throwIfAny('fingerprint check');
  }
  const list = (body as { fingerprints: unknown[] }).fingerprints;
  if (list.length > MAX_FINGERPRINTS_PER_CHECK) {
    throw new IngestServerError(
      'VALIDATION_FAILED',
      `at most ${MAX_FINGERPRINTS_PER_CHECK} fingerprints per check`,
      {
        status: 413,
      },
    );
  }
  list.forEach((f, i) => {
    if (typeof f !== 'string' || f.length === 0 || f.length > MAX_IDENTIFIER_LENGTH) {
      str(p, `fingerprints[${i}]`, '', f, { required: true, max: MAX_IDENTIFIER_LENGTH });
    }
  });
  p.throwIfAny('fingerprint check');
  return list as string[];
}

/** Validates a heartbeat body's field types (every field is optional). */
export function validateHeartbeat(body: unknown): Record<string, unknown> {
  const p = new Problems();
  if (body === undefined) return {};
  if (!isObject(body)) {
    p.add('body', `must be a JSON object, got ${typeName(body)}`);
    p.throwIfAny('heartbeat');
  }
  const b = body as Record<string, unknown>;
  for (const k of ['name', 'status', 'version', 'hostname', 'region'])
    str(p, '', k, b[k], { max: MAX_IDENTIFIER_LENGTH });
  str(p, '', 'message', b.message, { max: MAX_TITLE_LENGTH });
  strArray(p, '', 'scanners', b.scanners);
  strArray(p, '', 'collectors', b.collectors);
  for (const k of ['uptime_seconds', 'total_scans', 'errors', 'active_jobs']) num(p, '', k, b[k], COUNT);
  for (const k of ['cpu_percent', 'memory_percent']) num(p, '', k, b[k], { min: 0, max: 100 });
  p.throwIfAny('heartbeat');
  return b;
}

/** Validates an agent id (from `X-Agent-ID` or a heartbeat's `name`): 1..256 characters, no control characters. */
export function isValidAgentId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 256 &&
    // C0 controls, DEL and C1 controls.
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
    !/[\u0000-\u001f\u007f-\u009f]/.test(value)
  );
}

/**
 * Reads an `X-Agent-ID` header. Node hands header bytes over one Latin-1 character per byte; the agent (like
 * any HTTP client) sends UTF-8 bytes, so the id is decoded as UTF-8 and stored as sent (`agent-é` stays
 * `agent-é`, not `agent-Ã©`). Bytes that are not UTF-8 are refused (400), never stored garbled.
 */
export function agentIdFromHeader(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  if (!isUtf8(bytes)) {
    throw new IngestServerError('VALIDATION_FAILED', 'X-Agent-ID must be UTF-8', { status: 400 });
  }
  const id = bytes.toString('utf8');
  if (!isValidAgentId(id)) {
    throw new IngestServerError('VALIDATION_FAILED', 'X-Agent-ID must be 1..256 printable characters', {
      status: 400,
    });
  }
  return id;
}
