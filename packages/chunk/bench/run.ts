export {};
// Benchmark entry: `pnpm --filter @rediver/chunk bench`. Each part prints its figures and its ratio lines.
// `BENCH_ONLY=storage|upload|delivery` runs one part.
const only = process.env.BENCH_ONLY;

if (only === undefined || only === 'storage') {
  process.stdout.write('== storage (issue 6): submitReport vs raw zstd ==\n');
  const { runStoreBench } = await import('./store');
  await runStoreBench();
}

if (only === undefined || only === 'upload') {
  process.stdout.write('\n== upload (issue 7): ChunkManager vs bare HTTP client ==\n');
  const { generateReport } = await import('./store');
  const { runUploadBench } = await import('./upload');
  await runUploadBench(generateReport('bench-upload', 100_000));
}

if (only === undefined || only === 'delivery') {
  process.stdout.write(
    '\n== delivery at scale (issue 13): streaming, O(1) bookkeeping, adaptive concurrency ==\n',
  );
  const { runDeliveryBench } = await import('./delivery');
  await runDeliveryBench();
}

const { removeBundles } = await import('../test/helpers/bundle');
removeBundles();
