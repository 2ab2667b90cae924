import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compress } from 'zstd-napi';
import { makeReport as kitReport } from '@rediver/testkit';
import type { ChunkData, ChunkUploadRequest, Finding, Report } from '@rediver/core';

/** Two tenants, two keys each side. */
export const KEYS = Object.freeze({ a: 'rdv_tenant_a_key', b: 'rdv_tenant_b_key' });
export const API_KEYS = Object.freeze({ [KEYS.a]: 'tenant-a', [KEYS.b]: 'tenant-b' });

export function finding(n: number, patch: Partial<Finding> = {}): Finding {
  return {
    type: 'secret',
    title: `leak ${n}`,
    severity: 'high',
    fingerprint: `fp-${n}`,
    rule_id: 'aws-key',
    ...patch,
  };
}

/** A gitleaks report of `findings` secrets (fingerprints `fp-0`…) on one repository. */
export function makeReport(id: string, findings = 3): Report {
  return kitReport(id, {
    findings,
    assets: [{ id: 'repo', type: 'repository', value: 'github.com/acme/app' }],
    finding: (i, _reportId, assetRef) => finding(i, { asset_ref: assetRef! }),
    tool: { name: 'gitleaks', version: '8.18.0' },
    timestamp: '2026-01-15T10:00:00Z',
  });
}

/** Encodes ChunkData as the platform expects (compressed, base64) with our checksum extension. */
export function makeChunk(
  reportId: string,
  index: number,
  total: number,
  findings: Finding[],
  compression: 'zstd' | 'gzip' | 'none' = 'zstd',
): ChunkUploadRequest {
  const data: ChunkData = {
    report_id: reportId,
    chunk_index: index,
    total_chunks: total,
    ...(index === 0
      ? { tool: { name: 'gitleaks' }, metadata: { id: reportId, timestamp: '2026-01-15T10:00:00Z' } }
      : {}),
    findings,
    is_final: index === total - 1,
  };
  const json = Buffer.from(JSON.stringify(data));
  const packed = compression === 'zstd' ? compress(json) : compression === 'gzip' ? gzipSync(json) : json;
  return {
    report_id: reportId,
    chunk_index: index,
    total_chunks: total,
    compression,
    data: packed.toString('base64'),
    is_final: index === total - 1,
    checksum: createHash('sha256').update(json).digest('hex'),
  };
}

export interface PostOptions {
  key?: string;
  headers?: Record<string, string>;
  encoding?: 'gzip' | 'zstd';
}

/** POSTs JSON (or raw bytes) with fetch; returns status, headers and parsed JSON (or text). */
export async function post(
  url: string,
  body: unknown,
  options: PostOptions = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are asserted field by field in tests
): Promise<{ status: number; headers: Headers; json: any }> {
  let bytes: Buffer = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.encoding === 'gzip') bytes = gzipSync(bytes);
  if (options.encoding === 'zstd') bytes = compress(bytes);
  if (options.encoding) headers['content-encoding'] = options.encoding;
  const res = await fetch(url, { method: 'POST', headers, body: bytes });
  return { status: res.status, headers: res.headers, json: await readBody(res) };
}

export async function get(url: string, key?: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });
  return { status: res.status, headers: res.headers, json: await readBody(res) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see post()
async function readBody(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
