// Bundles a TypeScript entry (and this package's sources) into one ESM file with esbuild, the bundler tsup ships
// with. Child processes then start in a fraction of the time `node --import tsx` needs (hundreds of modules
// through the loader hooks), and without the loader's own memory.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';

const packageDir = resolve(import.meta.dirname, '../..');

/** This process's (and thread's) bundle folder. */
const outDir = join(packageDir, 'node_modules', '.cache', `rediver-chunk-${process.pid}-${threadId}`);

/** Removes every bundle this process made (call when done with them). */
export function removeBundles(): void {
  rmSync(outDir, { recursive: true, force: true });
}

/** Options of `bundleEntry`. */
export interface BundleOptions {
  /**
   * Write the bundle to this folder instead, importing the native addons by absolute path (as an
   * application's bundle that keeps them external does): nothing resolves from the bundle's location.
   */
  outDir?: string;
  /** `cjs`: a CommonJS bundle (as an application built to CommonJS has); default `esm`. */
  format?: 'esm' | 'cjs';
}

/** Bundles `entry` (relative to the package) and returns the path of the bundle (under node_modules/.cache). */
export async function bundleEntry(entry: string, options: BundleOptions = {}): Promise<string> {
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve('tsup'))('esbuild') as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  const dir = options.outDir ?? outDir;
  mkdirSync(dir, { recursive: true });
  const format = options.format ?? 'esm';
  const outfile = join(dir, `${basename(entry, '.ts')}.${format === 'esm' ? 'mjs' : 'cjs'}`);
  const here = createRequire(join(packageDir, 'package.json'));
  const external = ['better-sqlite3', 'zstd-napi'];
  await esbuild.build({
    entryPoints: [join(packageDir, entry)],
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    conditions: ['@rediver/source'],
    // Native addons stay external: resolved from the package's node_modules next to the bundle, or (outDir)
    // imported by absolute path. Bundled CommonJS calls require() for built-ins: give the ESM bundle one.
    ...(options.outDir === undefined
      ? { external }
      : {
          ...(format === 'esm'
            ? {
                banner: {
                  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
                },
              }
            : {}),
          plugins: [
            {
              name: 'absolute-externals',
              setup(build: {
                onResolve(
                  o: { filter: RegExp },
                  cb: (a: { path: string }) => { path: string; external: boolean },
                ): void;
              }) {
                build.onResolve({ filter: /^(better-sqlite3|zstd-napi)$/ }, (a) => ({
                  path: here.resolve(a.path),
                  external: true,
                }));
              },
            },
          ],
        }),
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}
