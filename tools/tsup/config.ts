import type { Options } from 'tsup';

/** Options a package may set on top of the shared build. */
export interface PackageBuildOptions {
  /** Entry points relative to the package; defaults to `src/index.ts`. */
  entry?: Options['entry'];
  /** Build ESM + CJS (libraries) or ESM only (apps). */
  formats?: Options['format'];
  /** Emit declaration files (libraries do; apps don't need to). */
  dts?: boolean;
  /** Add a `#!/usr/bin/env node` banner (CLIs). */
  shebang?: boolean;
  /** Give the CommonJS build a working `import.meta.url` (code that locates files next to itself). */
  shims?: boolean;
}

/** The variable the CommonJS build reads in place of `import.meta.url` (see `shims`). */
const IMPORT_META_URL = '__rediverImportMetaUrl';

/**
 * The one build every package shares: dual ESM/CJS with declarations for both, Node 20 target,
 * no bundled dependencies (they stay `import`s so users dedupe them), clean `dist/` each time.
 *
 * No source maps: the output is unminified, readable JavaScript whose stack traces point at real lines,
 * and maps were 61-63% of each tarball while pointing at `src/`, which is not published.
 *
 * `shims` is our own one-line `import.meta.url` for the CommonJS build rather than tsup's: tsup injects a
 * file from its own install, and esbuild then writes that file's path (a pnpm store path) into the bundle.
 */
export function createTsupConfig(options: PackageBuildOptions = {}): Options {
  const shebang = options.shebang ? '#!/usr/bin/env node\n' : '';
  return {
    entry: options.entry ?? ['src/index.ts'],
    format: options.formats ?? ['esm', 'cjs'],
    dts: options.dts ?? true,
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    clean: true,
    splitting: false,
    treeshake: true,
    shims: false,
    esbuildOptions(esbuild, context) {
      const shim =
        options.shims && context.format === 'cjs'
          ? `var ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;\n`
          : '';
      if (shim !== '') esbuild.define = { ...esbuild.define, 'import.meta.url': IMPORT_META_URL };
      if (shebang + shim !== '') esbuild.banner = { js: (shebang + shim).trimEnd() };
    },
  };
}
