// Benchmark entry: `pnpm --filter @rediver/ingest-server-app bench`. Prints a ratio against the anchor.
process.stdout.write('no benchmark yet\n');
