import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// `shims`: the compression worker resolves zstd-napi from `import.meta.url`, in the CJS build too.
// `stripInternal`: members marked `@internal` (the raw SQLite handle, typed by better-sqlite3, a dev-only types
// package) stay out of the published declarations, so users' `tsc --strict` never needs @types/better-sqlite3.
export default defineConfig({
  ...createTsupConfig({ shims: true }),
  dts: { compilerOptions: { stripInternal: true } },
});
