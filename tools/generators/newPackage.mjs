#!/usr/bin/env node
// Creates the standard package skeleton:
//   node tools/generators/newPackage.mjs <name> [--app] [--description "..."]
// <name> is the folder name; the package is `@rediver/<name>` (apps are private).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { app: { type: 'boolean', default: false }, description: { type: 'string', default: '' } },
});
const name = positionals[0];
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write(
    'usage: newPackage.mjs <name> [--app] [--description "..."] (name: lower-case, dashes)\n',
  );
  process.exit(2);
}
const isApp = values.app;
const dir = join(root, isApp ? 'apps' : 'packages', name);
if (existsSync(dir)) {
  process.stderr.write(`${dir} already exists\n`);
  process.exit(1);
}
const pkgName = `@rediver/${name}`;
const description = values.description || `Rediver agent SDK: ${name}.`;

/** Package manifest: dual ESM/CJS exports with types for both, plus the source condition for tests. */
function manifest() {
  const exportsMap = {
    '.': {
      '@rediver/source': './src/index.ts',
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  };
  const pkg = {
    name: pkgName,
    version: '0.0.0',
    description,
    license: 'Apache-2.0',
    type: 'module',
    ...(isApp ? { private: true } : {}),
    sideEffects: false,
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.cts',
    exports: exportsMap,
    files: ['dist'],
    engines: { node: '>=20' },
    repository: {
      type: 'git',
      url: 'git+https://github.com/rediverio/agent-sdk-ts.git',
      directory: `${isApp ? 'apps' : 'packages'}/${name}`,
    },
    scripts: {
      build: 'tsup',
      typecheck: 'tsc -p tsconfig.json',
      lint: 'eslint --max-warnings=0 .',
      test: 'vitest run',
      bench: 'tsx --conditions=@rediver/source bench/run.ts',
      ...(isApp ? {} : { 'check:package': 'node ../../tools/checkPackage.mjs' }),
    },
    dependencies: name === 'core' ? undefined : { '@rediver/core': 'workspace:^' },
    publishConfig: isApp ? undefined : { access: 'public' },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

const files = {
  'package.json': manifest(),
  'tsconfig.json':
    JSON.stringify(
      { extends: '../../tsconfig.base.json', include: ['src', 'test', 'bench', '*.ts'] },
      null,
      2,
    ) + '\n',
  'tsup.config.ts': `import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

export default defineConfig(createTsupConfig());
`,
  'vitest.config.ts': `import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  // CI runs several projects at once on 2 cores: generous timeouts keep a loaded machine from failing a test.
  test: { name: '${pkgName}', environment: 'node', testTimeout: 30_000, hookTimeout: 30_000 },
});
`,
  // The quick start is run and type-checked by the pack-and-use check (tools/packAndUse): keep it runnable.
  'README.md': `# ${pkgName}

${description}

## Install

\`\`\`sh
pnpm add ${pkgName} @rediver/core
\`\`\`

## Use

<!-- quick-start -->

\`\`\`ts
import { VERSION } from '${pkgName}';

console.log(VERSION);
\`\`\`

_Document the public API here._
`,
  'src/index.ts': `/** Package version, for user agents and diagnostics. */
export const VERSION = '0.0.0';
`,
  'src/index.test.ts': `import { describe, expect, it } from 'vitest';
import { VERSION } from './index';

describe('${pkgName}', () => {
  it('exposes a semver version', () => {
    expect(VERSION).toMatch(/^\\d+\\.\\d+\\.\\d+/);
  });
});
`,
  'bench/run.ts': `// Benchmark entry: \`pnpm --filter ${pkgName} bench\`. Prints a ratio against the issue's anchor.
process.stdout.write('no benchmark yet\\n');
`,
};

for (const [rel, content] of Object.entries(files)) {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
process.stdout.write(`created ${pkgName} in ${dir}\nnext: pnpm install\n`);
