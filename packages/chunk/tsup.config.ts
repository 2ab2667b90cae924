import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

// `shims`: the compression worker resolves zstd-napi from `import.meta.url`, in the CJS build too.
export default defineConfig(createTsupConfig({ shims: true }));
