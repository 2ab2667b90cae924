// SARIF conformance: the committed outputs of real tools and hand-written spec edge cases convert to their golden
// RIS (whole and streaming, the same code path), and, with the real tools run on a copy of the target, no finding
// changes identity when lines move, while an edited line does.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '@rediver/core';
import { openSarifReport, sarifToReport } from '../../src/sarif';
import type { SarifLog, SarifSummary } from '../../src/sarif';
import { ScanSession } from '../../src/scanners';
import {
  copyProject,
  EDGE_DIR,
  fixedOptions,
  fixtureText,
  GOLDEN_DIR,
  goldenOf,
  PROJECT,
  SARIF_DIR,
  toolScanner,
  TOOLS,
} from './tools';
import type { Tool } from './tools';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'conformance-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function sources(): Promise<{ name: string; path: string }[]> {
  const edge = (await readdir(EDGE_DIR)).filter((f) => f.endsWith('.sarif')).sort();
  return [
    ...TOOLS.map((t) => ({ name: t, path: join(SARIF_DIR, `${t}.sarif`) })),
    ...edge.map((f) => ({ name: f.replace(/\.sarif$/, ''), path: join(EDGE_DIR, f) })),
  ];
}

/** Streams a fixture (pointed at the committed target) through `openSarifReport`. */
async function streamed(
  name: string,
  path: string,
): Promise<{ findings: Finding[]; header: unknown; summary: SarifSummary }> {
  const file = join(scratch, `${name}.sarif`);
  await writeFile(file, await fixtureText(path));
  const stream = await openSarifReport(file, { ...fixedOptions(PROJECT, name), readBytes: 512 });
  const findings: Finding[] = [];
  for await (const f of stream.findings) findings.push(f);
  const { header, summary } = await stream.final();
  return { findings, header, summary };
}

function whole(name: string, text: string): ReturnType<typeof sarifToReport> {
  return sarifToReport(JSON.parse(text.replace(/^\uFEFF/, '')) as SarifLog, fixedOptions(PROJECT, name));
}

