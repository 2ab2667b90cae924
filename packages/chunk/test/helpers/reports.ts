// Deterministic RIS reports for the upload tests.
import { randomBytes } from 'node:crypto';
import type { Finding, Report } from '@rediver/core';

/** Options of `makeReport`. */
export interface MakeReportOptions {
  /** Bytes of random (hex, so barely compressible) text per finding. Default 0. */
  noiseBytes?: number;
  /** Assets to create (findings reference them round robin). Default 1. */
  assets?: number;
}

/** A report with `findings` findings (a couple of them reference a repository asset). */
export function makeReport(reportId: string, findings: number, options: MakeReportOptions = {}): Report {
  const assets = Math.max(1, options.assets ?? 1);
  const noise = options.noiseBytes ?? 0;
  const list: Finding[] = [];
  for (let i = 0; i < findings; i++) {
    list.push({
      type: 'vulnerability',
      title: `Finding ${i} of ${reportId}`,
      severity: (['critical', 'high', 'medium', 'low', 'info'] as const)[i % 5]!,
      rule_id: `RULE-${i % 37}`,
      asset_ref: `asset-${i % assets}`,
      fingerprint: `${reportId}-fp-${i}`,
      location: { path: `src/module${i % 50}/file${i}.ts`, start_line: i % 900, end_line: (i % 900) + 3 },
      ...(noise > 0
        ? {
            description: randomBytes(Math.ceil(noise / 2))
              .toString('hex')
              .slice(0, noise),
          }
        : {}),
    });
  }
  return {
    version: '1.0',
    metadata: { id: reportId, timestamp: '2026-01-15T10:30:00Z', coverage_type: 'full' },
    tool: { name: 'test-scanner', version: '1.2.3' },
    assets: Array.from({ length: assets }, (_, i) => ({
      id: `asset-${i}`,
      type: 'repository',
      value: `github.com/acme/repo-${i}`,
    })),
    findings: list,
  };
}
