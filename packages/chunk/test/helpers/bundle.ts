// Bundles a TypeScript entry (and this package's sources) into one ESM file with esbuild, the bundler tsup ships
// with. Child processes then start in a fraction of the time `node --import tsx` needs (hundreds of modules
// through the loader hooks), and without the loader's own memory.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

const packageDir = resolve(import.meta.dirname, '../..');

/** Bundles `entry` (relative to the package) and returns the path of the bundle (under node_modules/.cache). */
export async function bundleEntry(entry: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve('tsup'))('esbuild') as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  const outDir = join(packageDir, 'node_modules', '.cache', `rediver-chunk-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
  await esbuild.build({
    entryPoints: [join(packageDir, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@rediver/source'],
    // Native addons stay external (resolved from the package's node_modules next to the bundle).
    external: ['better-sqlite3', 'zstd-napi'],
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}
