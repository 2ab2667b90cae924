// Bench: the streaming SARIF conversion (`openSarifReport`) in bounded memory. Generates a SARIF of 10,000 and of
// 320,000 results (≈ 125 MB, with the 700 source files they point at, so fingerprints are computed from real
// content), converts each in its own child process, and prints peak RSS and throughput side by side, with two
// anchors on the large file: the bare streaming parse (same parser, no conversion) and a whole `JSON.parse`.
//   pnpm --filter @rediver/agent bench:sarif [smallResults] [largeResults]
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tokenizer, TokenParser } from '@streamparser/json';
import { repositoryAsset } from '../src/repository';
import { openSarifReport } from '../src/sarif';
import { writeSyntheticSarif } from './syntheticSarif';

/** Peak RSS and rate of one conversion (run in a child process). */
export interface StreamMeasure {
  findings: number;
  seconds: number;
  peakRssMb: number;
}

/** Times `count` (results read) and reports the process's peak RSS. */
async function timed(count: () => Promise<number>): Promise<StreamMeasure> {
  const t0 = performance.now();
  const findings = await count();
  return {
    findings,
    seconds: (performance.now() - t0) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function convert(file: string, root: string): Promise<number> {
  const stream = await openSarifReport(file, {
    reportId: 'bench-stream',
    target: root,
    asset: repositoryAsset({ path: root }),
    scannerName: 'bench',
    startedAt: new Date(),
    collectSecrets: false,
  });
  let findings = 0;
  let bytes = 0;
  for await (const f of stream.findings) {
    findings++;
    // Touch what a consumer serialises, then let it go.
    bytes += JSON.stringify(f).length;
  }
  await stream.final();
  void bytes;
  return findings;
}

/** The anchor: the bare streaming parse of a SARIF file (same parser, same paths), no conversion. */
export async function bareStreamParse(file: string): Promise<number> {
  let results = 0;
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({ paths: ['$.version', '$.runs.*.*.*'], keepStack: false });
  tokenizer.onToken = (t) => parser.write(t);
  parser.onValue = ({ stack }) => {
    if (stack[3]?.key === 'results') results++;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 18 }))
    tokenizer.write(chunk as Buffer);
  return results;
}

async function jsonParse(file: string): Promise<number> {
  return (JSON.parse(await readFile(file, 'utf8')) as { runs: { results: unknown[] }[] }).runs[0]!.results
    .length;
}

/** Runs one measurement in a fresh Node process (own peak RSS). */
export function measureInChild(
  mode: 'convert' | 'parse' | 'json-parse',
  file: string,
  root: string,
): StreamMeasure {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@rediver/source',
      join(import.meta.dirname, 'sarifStream.ts'),
      '--child',
      mode,
      file,
      root,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as StreamMeasure;
}

/** Writes a SARIF of `results` results (and its source files) under `dir`; returns its path and size. */
export async function syntheticScan(
  dir: string,
  results: number,
): Promise<{ file: string; root: string; mb: number }> {
  const root = join(dir, 'repo');
  const file = join(dir, `scan-${results}.sarif`);
  const bytes = await writeSyntheticSarif(file, { results, sourceRoot: root });
  return { file, root, mb: bytes / 1e6 };
}

async function main(): Promise<void> {
  const [flag, mode, file, root] = process.argv.slice(2);
  if (flag === '--child') {
    const m = await timed(() =>
      mode === 'json-parse'
        ? jsonParse(file!)
        : mode === 'parse'
          ? bareStreamParse(file!)
          : convert(file!, root!),
    );
    process.stdout.write(`${JSON.stringify(m)}\n`);
    return;
  }
  const small = Number(process.argv[2] ?? 10_000);
  const large = Number(process.argv[3] ?? 320_000);
  const dir = await mkdtemp(join(tmpdir(), 'sarif-stream-bench-'));
  try {
    const s = await syntheticScan(dir, small);
    const l = await syntheticScan(join(dir, 'l'), large);
    const ms = measureInChild('convert', s.file, s.root);
    const ml = measureInChild('convert', l.file, l.root);
    const mj = measureInChild('json-parse', l.file, l.root);
    const mp = measureInChild('parse', l.file, l.root);
    const line = (k: string, v: string | number): void => void process.stdout.write(`${k}=${v}\n`);
    line('results_small', ms.findings);
    line('sarif_mb_small', s.mb.toFixed(1));
    line('peak_rss_mb_small', ms.peakRssMb.toFixed(0));
    line('results_large', ml.findings);
    line('sarif_mb_large', l.mb.toFixed(1));
    line('peak_rss_mb_large', ml.peakRssMb.toFixed(0));
    line('rss_ratio_large_vs_small', (ml.peakRssMb / ms.peakRssMb).toFixed(2));
    line('findings_per_s_large', Math.round(ml.findings / ml.seconds));
    line('sarif_mb_per_s_large', (l.mb / ml.seconds).toFixed(1));
    line('anchor_json_parse_peak_rss_mb', mj.peakRssMb.toFixed(0));
    line('anchor_json_parse_mb_per_s', (l.mb / mj.seconds).toFixed(1));
    line('rss_vs_json_parse', (ml.peakRssMb / mj.peakRssMb).toFixed(2));
    line('anchor_bare_stream_parse_mb_per_s', (l.mb / mp.seconds).toFixed(1));
    line('convert_vs_bare_parse_speed', (mp.seconds / ml.seconds).toFixed(2));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) await main();
