#!/usr/bin/env node
// Runs every package's benches in two checkouts, interleaved, and prints one table side by side.
//
//   git worktree add --detach /tmp/bench-before <before-commit>
//   git worktree add --detach /tmp/bench-after <after-commit>
//   # in each: npm_config_nodedir=/usr pnpm install --frozen-lockfile && pnpm nx run-many -t build
//   node tools/benchBeforeAfter.mjs /tmp/bench-before /tmp/bench-after [options]
//
// Options:
//   --runs N          runs per side and bench (default 2), in the order before, after, before, after, ...
//   --long-seconds S  a bench whose first before+after pair has a run longer than S seconds runs once per side
//                     (default 120)
//   --only a,b        only benches whose id contains one of these (ids look like `chunk bench[storage]`)
//   --include-e2e     also run apps/agent's bench:e2e and bench:idle (skipped by default: minutes each, and
//                     bench:idle measures an idle process, which a busy shared machine distorts)
//   --stop-at HH:MM   start no run after this UTC time (what ran so far is still printed)
//   --out DIR         keep each run's stdout/stderr there (default: a new directory under the OS temp dir)
//   --json FILE       also write every figure of this invocation's runs as JSON
//   --add FILE        put the runs of an earlier --json FILE into the table too (repeatable; with --runs 0,
//                     only prints the table of the files given)
//
// A bench is each `bench*` script in the package.json of packages/* and apps/* (of the "after" tree; a script
// missing from the "before" tree is run on the "after" side only). @rediver/chunk's bench runs as its three
// parts (BENCH_ONLY=storage|upload|delivery) so that the parts interleave too. Only one bench runs at a time.
// Figures are the `key=value` tokens of each run's stdout whose value is a number; the table shows each run's
// value, and after/before is the ratio of the means. No dependencies beyond Node 20 and pnpm on PATH.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '2' },
    'long-seconds': { type: 'string', default: '120' },
    only: { type: 'string' },
    'include-e2e': { type: 'boolean', default: false },
    'stop-at': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    add: { type: 'string', multiple: true, default: [] },
  },
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node tools/benchBeforeAfter.mjs <before-tree> <after-tree> [options]\n');
  process.exit(2);
}
const trees = { before: resolve(positionals[0]), after: resolve(positionals[1]) };
const RUNS = Number(values.runs);
const LONG_MS = Number(values['long-seconds']) * 1000;
const ONLY = values.only?.split(',').filter(Boolean);
const OUT = values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'bench-before-after-'));
mkdirSync(OUT, { recursive: true });
const SKIPPED_BY_DEFAULT = new Set(['@rediver/agent bench:e2e', '@rediver/agent bench:idle']);
// Benches that read BENCH_ONLY to run one part; each part is run as its own bench.
const PARTS = { '@rediver/chunk bench': ['storage', 'upload', 'delivery'] };

function stopAtMs() {
  if (values['stop-at'] === undefined) return Infinity;
  const [h, m] = values['stop-at'].split(':').map(Number);
  const d = new Date();
  d.setUTCHours(h, m, 0, 0);
  return d.getTime();
}
const STOP_AT = stopAtMs();

function readScripts(tree) {
  const found = new Map();
  for (const group of ['packages', 'apps']) {
    const dir = join(tree, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      for (const script of Object.keys(pkg.scripts ?? {})) {
        if (!/^bench(:|$)/.test(script)) continue;
        found.set(`${pkg.name} ${script}`, { pkg: pkg.name, dir: join(group, name), script });
      }
    }
  }
  return found;
}

function listBenches() {
  const after = readScripts(trees.after);
  const before = readScripts(trees.before);
  const benches = [];
  for (const [key, b] of after) {
    if (!values['include-e2e'] && SKIPPED_BY_DEFAULT.has(key)) continue;
    const short = `${b.pkg.replace(/^@rediver\//, '')} ${b.script}`;
    for (const part of PARTS[key] ?? [undefined]) {
      const id = part === undefined ? short : `${short}[${part}]`;
      if (ONLY && !ONLY.some((o) => id.includes(o))) continue;
      benches.push({ ...b, id, part, inBefore: before.has(key) });
    }
  }
  return benches;
}

