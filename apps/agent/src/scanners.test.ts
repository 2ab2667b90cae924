// Scanner runs with real child processes: where output is read from, its size cap, the error a failing scanner
// is reported with, working directories, and unique names for inline commands.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRediverError } from '@rediver/core';
import { loadConfig } from './config';
import type { ScannerConfig } from './config';
import { runScanJob, runScanner, scannerCwd, scannerErrorText } from './scanners';
import type { ScanOutcome } from './scanners';

let dir: string;
let target: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scanners-'));
  target = join(dir, 'target');
  await mkdir(target);
  await writeFile(join(target, 'a.js'), 'const x = 1;\neval(x);\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SARIF = JSON.stringify({
  version: '2.1.0',
  runs: [
    {
      tool: { driver: { name: 'fake' } },
      results: [
        {
          ruleId: 'r',
          message: { text: 'eval' },
          locations: [{ physicalLocation: { artifactLocation: { uri: 'a.js' }, region: { startLine: 2 } } }],
        },
      ],
    },
  ],
});

/** A scanner that runs `js` with node (argv[1] is `{output}`, argv[2] `{target}`). */
function nodeScanner(name: string, js: string, extra: Partial<ScannerConfig> = {}): ScannerConfig {
  return {
    name,
    kind: 'sarif',
    command: [process.execPath, '-e', js, '{output}', '{target}'],
    timeoutMs: 30_000,
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; reason?: unknown }> {
  try {
    await p;
  } catch (e) {
    if (isRediverError(e)) return { code: e.code, message: e.message, reason: e.details?.reason };
    return { message: String(e) };
  }
  throw new Error('expected a failure');
}

describe('scanner output', () => {
  it('reads {output} (preferred), stdout, and {outputDir}; a UTF-8 BOM is accepted', async () => {
    const toFile = nodeScanner(
      'to-file',
      `require('fs').writeFileSync(process.argv[1], ${JSON.stringify(SARIF)}); console.log('noise on stdout')`,
    );
    const toStdout = {
      ...nodeScanner('to-stdout', `process.stdout.write('\\ufeff' + ${JSON.stringify(SARIF)})`),
      command: [
        process.execPath,
        '-e',
        `process.stdout.write('\\ufeff' + ${JSON.stringify(SARIF)})`,
        '{target}',
      ],
    };
    const toDir = {
      ...nodeScanner('to-dir', ''),
      command: [
        process.execPath,
        '-e',
        `require('fs').writeFileSync(require('path').join(process.argv[1], 'tool-report.sarif'), ${JSON.stringify(SARIF)})`,
        '{outputDir}',
      ],
    };
    for (const def of [toFile, toStdout, toDir]) {
      const { report } = await runScanner(def, target, { scratchDir: dir });
      expect(report.findings, def.name).toHaveLength(1);
      expect(report.findings![0]!.location).toMatchObject({ path: 'a.js', start_line: 2 });
    }
  });

  it('caps the output with a clear message, for {output} files and for stdout, and stops the scanner', async () => {
    // Writes 1 MiB every 20 ms, for ever: only the cap stops it.
    const flood = `const fs=require('fs');const out=process.argv[1]==='-'?1:fs.openSync(process.argv[1],'w');const b=Buffer.alloc(1<<20,32);setInterval(()=>fs.writeSync(out,b),20)`;
    const file = nodeScanner('flood-file', flood, { maxOutputMB: 2 });
    const stdout = {
      ...nodeScanner('flood-stdout', flood, { maxOutputMB: 2 }),
      command: [process.execPath, '-e', flood, '-'],
    };
    for (const def of [file, stdout]) {
      const t0 = Date.now();
      const f = await failure(runScanner(def, target, { scratchDir: dir }));
      expect(f.code, def.name).toBe('SCANNER_FAILED');
      expect(f.reason, def.name).toBe('output_too_large');
      expect(f.message, def.name).toMatch(
        /wrote more than 2 MiB of SARIF to (\{output\}|stdout).*maxOutputMB/,
      );
      expect(Date.now() - t0, def.name).toBeLessThan(25_000);
    }
    // Scratch files are gone.
    expect((await readdir(dir)).filter((d) => d.startsWith('scan-'))).toEqual([]);
  });
});

describe('a failing scanner names its real error', () => {
  it('picks the error line of a Node stack trace, a Python traceback, or the last line', () => {
    const node = [
      '',
      'Oops! Something went wrong! :(',
      '',
      'ESLint: 9.39.5',
      '',
      "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'eslint-plugin-security' imported from /x/eslint.config.mjs",
      '    at packageResolve (node:internal/modules/esm/resolve:873:9)',
      '    at moduleResolve (node:internal/modules/esm/resolve:946:18)',
      '    at defaultResolve (node:internal/modules/esm/resolve:1188:11)',
    ].join('\n');
    expect(scannerErrorText(node)).toBe(
      "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'eslint-plugin-security' imported from /x/eslint.config.mjs",
    );
    const py = [
      'Traceback (most recent call last):',
      '  File "/x/semgrep.py", line 3, in <module>',
      '    main()',
      'ValueError: bad rule file rules.yml',
    ].join('\n');
    expect(scannerErrorText(py)).toBe('ValueError: bad rule file rules.yml');
    expect(scannerErrorText('starting\nscan aborted after 3 files\n')).toBe('scan aborted after 3 files');
    expect(scannerErrorText('error: token ghp_Q8vZr2Lk5TnW1xYb7CdE3fGh9JkLmNpQrStU refused')).not.toContain(
      'Q8vZr2',
    );
  });

  it('reports a real tool’s error (ESLint with a missing plugin) and a missing program', async () => {
    const cfg = join(dir, 'broken.eslint.config.mjs');
    await writeFile(cfg, "import nope from 'eslint-plugin-does-not-exist';\nexport default [nope];\n");
    const eslint = join(import.meta.dirname, '..', 'node_modules', '.bin', 'eslint');
    const f = await failure(
      runScanner(
        {
          name: 'eslint',
          kind: 'sarif',
          command: [
            eslint,
            '-c',
            cfg,
            '-f',
            '@microsoft/eslint-formatter-sarif',
            '-o',
            '{output}',
            '{target}',
          ],
          timeoutMs: 60_000,
        },
        target,
        { scratchDir: dir },
      ),
    );
    expect(f.message).toMatch(
      /^eslint exited with 2: Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'eslint-plugin-does-not-exist'/,
    );
    expect(f.message).not.toMatch(/\bat \w+ \(/);
    const missing = await failure(
      runScanner(
        { name: 'nosuch', kind: 'sarif', command: ['no-such-scanner-xyz', '{target}'], timeoutMs: 10_000 },
        target,
        {
          scratchDir: dir,
        },
      ),
    );
    expect(missing.message).toMatch(/cannot run no-such-scanner-xyz: command not found/);
  });
});

describe('working directory and names', () => {
  it('runs scanners in the agent’s working directory by default, in `cwd` when set ({target} allowed)', async () => {
    const pwd = `require('fs').writeFileSync(process.argv[1], JSON.stringify({version:'2.1.0',runs:[{tool:{driver:{name:'pwd'}},results:[{ruleId:process.cwd(),message:{text:'cwd'}}]}]}))`;
    const def = nodeScanner('pwd', pwd);
    expect(scannerCwd(def, target)).toBe(process.cwd());
    const inTarget = await runScanner({ ...def, cwd: '{target}' }, target, { scratchDir: dir });
    expect(inTarget.report.findings![0]!.rule_id).toBe(target);
    const elsewhere = await runScanner({ ...def, cwd: dir }, target, { scratchDir: dir });
    expect(elsewhere.report.findings![0]!.rule_id).toBe(dir);
  });

  it('gives every --scanner command its own name, and each one runs', async () => {
    const c = await loadConfig({
      flags: {
        scanners: [
          'npx eslint -f x {target}',
          'npx eslint -c other.mjs {target}',
          'node a.mjs',
          'node a.mjs',
        ],
      },
    });
    expect(c.scanners).toEqual(['eslint', 'eslint-2', 'a', 'a-2']);
    expect(new Set(c.scanners.map((n) => c.scannerDefs[n]!.command!.join(' '))).size).toBe(3);
    const first = nodeScanner(
      'node',
      `require('fs').writeFileSync(process.argv[1], ${JSON.stringify(SARIF.replace('"fake"', '"first"'))})`,
    );
    const second = nodeScanner(
      'node-2',
      `require('fs').writeFileSync(process.argv[1], ${JSON.stringify(SARIF.replace('"fake"', '"second"'))})`,
    );
    const seen: ScanOutcome[] = [];
    const r = await runScanJob([first, second], target, {
      scratchDir: dir,
      onReport: async (_, o) => void seen.push(o),
    });
    expect(r.failures).toBe(0);
    expect(seen.map((o) => [o.scanner, o.report.tool?.name])).toEqual([
      ['node', 'first'],
      ['node-2', 'second'],
    ]);
    // The same, handed over as streams.
    const streamed: string[] = [];
    await runScanJob([first, second], target, {
      scratchDir: dir,
      onReport: () => Promise.reject(new Error('not for SARIF outputs')),
      onReportStream: async (def, stream) => {
        let n = 0;
        for await (const _ of stream.findings) n++;
        const { header } = await stream.final();
        streamed.push(`${def.name} ${header.tool?.name} ${n}`);
      },
    });
    expect(streamed).toEqual(['node first 1', 'node-2 second 1']);
  });

  it('masks, in every scanner’s findings, the secrets the scan’s secret scanner found', async () => {
    const secret = 'Zq9-corr3ct-h0rse-b4ttery';
    await writeFile(join(target, 'b.env'), `PASSPHRASE=${secret}\n`);
    await writeFile(join(target, 'c.js'), `login("${secret}");\n`);
    const sarif = (tool: string, uri: string, snippet?: string): string =>
      JSON.stringify({
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: tool } },
            results: [
              {
                ruleId: 'r',
                message: { text: `found ${snippet ?? 'it'}` },
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri },
                      region: {
                        startLine: 1,
                        startColumn: 12,
                        endColumn: 12 + secret.length,
                        ...(snippet === undefined ? {} : { snippet: { text: snippet } }),
                      },
                    },
                  },
                ],
              },
            ],
          },
        ],
      });
    const leaks = nodeScanner(
      'gitleaks',
      `require('fs').writeFileSync(process.argv[1], ${JSON.stringify(sarif('gitleaks', 'b.env'))})`,
    );
    const code = nodeScanner(
      'lint',
      `require('fs').writeFileSync(process.argv[1], ${JSON.stringify(sarif('lint', 'c.js', `login("${secret}");`))})`,
    );
    const out: ScanOutcome[] = [];
    // The code scanner runs first: its output is converted only after the secret scanner's was read.
    await runScanJob([code, leaks], target, { scratchDir: dir, onReport: async (_, o) => void out.push(o) });
    expect(out).toHaveLength(2);
    const text = JSON.stringify(out.map((o) => o.report));
    expect(text).not.toContain(secret);
    expect(out[0]!.report.findings![0]!.location?.snippet).toMatch(/^login\("Zq9-\*+"\);$/);
    expect(out[1]!.report.findings![0]!.secret?.masked_value).toMatch(/^Zq9-\*+$/);
    // Every scan's scratch folder is gone.
    expect((await readdir(dir)).filter((d) => d.startsWith('scan-'))).toEqual([]);
  });
});
