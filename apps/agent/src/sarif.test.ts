import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isValidReportId } from '@rediver/core';
import { builtinScanners } from './config';
import { maskSecret, sarifToReport, severityFromLevel, severityFromScore } from './sarif';
import type { SarifLog } from './sarif';
import { runScanner } from './scanners';
import { describeRepository, repositoryAsset, stripCredentials } from './repository';

const target = resolve(import.meta.dirname, '../sample-target');
const defs = builtinScanners();
/** Paths are relative to the repository root: the sample target's own folder inside it, when in a git work tree. */
async function prefix(): Promise<string> {
  const { gitRoot } = await describeRepository(target);
  return gitRoot === undefined ? '' : `${relative(gitRoot, target).split(sep).join('/')}/`;
}

describe('secretlint on the sample target (real scanner output)', () => {
  it('finds every planted secret, typed secret, masked, on the repository asset', async () => {
    const a = await runScanner({ ...defs.secretlint!, timeoutMs: 60_000 }, target);
    const b = await runScanner({ ...defs.secretlint!, timeoutMs: 60_000 }, target);
    const r = a.report;
    expect(isValidReportId(r.metadata.id)).toBe(true);
    expect(r.metadata.id).not.toBe(b.report.metadata.id);
    expect(r.tool?.name).toBe('secretlint');
    expect(r.assets).toHaveLength(1);
    const asset = r.assets![0]!;
    expect(asset.type).toBe('repository');
    expect(asset.properties?.path).toBe(target);
    const findings = r.findings!;
    const rules = new Set(findings.map((f) => f.rule_id!.split(' > ').pop()));
    for (const rule of [
      'aws',
      'github',
      'privatekey',
      'slack',
      'npm',
      'basicauth',
      'database-connection-string',
    ]) {
      expect(rules).toContain(`@secretlint/secretlint-rule-${rule}`);
    }
    const planted = readFileSync(resolve(target, 'src/github.js'), 'utf8').match(/ghp_\w+/)![0];
    const root = await prefix();
    for (const f of findings) {
      expect(f.type).toBe('secret');
      expect(f.asset_ref).toBe(asset.id);
      expect(f.location?.path?.startsWith(root)).toBe(true);
      expect(f.location?.path?.slice(root.length)).toMatch(/^(config|src|deploy)\//);
      expect(f.location?.start_line).toBeGreaterThan(0);
      expect(f.secret?.masked_value).toMatch(/\*{4}/);
      expect(JSON.stringify(f)).not.toContain(planted);
      expect(f.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    }
    const gh = findings.find((f) => f.rule_id!.endsWith('github'))!;
    expect(gh.secret?.masked_value?.startsWith('ghp_')).toBe(true);
    // Stable across runs, unique within one.
    expect(new Set(findings.map((f) => f.fingerprint)).size).toBe(findings.length);
    expect(b.report.findings!.map((f) => f.fingerprint).sort()).toEqual(
      findings.map((f) => f.fingerprint).sort(),
    );
  }, 60_000);

  it('runs a generic SARIF command (the bundled code-patterns scanner) with security-severity', async () => {
    const { report } = await runScanner({ ...defs['code-patterns']!, timeoutMs: 30_000 }, target);
    const byRule = new Map(report.findings!.map((f) => [f.rule_id, f]));
    expect(byRule.get('js-exec-template')?.severity).toBe('critical'); // 9.1
    expect(byRule.get('js-eval')?.severity).toBe('high'); // 8.8
    expect(byRule.get('weak-hash-md5')?.severity).toBe('medium'); // 5.3
    expect(byRule.get('sh-chmod-777')?.severity).toBe('low'); // 3.7
    const evalLine =
      readFileSync(resolve(target, 'src/github.js'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('eval(input)')) + 1;
    expect(byRule.get('js-eval')?.location).toMatchObject({
      path: `${await prefix()}src/github.js`,
      start_line: evalLine,
    });
    expect(byRule.get('js-eval')?.location?.snippet).toContain('eval(input)');
    expect(report.findings!.every((f) => f.type === 'code')).toBe(true);
  }, 30_000);
});

const asset = repositoryAsset({ path: '/repo' });
const base = { reportId: 'r-1', target: '/repo', asset, scannerName: 'x', startedAt: new Date(0) };

function one(
  result: Record<string, unknown>,
  rules: Record<string, unknown>[] = [],
  driver: Record<string, unknown> = {},
): SarifLog {
  return {
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'semgrep', rules, ...driver } }, results: [result] }],
  };
}

