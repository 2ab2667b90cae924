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
});
