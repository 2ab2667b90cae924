import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  extractQuickStarts,
  importedPackages,
  installedPackages,
  readmeProblems,
  toCommonJs,
} from './readme';

const README = [
  '# @rediver/x',
  '',
  '```sh',
  'pnpm add @rediver/x @rediver/core',
  '```',
  '',
  '<!-- quick-start -->',
  '',
  '```ts',
  "import { once } from 'node:events';",
  "import { make } from '@rediver/x';",
  'await once(make(), "ready");',
  '```',
  '',
  'Not marked:',
  '',
  '```ts',
  'ignored();',
  '```',
  '<!-- quick-start -->',
  '````js',
  'console.log("```");',
  '````',
  '',
].join('\n');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('extractQuickStarts', () => {
  it('takes exactly the marked blocks, blank lines allowed after the marker, longer fences too', () => {
    expect(extractQuickStarts(README)).toEqual([
      {
        index: 1,
        line: 9,
        lang: 'ts',
        code: "import { once } from 'node:events';\nimport { make } from '@rediver/x';\nawait once(make(), \"ready\");\n",
      },
      { index: 2, line: 21, lang: 'js', code: 'console.log("```");\n' },
    ]);
  });
});

describe('install line and imports', () => {
  it('reads the packages the install line adds', () => {
    expect(installedPackages(README)).toEqual(['@rediver/x', '@rediver/core']);
    expect(installedPackages('```sh\nnpm install --save @rediver/y\n```')).toEqual(['@rediver/y']);
    expect(installedPackages('no install line')).toBeUndefined();
  });

  it('lists bare packages, not node built-ins or relative paths', () => {
    const code =
      "import a from 'pino';\nimport { b } from '@rediver/core';\nimport 'node:fs';\nimport 'path';\nimport './x.js';\nimport c from '@scope/pkg/sub';\n";
    expect(importedPackages(code)).toEqual(['@rediver/core', '@scope/pkg', 'pino']);
  });
});

describe('readmeProblems', () => {
  it('accepts a README an npm user can follow', () => {
    expect(readmeProblems(README, '@rediver/x')).toEqual([]);
  });

  it('finds monorepo paths and commands, but not URLs', () => {
    const text = [
      '```sh',
      'pnpm add @rediver/x',
      '```',
      '<!-- quick-start -->',
      '```ts',
      "import { x } from '@rediver/x';",
      '```',
      'Run `pnpm --filter @rediver/x bench`.',
      'See `src/internal/store.ts` and apps/ingest-server, or [core](../core/README.md).',
      'Code: https://github.com/rediverio/agent-sdk-ts/tree/main/packages/x/src/index.ts',
    ].join('\n');
    expect(readmeProblems(text, '@rediver/x')).toEqual([
      { line: 8, problem: 'a workspace command: pnpm --filter' },
      { line: 9, problem: 'a path to one of the repository apps: apps/ingest-server' },
      { line: 9, problem: 'a path into src/, which is not published: src/internal/store.ts' },
      { line: 9, problem: 'a relative link, which npm cannot follow: [core](../core/README.md)' },
    ]);
  });

  it('finds missing quick starts, imports the install line lacks, and `using`', () => {
    expect(readmeProblems('# x\n', '@rediver/x').map((p) => p.problem)).toEqual([
      'no quick start: mark one with <!-- quick-start --> before its code block',
      'no install line (pnpm add / npm install)',
    ]);
    const text = [
      'pnpm add @rediver/x',
      '<!-- quick-start -->',
      '```ts',
      "import { isRediverError } from '@rediver/core';",
      "import { open } from '@rediver/x';",
      'await using store = open();',
      '```',
    ].join('\n');
    expect(readmeProblems(text, '@rediver/x').map((p) => p.problem)).toEqual([
      'quick start 1 imports @rediver/core, which the install line does not add',
      'quick start 1 uses `using`, a syntax error on Node 20',
    ]);
  });

  it('passes the READMEs of the packages this check was first written against', () => {
    for (const name of ['core', 'resource', 'pipeline', 'client']) {
      const markdown = readFileSync(
        join(import.meta.dirname, '..', '..', 'packages', name, 'README.md'),
        'utf8',
      );
      expect(readmeProblems(markdown, `@rediver/${name}`), name).toEqual([]);
    }
  });
});

describe('toCommonJs', () => {
  it('runs an ES module quick start with top-level await as CommonJS with plain node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rediver-cjs-'));
    dirs.push(dir);
    const code = [
      "import { once } from 'node:events';",
      "import { EventEmitter } from 'node:events';",
      'const e = new EventEmitter();',
      "setTimeout(() => e.emit('go', 42), 10);",
      "const [value] = await once(e, 'go');",
      'console.log(`${typeof require} ${String(value)}`);',
      '',
    ].join('\n');
    const file = join(dir, 'qs.cjs');
    writeFileSync(file, toCommonJs(code));
    expect(execFileSync(process.execPath, [file], { encoding: 'utf8' })).toBe('function 42\n');
  });

  it('fails the process when the program throws', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rediver-cjs-'));
    dirs.push(dir);
    const file = join(dir, 'qs.cjs');
    writeFileSync(file, toCommonJs("await Promise.resolve();\nthrow new Error('boom');\n"));
    expect(() => execFileSync(process.execPath, [file], { stdio: 'pipe' })).toThrow(/boom/);
  });
});
