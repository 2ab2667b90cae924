import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// An app: ESM only, the library entry and the CLI (src/cli.ts keeps its `#!/usr/bin/env node`).
export default defineConfig(
  createTsupConfig({ entry: ['src/index.ts', 'src/cli.ts'], formats: ['esm'], dts: false }),
);
