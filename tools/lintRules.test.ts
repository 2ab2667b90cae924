import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Proves the architecture rules in eslint.config.js fire: a file placed in a package's src is linted
// exactly as the real ones are (same config, same type-aware project service).
const root = join(import.meta.dirname, '..');
const probePath = join(root, 'packages/core/src/lintProbe.ts');

// One ESLint instance: its type-aware project service is the slow part, built once and reused.
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, filePath = probePath): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('workspace lint rules', () => {
  it('rejects console.log in a package', async () => {
    expect(await ruleIds('export function f(): void {\n  console.log("x");\n}\n')).toContain('no-console');
  });

  it('allows console in apps', async () => {
    const ids = await ruleIds(
      'export function f(): void {\n  console.log("x");\n}\n',
      join(root, 'apps/agent/src/lintProbe.ts'),
    );
    expect(ids).not.toContain('no-console');
  });

  it('rejects export *', async () => {
    expect(await ruleIds("export * from './errors';\n")).toContain('no-restricted-syntax');
  });

  it('requires type-only imports', async () => {
    expect(
      await ruleIds(
        "import { Report } from './report';\nexport function f(r: Report): string {\n  return r.version;\n}\n",
      ),
    ).toContain('@typescript-eslint/consistent-type-imports');
  });

  it('rejects floating promises', async () => {
    expect(
      await ruleIds('async function g(): Promise<void> {}\nexport function f(): void {\n  g();\n}\n'),
    ).toContain('@typescript-eslint/no-floating-promises');
  });

  it('requires exhaustive switches', async () => {
    const code = [
      "export function f(x: 'a' | 'b'): number {",
      '  switch (x) {',
      "    case 'a':",
      '      return 1;',
      '  }',
      '  return 0;',
      '}',
      '',
    ].join('\n');
    expect(await ruleIds(code)).toContain('@typescript-eslint/switch-exhaustiveness-check');
  });

  it('allows at most four positional parameters (more take an options object)', async () => {
    const five =
      'export function f(a: number, b: number, c: number, d: number, e: number): number {\n  return a + b + c + d + e;\n}\n';
    const four =
      'export function f(a: number, b: number, c: number, d: number): number {\n  return a + b + c + d;\n}\n';
    expect(await ruleIds(five)).toContain('@typescript-eslint/max-params');
    expect(await ruleIds(four)).not.toContain('@typescript-eslint/max-params');
  });
});

describe('import boundaries', () => {
  const appProbe = join(root, 'apps/agent/src/lintProbe.ts');
  const packageTestProbe = join(root, 'packages/core/src/lintProbe.test.ts');

  it('a package imports only @rediver/core', async () => {
    expect(await ruleIds("export { ChunkStore } from '@rediver/chunk';\n")).toContain(
      'no-restricted-imports',
    );
    expect(
      await ruleIds("import { makeReport } from '@rediver/testkit';\nexport const r = makeReport('x');\n"),
    ).toContain('no-restricted-imports');
    expect(await ruleIds("export { RediverError } from '@rediver/core';\n")).not.toContain(
      'no-restricted-imports',
    );
  });

  it("a package's tests may also import the test kit, and nothing else of ours", async () => {
    const kit = "import { makeReport } from '@rediver/testkit';\nexport const r = makeReport('x');\n";
    expect(await ruleIds(kit, packageTestProbe)).not.toContain('no-restricted-imports');
    expect(await ruleIds("export { ChunkStore } from '@rediver/chunk';\n", packageTestProbe)).toContain(
      'no-restricted-imports',
    );
  });

  it('an app imports public entries only: no deep paths, no relative paths into packages', async () => {
    expect(await ruleIds("export { ChunkStore } from '@rediver/chunk';\n", appProbe)).not.toContain(
      'no-restricted-imports',
    );
    expect(await ruleIds("export { x } from '@rediver/chunk/internal';\n", appProbe)).toContain(
      'no-restricted-imports',
    );
    expect(
      await ruleIds("export { x } from '../../../packages/chunk/src/internal/db';\n", appProbe),
    ).toContain('no-restricted-imports');
    expect(await ruleIds("export { tempDir } from '@rediver/testkit';\n", appProbe)).toContain(
      'no-restricted-imports',
    );
  });

  it('an app never touches a member marked @internal (ChunkStore.db); public members are fine', async () => {
    const reach = [
      "import type { ChunkStore } from '@rediver/chunk';",
      'export function f(store: ChunkStore): unknown {',
      '  return store.db;',
      '}',
      '',
    ].join('\n');
    expect(await ruleIds(reach, appProbe)).toContain('rediver/no-internal-member');
    expect(await ruleIds(reach.replace('store.db', 'store.options'), appProbe)).not.toContain(
      'rediver/no-internal-member',
    );
  });
});