describe('sarifToReport', () => {
  it.each([
    [10, 'critical'],
    [9.0, 'critical'],
    [8.9, 'high'],
    [7.0, 'high'],
    [6.9, 'medium'],
    [4.0, 'medium'],
    [3.9, 'low'],
    [0.1, 'low'],
    [0, 'info'],
  ] as const)('security-severity %s -> %s', (score, sev) => {
    expect(severityFromScore(score)).toBe(sev);
    const r = sarifToReport(
      one({ ruleId: 'a', level: 'note' }, [{ id: 'a', properties: { 'security-severity': String(score) } }]),
      base,
    );
    expect(r.findings![0]!.severity).toBe(sev);
  });

  it('maps levels, rule defaults, and SARIF default warning', () => {
    expect(severityFromLevel('error')).toBe('high');
    expect(severityFromLevel('warning')).toBe('medium');
    expect(severityFromLevel('note')).toBe('low');
    expect(severityFromLevel('none')).toBe('info');
    expect(severityFromLevel(undefined)).toBe('medium');
    const r = sarifToReport(
      one({ ruleIndex: 0 }, [{ id: 'r0', defaultConfiguration: { level: 'error' } }]),
      base,
    );
    expect(r.findings![0]).toMatchObject({ rule_id: 'r0', severity: 'high' });
  });

  it('uses partialFingerprints, else a stable hash of rule, path and snippet', () => {
    const loc = (line: number) => [
      {
        physicalLocation: {
          artifactLocation: { uri: 'file:///repo/src/a.py' },
          region: { startLine: line, snippet: { text: 'eval(x)' } },
        },
      },
    ];
    const withPf = sarifToReport(
      one({ ruleId: 'a', partialFingerprints: { primaryLocationLineHash: 'abc:1' }, locations: loc(3) }),
      base,
    );
    expect(withPf.findings![0]!.partial_fingerprints).toEqual({ primaryLocationLineHash: 'abc:1' });
    const moved = sarifToReport(one({ ruleId: 'a', locations: loc(30) }), base).findings![0]!;
    const orig = sarifToReport(one({ ruleId: 'a', locations: loc(3) }), base).findings![0]!;
    expect(orig.location?.path).toBe('src/a.py');
    expect(moved.fingerprint).toBe(orig.fingerprint); // the code did not change, only its line
    expect(withPf.findings![0]!.fingerprint).not.toBe(orig.fingerprint);
    const other = sarifToReport(one({ ruleId: 'b', locations: loc(3) }), base).findings![0]!;
    expect(other.fingerprint).not.toBe(orig.fingerprint);
  });

  it('keeps identical results apart and skips suppressed ones', () => {
    const res = { ruleId: 'a', message: { text: 'm' } };
    const log = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 't' } },
          results: [res, res, { ...res, suppressions: [{ kind: 'inSource' }] }],
        },
      ],
    };
    const r = sarifToReport(log, base);
    expect(r.findings).toHaveLength(2);
    expect(r.findings![0]!.fingerprint).not.toBe(r.findings![1]!.fingerprint);
  });

  it('types secrets from secret tools and never copies their snippet', () => {
    const log = one(
      {
        ruleId: 'generic-api-key',
        level: 'error',
        message: { text: 'key' },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'a.env' },
              region: { startLine: 1, snippet: { text: 'KEY=supersecretvalue123' } },
            },
          },
        ],
      },
      [],
      { name: 'gitleaks' },
    );
    const f = sarifToReport(log, base).findings![0]!;
    expect(f.type).toBe('secret');
    expect(JSON.stringify(f)).not.toContain('supersecretvalue123');
    expect(f.secret?.secret_type).toBe('generic-api-key');
  });

  it('refuses what is not SARIF 2.1', () => {
    expect(() => sarifToReport({}, base)).toThrow(/no "runs"/);
    expect(() => sarifToReport({ version: '2.0.0', runs: [] }, base)).toThrow(/2\.1\.0 is required/);
    expect(sarifToReport({ version: '2.1.0', runs: [] }, base).findings).toEqual([]);
  });

  it('masks secrets and strips credentials from remotes', () => {
    expect(maskSecret('ghp_abcdefghijklmnop')).toBe('ghp_****************');
    expect(maskSecret('abc')).toBe('****');
    expect(maskSecret('abcdefgh')).toMatch(/^ab\*+$/);
    expect(stripCredentials('https://x-access-token:ghs_secret@github.com/o/r.git')).toBe(
      'https://github.com/o/r.git',
    );
    expect(stripCredentials('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
  });
});
