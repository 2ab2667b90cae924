import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_DATA_BYTES, MAX_TOTAL_CHUNKS } from '@rediver/core';
import {
  agentIdFromHeader,
  checkJsonDepth,
  MAX_FINGERPRINTS_PER_CHECK,
  MAX_JSON_DEPTH,
  parseJsonBody,
  validateChunkData,
  validateChunkEnvelope,
  validateFingerprintCheck,
  validateHeartbeat,
  validateReport,
} from './validation';

const report = (patch: Record<string, unknown> = {}) => ({
  version: '1.0',
  metadata: { id: 'scan-1', timestamp: '2026-01-15T10:00:00Z' },
  tool: { name: 'gitleaks', version: '8.0.0' },
  assets: [{ id: 'a1', type: 'repository', value: 'github.com/x/y' }],
  findings: [
    {
      type: 'secret',
      title: 'AWS key',
      severity: 'high',
      fingerprint: 'fp-1',
      location: { path: 'a.ts', start_line: 3 },
    },
  ],
  ...patch,
});

const envelope = (patch: Record<string, unknown> = {}) => ({
  report_id: 'scan-1',
  chunk_index: 0,
  total_chunks: 2,
  compression: 'zstd',
  data: 'AAAA',
  is_final: false,
  ...patch,
});

function problem(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; status: number; message: string };
  }
  throw new Error('expected a validation error');
}

describe('validateReport', () => {
  it('accepts a valid report and the {report} wrapper', () => {
    expect(validateReport(report()).metadata.id).toBe('scan-1');
    expect(validateReport({ report: report() }).metadata.id).toBe('scan-1');
  });

  it.each([
    ['metadata missing', { metadata: undefined }, 'metadata is required'],
    ['metadata.id missing', { metadata: { timestamp: '2026-01-15T10:00:00Z' } }, 'metadata.id is required'],
    ['metadata.timestamp missing', { metadata: { id: 'x' } }, 'metadata.timestamp is required'],
    ['timestamp not RFC 3339', { metadata: { id: 'x', timestamp: 'yesterday' } }, 'RFC 3339'],
    ['id with bad characters', { metadata: { id: 'a/b', timestamp: '2026-01-15T10:00:00Z' } }, 'metadata.id'],
    [
      'severity outside the enum',
      { findings: [{ type: 'secret', title: 't', severity: 'urgent' }] },
      'severity must be one of',
    ],
    [
      'finding title wrong type',
      { findings: [{ type: 'secret', title: 5, severity: 'low' }] },
      'title must be a string',
    ],
    ['findings not an array', { findings: {} }, 'findings must be an array'],
    ['asset without value', { assets: [{ type: 'host' }] }, 'assets[0].value is required'],
    [
      'negative line',
      { findings: [{ type: 'code', title: 't', severity: 'low', location: { start_line: -1 } }] },
      'start_line',
    ],
    ['tool without name', { tool: { version: '1' } }, 'tool.name is required'],
    [
      'coverage_type outside enum',
      { metadata: { id: 'x', timestamp: '2026-01-15T10:00:00Z', coverage_type: 'most' } },
      'coverage_type',
    ],
  ])('refuses %s with a clear 400', (_name, patch, message) => {
    const err = problem(() => validateReport(report(patch)));
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(err.message).toContain(message);
  });

  it('refuses non-objects', () => {
    for (const v of [null, 1, 'x', [], true]) expect(problem(() => validateReport(v)).status).toBe(400);
  });

  it('accepts a report id of 256 characters and refuses 257', () => {
    const ok = report({ metadata: { id: 'a'.repeat(256), timestamp: '2026-01-15T10:00:00+02:00' } });
    expect(validateReport(ok).metadata.id).toHaveLength(256);
    expect(
      problem(() =>
        validateReport(report({ metadata: { id: 'a'.repeat(257), timestamp: '2026-01-15T10:00:00Z' } })),
      ).status,
    ).toBe(400);
  });
});

