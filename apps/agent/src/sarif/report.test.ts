import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRediverError } from '@rediver/core';
import type { Finding } from '@rediver/core';
import { repositoryAsset } from '../repository';
import { openSarifReport, sarifToReport } from './report';
import type { OpenSarifReportOptions } from './report';
import { PathResolver, percentDecode } from './uri';

let dir: string;
let repo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sarif-report-'));
  repo = join(dir, 'repo');
  await mkdir(join(repo, 'sub', 'a%41'), { recursive: true });
  await writeFile(join(repo, 'sub', 'x.js'), 'eval(a);\n');
  await writeFile(join(repo, 'sub', 'a%41', 'y.js'), 'eval(b);\n');
  await writeFile(join(repo, 'sub', 'z z.js'), 'eval(c);\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(extra: Partial<OpenSarifReportOptions> = {}): OpenSarifReportOptions {
  return {
    reportId: 'r-1',
    target: join(repo, 'sub'),
    root: repo,
    cwd: dir,
    asset: repositoryAsset({ path: repo }),
    scannerName: 'tool',
    startedAt: new Date(0),
    ...extra,
  };
}

const result = (uri: string, line = 1): Record<string, unknown> => ({
  ruleId: 'r',
  message: { text: 'm' },
  locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: line } } }],
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function all(p: string, extra: Partial<OpenSarifReportOptions> = {}): Promise<Finding[]> {
  const s = await openSarifReport(p, options(extra));
  const out: Finding[] = [];
  for await (const f of s.findings) out.push(f);
  return out;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isRediverError(e) ? `${e.code}: ${e.message}` : String(e);
  }
}

describe('paths (SARIF §3.10, RFC 3986)', () => {
  it('makes every path relative to the repository root, never absolute', () => {
    const r = new PathResolver({ root: repo, target: join(repo, 'sub'), cwd: dir });
    expect(r.resolve({ uri: 'x.js' }, {}, [])?.path).toBe('sub/x.js');
    expect(r.resolve({ uri: 'a%41/y.js' }, {}, [])?.path).toBe('sub/a%41/y.js');
    expect(r.resolve({ uri: 'z%20z.js' }, {}, [])?.path).toBe('sub/z z.js');
    expect(r.resolve({ uri: `file://${repo}/sub/a%2541/y.js` }, {}, [])?.path).toBe('sub/a%41/y.js');
    expect(r.resolve({ uri: `${repo}/sub/x.js` }, {}, [])?.path).toBe('sub/x.js');
    // Relative to the scanner's working directory when it does not exist in the target.
    expect(r.resolve({ uri: 'repo/sub/x.js' }, {}, [])?.path).toBe('sub/x.js');
    const outside = r.resolve({ uri: 'file:///etc/hosts' }, {}, []);
    expect(outside?.outside).toBe(true);
    expect(outside?.path.startsWith('/')).toBe(false);
    expect(outside?.path.endsWith('etc/hosts')).toBe(true);
    expect(r.resolve({ uri: 'https://h/x.js' }, {}, [])).toEqual({ path: 'https://h/x.js', outside: true });
    expect(r.resolve({ uri: '' }, {}, [])).toBeUndefined();
  });

  it('percent-decodes UTF-8 and leaves malformed escapes as they are', () => {
    expect(percentDecode('%C3%BC%20a')).toBe('ü a');
    expect(percentDecode('100%/50% off')).toBe('100%/50% off');
    expect(percentDecode('%FF%41')).toBe('%FF%41');
  });
});

describe('openSarifReport', () => {
  it('streams findings, then gives the final header (invocations may come after the results)', async () => {
    const p = await file(
      'late-invocations.sarif',
      JSON.stringify({
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: 't' } },
            results: [result('x.js'), result('z z.js')],
            invocations: [{ executionSuccessful: false }],
          },
        ],
      }),
    );
    const s = await openSarifReport(p, options());
    expect(s.header.metadata.coverage_type).toBe('full');
    expect(s.header.tool?.name).toBe('t');
    const final = s.final();
    const got: Finding[] = [];
    for await (const f of s.findings) got.push(f);
    const { header, summary } = await final;
    expect(got.map((f) => f.location?.path)).toEqual(['sub/x.js', 'sub/z z.js']);
    expect(header.metadata.coverage_type).toBe('partial');
    expect(summary).toMatchObject({ results: 2, findings: 2, failedInvocations: 1, partial: true });
    await expect(
      code(
        (async () => {
          for await (const _ of s.findings) void _;
        })(),
      ),
    ).resolves.toMatch(/^INTERNAL/);
  });

  it('final() rejects with ABORTED when the findings were not all read; close() removes spool files', async () => {
    const results = Array.from({ length: 50 }, (_, i) => result('x.js', i + 1));
    const p = await file(
      'late-tool.sarif',
      JSON.stringify({ runs: [{ results, tool: { driver: { name: 'late' } } }], version: '2.1.0' }),
    );
    const s = await openSarifReport(p, options({ spoolDir: dir }));
    for await (const f of s.findings) {
      expect(f.properties?.tool).toBe('late');
      break;
    }
    await expect(code(s.final())).resolves.toMatch(/^ABORTED/);
    await s.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('.sarif-spool'))).toEqual([]);
  });

  it('refuses what is not SARIF with a clear SCANNER_FAILED', async () => {
    const cases: [string, string, RegExp][] = [
      ['empty', '', /output is empty/],
      ['truncated', '{"version":"2.1.0","runs":[{"results":[{"ruleId":"a"', /ends (early|before)/],
      ['not json', 'Error: boom\nat x', /it is not JSON \(it starts with "Error: boom"\)/],
      ['array', '[1,2]', /not a JSON object/],
      ['no runs', '{"version":"2.1.0"}', /no "runs"/],
      ['old version', '{"version":"2.0.0","runs":[]}', /2\.1\.0 is required/],
    ];
    for (const [name, text, re] of cases) {
      const p = await file(`bad-${name.replace(/ /g, '-')}.sarif`, text);
      const msg = await code(all(p));
      expect(msg, name).toMatch(/^SCANNER_FAILED: tool /);
      expect(msg, name).toMatch(re);
    }
  });

  it('bounds the size of one value (a huge string never fills memory)', async () => {
    const p = await file(
      'huge-value.sarif',
      `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"results":[{"ruleId":"a","message":{"text":"${'x'.repeat(300_000)}"}}]}]}`,
    );
    expect(await code(all(p, { maxValueBytes: 100_000, readBytes: 16_384 }))).toMatch(
      /SCANNER_FAILED: tool wrote a SARIF value larger than/,
    );
  });

  it('sarifToReport and openSarifReport give the same report', async () => {
    const log = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 't', rules: [{ id: 'r', shortDescription: { text: 'Rule r' } }] } },
          results: [result('x.js'), result('a%41/y.js')],
        },
      ],
    };
    const p = await file('same.sarif', JSON.stringify(log));
    const whole = sarifToReport(log, options());
    const s = await openSarifReport(p, options());
    const got: Finding[] = [];
    for await (const f of s.findings) got.push(f);
    const { header } = await s.final();
    expect({ ...header, assets: s.assets, findings: got }).toEqual(whole);
  });
});
