import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package generator's output, checked as the workspace checks a package: generated into a throw-away folder
// directly in the workspace root (so `../../tsconfig.base.json`, the ESLint config and the shared tsup config
// resolve as for packages/*), its dependencies linked as pnpm would, then typecheck, lint, its own tests and
// prettier. A convention the generator stops scaffolding fails here.
const root = join(import.meta.dirname, '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
let parent: string;
let pkg: string;

function run(cmd: string, args: string[], cwd = pkg): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  parent = mkdtempSync(join(root, '.gen-test-'));
  const made = run(
    process.execPath,
    [
      join(root, 'tools/generators/newPackage.mjs'),
      'sample-widget',
      '--description',
      'A sample.',
      '--dir',
      parent,
    ],
    root,
  );
  expect(made, made.out).toMatchObject({ code: 0 });
  pkg = join(parent, 'sample-widget');
  // What `pnpm install` would link: the workspace packages and eventemitter3 (from a package that has it).
  mkdirSync(join(pkg, 'node_modules', '@rediver'), { recursive: true });
  symlinkSync(join(root, 'packages/core'), join(pkg, 'node_modules/@rediver/core'));
  symlinkSync(join(root, 'packages/testkit'), join(pkg, 'node_modules/@rediver/testkit'));
  symlinkSync(
    realpathSync(join(root, 'packages/chunk/node_modules/eventemitter3')),
    join(pkg, 'node_modules/eventemitter3'),
  );
});
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('tools/generators/newPackage.mjs', () => {
  it('scaffolds the conventions: error class with codes, checked options, typed events, lifecycle', () => {
    const src = (f: string): string => readFileSync(join(pkg, 'src', f), 'utf8');
    expect(src('errors.ts')).toContain(
      "export const SAMPLE_WIDGET_ERROR_CODES = errorCodes('INVALID_OPTION', 'CLOSED');",
    );
    expect(src('errors.ts')).toContain('export class SampleWidgetError extends RediverError');
    expect(src('options.ts')).toMatch(/findUnknownOption\(options, KNOWN\)/);
    expect(src('options.ts')).toMatch(/unknownOptionMessage\('SampleWidget'/);
    expect(src('events.ts')).toContain("'samplewidget:started': (event: SampleWidgetStartedEvent) => void;");
    expect(src('sampleWidget.ts')).toContain('async start(): Promise<void>');
    expect(src('sampleWidget.ts')).toContain('close(): Promise<void>');
    expect(src('sampleWidget.ts')).toContain('[Symbol.asyncDispose](): Promise<void>');
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({ '@rediver/core': 'workspace:^', eventemitter3: '5.0.4' });
  });

  it('typechecks', () => {
    const r = run(bin('tsc'), ['-p', 'tsconfig.json']);
    expect(r, r.out).toMatchObject({ code: 0 });
  });

  it('lints clean with the workspace rules', () => {
    const r = run(bin('eslint'), ['--max-warnings=0', pkg], root);
    expect(r, r.out).toMatchObject({ code: 0 });
  });

  it('passes its own tests', () => {
    const r = run(bin('vitest'), ['run']);
    expect(r, r.out).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/Tests +11 passed/);
  });

  it('is formatted', () => {
    const r = run(bin('prettier'), ['--check', '--ignore-path', join(root, '.prettierignore'), pkg], root);
    expect(r, r.out).toMatchObject({ code: 0 });
  });
});