describe('validateChunkEnvelope', () => {
  it('accepts a valid envelope; empty compression means zstd', () => {
    expect(validateChunkEnvelope(envelope({ compression: '' })).compression).toBe('zstd');
  });

  it('checks the report id: 256 characters pass, 257 and bad characters are REPORT_ID_INVALID', () => {
    expect(validateChunkEnvelope(envelope({ report_id: 'A_-9'.repeat(64) })).report_id).toHaveLength(256);
    for (const id of ['a'.repeat(257), '', 'a b', '../x', 'é', 5, null]) {
      expect(problem(() => validateChunkEnvelope(envelope({ report_id: id })))).toMatchObject({
        code: 'REPORT_ID_INVALID',
        status: 400,
      });
    }
  });

  it('checks index range and total chunks at their edges', () => {
    const last = MAX_TOTAL_CHUNKS - 1;
    expect(
      validateChunkEnvelope(envelope({ total_chunks: MAX_TOTAL_CHUNKS, chunk_index: last, is_final: true }))
        .chunk_index,
    ).toBe(last);
    expect(
      problem(() => validateChunkEnvelope(envelope({ total_chunks: MAX_TOTAL_CHUNKS + 1, chunk_index: 0 })))
        .status,
    ).toBe(400);
    expect(
      problem(() => validateChunkEnvelope(envelope({ chunk_index: 2, total_chunks: 2 }))).message,
    ).toContain('less than total_chunks');
    expect(problem(() => validateChunkEnvelope(envelope({ chunk_index: -1 }))).status).toBe(400);
    expect(problem(() => validateChunkEnvelope(envelope({ chunk_index: 0.5 }))).status).toBe(400);
    expect(problem(() => validateChunkEnvelope(envelope({ total_chunks: 0 }))).status).toBe(400);
  });

  it('requires is_final exactly on the last chunk', () => {
    expect(
      problem(() => validateChunkEnvelope(envelope({ chunk_index: 1, is_final: false }))).message,
    ).toContain('is_final');
    expect(
      problem(() => validateChunkEnvelope(envelope({ chunk_index: 0, is_final: true }))).message,
    ).toContain('is_final');
  });

  it('requires data as standard base64 of at most 10 MiB (413 one over)', () => {
    expect(problem(() => validateChunkEnvelope(envelope({ data: undefined }))).message).toContain(
      'data is required',
    );
    expect(problem(() => validateChunkEnvelope(envelope({ data: '' }))).message).toContain(
      'data is required',
    );
    expect(problem(() => validateChunkEnvelope(envelope({ data: 12 }))).status).toBe(400);
    expect(problem(() => validateChunkEnvelope(envelope({ data: 'AAA' }))).message).toContain('base64');
    expect(problem(() => validateChunkEnvelope(envelope({ data: 'AA-_' }))).message).toContain('base64');
    expect(validateChunkEnvelope(envelope({ data: 'A'.repeat(MAX_CHUNK_DATA_BYTES) })).data).toHaveLength(
      MAX_CHUNK_DATA_BYTES,
    );
    expect(
      problem(() => validateChunkEnvelope(envelope({ data: 'A'.repeat(MAX_CHUNK_DATA_BYTES + 4) }))),
    ).toMatchObject({
      code: 'REPORT_TOO_LARGE',
      status: 413,
    });
  });

  it('checks compression and checksum formats', () => {
    expect(problem(() => validateChunkEnvelope(envelope({ compression: 'br' }))).status).toBe(400);
    expect(problem(() => validateChunkEnvelope(envelope({ checksum: 'abc' }))).status).toBe(400);
    expect(validateChunkEnvelope(envelope({ checksum: 'AB'.repeat(32) })).checksum).toBe('ab'.repeat(32));
  });
});

