// Which streaming JSON parser reads SARIF: `@streamparser/json` against `stream-json`, on the same generated
// 100+ MB SARIF, each in its own child process (throughput and peak RSS), with `JSON.parse` of the whole file as the
// anchor. Run: `pnpm --filter @rediver/agent bench:parsers [results]` (default 320,000 results).
import { execFileSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bareStreamParse } from './sarifStream';
import { writeSyntheticSarif } from './syntheticSarif';

type Mode = 'streamparser' | 'stream-json' | 'json-parse';

async function viaStreamJson(file: string): Promise<number> {
  const { parser } = await import('stream-json');
  const { pick } = await import('stream-json/filters/pick.js');
  const { streamValues } = await import('stream-json/streamers/stream-values.js');
  const { chain } = await import('stream-chain');
  let n = 0;
  const pipeline = chain([
    createReadStream(file, { highWaterMark: 1 << 16 }),
    parser(),
    pick({ filter: /^runs\.\d+\.[^.]+\.[^.]+$/ }),
    streamValues(),
  ]);
  pipeline.on('data', () => n++);
  await new Promise<void>((resolve, reject) => {
    pipeline.on('end', resolve);
    pipeline.on('error', reject);
  });
  return n;
}

async function child(mode: Mode, file: string): Promise<void> {
  const t0 = performance.now();
  const n =
    mode === 'streamparser'
      ? await bareStreamParse(file)
      : mode === 'stream-json'
        ? await viaStreamJson(file)
        : (JSON.parse(await readFile(file, 'utf8')) as { runs: { results: unknown[] }[] }).runs[0]!.results
            .length;
  const s = (performance.now() - t0) / 1000;
  const mb = statSync(file).size / 1e6;
  process.stdout.write(
    JSON.stringify({ n, seconds: s, mbps: mb / s, peakRssMb: process.resourceUsage().maxRSS / 1024 }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as Mode, process.argv[4]!);
    return;
  }
  const results = Number(process.argv[2] ?? 320_000);
  const dir = await mkdtemp(join(tmpdir(), 'sarif-parsers-'));
  try {
    const file = join(dir, 'big.sarif');
    const bytes = await writeSyntheticSarif(file, { results });
    process.stdout.write(`sarif_mb=${(bytes / 1e6).toFixed(1)} results=${results}\n`);
    const run = (mode: Mode): { n: number; seconds: number; mbps: number; peakRssMb: number } =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ['--import', 'tsx', '--conditions=@rediver/source', import.meta.filename, '--child', mode, file],
          {
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          },
        ),
      );
    const sp = run('streamparser');
    const sj = run('stream-json');
    const jp = run('json-parse');
    for (const [name, r] of [
      ['streamparser', sp],
      ['stream_json', sj],
      ['json_parse', jp],
    ] as const) {
      process.stdout.write(
        `${name}_mb_per_s=${r.mbps.toFixed(1)} ${name}_peak_rss_mb=${r.peakRssMb.toFixed(0)} ${name}_values=${r.n}\n`,
      );
    }
    process.stdout.write(`streamparser_vs_stream_json_speed=${(sp.mbps / sj.mbps).toFixed(2)}\n`);
    process.stdout.write(`streamparser_vs_json_parse_speed=${(sp.mbps / jp.mbps).toFixed(2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
