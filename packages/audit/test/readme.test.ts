// The README quick start runs as written (issue 15): extracted from the README, run as an ES module with plain
// node (sources through tsx) in a fresh HOME, it ends by itself with exit 0 and an intact, sealed log.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { useTempDir } from '@rediver/testkit/vitest';
import { runFixture } from './helpers';

const tmp = useTempDir('rediver-audit-');

it('the quick start runs as written and ends by itself with exit 0', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const use = readme.slice(readme.indexOf('## Use'));
  const code = /```ts\n([\s\S]*?)```/.exec(use)![1]!;
  expect(code).not.toMatch(/\busing\b/);
  // Inside the package, so that `@rediver/audit` resolves to itself (package self-reference).
  const file = join(import.meta.dirname, '..', `.quickstart-${process.pid}.mjs`);
  await writeFile(file, code);
  try {
    const run = runFixture(file, [], { ...process.env, HOME: tmp.path });
    const { code: exit } = await run.exited;
    const out = run.out();
    expect(out).toContain('audit verification key (shown once');
    expect(out).toContain('audit log intact');
    expect(out).toContain('sealed with the forward-secure key');
    expect(exit, out).toBe(0);
    // The path verified is the one logged to.
    expect((await readFile(join(tmp.path, '.rediver', 'audit.log'), 'utf8')).split('\n')).toHaveLength(6);
  } finally {
    await rm(file, { force: true });
  }
}, 60_000);
