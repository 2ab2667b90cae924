// Bundles the CLI's TypeScript (this app and the workspace packages, through the `@rediver/source` condition)
// into one ESM file with esbuild, the bundler tsup ships with. Native addons and pino (worker-thread transports
// load files next to it) stay external, imported from where pnpm installed them. A child process then starts in
// a fraction of the time `node --import tsx` needs on a loaded machine.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const appDir = resolve(import.meta.dirname, '../..');

interface ResolveArgs {
  path: string;
  resolveDir: string;
}
interface PluginBuild {
  onResolve(
    options: { filter: RegExp },
    cb: (args: ResolveArgs) => { path: string; external: boolean } | undefined,
  ): void;
}

let built: Promise<string> | undefined;

/** Bundles `src/cli.ts` once per process and returns the bundle's path. */
export function bundleCli(): Promise<string> {
  built ??= (async () => {
    const require = createRequire(import.meta.url);
    const esbuild = createRequire(require.resolve('tsup'))('esbuild') as {
      build(options: Record<string, unknown>): Promise<unknown>;
    };
    const outDir = join(appDir, 'node_modules', '.cache', `rediver-agent-e2e-${process.pid}`);
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, 'cli.mjs');
    await esbuild.build({
      entryPoints: [join(appDir, 'src/cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@rediver/source'],
      outfile,
      logLevel: 'warning',
      // Bundled CommonJS code calls require() for Node built-ins; give the ESM bundle one.
      banner: {
        js: "import { createRequire as __rediverCreateRequire } from 'node:module'; const require = __rediverCreateRequire(import.meta.url);",
      },
      plugins: [
        {
          name: 'third-party-external',
          setup(build: PluginBuild) {
            build.onResolve({ filter: /^(better-sqlite3|zstd-napi|pino)$/ }, (args) => {
              // Resolved from the importing package's folder (pnpm keeps each package's deps next to it).
              const path = createRequire(join(args.resolveDir, 'noop.js')).resolve(args.path);
              return { path, external: true };
            });
          },
        },
      ],
    });
    return outfile;
  })();
  return built;
}
