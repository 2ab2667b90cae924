// Storage half of the chunk benchmark: submitReport of a generated 100k-finding report against the raw
// zstd compressor on the same bytes, side by side in one process (bench/storeChild.ts; alternating rounds,
// best of each). Prints `ratio=<store/compress>` (goal >= 0.5) and the process's peak RSS during the
// submit (goal <= 3x the report's JSON size).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding, Report } from '@rediver/core';
import { bundleEntry } from '../test/helpers/bundle';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const WORDS =
  'remote attacker crafted request overflow buffer validation input header parser memory denial service authentication bypass injection template path traversal deserialization untrusted cookie session token'.split(
    ' ',
  );

/** Deterministic pseudo-random numbers (xorshift32), so every run measures the same report. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** A scanner-like report: `n` findings over n/50 assets, CVE/CWE/CVSS data, paths, snippets, fingerprints. */
export function generateReport(id: string, n: number): Report {
  const r = rng(42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const sentence = (k: number): string => Array.from({ length: k }, () => pick(WORDS)).join(' ');
  const assetCount = Math.max(1, Math.floor(n / 50));
  const assets = Array.from({ length: assetCount }, (_, i) => ({
    id: `asset-${i}`,
    type: 'repository',
    value: `github.com/acme/service-${i}`,
    name: `service-${i}`,
    tags: ['prod', `team-${i % 7}`],
    criticality: pick(['low', 'medium', 'high', 'critical']),
  }));
  const findings: Finding[] = [];
  for (let i = 0; i < n; i++) {
    const cve = `CVE-20${18 + Math.floor(r() * 7)}-${1000 + Math.floor(r() * 60000)}`;
    const pkg = `lib${Math.floor(r() * 2000)}`;
    const line = Math.floor(r() * 5000);
    findings.push({
      type: 'vulnerability',
      title: `${cve} in ${pkg}`,
      description: `${pkg} ${sentence(8 + Math.floor(r() * 20))}.`,
      severity: pick(SEVERITIES),
      rule_id: `RULE-${Math.floor(r() * 900)}`,
      // Scanners report target by target: consecutive findings share their asset.
      asset_ref: `asset-${Math.floor(i / 50) % assetCount}`,
      location: {
        path: `src/${pick(WORDS)}/${pick(WORDS)}${Math.floor(r() * 300)}.ts`,
        start_line: line,
        end_line: line + Math.floor(r() * 20),
        snippet: `const ${pick(WORDS)} = require('${pkg}').${pick(WORDS)}(${Math.floor(r() * 1e6)});`,
      },
      vulnerability: {
        cve,
        cwe: [`CWE-${20 + Math.floor(r() * 900)}`],
        cvss: {
          score: Math.round(r() * 100) / 10,
          vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
          version: '3.1',
        },
        package: pkg,
        installed_version: `${Math.floor(r() * 9)}.${Math.floor(r() * 20)}.${Math.floor(r() * 30)}`,
        fixed_version: `${Math.floor(r() * 9)}.${Math.floor(r() * 20)}.${Math.floor(r() * 30)}`,
        references: [`https://nvd.nist.gov/vuln/detail/${cve}`],
      },
      fingerprint: createHash('sha256').update(`${i}:${r()}`).digest('hex'),
    });
  }
  return {
    version: '1.0',
    metadata: { id, timestamp: '2026-01-15T10:30:00Z', coverage_type: 'full', source_type: 'scanner' },
    tool: { name: 'bench-scanner', version: '1.0.0', capabilities: ['sca'] },
    assets,
    findings,
  };
}

/** What bench/storeChild.ts measured (one JSON line on its stdout). */
export interface StoreChildResult {
  findings: number;
  jsonBytes: number;
  totalChunks: number;
  originalBytes: number;
  compressedBytes: number;
  rawCompressedBytes: number;
  storeTimes: number[];
  compressTimes: number[];
  stringifyMs: number;
  rssBaseline: number;
  rssBefore: number;
  peakDuringSubmit: number;
  peakResettable: boolean;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

/**
 * Runs the storage benchmark and prints its figures. The report is generated here and handed to a fresh
 * process as the JSON a scanner would write; that process parses it (what the agent does with scanner
 * output), so the memory it measures is a production process's: compiled code, the caller's report
 * object and the store, nothing of this generator or of a TypeScript loader.
 */
export async function runStoreBench(
  findingCount = 100_000,
): Promise<{ ratio: number; peakRssBytes: number; jsonBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rediver-chunk-bench-'));
  try {
    const jsonPath = join(dir, 'report.json');
    writeFileSync(jsonPath, JSON.stringify(generateReport('bench-100k', findingCount)));
    const child = await bundleEntry('bench/storeChild.ts');
    const r = await new Promise<StoreChildResult>((resolve, reject) => {
      const p = spawn(process.execPath, ['--expose-gc', child, jsonPath, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      p.on('error', reject);
      p.on('close', (code) => {
        if (code !== 0) reject(new Error(`bench/storeChild.ts exited with ${code}`));
        else resolve(JSON.parse(out.trim().split('\n').pop()!) as StoreChildResult);
      });
    });

    const storeMs = Math.min(...r.storeTimes);
    const compressMs = Math.min(...r.compressTimes);
    const storeMBps = r.jsonBytes / 1e6 / (storeMs / 1000);
    const compressMBps = r.jsonBytes / 1e6 / (compressMs / 1000);
    const ratio = storeMBps / compressMBps;
    const peakX = r.peakDuringSubmit / r.jsonBytes;
    const list = (a: number[]): string => a.map((x) => x.toFixed(0)).join(', ');
    const out = [
      `report: ${r.findings} findings, ${mb(r.jsonBytes)} MB JSON -> ${r.totalChunks} chunks, ${mb(r.compressedBytes)} MB stored (zstd ${(r.originalBytes / r.compressedBytes).toFixed(2)}:1; raw ${(r.jsonBytes / r.rawCompressedBytes).toFixed(2)}:1)`,
      `submitReport: best ${storeMs.toFixed(0)} ms of [${list(r.storeTimes)}], ${storeMBps.toFixed(1)} MB/s`,
      `raw zstd-napi compress (level 3): best ${compressMs.toFixed(0)} ms of [${list(r.compressTimes)}], ${compressMBps.toFixed(1)} MB/s`,
      `(for scale: JSON.stringify + UTF-8 encoding of the report alone: ${r.stringifyMs.toFixed(0)} ms)`,
      `RSS: ${mb(r.rssBaseline)} MB at start; ${mb(r.rssBefore)} MB holding the parsed report; peak during the first submit ${mb(r.peakDuringSubmit)} MB = ${peakX.toFixed(2)}x JSON (goal <= 3x), of which the submit ${mb(Math.max(0, r.peakDuringSubmit - r.rssBefore))} MB${r.peakResettable ? '' : ' [lifetime maxRSS: VmHWM not resettable here]'}`,
      `peak_rss_x_json=${peakX.toFixed(2)}`,
      `ratio=${ratio.toFixed(2)}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return { ratio, peakRssBytes: r.peakDuringSubmit, jsonBytes: r.jsonBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
