import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// The library (ESM + CJS with declarations) and the `rediver-audit` CLI (ESM, with a shebang) as two builds;
// only the first cleans dist/.
export default defineConfig([
  createTsupConfig(),
  {
    ...createTsupConfig({ entry: ['src/cli.ts'], formats: ['esm'], dts: false, shebang: true }),
    clean: false,
  },
]);
