// What a published tarball of ours must (not) contain, checked on the real `pnpm pack` output by
// tools/checkPackage.mjs. Pure functions over the tarball's files, so tools/tarballRules.test.ts can feed
// them broken packages.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The workspace root: its absolute path must not leak into a tarball. */
const WORKSPACE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The files of a `.tgz` made by `pnpm pack`/`npm pack` (ustar), as a Map from the path inside the package
 * (`package/` stripped) to the bytes.
 * @param {string} path
 * @returns {Map<string, Buffer>}
 */
export function readTarball(path) {
  const tar = gunzipSync(readFileSync(path));
  const files = new Map();
  const text = (from, length) => tar.toString('utf8', from, from + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length;) {
    const name = text(at, 100);
    if (name === '') break; // the two zero blocks that end the archive
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const prefix = text(at + 345, 155);
    const type = String.fromCharCode(tar[at + 156] ?? 0);
    const full = prefix === '' ? name : `${prefix}/${name}`;
    if (type === '0' || type === '\0')
      files.set(full.replace(/^package\//, ''), tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Every string target of an `exports` value, at any depth, with the conditions that lead to it. */
function exportTargets(value, path = []) {
  if (typeof value === 'string') return [{ path, target: value }];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => exportTargets(inner, [...path, key]));
}

/**
 * What is wrong with a tarball's contents (empty: nothing).
 * @param {Map<string, Buffer>} files
 * @param {{ workspaceRoot?: string }} [options]
 * @returns {string[]}
 */
export function tarballProblems(files, options = {}) {
  const root = options.workspaceRoot ?? WORKSPACE_ROOT;
  const problems = [];
  const manifestBytes = files.get('package.json');
  if (manifestBytes === undefined) return ['no package.json'];
  const pkg = JSON.parse(manifestBytes.toString('utf8'));

  const targets = exportTargets(pkg.exports ?? {});
  for (const { path, target } of targets) {
    if (path.includes('@rediver/source')) {
      problems.push(
        `exports ${path.join(' > ')} points at ${target}: the source condition must not be published`,
      );
    } else if (!target.includes('*') && !files.has(target.replace(/^\.\//, ''))) {
      problems.push(`exports ${path.join(' > ')} points at ${target}, which is not in the tarball`);
    }
  }
  for (const field of ['main', 'module', 'types']) {
    const target = pkg[field];
    if (typeof target === 'string' && !files.has(target.replace(/^\.\//, ''))) {
      problems.push(`${field} points at ${target}, which is not in the tarball`);
    }
  }
  for (const section of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(pkg[section] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${section}.${name} is still ${range}`);
    }
  }

  for (const [name, bytes] of files) {
    if (name.endsWith('.map')) {
      problems.push(`${name}: source maps are not published (they point at src/, which is not shipped)`);
      continue;
    }
    const text = bytes.toString('utf8');
    if (/^\/\/# sourceMappingURL=/m.test(text)) problems.push(`${name}: refers to a source map`);
    if (text.includes('node_modules/.pnpm/')) problems.push(`${name}: contains a pnpm store path`);
    if (text.includes(root)) problems.push(`${name}: contains the build machine's path ${root}`);
  }
  return problems;
}
