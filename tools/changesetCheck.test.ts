import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The changeset check on a throw-away git repository shaped like ours: main with one published package, one
// private one and an ignored app, then a branch that changes them.
const script = join(import.meta.dirname, 'changesetCheck.mjs');
let repo: string;

function sh(...args: string[]): void {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

function write(rel: string, text: string): void {
  mkdirSync(join(repo, rel, '..'), { recursive: true });
  writeFileSync(join(repo, rel), text);
}

function check(base?: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, '--root', repo, ...(base ? ['--base', base] : [])], {
    encoding: 'utf8',
    env: { ...process.env, CHANGESET_BASE: '' },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

const manifest = (extra: object = {}): string =>
  JSON.stringify({ name: '@rediver/widget', version: '0.1.0', dependencies: { a: '1', b: '2' }, ...extra });

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'changeset-check-'));
  sh('init', '-q', '-b', 'main');
  sh('config', 'user.email', 't@example.com');
  sh('config', 'user.name', 't');
  write('.changeset/config.json', JSON.stringify({ ignore: ['@rediver/app'] }));
  write('.changeset/README.md', '# Changesets\n');
  write('packages/widget/package.json', manifest());
  write('packages/widget/src/index.ts', 'export const a = 1;\n');
  write('packages/kit/package.json', JSON.stringify({ name: '@rediver/kit', private: true }));
  write('packages/kit/src/index.ts', 'export const k = 1;\n');
  sh('add', '-A');
  sh('commit', '-qm', 'main');
  sh('checkout', '-qb', 'feature');
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe('changeset check', () => {
  it('passes on main itself (a clean clone in CI) and when no base ref exists', () => {
    sh('checkout', '-q', 'main');
    expect(check()).toMatchObject({ code: 0 });
    expect(check('no-such-ref').code).toBe(0);
  });

  it('fails when shipped source of a published package changed without a changeset, and names it', () => {
    write('packages/widget/src/index.ts', 'export const a = 2;\n');
    const r = check('main');
    expect(r.code).toBe(1);
    expect(r.out).toContain('@rediver/widget changed since main (src/index.ts)');
  });

  it('passes once a new changeset names the package', () => {
    write('packages/widget/src/index.ts', 'export const a = 2;\n');
    write('.changeset/widget-a.md', "---\n'@rediver/widget': patch\n---\n\nA is 2.\n");
    expect(check('main').code).toBe(0);
  });

  it('does not count a changeset naming another package', () => {
    write('packages/widget/src/index.ts', 'export const a = 2;\n');
    write('.changeset/other.md', "---\n'@rediver/other': patch\n---\n\nOther.\n");
    expect(check('main').code).toBe(1);
  });

  it('needs none for tests, private packages, devDependencies, scripts or reordered keys', () => {
    write('packages/widget/src/index.test.ts', 'it.todo("x");\n');
    write('packages/kit/src/index.ts', 'export const k = 2;\n');
    write(
      'packages/widget/package.json',
      JSON.stringify({
        dependencies: { b: '2', a: '1' },
        version: '0.1.0',
        name: '@rediver/widget',
        scripts: { t: 'x' },
        devDependencies: { k: '1' },
      }),
    );
    expect(check('main')).toMatchObject({ code: 0 });
  });

  it('needs one for a dependency change in package.json, committed or not', () => {
    write('packages/widget/package.json', manifest({ dependencies: { a: '1', b: '3' } }));
    sh('commit', '-qam', 'bump b');
    const r = check('main');
    expect(r.code).toBe(1);
    expect(r.out).toContain('(package.json)');
  });
});
