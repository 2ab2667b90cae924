// Benchmark entry: `pnpm --filter @rediver/pipeline bench`. Prints a ratio against the anchor.
process.stdout.write('no benchmark yet\n');
