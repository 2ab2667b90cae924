// Child process of bench/store.ts (bundled, run with --expose-gc): `storeChild <report.json> <dir>`.
// Parses the report the way the agent parses scanner output, then measures, side by side in this process,
// submitReport (split + serialise + checksum + compress + one SQLite transaction, WAL, synchronous=FULL)
// and the raw zstd compressor on the report's JSON bytes. The first submit runs with nothing else in
// memory than the report object, and its RSS high-water mark is the figure. Prints one JSON line.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '@rediver/core';
import { compress } from 'zstd-napi';
import { ChunkStore } from '../src/index';
import type { SubmitReportResult } from '../src/index';
import type { StoreChildResult } from './store';

/** Rounds of each side; the machine's speed drifts by tens of percent from minute to minute. */
const ROUNDS = 5;
const [jsonPath, dir] = process.argv.slice(2);
if (jsonPath === undefined || dir === undefined) throw new Error('usage: storeChild <report.json> <dir>');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const maxRssBytes = (): number => process.resourceUsage().maxRSS * 1024;

/**
 * The process's RSS high-water mark, resettable on Linux (`/proc/self/clear_refs` "5" resets VmHWM), so
 * the peak of the submit is measured, not the peak of parsing the file. Elsewhere falls back to the
 * lifetime `maxRSS` (`resettable: false`).
 */
function rssPeak(): { reset(): boolean; read(): number } {
  let resettable = false;
  return {
    reset(): boolean {
      try {
        writeFileSync('/proc/self/clear_refs', '5');
        resettable = true;
      } catch {
        resettable = false;
      }
      return resettable;
    },
    read(): number {
      if (!resettable) return maxRssBytes();
      const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      return m ? Number(m[1]) * 1024 : maxRssBytes();
    },
  };
}

const rssBaseline = process.memoryUsage().rss;
let report = JSON.parse(readFileSync(jsonPath, 'utf8')) as Report;
// The file is the report's JSON (JSON.stringify of the parsed report gives the same bytes).
const jsonBytes = statSync(jsonPath).size;
// Let V8 hand the parse's garbage back to the system (it unmaps freed pages in the background): full
// collections a moment apart until RSS stops falling.
for (let i = 0, last = Infinity; i < 8; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 250));
  const rss = process.memoryUsage().rss;
  if (i > 0 && rss > last - 1e6) break;
  last = rss;
}
const peak = rssPeak();
const peakResettable = peak.reset();
const rssBefore = process.memoryUsage().rss;

let dbCount = 0;
const submitOnce = async (): Promise<{ ms: number; res: SubmitReportResult }> => {
  const store = new ChunkStore({
    databasePath: join(dir, `chunks-${dbCount++}.db`),
    maxStorageMB: 4096,
    cleanupIntervalMinutes: 0,
    // BENCH_INLINE=1: everything on this thread (compressInWorker: false), for comparison.
    compressInWorker: process.env.BENCH_INLINE !== '1',
  });
  try {
    const t0 = performance.now();
    const res = await store.submitReport(report, { tenantId: 'bench' });
    return { ms: performance.now() - t0, res };
  } finally {
    await store.close();
  }
};
const first = await submitOnce();

const peakDuringSubmit = peak.read();

// Anchor: the raw compressor alone on the same report bytes, same level, same process.
const ts = performance.now();
const json = Buffer.from(JSON.stringify(report));
const stringifyMs = performance.now() - ts;
let raw: Buffer = Buffer.alloc(0);
const compressOnce = (): number => {
  const t1 = performance.now();
  raw = compress(json, { compressionLevel: 3 });
  return performance.now() - t1;
};

// The machine is shared: store and anchor alternate, each after a full GC, and the ratio compares the
// best time of each (the same statistic for both sides). The first submit (the memory figure) is round 0.
const storeTimes = [first.ms];
const compressTimes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  gc();
  compressTimes.push(compressOnce());
  if (round === 0) continue;
  gc();
  storeTimes.push((await submitOnce()).ms);
}
const result: StoreChildResult = {
  findings: report.findings?.length ?? 0,
  jsonBytes,
  totalChunks: first.res.totalChunks,
  originalBytes: first.res.originalBytes,
  compressedBytes: first.res.compressedBytes,
  rawCompressedBytes: raw.length,
  storeTimes,
  compressTimes,
  stringifyMs,
  rssBaseline,
  rssBefore,
  peakDuringSubmit,
  peakResettable,
};
report = undefined as unknown as Report;
process.stdout.write(`${JSON.stringify(result)}\n`);
