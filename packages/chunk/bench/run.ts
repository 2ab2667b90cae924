// Benchmark entry: `pnpm --filter @rediver/chunk bench`. Each half prints its figures and its ratio line.
import { runStoreBench } from './store';

process.stdout.write('== storage (issue 6): submitReport vs raw zstd ==\n');
await runStoreBench();