describe('validateChunkData', () => {
  const env = validateChunkEnvelope(envelope());
  // Chunk 0 carries the report's tool and metadata (issue 20: the real platform requires them).
  const head = { tool: { name: 'gitleaks' }, metadata: { id: 'scan-1', timestamp: '2026-01-15T10:00:00Z' } };
  it('accepts data consistent with its envelope', () => {
    const data = validateChunkData(
      { report_id: 'scan-1', chunk_index: 0, total_chunks: 2, is_final: false, findings: [], ...head },
      env,
    );
    expect(data.findings).toEqual([]);
  });
  it.each([
    ['report_id', { report_id: 'other' }],
    ['chunk_index', { chunk_index: 1 }],
    ['total_chunks', { total_chunks: 3 }],
    ['is_final', { is_final: true }],
  ])('refuses a mismatched %s', (field, patch) => {
    const err = problem(() =>
      validateChunkData(
        { report_id: 'scan-1', chunk_index: 0, total_chunks: 2, is_final: false, ...patch },
        env,
      ),
    );
    expect(err.message).toContain(`data.${field}`);
  });
  it('validates the findings inside', () => {
    const err = problem(() =>
      validateChunkData(
        { report_id: 'scan-1', chunk_index: 0, total_chunks: 2, is_final: false, findings: [{ title: 1 }] },
        env,
      ),
    );
    expect(err.status).toBe(400);
  });
});

