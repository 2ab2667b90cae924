// The pack-and-use check: every publishable package as a new user gets it. It builds and packs each package
// (`pnpm pack`, the tarball `pnpm publish` would upload), installs the tarballs with npm into a fresh project
// outside the workspace (one per package, with exactly what its README's install line adds), and for each
// README quick start (see readme.ts): runs it as an ES module and as CommonJS with plain `node` (each must end by
// itself with exit 0) and type-checks it with `tsc --strict` under `module: nodenext` and `moduleResolution:
// bundler`. It also reads the README as an npm user would (readmeProblems). One line per package, then details.
//
//   pnpm pack-and-use                  every package
//   pnpm pack-and-use audit chunk      only these (their @rediver dependencies are packed too)
//   pnpm pack-and-use --keep audit     keep the temporary projects and print where they are
//
// Needs the npm registry for third-party dependencies and typescript (npm's cache makes repeats quick); native
// dependencies build from source against the local Node headers (npm_config_nodedir). Known failures waiting
// for a fix are listed in expectedFailures.json: reported, not fatal, and fatal once they pass (remove them).
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extractQuickStarts, installedPackages, readmeProblems, toCommonJs } from './readme';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const here = dirname(fileURLToPath(import.meta.url));

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Outcome {
  /** What was checked: `install`, `readme`, `quick start 1 esm`, `quick start 1 tsc bundler` ... */
  step: string;
  ok: boolean;
  /** Output of a failed step (trimmed). */
  detail: string;
  seconds: number;
}

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs a command, capturing its output; kills it after `timeoutMs`. */
function run(
  cmd: string,
  args: string[],
  where: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  const { cwd, env, timeoutMs } = where;
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      output += `\n[pack-and-use] killed after ${timeoutMs / 1000} s: it did not end by itself\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => (output += String(err)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** The environment of the check's commands: Node's headers for native builds, nothing of the workspace's scripts. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  // What pnpm sets for the script that started this one; the user's npm_config_* (registry, cache) stay.
  for (const key of Object.keys(env)) {
    if (/^npm_(?:lifecycle_|package_|execpath$|node_execpath$|config_user_agent$)/.test(key)) delete env[key];
  }
  // node-gyp compiles native dependencies with one make job per CPU.
  env.JOBS ??= 'max';
  if (env.npm_config_nodedir === undefined) {
    for (const prefix of ['/usr', '/usr/local', join(dirname(process.execPath), '..')]) {
      if (existsSync(join(prefix, 'include', 'node', 'node.h'))) {
        env.npm_config_nodedir = prefix;
        break;
      }
    }
  }
  return env;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Every publishable package: folder name and manifest. */
function publishable(): { dir: string; manifest: Manifest }[] {
  return readdirSync(join(root, 'packages'))
    .map((name) => ({
      dir: join(root, 'packages', name),
      file: join(root, 'packages', name, 'package.json'),
    }))
    .filter(({ file }) => existsSync(file))
    .map(({ dir, file }) => ({ dir, manifest: readJson<Manifest>(file) }))
    .filter(({ manifest }) => manifest.private !== true);
}

const trim = (text: string, lines = 25): string => {
  const all = text.trim().split('\n');
  return all.length <= lines
    ? all.join('\n')
    : [...all.slice(0, lines), `… (${all.length - lines} more lines)`].join('\n');
};

async function checkPackage(
  name: string,
  dir: string,
  ctx: { tarballs: Map<string, string>; workRoot: string; env: NodeJS.ProcessEnv },
): Promise<Outcome[]> {
  const { tarballs, workRoot, env } = ctx;
  const outcomes: Outcome[] = [];
  const markdown = readFileSync(join(dir, 'README.md'), 'utf8');
  const problems = readmeProblems(markdown, name);
  outcomes.push({
    step: 'readme',
    ok: problems.length === 0,
    detail: problems.map((p) => (p.line > 0 ? `README.md:${p.line}: ${p.problem}` : p.problem)).join('\n'),
    seconds: 0,
  });

  // A fresh project with exactly what the install line adds (local tarballs for our packages); any other
  // @rediver package a dependency needs resolves to its local tarball too, never to the registry.
  const project = join(workRoot, name.replace('@rediver/', ''));
  mkdirSync(project, { recursive: true });
  const installed = installedPackages(markdown) ?? [name];
  const dependencies: Record<string, string> = {};
  for (const pkg of installed) dependencies[pkg] = tarballs.has(pkg) ? `file:${tarballs.get(pkg)}` : 'latest';
  const overrides: Record<string, string> = {};
  for (const [pkg, tarball] of tarballs) if (!(pkg in dependencies)) overrides[pkg] = `file:${tarball}`;
  const workspace = readJson<Manifest>(join(root, 'package.json')).devDependencies ?? {};
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: `pack-and-use-${name.replace('@rediver/', '')}`,
        private: true,
        type: 'module',
        dependencies,
        devDependencies: { typescript: workspace.typescript, '@types/node': workspace['@types/node'] },
        overrides,
      },
      null,
      2,
    )}\n`,
  );
  const install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'],
    { cwd: project, env, timeoutMs: 20 * 60_000 },
  );
  outcomes.push({
    step: 'install',
    ok: install.code === 0,
    detail: trim(install.output),
    seconds: install.seconds,
  });
  if (install.code !== 0) return outcomes;

  const quickStarts = extractQuickStarts(markdown);
  const tsFiles: string[] = [];
  for (const qs of quickStarts) {
    const base = `quick-start-${qs.index}`;
    writeFileSync(join(project, `${base}.mjs`), qs.code);
    writeFileSync(join(project, `${base}.cjs`), toCommonJs(qs.code));
    writeFileSync(join(project, `${base}.ts`), qs.code);
    tsFiles.push(`${base}.ts`);
    for (const [kind, file] of [
      ['esm', `${base}.mjs`],
      ['cjs', `${base}.cjs`],
    ] as const) {
      // Each run in its own folder with its own HOME: quick starts may write files (`~/.rediver/...`).
      const cwd = join(project, 'runs', `${base}-${kind}`);
      mkdirSync(join(cwd, 'home'), { recursive: true });
      const result = await run(process.execPath, [join(project, file)], {
        cwd,
        env: { ...env, HOME: join(cwd, 'home') },
        timeoutMs: 120_000,
      });
      outcomes.push({
        step: `quick start ${qs.index} ${kind}`,
        ok: result.code === 0,
        detail: result.code === 0 ? '' : `exit code ${String(result.code)}\n${trim(result.output)}`,
        seconds: result.seconds,
      });
    }
  }
  if (tsFiles.length === 0) return outcomes;
  const modes = {
    nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { module: 'esnext', moduleResolution: 'bundler' },
  };
  for (const [mode, resolution] of Object.entries(modes)) {
    const config = `tsconfig.${mode}.json`;
    writeFileSync(
      join(project, config),
      `${JSON.stringify(
        {
          compilerOptions: {
            ...resolution,
            target: 'es2022',
            lib: ['es2023'],
            types: ['node'],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: tsFiles,
        },
        null,
        2,
      )}\n`,
    );
    const tsc = await run(
      process.execPath,
      [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config],
      { cwd: project, env, timeoutMs: 120_000 },
    );
    outcomes.push({
      step: `tsc --strict ${mode}`,
      ok: tsc.code === 0,
      detail: trim(tsc.output),
      seconds: tsc.seconds,
    });
  }
  return outcomes;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { keep: { type: 'boolean', default: false } },
  });
  const started = performance.now();
  const env = baseEnv();
  const packages = publishable();
  const wanted = positionals.map((p) => (p.startsWith('@') ? p : `@rediver/${p}`));
  const unknown = wanted.filter((w) => !packages.some((p) => p.manifest.name === w));
  if (unknown.length > 0) {
    say(
      `pack-and-use: no publishable package ${unknown.join(', ')} (have ${packages.map((p) => p.manifest.name).join(', ')})`,
    );
    return 2;
  }
  const selected = wanted.length === 0 ? packages : packages.filter((p) => wanted.includes(p.manifest.name));
  const expected = readJson<Record<string, string>>(join(here, 'expectedFailures.json'));

  say(`pack-and-use: building ${packages.length} packages`);
  const projects = packages.map((p) => p.manifest.name).join(',');
  const build = await run(
    'pnpm',
    ['exec', 'nx', 'run-many', '-t', 'build', `--projects=${projects}`, '--outputStyle=static'],
    { cwd: root, env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' }, timeoutMs: 20 * 60_000 },
  );
  if (build.code !== 0) {
    say(`pack-and-use: build failed\n${trim(build.output, 60)}`);
    return 1;
  }
  say(`pack-and-use: built in ${build.seconds.toFixed(0)} s; packing`);
  const packStarted = performance.now();

  const workRoot = mkdtempSync(join(tmpdir(), 'rediver-pack-and-use-'));
  const tarballDir = join(workRoot, 'tarballs');
  mkdirSync(tarballDir);
  const tarballs = new Map<string, string>();
  for (const { dir, manifest } of packages) {
    const before = new Set(readdirSync(tarballDir));
    const pack = await run('pnpm', ['pack', '--pack-destination', tarballDir], {
      cwd: dir,
      env: process.env,
      timeoutMs: 5 * 60_000,
    });
    const made = readdirSync(tarballDir).find((f) => !before.has(f));
    if (pack.code !== 0 || made === undefined) {
      say(`pack-and-use: pnpm pack failed for ${manifest.name}\n${trim(pack.output)}`);
      return 1;
    }
    tarballs.set(manifest.name, join(tarballDir, made));
  }

  say(
    `pack-and-use: packed in ${((performance.now() - packStarted) / 1000).toFixed(0)} s into ${tarballDir}`,
  );
  // Two packages at a time, the one with the most dependencies (native builds) first: its npm install is the
  // long pole, and the others' installs, runs and type checks fit beside it.
  const queue = [...selected].sort(
    (a, b) =>
      Object.keys(b.manifest.dependencies ?? {}).length - Object.keys(a.manifest.dependencies ?? {}).length,
  );
  const done = new Map<string, Outcome[]>();
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const { dir, manifest } = next;
      const outcomes = await checkPackage(manifest.name, dir, { tarballs, workRoot, env });
      done.set(manifest.name, outcomes);
      const failed = outcomes.filter((o) => !o.ok);
      const install = outcomes.find((o) => o.step === 'install');
      const status =
        failed.length === 0 ? 'ok' : expected[manifest.name] !== undefined ? 'EXPECTED FAILURE' : 'FAILED';
      say(
        `pack-and-use: ${manifest.name.padEnd(18)} ${status.padEnd(16)} ` +
          `${outcomes.length - failed.length}/${outcomes.length} steps ok` +
          (install === undefined ? '' : `, npm install ${install.seconds.toFixed(0)} s`) +
          `, ${outcomes.reduce((sum, o) => sum + o.seconds, 0).toFixed(0)} s in all` +
          (failed.length === 0 ? '' : `; failed: ${failed.map((o) => o.step).join(', ')}`),
      );
    }
  };
  await Promise.all([worker(), worker()]);
  const results = selected.map(({ manifest }) => ({
    name: manifest.name,
    outcomes: done.get(manifest.name) ?? [],
  }));

  let fatal = 0;
  for (const { name, outcomes } of results) {
    const failed = outcomes.filter((o) => !o.ok);
    const reason = expected[name];
    if (failed.length === 0 && reason !== undefined) {
      fatal++;
      say(`\n${name} passes now: remove it from tools/packAndUse/expectedFailures.json`);
    }
    if (failed.length === 0) continue;
    if (reason === undefined) fatal++;
    say(`\n${name}${reason === undefined ? '' : ` (expected: ${reason})`}`);
    for (const o of failed) say(`  ✗ ${o.step}\n${o.detail.replace(/^/gm, '      ')}`);
  }
  const seconds = (performance.now() - started) / 1000;
  say(
    `\npack-and-use: ${results.filter((r) => r.outcomes.every((o) => o.ok)).length} passed, ` +
      `${results.filter((r) => r.outcomes.some((o) => !o.ok) && expected[r.name] !== undefined).length} expected failures, ` +
      `${fatal} failed, in ${seconds.toFixed(0)} s (pack_and_use_seconds=${seconds.toFixed(0)})`,
  );
  if (values.keep) say(`pack-and-use: projects kept in ${workRoot}`);
  else rmSync(workRoot, { recursive: true, force: true });
  if (fatal > 0) {
    say(
      'pack-and-use: run one package again with `pnpm pack-and-use <name>` (add --keep to look at its project)',
    );
  }
  return fatal === 0 ? 0 : 1;
}

process.exitCode = await main();
