import { ERROR_CODES } from '@rediver/core';
import type { Asset, Finding, Report } from '@rediver/core';
import type { StoredChunkData } from './chunkStoreTypes';
import { ChunkError } from './errors';

/**
 * Rebuilds a report from its chunks (in any order). Findings come back in order; assets come back as the
 * same multiset (each asset group once, from the first chunk carrying it). Inverse of `planSplit`.
 */
export function reassembleChunks(chunks: readonly StoredChunkData[]): Report {
  const sorted = [...chunks].sort((a, b) => a.chunk_index - b.chunk_index);
  const first = sorted[0];
  if (!first || first.chunk_index !== 0)
    throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'chunk 0 is missing');
  const report: Report = { version: first.version as string, metadata: first.metadata! };
  if (first.version === undefined) delete (report as Partial<Report>).version;
  if (first.$schema !== undefined) report.$schema = first.$schema;
  if (first.tool !== undefined) report.tool = first.tool;
  if (first.dependencies !== undefined) report.dependencies = first.dependencies;
  if (first.properties !== undefined) report.properties = first.properties;
  const assets: Asset[] = [];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const c of sorted) {
    const inChunk = new Set<string>();
    for (const a of c.assets ?? []) {
      if (typeof a.id === 'string') {
        if (seen.has(a.id) && !inChunk.has(a.id)) continue;
        seen.add(a.id);
        inChunk.add(a.id);
      }
      assets.push(a);
    }
    for (const f of c.findings ?? []) findings.push(f);
  }
  if (assets.length > 0) report.assets = assets;
  if (findings.length > 0) report.findings = findings;
  return report;
}
