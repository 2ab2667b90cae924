#!/usr/bin/env node
// The changeset check (CI and `npm run check`): every published package whose shipped content changed since the
// base ref needs a `.changeset/*.md` added since then that names it. "Shipped content" is what goes in its
// tarball or decides how it installs: `src/` except tests, README.md, and package.json less `devDependencies`,
// `scripts` and key order. Tests, benches, fixtures and tooling need none.
//
// The base: `--base REF`, else $CHANGESET_BASE, else `origin/main`, else `main`. On a clean clone of main (CI) the
// base is HEAD itself, so nothing has changed and the check passes: it speaks on branches, before the merge.
// With no base at all (a shallow clone without main) it says so and passes.
//
//   node tools/changesetCheck.mjs [--base REF] [--root DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = flag('--root') ?? join(dirname(fileURLToPath(import.meta.url)), '..');

function git(...gitArgs) {
  const r = spawnSync('git', gitArgs, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

function say(msg) {
  process.stdout.write(`changesets: ${msg}\n`);
}

const candidates = [flag('--base'), process.env.CHANGESET_BASE, 'origin/main', 'main'].filter(Boolean);
const base = candidates.find(
  (ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`) !== undefined,
);
if (base === undefined) {
  say(`no base ref (${candidates.join(', ')}) in this clone: nothing to compare, skipped`);
  process.exit(0);
}
const mergeBase = git('merge-base', base, 'HEAD')?.trim();
if (mergeBase === undefined) {
  say(`HEAD shares no history with ${base}: skipped`);
  process.exit(0);
}

// Working tree against the merge base: committed and uncommitted changes alike, plus new untracked files.
const changed = new Set(
  [
    ...(git('diff', '--name-only', mergeBase) ?? '').split('\n'),
    ...(git('ls-files', '--others', '--exclude-standard') ?? '').split('\n'),
  ].filter(Boolean),
);

const config = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8'));
const ignored = new Set(config.ignore ?? []);

/** package.json as it matters to a user: no devDependencies or scripts, keys sorted. */
function shipped(json) {
  if (json === undefined) return undefined;
  const { devDependencies: _d, scripts: _s, ...rest } = JSON.parse(json);
  const sort = (v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sort(v[k])]),
        )
      : v;
  return JSON.stringify(sort(rest));
}

const isShipped = (rel) =>
  (rel.startsWith('src/') && !/\.test\.ts$/.test(rel) && !rel.includes('/__fixtures__/')) ||
  rel === 'README.md';

const needs = [];
for (const name of existsSync(join(root, 'packages')) ? readdirSync(join(root, 'packages')) : []) {
  const dir = `packages/${name}`;
  const file = join(root, dir, 'package.json');
  if (!existsSync(file)) continue;
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  if (manifest.private === true || ignored.has(manifest.name)) continue;
  const files = [...changed].filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1));
  const reasons = files.filter(isShipped);
  if (files.includes('package.json')) {
    const before = git('show', `${mergeBase}:${dir}/package.json`);
    if (shipped(before) !== shipped(readFileSync(file, 'utf8'))) reasons.push('package.json');
  }
  if (reasons.length > 0) needs.push({ name: manifest.name, reasons });
}

// Changesets added since the base, and the packages their front matter names.
const named = new Set();
for (const f of changed) {
  if (!/^\.changeset\/[^/]+\.md$/.test(f) || f === '.changeset/README.md') continue;
  const path = join(root, f);
  if (!existsSync(path)) continue;
  const front = /^---\n([\s\S]*?)\n---/.exec(readFileSync(path, 'utf8'))?.[1] ?? '';
  for (const m of front.matchAll(/^\s*["']?(@?[^"':\s]+)["']?\s*:\s*(major|minor|patch)\s*$/gm))
    named.add(m[1]);
}

const missing = needs.filter((n) => !named.has(n.name));
if (missing.length === 0) {
  say(
    needs.length === 0
      ? `no published package changed since ${base}`
      : `${needs.map((n) => n.name).join(', ')} changed since ${base}, each with a changeset`,
  );
  process.exit(0);
}
for (const m of missing) {
  say(
    `${m.name} changed since ${base} (${m.reasons.slice(0, 5).join(', ')}) but no new .changeset/*.md names it`,
  );
}
say('add one with `pnpm changeset` (see .changeset/README.md)');
process.exit(1);