describe('golden RIS of real tools and spec edge cases', () => {
  it('converts every fixture to its golden report, whole and streaming alike', async () => {
    const all = await sources();
    expect(all.length).toBeGreaterThanOrEqual(11);
    for (const { name, path } of all) {
      const golden = JSON.parse(await readFile(join(GOLDEN_DIR, `${name}.json`), 'utf8')) as {
        findings: Finding[];
      };
      const report = whole(name, await fixtureText(path));
      expect(goldenOf(report), name).toEqual(golden);
      const s = await streamed(name, path);
      expect(
        goldenOf({ ...(s.header as object), findings: s.findings } as never),
        `${name} (streaming)`,
      ).toEqual(golden);
      expect(s.summary.findings).toBe(golden.findings.length);
    }
  });

  it('real tools: every result becomes a finding with a repository-relative path and a unique identity', async () => {
    const expected: Record<Tool, { results: number; paths: string[] }> = {
      eslint: {
        results: 9,
        paths: ['src/#hash.js', 'src/100%/50% off.js', 'src/key%41.js', 'src/server.js', 'src/ünïcödé.js'],
      },
      jscpd: { results: 1, paths: ['lib/copy-a.js'] },
      secretlint: {
        results: 7,
        paths: ['config/app.env', 'config/deploy.pem', 'src/key%41.js', 'src/ünïcödé.js'],
      },
    };
    for (const tool of TOOLS) {
      const r = whole(tool, await fixtureText(join(SARIF_DIR, `${tool}.sarif`)));
      const findings = r.findings!;
      expect(findings, tool).toHaveLength(expected[tool].results);
      expect([...new Set(findings.map((f) => f.location!.path!))].sort(), tool).toEqual(expected[tool].paths);
      expect(new Set(findings.map((f) => f.fingerprint)).size, tool).toBe(findings.length);
      for (const f of findings) expect(f.properties?.tool, tool).toBe(r.tool!.name);
    }
  });

  it('several runs: each finding carries its own run’s tool', async () => {
    const r = whole('multi-run', await fixtureText(join(EDGE_DIR, 'multi-run.sarif')));
    expect(r.tool).toMatchObject({ name: 'alpha', version: '1.2.0' });
    expect(r.properties?.tools).toEqual(['alpha', 'beta']);
    expect(r.findings!.map((f) => [f.rule_id, f.properties?.tool, f.properties?.tool_version])).toEqual([
      ['A1', 'alpha', '1.2.0'],
      ['B1', 'beta', '2.0.1'],
    ]);
  });

  it('base ids, percent-encoding and raw paths resolve as SARIF §3.10 says', async () => {
    const r = whole('base-ids', await fixtureText(join(EDGE_DIR, 'base-ids.sarif')));
    expect(r.findings!.map((f) => f.location!.path)).toEqual([
      'src/server.js',
      'src/key%41.js',
      'src/100%/50% off.js',
      'src/#hash.js',
      'src/ünïcödé.js',
      'src/ünïcödé.js',
      'lib/copy-a.js',
      'lib/copy-b.js',
      'src/100%/50% off.js',
      'src/#hash.js',
      'src/key%41.js',
      'https://example.com/lib/x.js',
      'lib/copy-b.js',
    ]);
    for (const f of r.findings!) expect(f.location!.path!.startsWith('/')).toBe(false);
  });

  it('only suppressions in force suppress, and suppressed results are counted', async () => {
    const s = await streamed('suppressions', join(EDGE_DIR, 'suppressions.sarif'));
    expect(s.findings.map((f) => f.description)).toEqual([
      'none',
      'empty',
      'under review',
      'rejected',
      'accepted and rejected',
    ]);
    expect(s.summary).toMatchObject({ results: 7, findings: 5, suppressed: 2 });
  });

  it('a failed invocation and error notifications (after the results) make the report partial', async () => {
    const s = await streamed('notifications', join(EDGE_DIR, 'notifications.sarif'));
    expect(s.findings).toHaveLength(1);
    expect((s.header as { metadata: { coverage_type: string } }).metadata.coverage_type).toBe('partial');
    expect(s.summary).toMatchObject({ partial: true, failedInvocations: 1, errorNotifications: 2 });
    expect(s.summary.notifications.map((n) => n.message)).toEqual([
      'execution not successful (exit code 2)',
      'Parsing error: Unexpected token ( in lib/broken.js',
      expect.stringMatching(/^rule plugin\/x not found; token ghp_\*+ in config$/),
    ]);
    expect(s.summary.notifications[1]).toMatchObject({ id: 'ESL0999', path: 'lib/copy-a.js' });
    expect(JSON.stringify(s)).not.toContain('ghp_Z3aB7cD1eF5gH9iJ2kL6mN0oP4qR8sT1uV5w');
  });

  it('results without locations, file-level results and kinds', async () => {
    const s = await streamed('no-locations', join(EDGE_DIR, 'no-locations.sarif'));
    expect(s.findings.map((f) => f.description)).toEqual([
      'no location at all',
      'no location at all',
      'a whole file',
      'open: needs a look',
      'a line past the end of the file',
      'a file that does not exist',
    ]);
    expect(s.summary).toMatchObject({ results: 8, notFailures: 2 });
    expect(s.findings[0]!.fingerprint).not.toBe(s.findings[1]!.fingerprint);
    expect(s.summary.fingerprints).toMatchObject({
      message: 2,
      file: 1,
      lineHash: 1,
      snippet: 1,
      position: 1,
    });
  });

  it('results written before their run’s tool (keys in alphabetical order) use the tool’s rules', async () => {
    const s = await streamed('alphabetical', join(EDGE_DIR, 'alphabetical.sarif'));
    expect(s.findings.map((f) => [f.title, f.severity, f.properties?.tool])).toEqual([
      ['Late rule', 'critical', 'late'],
      ['Extension rule', 'medium', 'late'],
    ]);
  });

  it('a UTF-8 byte-order mark is accepted', async () => {
    const s = await streamed('bom', join(EDGE_DIR, 'bom.sarif'));
    expect(s.findings).toHaveLength(1);
  });

  it('rule metadata reaches RIS: title, description, remediation, CWE', async () => {
    const s = await streamed('rule-metadata', join(EDGE_DIR, 'rule-metadata.sarif'));
    const [xss, sql] = s.findings;
    expect(xss).toMatchObject({
      title: 'Reflected cross-site scripting',
      description: 'user input reaches the page',
      severity: 'medium',
      vulnerability: { cwe: ['CWE-79', 'CWE-116'] },
      properties: {
        rule_name: 'ReflectedXss',
        rule_description: expect.stringContaining('cross-site scripting vulnerability') as unknown,
        remediation: 'Escape user input before writing it to the page.',
        remediation_markdown: expect.stringContaining('# Reflected XSS') as unknown,
        help_uri: 'https://example.com/rules/xss',
        tags: ['security', 'external/cwe/cwe-079', 'external/cwe/cwe-116'],
      },
    });
    expect(sql!.vulnerability?.cwe).toEqual(['CWE-89', 'CWE-564', 'CWE-943']);
  });
});

