// Benchmark entry: `pnpm --filter @rediver/client bench`. Prints a ratio against the anchor.
process.stdout.write('no benchmark yet\n');
