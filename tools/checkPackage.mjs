#!/usr/bin/env node
// Publishing gate for one package (run from the package's folder by its `check:package` script):
// `publint --strict` and `attw --pack` on what would really be published; any finding fails.
import { spawnSync } from 'node:child_process';

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(bin('publint'), ['--strict']);
run(bin('attw'), ['--pack', '.']);
