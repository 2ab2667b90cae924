#!/usr/bin/env node
// Publishing gate for one package (run from the package's folder by its `check:package` script), on the
// tarball `pnpm pack` really makes — the same one `pnpm publish` uploads, with the workspace's
// `beforePacking` hook applied (`.pnpmfile.mjs`): `publint --strict` and `attw` on it, then our own rules
// on its contents (see `tarballProblems` in ./tarballRules.mjs). Any finding fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTarball, tarballProblems } from './tarballRules.mjs';

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) {
    cleanup();
    process.exit(r.status ?? 1);
  }
}

const out = mkdtempSync(join(tmpdir(), 'rediver-check-package-'));
const cleanup = () => rmSync(out, { recursive: true, force: true });

run('pnpm', ['pack', '--pack-destination', out], { stdio: ['ignore', 'ignore', 'inherit'] });
const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
if (tarball === undefined) {
  process.stderr.write('check:package: pnpm pack made no tarball\n');
  process.exit(1);
}
const path = join(out, tarball);
run(bin('publint'), ['--strict', path]);
run(bin('attw'), [path]);
const problems = tarballProblems(readTarball(path));
cleanup();
if (problems.length > 0) {
  process.stderr.write(`check:package: ${tarball} breaks the tarball rules:\n`);
  for (const p of problems) process.stderr.write(`  - ${p}\n`);
  process.exit(1);
}
process.stdout.write(`check:package: ${tarball} follows the tarball rules\n`);