describe('other bodies', () => {
  it('fingerprint check: strings only, at most the cap', () => {
    expect(validateFingerprintCheck({ fingerprints: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(problem(() => validateFingerprintCheck({ fingerprints: [1] })).status).toBe(400);
    expect(problem(() => validateFingerprintCheck({})).status).toBe(400);
    expect(
      validateFingerprintCheck({ fingerprints: Array(MAX_FINGERPRINTS_PER_CHECK).fill('x') }),
    ).toHaveLength(MAX_FINGERPRINTS_PER_CHECK);
    expect(
      problem(() =>
        validateFingerprintCheck({ fingerprints: Array(MAX_FINGERPRINTS_PER_CHECK + 1).fill('x') }),
      ).status,
    ).toBe(413);
  });
  it('heartbeat: field types checked', () => {
    expect(validateHeartbeat({ name: 'a', cpu_percent: 3 })).toMatchObject({ name: 'a' });
    expect(problem(() => validateHeartbeat({ cpu_percent: 'high' })).status).toBe(400);
    expect(problem(() => validateHeartbeat([])).status).toBe(400);
  });
  it('JSON: parse errors and nesting depth are 400s, checked without recursion', () => {
    expect(problem(() => parseJsonBody(Buffer.from('{"a":'))).status).toBe(400);
    expect(parseJsonBody(Buffer.alloc(0))).toBeUndefined();
    const atLimit = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(() => checkJsonDepth(JSON.parse(atLimit))).not.toThrow();
    const oneOver = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(() => checkJsonDepth(JSON.parse(oneOver))).toThrow(/deeper than/);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(problem(() => parseJsonBody(Buffer.from(deep))).status).toBe(400);
  });
});

describe('platform rules (issue 20: at least as strict as the real platform)', () => {
  const head = { tool: { name: 'gitleaks' }, metadata: { id: 'scan-1', timestamp: '2026-01-15T10:00:00Z' } };
  const data = (patch: Record<string, unknown>, index = 0) => ({
    report_id: 'scan-1',
    chunk_index: index,
    total_chunks: 2,
    is_final: index === 1,
    ...patch,
  });
  const env0 = validateChunkEnvelope(envelope());
  const env1 = validateChunkEnvelope(envelope({ chunk_index: 1, is_final: true }));

  it('chunk 0 must carry tool and metadata; later chunks need not', () => {
    expect(problem(() => validateChunkData(data({ tool: head.tool }), env0)).message).toContain(
      'data.metadata is required',
    );
    expect(problem(() => validateChunkData(data({ metadata: head.metadata }), env0)).message).toContain(
      'data.tool is required',
    );
    expect(validateChunkData(data(head), env0).tool).toEqual(head.tool);
    expect(validateChunkData(data({}, 1), env1).metadata).toBeUndefined();
  });

  it("chunk metadata.id must equal the envelope's report_id", () => {
    const other = { ...head, metadata: { id: 'scan-2', timestamp: '2026-01-15T10:00:00Z' } };
    expect(problem(() => validateChunkData(data(other), env0)).message).toContain(
      'data.metadata.id must equal',
    );
    expect(problem(() => validateChunkData(data({ metadata: other.metadata }, 1), env1)).status).toBe(400);
  });

  it("a finding's asset_ref must name an asset of its chunk (or of its whole report)", () => {
    const f = { type: 'secret', title: 't', severity: 'low', asset_ref: 'repo' };
    const asset = { id: 'repo', type: 'repository', value: 'github.com/x/y' };
    expect(problem(() => validateChunkData(data({ ...head, findings: [f] }), env0)).message).toContain(
      'data.findings[0].asset_ref names no asset of its chunk',
    );
    expect(validateChunkData(data({ ...head, assets: [asset], findings: [f] }), env0).findings).toHaveLength(
      1,
    );
    expect(problem(() => validateReport(report({ assets: [], findings: [f] }))).message).toContain(
      'findings[0].asset_ref names no asset of its report',
    );
    expect(validateReport(report({ assets: [asset], findings: [f] })).findings).toHaveLength(1);
  });

  it('timestamps must be real calendar days', () => {
    const at = (timestamp: string) => report({ metadata: { id: 'x', timestamp } });
    expect(problem(() => validateReport(at('2024-02-30T10:00:00Z'))).message).toContain('metadata.timestamp');
    expect(validateReport(at('2024-02-29T10:00:00Z')).metadata.timestamp).toBe('2024-02-29T10:00:00Z');
  });

  it('lines and columns are positive safe integers; other counts non-negative safe integers', () => {
    const at = (location: Record<string, unknown>) =>
      report({ findings: [{ type: 'code', title: 't', severity: 'low', location }] });
    for (const bad of [1e300, 2 ** 53, 1.5, 0, -1, Number.NaN]) {
      expect(problem(() => validateReport(at({ start_line: bad }))).status, String(bad)).toBe(400);
    }
    expect(
      validateReport(at({ start_line: 1, end_line: 2 ** 53 - 1, start_column: 1 })).findings,
    ).toHaveLength(1);
    expect(
      problem(() =>
        validateReport(
          report({ metadata: { id: 'x', timestamp: '2026-01-15T10:00:00Z', duration_ms: 1e300 } }),
        ),
      ).status,
    ).toBe(400);
    expect(problem(() => validateHeartbeat({ uptime_seconds: 1e300 })).status).toBe(400);
    expect(problem(() => validateHeartbeat({ cpu_percent: 101 })).status).toBe(400);
    expect(validateHeartbeat({ cpu_percent: 100, memory_percent: 0 })).toMatchObject({ cpu_percent: 100 });
  });

  it('bodies must be UTF-8: invalid bytes are refused, never turned into U+FFFD', () => {
    const bad = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(problem(() => parseJsonBody(bad)).message).toContain('not valid UTF-8');
    expect(parseJsonBody(Buffer.from('{"name":"é😀"}'))).toEqual({ name: 'é😀' });
  });

  it('X-Agent-ID is read as UTF-8 (as sent), and refused when it is not UTF-8 or holds controls', () => {
    const sent = (id: string) => Buffer.from(id, 'utf8').toString('latin1'); // how Node hands header bytes over
    expect(agentIdFromHeader(sent('agent-é-😀'))).toBe('agent-é-😀');
    expect(agentIdFromHeader('plain-agent')).toBe('plain-agent');
    expect(problem(() => agentIdFromHeader(Buffer.from([0x61, 0xff]).toString('latin1'))).message).toContain(
      'UTF-8',
    );
    expect(problem(() => agentIdFromHeader(sent('a\u0085b'))).status).toBe(400);
    expect(problem(() => agentIdFromHeader('')).status).toBe(400);
  });
});
