import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// An app: ESM only, no declarations; the CLI gets a shebang. The body worker is an entry of its own: the pool
// starts `dist/bodyWorker.js`, next to the bundle that runs it.
export default defineConfig(
  createTsupConfig({
    entry: { index: 'src/index.ts', cli: 'src/cli.ts', bodyWorker: 'src/internal/bodyWorker.ts' },
    formats: ['esm'],
    dts: false,
    shebang: true,
  }),
);
