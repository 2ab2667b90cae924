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

/**
 * The one build every package shares: dual ESM/CJS with declarations for both, Node 20 target,
 * no bundled dependencies (they stay `import`s so users dedupe them), clean `dist/` each time.
 */
export function createTsupConfig(options: PackageBuildOptions = {}): Options {
  return {
    entry: options.entry ?? ['src/index.ts'],
    format: options.formats ?? ['esm', 'cjs'],
    dts: options.dts ?? true,
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    shims: options.shims ?? false,
    ...(options.shebang ? { banner: { js: '#!/usr/bin/env node' } } : {}),
  };
}