function run(tree, bench, side, round) {
  return new Promise((done) => {
    const env = { ...process.env };
    if (bench.part !== undefined) env.BENCH_ONLY = bench.part;
    const load = loadavg()[0];
    const start = Date.now();
    const child = spawn('pnpm', ['run', '--silent', bench.script], {
      cwd: join(tree, bench.dir),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      const ms = Date.now() - start;
      const base = join(OUT, `${bench.id.replace(/[^\w.-]+/g, '_')}.${side}.${round}`);
      writeFileSync(`${base}.out`, stdout);
      writeFileSync(`${base}.err`, stderr);
      done({ side, round, code, signal, ms, load, figures: parseFigures(stdout) });
    });
  });
}

// Every `key=number` token of the output; a key seen again in the same run gets `#2`, `#3`, ...
function parseFigures(text) {
  const figures = new Map();
  const seen = new Map();
  for (const m of text.matchAll(
    /(?:^|[\s,(])([A-Za-z_][\w.]*)=(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?=$|[\s,)])/gm,
  )) {
    const n = (seen.get(m[1]) ?? 0) + 1;
    seen.set(m[1], n);
    figures.set(n === 1 ? m[1] : `${m[1]}#${n}`, Number(m[2]));
  }
  return figures;
}

const fmt = (v) =>
  v === undefined ? '–' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const benches = listBenches();
const results = [];
process.stderr.write(`benches: ${benches.map((b) => b.id).join(', ')}\nlogs: ${OUT}\n`);
for (const bench of benches) {
  const runs = [];
  for (let round = 1; round <= RUNS; round++) {
    if (round > 1 && runs.some((r) => r.ms > LONG_MS)) break;
    for (const side of ['before', 'after']) {
      if (side === 'before' && !bench.inBefore) continue;
      if (Date.now() >= STOP_AT) break;
      const r = await run(trees[side], bench, side, round);
      runs.push(r);
      process.stderr.write(
        `${new Date().toISOString()} ${bench.id} ${side} #${round}: exit ${r.code ?? r.signal}, ` +
          `${(r.ms / 1000).toFixed(1)} s, load ${r.load.toFixed(2)}, ${r.figures.size} figures\n`,
      );
    }
  }
  results.push({ bench, runs });
  if (Date.now() >= STOP_AT) break;
}

// Runs of earlier invocations first, bench by bench (a bench only they ran is added at the end).
const table = results.map(({ bench, runs }) => ({ bench, runs: [...runs] }));
for (const file of values.add.toReversed()) {
  for (const earlier of JSON.parse(readFileSync(file, 'utf8')).runs) {
    const runs = earlier.runs.map((r) => ({ ...r, figures: new Map(Object.entries(r.figures)) }));
    const row = table.find((t) => t.bench.id === earlier.bench);
    if (row) row.runs.unshift(...runs);
    else table.push({ bench: { id: earlier.bench }, runs });
  }
}

const rows = [['bench', 'key', 'before', 'after', 'after/before']];
for (const { bench, runs } of table) {
  const sides = {
    before: runs.filter((r) => r.side === 'before'),
    after: runs.filter((r) => r.side === 'after'),
  };
  const status = (rs) =>
    rs
      .map((r) => `${(r.ms / 1000).toFixed(0)} s${r.code === 0 ? '' : ` exit ${r.code ?? r.signal}`}`)
      .join(' / ');
  rows.push([bench.id, '(wall time, exit)', status(sides.before), status(sides.after), '']);
  const keys = [...new Set(runs.flatMap((r) => [...r.figures.keys()]))];
  for (const key of keys) {
    const vals = (rs) => rs.map((r) => r.figures.get(key));
    const b = vals(sides.before);
    const a = vals(sides.after);
    const bn = b.filter((v) => v !== undefined);
    const an = a.filter((v) => v !== undefined);
    const ratio = bn.length && an.length && mean(bn) !== 0 ? (mean(an) / mean(bn)).toFixed(3) : '';
    rows.push([bench.id, key, b.map(fmt).join(' / '), a.map(fmt).join(' / '), ratio]);
  }
}
process.stdout.write(
  `${rows
    .map((r) => `| ${r.join(' | ')} |`)
    .join('\n')
    .replace(/\n/, `\n|${' --- |'.repeat(5)}\n`)}\n`,
);
if (values.json) {
  const plain = results.map(({ bench, runs }) => ({
    bench: bench.id,
    runs: runs.map((r) => ({ ...r, figures: Object.fromEntries(r.figures) })),
  }));
  writeFileSync(values.json, `${JSON.stringify({ trees, runs: plain }, null, 2)}\n`);
}
