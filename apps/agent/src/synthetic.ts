import { createHash } from 'node:crypto';
import { RIS_VERSION } from '@rediver/core';
import type { Asset, Finding, Report, Severity } from '@rediver/core';
import type { ReportStream } from './scanners';

/** Options of `generateLargeReport`. */
export interface SyntheticReportOptions {
  reportId: string;
  /** Findings to generate (default 6000: over the 2000-finding chunking threshold). */
  findings?: number;
  /** Assets to spread them over (default 320: over the 200-asset threshold). */
  assets?: number;
  /** Seed for the deterministic content. */
  seed?: string;
  timestamp?: Date;
}

const SEVERITY_CYCLE: readonly Severity[] = [
  'critical',
  'high',
  'high',
  'medium',
  'medium',
  'medium',
  'low',
  'info',
];
const PACKAGES = [
  'lodash',
  'minimist',
  'express',
  'jsonwebtoken',
  'axios',
  'log4j-core',
  'openssl',
  'requests',
  'django',
];

/** The synthetic scanner's assets: hosts and container images. */
function syntheticAssets(count: number): Asset[] {
  const assets: Asset[] = [];
  for (let i = 0; i < Math.max(1, count); i++) {
    const image = i % 3 === 0;
    assets.push({
      id: `asset-${i}`,
      type: image ? 'container_image' : 'host',
      value: image
        ? `registry.example.com/team-${i % 17}/service-${i}:1.${i % 10}.0`
        : `host-${i}.prod.example.com`,
      name: image ? `service-${i}` : `host-${i}`,
      tags: [`env:${i % 4 === 0 ? 'staging' : 'prod'}`, `team:${i % 17}`],
      criticality: i % 10 === 0 ? 'high' : 'medium',
    });
  }
  return assets;
}

/** Finding `i` of a synthetic report (deterministic for a seed). */
function syntheticFinding(i: number, seed: string, assets: readonly Asset[]): Finding {
  const asset = assets[i % assets.length]!;
  const pkg = PACKAGES[i % PACKAGES.length]!;
  const cve = `CVE-20${20 + (i % 6)}-${String(10000 + ((i * 7919) % 89999)).padStart(5, '0')}`;
  const severity = SEVERITY_CYCLE[i % SEVERITY_CYCLE.length]!;
  const fp = createHash('sha256').update(`${seed}\u0000${i}`).digest('hex');
  return {
    type: 'vulnerability',
    title: `${cve} in ${pkg}`,
    description: `${pkg} before 4.${i % 30}.${i % 7} allows attackers to cause a denial of service or execute code via crafted input (synthetic finding ${i}).`,
    severity,
    rule_id: cve,
    asset_ref: asset.id!,
    asset_value: asset.value,
    location: { path: `/usr/lib/node_modules/${pkg}/package.json`, start_line: 1 + (i % 40) },
    vulnerability: {
      cve,
      cwe: [`CWE-${[79, 89, 400, 502, 787, 22][i % 6]}`],
      cvss: { score: [9.8, 8.1, 7.5, 5.3, 4.3, 3.1, 2.0, 0.0][i % 8], version: '3.1' },
      package: pkg,
      installed_version: `4.${i % 30}.0`,
      fixed_version: `4.${(i % 30) + 1}.0`,
      references: [`https://nvd.nist.gov/vuln/detail/${cve}`],
    },
    fingerprint: fp,
  };
}

function syntheticHeader(options: SyntheticReportOptions): Omit<Report, 'findings' | 'assets'> {
  return {
    version: RIS_VERSION,
    metadata: {
      id: options.reportId,
      timestamp: (options.timestamp ?? new Date()).toISOString(),
      source_type: 'scanner',
      source_ref: 'synthetic',
      coverage_type: 'full',
    },
    tool: { name: 'synthetic', version: '1.0.0', vendor: 'rediver', capabilities: ['sca'] },
  };
}

/**
 * A large, realistic-looking report for load and chunking: hosts and images with dependency
 * vulnerabilities (CVE, CWE, CVSS, package versions, references). Deterministic for a given seed.
 */
export function generateLargeReport(options: SyntheticReportOptions): Report {
  const assets = syntheticAssets(options.assets ?? 320);
  const seed = options.seed ?? options.reportId;
  const findings: Finding[] = [];
  for (let i = 0; i < (options.findings ?? 6000); i++) findings.push(syntheticFinding(i, seed, assets));
  return { ...syntheticHeader(options), assets, findings };
}

/**
 * The same report as `generateLargeReport`, generated finding by finding as it is read (the synthetic
 * scanner: a million findings never sit in memory at once).
 */
export function syntheticReportStream(options: SyntheticReportOptions): ReportStream {
  const assets = syntheticAssets(options.assets ?? 320);
  const seed = options.seed ?? options.reportId;
  const header = syntheticHeader(options);
  const count = options.findings ?? 6000;
  let closed = false;
  async function* findings(): AsyncGenerator<Finding> {
    for (let i = 0; i < count && !closed; i++) yield syntheticFinding(i, seed, assets);
  }
  return {
    reportId: options.reportId,
    header,
    assets,
    findings: { [Symbol.asyncIterator]: () => findings() },
    final: () => Promise.resolve({ header }),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}
