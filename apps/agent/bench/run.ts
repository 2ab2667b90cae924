// Benchmark entry: `pnpm --filter @rediver/agent-app bench`. Prints a ratio against the anchor.
process.stdout.write('no benchmark yet\n');
