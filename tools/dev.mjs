#!/usr/bin/env node
// The README's entry point: `npm run demo` / `npm test` on a machine that has only Node.js 20 and npm.
// It installs the pinned pnpm when missing, installs the workspace (native addons built from source
// against the local Node headers), then runs the task through Nx.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const task = process.argv[2] ?? 'test';
const extra = process.argv.slice(3);

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
// pnpm 12 ignores `nodedir` from .npmrc; node-gyp needs it to find Node's headers offline.
if (!env.npm_config_nodedir) {
  for (const prefix of ['/usr', '/usr/local', join(dirname(process.execPath), '..')]) {
    if (existsSync(join(prefix, 'include', 'node', 'node.h'))) {
      env.npm_config_nodedir = prefix;
      break;
    }
  }
}

function say(msg) {
  process.stderr.write(`\x1b[36m[rediver]\x1b[0m ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** Returns the command prefix that runs the pinned pnpm. */
function ensurePnpm() {
  if (output('pnpm', ['--version']) === pnpmVersion) return ['pnpm'];
  say(`installing pnpm@${pnpmVersion} (npm i -g)`);
  if (
    run('npm', ['install', '--global', `pnpm@${pnpmVersion}`], { stdio: ['ignore', 'ignore', 'inherit'] }) ===
      0 &&
    output('pnpm', ['--version']) === pnpmVersion
  ) {
    return ['pnpm'];
  }
  say(`global install not possible here; using npx -y pnpm@${pnpmVersion}`);
  return ['npx', '-y', `pnpm@${pnpmVersion}`];
}

const pnpm = ensurePnpm();
const pn = (args) => run(pnpm[0], [...pnpm.slice(1), ...args]);

say('installing the workspace (first time: ~2 min, native addons are compiled)');
if (pn(['install', '--frozen-lockfile', '--reporter=append-only']) !== 0) process.exit(1);

const nx = (targets) => pn(['exec', 'nx', 'run-many', '-t', ...targets, '--outputStyle=static', ...extra]);

/**
 * Runs every project's tests through Nx, passing the output through, and ends with one plain line
 * totalling vitest's per-project "Tests" lines: `tests: N passed, N failed, N skipped`.
 */
function testAll() {
  return new Promise((resolve) => {
    const args = [...pnpm.slice(1), 'exec', 'nx', 'run-many', '-t', 'test', '--outputStyle=static', ...extra];
    const child = spawn(pnpm[0], args, { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] });
    const totals = { passed: 0, failed: 0, skipped: 0 };
    let pending = '';
    const scan = (line) => {
      // eslint-disable-next-line no-control-regex
      const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
      if (!/^\s*Tests\s+\d/.test(plain)) return;
      for (const key of Object.keys(totals)) {
        const m = new RegExp(`(\\d+) ${key}`).exec(plain);
        if (m) totals[key] += Number(m[1]);
      }
    };
    child.stdout.on('data', (buf) => {
      process.stdout.write(buf);
      const lines = (pending + buf.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(scan);
    });
    child.on('close', (code) => {
      scan(pending);
      process.stdout.write(
        `\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`,
      );
      resolve(code ?? 1);
    });
  });
}

let status;
switch (task) {
  case 'test':
    status = await testAll();
    break;
  case 'check':
    status = nx(['lint', 'typecheck', 'check:package']);
    // Whole-repository checks (CONTRIBUTING.md, "CI checks"): package.json consistency (sherif), unused files,
    // exports and dependencies (knip), formatting, and a changeset for every published package changed since main.
    for (const [what, args] of [
      ['sherif: package.json consistency across the workspace', ['exec', 'sherif']],
      ['knip: unused files, exports and dependencies', ['exec', 'knip', '--no-progress']],
      ['prettier --check .', ['exec', 'prettier', '--check', '--log-level=warn', '.']],
      ['changesets: every published package changed since main has one', ['run', 'check:changesets']],
    ]) {
      if (status !== 0) break;
      say(what);
      status = pn(args);
    }
    // Every package as a user installs it: packed, installed with npm in a fresh project, README quick starts
    // run with plain node (ESM and CommonJS) and type-checked (tools/packAndUse/run.ts).
    if (status === 0) {
      say('pack-and-use: every package packed, installed with npm and its README quick starts run');
      status = pn(['exec', 'tsx', 'tools/packAndUse/run.ts']);
    }
    break;
  case 'demo':
    // The sample agent runs from its sources (tsx): nothing to build first.
    say('running the sample agent demo (apps/agent): local ingest server, scans, delivery, counts');
    status = pn(['--filter', '@rediver/agent', '--reporter=silent', 'run', 'demo', ...extra]);
    break;
  default:
    say(`unknown task ${task}: use test, check or demo`);
    status = 2;
}
process.exit(status);
