// The README's scanner examples, run exactly as printed (only `rediver-agent` is this build of it), from a project
// that has the tools installed (the conformance target, inside this package), against a real ingest server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitCommand } from '../../src/config';
import { tempDir } from '@rediver/testkit';
import { APP, KEY, runCli, startServer, TENANT, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();
const PROJECT = join(APP, 'test/fixtures/conformance/project');

/** The `rediver-agent …` lines of the README's scanner examples block. */
function examples(): string[] {
  const readme = readFileSync(join(APP, 'README.md'), 'utf8');
  const block =
    /<!-- scanner-examples:start -->([\s\S]*?)<!-- scanner-examples:end -->/.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('rediver-agent '));
}

/** What each example must deliver: tool and files with findings. */
const EXPECT: [RegExp, string[], string[]][] = [
  [
    /eslint/,
    ['ESLint'],
    ['src/server.js', 'src/key%41.js', 'src/100%/50% off.js', 'src/#hash.js', 'src/ünïcödé.js'],
  ],
  [/jscpd/, ['jscpd'], ['lib/copy-a.js']],
  [
    /secretlint/,
    ['secretlint', 'code-patterns'],
    ['config/app.env', 'config/deploy.pem', 'src/key%41.js', 'src/server.js'],
  ],
];

describe('README scanner examples (run as printed)', () => {
  const lines = examples();

  it('the README has the examples', () => {
    expect(lines).toHaveLength(EXPECT.length);
  });

  it.each(lines.map((l) => [l]))(
    '%s',
    async (line) => {
      const dir = tempDir('agent-readme-');
      cleanups.push(dir.cleanup);
      const server = await startServer(dir.path);
      cleanups.push(() => server.close());
      const [program, ...args] = splitCommand(line);
      expect(program).toBe('rediver-agent');
      const r = await runCli(
        args,
        {
          REDIVER_SERVER: server.url,
          REDIVER_API_KEY: KEY,
          REDIVER_TENANT_ID: TENANT,
          REDIVER_DATA_DIR: join(dir.path, 'agent'),
        },
        120_000,
        { cwd: PROJECT },
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [, tools, files] = EXPECT.find(([re]) => re.test(line))!;
      const stored = server.db
        .prepare('SELECT data FROM findings WHERE tenant_id = ?')
        .all(TENANT)
        .map(
          (row) =>
            JSON.parse((row as { data: string }).data) as {
              location?: { path?: string };
              properties?: { tool?: string };
            },
        );
      expect(new Set(stored.map((f) => f.properties?.tool))).toEqual(new Set(tools));
      const paths = new Set(stored.map((f) => f.location?.path ?? ''));
      for (const file of files) {
        // Relative to the repository root (this repository, when the tests run from a clone).
        expect(
          [...paths].some((p) => p === file || p.endsWith(`/project/${file}`)),
          `${file} in ${[...paths].join(', ')}`,
        ).toBe(true);
      }
      for (const p of paths) expect(p.startsWith('/')).toBe(false);
    },
    150_000,
  );
});
