#!/usr/bin/env node
// One version source per package: `package.json`'s `version`. A package that reports its version at run time
// (user agents, `--version`, heartbeats) imports `VERSION` from `src/version.ts`, which this script writes from
// package.json. It runs before every build (`build` script) and after `changeset version` (`version-packages`);
// `tools/versionFile.test.ts` fails when a committed file has drifted from its package.json.
//
//   node tools/versionFile.mjs [packageDir...]          write (default: every package with a src/version.ts)
//   node tools/versionFile.mjs --check [packageDir...]  exit 1, naming the stale files, instead of writing
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

/** The contents of `src/version.ts` for `version`. */
export function versionSource(version) {
  return (
    '// Written from package.json by tools/versionFile.mjs (before each build): edit the version there, not here.\n' +
    "/** This package's version (its package.json `version`), for user agents and diagnostics. */\n" +
    `export const VERSION = '${String(version).replace(/['\\]/g, '\\$&')}';\n`
  );
}

/** Package directories (absolute) that have a `src/version.ts`. */
export function versionedPackages(root = ROOT) {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const dir = join(base, name);
      if (existsSync(join(dir, 'src/version.ts')) && existsSync(join(dir, 'package.json'))) dirs.push(dir);
    }
  }
  return dirs.sort();
}

/** `{ file, expected, actual }` of each package directory whose `src/version.ts` differs from its package.json. */
export function staleVersionFiles(dirs) {
  const stale = [];
  for (const dir of dirs) {
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = join(dir, 'src/version.ts');
    const expected = versionSource(version);
    const actual = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (actual !== expected) stale.push({ file, expected, actual });
  }
  return stale;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const named = args.filter((a) => a !== '--check').map((d) => resolve(d));
  const stale = staleVersionFiles(named.length > 0 ? named : versionedPackages());
  if (check) {
    for (const s of stale) process.stderr.write(`stale: ${s.file} (run node tools/versionFile.mjs)\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    // Only changed files are written: an unchanged file keeps its mtime (and Nx its cache).
    for (const s of stale) writeFileSync(s.file, s.expected);
  }
}
