import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// An app: ESM only, no declarations; the CLI gets a shebang.
export default defineConfig(
  createTsupConfig({ entry: ['src/index.ts', 'src/cli.ts'], formats: ['esm'], dts: false, shebang: true }),
);
