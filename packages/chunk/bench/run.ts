// Benchmark entry: `pnpm --filter @rediver/chunk bench`. Each half prints its figures and its ratio line.
import { runStoreBench } from './store';

process.stdout.write('== storage (issue 6): submitReport vs raw zstd ==\n');
await runStoreBench();

process.stdout.write('\n== upload (issue 7): ChunkManager vs bare HTTP client ==\n');
{
  const { generateReport } = await import('./store');
  const { runUploadBench } = await import('./upload');
  await runUploadBench(generateReport('bench-upload', 100_000));
}

const { removeBundles } = await import('../test/helpers/bundle');
removeBundles();
