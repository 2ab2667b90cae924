import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// An app: ESM only, the library entry and the CLI (src/cli.ts keeps its `#!/usr/bin/env node`). Code splitting
// keeps each command's `import()` a separate file: `--version` or `status` never load fastify, the HTTP client or SQLite,
// and the daemon loads only what `run` needs (the production footprint, see bench/idle.ts).
export default defineConfig({
  ...createTsupConfig({ entry: ['src/index.ts', 'src/cli.ts'], formats: ['esm'], dts: false }),
  splitting: true,
});
