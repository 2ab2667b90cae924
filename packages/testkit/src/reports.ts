// Deterministic RIS reports for tests and benches.
import { randomBytes } from 'node:crypto';
import type { Asset, CoverageType, Finding, Report, ToolInfo } from '@rediver/core';

/** Options of `makeReport`. */
export interface MakeReportOptions {
  /** Number of findings (default 1). */
  findings?: number;
  /** Bytes of random hex (barely compressible) text in each finding's description (default 0: none). */
  noiseBytes?: number;
  /**
   * Assets: a count of repository assets `asset-0…` that findings reference round robin (default 1), or the
   * exact list (findings then reference them round robin by id; an empty list leaves `asset_ref` out).
   */
  assets?: number | readonly Asset[];
  /** Builds finding `i` instead of the default shape (`asset_ref` is the round-robin asset, if any). */
  finding?: (i: number, reportId: string, assetRef: string | undefined) => Finding;
  /** Default `{ name: 'test-scanner', version: '1.2.3' }`. */
  tool?: ToolInfo;
  /** `metadata.timestamp`; default 2026-01-15T10:30:00Z. */
  timestamp?: string;
  /** `metadata.coverage_type`; default `'full'`, `null` leaves it out. */
  coverageType?: CoverageType | null;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

/** The default finding `i` of `reportId`: a located vulnerability with a fingerprint. */
export function makeFinding(i: number, reportId: string, assetRef?: string, noiseBytes = 0): Finding {
  return {
    type: 'vulnerability',
    title: `Finding ${i} of ${reportId}`,
    severity: SEVERITIES[i % SEVERITIES.length]!,
    rule_id: `RULE-${i % 37}`,
    ...(assetRef === undefined ? {} : { asset_ref: assetRef }),
    fingerprint: `${reportId}-fp-${i}`,
    location: { path: `src/module${i % 50}/file${i}.ts`, start_line: i % 900, end_line: (i % 900) + 3 },
    ...(noiseBytes > 0 ? { description: noise(noiseBytes) } : {}),
  };
}

/** `bytes` characters of random hex. */
export function noise(bytes: number): string {
  return randomBytes(Math.ceil(bytes / 2))
    .toString('hex')
    .slice(0, bytes);
}

/** A valid report `reportId` with `options.findings` findings (see `MakeReportOptions` for the shape). */
export function makeReport(reportId: string, options: MakeReportOptions = {}): Report {
  const assets: readonly Asset[] =
    typeof options.assets === 'object'
      ? options.assets
      : Array.from({ length: Math.max(1, options.assets ?? 1) }, (_, i) => ({
          id: `asset-${i}`,
          type: 'repository',
          value: `github.com/acme/repo-${i}`,
        }));
  const noiseBytes = options.noiseBytes ?? 0;
  const findings: Finding[] = [];
  for (let i = 0; i < (options.findings ?? 1); i++) {
    const assetRef = assets.length === 0 ? undefined : assets[i % assets.length]!.id;
    if (options.finding === undefined) {
      findings.push(makeFinding(i, reportId, assetRef, noiseBytes));
    } else {
      const finding = options.finding(i, reportId, assetRef);
      findings.push(noiseBytes > 0 ? { ...finding, description: noise(noiseBytes) } : finding);
    }
  }
  const coverage = options.coverageType === undefined ? 'full' : options.coverageType;
  return {
    version: '1.0',
    metadata: {
      id: reportId,
      timestamp: options.timestamp ?? '2026-01-15T10:30:00Z',
      ...(coverage === null ? {} : { coverage_type: coverage }),
    },
    tool: options.tool ?? { name: 'test-scanner', version: '1.2.3' },
    ...(assets.length === 0 ? {} : { assets: [...assets] }),
    findings,
  };
}
