import { createHash } from 'node:crypto';
import { compress } from 'zstd-napi';
import type { ChunkData, Finding } from '@rediver/core';

// The agent's chunk shape for the bench: vulnerability findings of a synthetic scan (like apps/agent's synthetic
// scanner) with the assets they name, one zstd frame per chunk with its checksum.
const PACKAGES = ['lodash', 'minimist', 'express', 'axios', 'ws', 'tar', 'semver', 'jsonwebtoken'];

/** Chunk upload bodies of a report: `PER_CHUNK` vulnerability findings and the assets they name, zstd, base64. */
export function makeChunks(reportId: string, count: number, perChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let c = 0; c < count; c++) {
    const assets = Array.from({ length: 50 }, (_, k) => ({
      id: `asset-${(c * 50 + k) % 320}`,
      type: 'host',
      value: `host-${(c * 50 + k) % 320}.prod.example.com`,
      tags: ['env:prod'],
    }));
    const findings: Finding[] = Array.from({ length: perChunk }, (_, k) => {
      const i = c * perChunk + k;
      const pkg = PACKAGES[i % PACKAGES.length]!;
      const cve = `CVE-20${20 + (i % 6)}-${String(10000 + ((i * 7919) % 89999)).padStart(5, '0')}`;
      return {
        type: 'vulnerability',
        title: `${cve} in ${pkg}`,
        description: `${pkg} before 4.${i % 30}.${i % 7} allows attackers to cause a denial of service (finding ${i}).`,
        severity: (['critical', 'high', 'medium', 'low', 'info'] as const)[i % 5]!,
        rule_id: cve,
        asset_ref: assets[k % assets.length]!.id,
        asset_value: assets[k % assets.length]!.value,
        location: { path: `/usr/lib/node_modules/${pkg}/package.json`, start_line: 1 + (i % 40) },
        vulnerability: {
          cve,
          cwe: ['CWE-400'],
          cvss: { score: 7.5, version: '3.1' },
          package: pkg,
          installed_version: `4.${i % 30}.0`,
          fixed_version: `4.${(i % 30) + 1}.0`,
          references: [`https://nvd.nist.gov/vuln/detail/${cve}`],
        },
        fingerprint: createHash('sha256').update(`${reportId}:${i}`).digest('hex'),
      };
    });
    const data: ChunkData = {
      report_id: reportId,
      chunk_index: c,
      total_chunks: count,
      ...(c === 0
        ? {
            tool: { name: 'synthetic', version: '1.0.0' },
            metadata: { id: reportId, timestamp: '2026-01-15T10:00:00Z', coverage_type: 'full' },
          }
        : {}),
      assets,
      findings,
      is_final: c === count - 1,
    };
    const json = Buffer.from(JSON.stringify(data));
    out.push(
      Buffer.from(
        JSON.stringify({
          report_id: reportId,
          chunk_index: c,
          total_chunks: count,
          compression: 'zstd',
          data: compress(json).toString('base64'),
          is_final: c === count - 1,
          checksum: createHash('sha256').update(json).digest('hex'),
        }),
      ),
    );
  }
  return out;
}
