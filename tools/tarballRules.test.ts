import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTarball, tarballProblems } from './tarballRules.mjs';

const manifest = {
  name: '@rediver/x',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  main: './dist/index.cjs',
  types: './dist/index.d.cts',
  dependencies: { '@rediver/core': '^0.0.0' },
};

function pkg(
  overrides: Record<string, unknown> = {},
  extra: Record<string, string> = {},
): Map<string, Buffer> {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ ...manifest, ...overrides }),
    'README.md': '# x\n',
    'dist/index.js': 'export const x = 1;\n',
    'dist/index.cjs': 'exports.x = 1;\n',
    'dist/index.d.ts': 'export declare const x = 1;\n',
    'dist/index.d.cts': 'export declare const x = 1;\n',
    ...extra,
  };
  return new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('tarballProblems', () => {
  it('accepts a clean package', () => {
    expect(tarballProblems(pkg(), { workspaceRoot: '/build/repo' })).toEqual([]);
  });

  it('refuses the source condition, missing targets, workspace ranges', () => {
    const problems = tarballProblems(
      pkg({
        exports: { '.': { '@rediver/source': './src/index.ts', default: './dist/index.js' } },
        module: './dist/missing.js',
        dependencies: { '@rediver/core': 'workspace:^' },
      }),
      { workspaceRoot: '/build/repo' },
    );
    expect(problems).toEqual([
      'exports . > @rediver/source points at ./src/index.ts: the source condition must not be published',
      'module points at ./dist/missing.js, which is not in the tarball',
      'dependencies.@rediver/core is still workspace:^',
    ]);
  });

  it('refuses source maps, map comments, store paths and the build machine path', () => {
    const problems = tarballProblems(
      pkg(
        {},
        {
          'dist/index.js': 'export const x = 1;\n//# sourceMappingURL=index.js.map\n',
          'dist/index.js.map': '{}',
          'dist/index.cjs': '// ../../node_modules/.pnpm/tsup@8/node_modules/tsup/assets/cjs_shims.js\n',
          'README.md': 'see /build/repo/packages/x\n',
        },
      ),
      { workspaceRoot: '/build/repo' },
    );
    expect(problems).toEqual([
      "README.md: contains the build machine's path /build/repo",
      'dist/index.js: refers to a source map',
      'dist/index.cjs: contains a pnpm store path',
      'dist/index.js.map: source maps are not published (they point at src/, which is not shipped)',
    ]);
  });
});

describe('readTarball', () => {
  it('reads the files of an npm-style tarball, package/ stripped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rediver-tarball-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'package', 'dist'), { recursive: true });
    writeFileSync(join(dir, 'package', 'package.json'), '{"name":"x"}');
    writeFileSync(join(dir, 'package', 'dist', 'index.js'), 'x'.repeat(1500));
    execFileSync('tar', ['-czf', join(dir, 'x.tgz'), '-C', dir, 'package']);
    const files = readTarball(join(dir, 'x.tgz'));
    expect([...files.keys()].sort()).toEqual(['dist/index.js', 'package.json']);
    expect(files.get('dist/index.js')?.length).toBe(1500);
    expect(files.get('package.json')?.toString()).toBe('{"name":"x"}');
  });
});