type Edit = (text: string) => string;

/** Inserts a blank line at the top of every file and moves a block in some: no line keeps its number. */
const MOVES: Record<string, Edit> = {
  'src/server.js': (t) => {
    const block = 'function pick(obj, key) {\n  return obj[key];\n}\n\n';
    return t.replace(block, '').replace("'use strict';\n", `'use strict';\n${block}`);
  },
  'lib/copy-b.js': (t) => {
    // Two functions before the duplicated one swap places (the clone itself stays as it is).
    const block = 'function tally(list) {\n  return list.filter(Boolean).length;\n}\n\n';
    return t.replace(block, '').replace('function describe', `${block}function describe`);
  },
  'config/app.env': (t) => {
    const line = /^GITHUB_TOKEN=.*\n/m.exec(t)![0];
    return `${t.replace(line, '')}${line}`;
  },
};

const EDITS: Record<Tool, { file: string; edit: Edit }> = {
  eslint: {
    file: 'src/server.js',
    edit: (t) => t.replace('return eval(userInput);', 'return eval(String(userInput));'),
  },
  jscpd: { file: 'lib/copy-a.js', edit: (t) => t.replace('count += 1;', 'count += 2;') },
  secretlint: { file: 'config/app.env', edit: (t) => t.replace('SLACK_BOT_TOKEN=', 'SLACK_TOKEN=') },
};

async function editFile(project: string, rel: string, edit: Edit): Promise<void> {
  const p = join(project, rel);
  await writeFile(p, edit(await readFile(p, 'utf8')));
}

async function allFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base === '' ? e.name : `${base}/${e.name}`;
    if (e.isDirectory()) out.push(...(await allFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}

async function scan(tool: Tool, project: string, dir: string, eslintConfig: string): Promise<Finding[]> {
  const session = await ScanSession.open(project, { repository: { path: project } });
  try {
    const run = await session.run(toolScanner(tool, eslintConfig, dir));
    await session.collectSecrets([run]);
    return (await session.convert(run)).report.findings!;
  } finally {
    await session.close();
  }
}

const identities = (fs: Finding[]): string[] =>
  fs.map((f) => `${f.rule_id} ${f.location?.path} ${f.fingerprint}`).sort();

describe.each(TOOLS)('%s (real tool): finding identity', (tool) => {
  it('survives a blank line and a moved block, and changes for an edited line', async () => {
    const { dir, project, eslintConfig } = await copyProject();
    try {
      const before = await scan(tool, project, dir, eslintConfig);
      expect(before.length).toBeGreaterThan(0);
      for (const rel of await allFiles(project)) await editFile(project, rel, (t) => `\n${t}`);
      for (const [rel, move] of Object.entries(MOVES)) await editFile(project, rel, move);
      const moved = await scan(tool, project, dir, eslintConfig);
      // Lines moved…
      const lines = (fs: Finding[]): string => JSON.stringify(fs.map((f) => f.location?.start_line).sort());
      expect(lines(moved)).not.toBe(lines(before));
      // …and no finding changed identity.
      expect(identities(moved)).toEqual(identities(before));

      const { file, edit } = EDITS[tool];
      await editFile(project, file, edit);
      const edited = await scan(tool, project, dir, eslintConfig);
      const was = new Set(identities(moved));
      const changed = identities(edited).filter((id) => !was.has(id));
      const gone = identities(moved).filter((id) => !new Set(identities(edited)).has(id));
      expect(changed.length + gone.length, 'the edited line changes its finding’s identity').toBeGreaterThan(
        0,
      );
      for (const id of [...changed, ...gone]) expect(id).toContain(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
