import { defineConfig } from 'vitest/config';

// Each package has its own vitest.config.ts (defineProject); this file only lists them so that
// `vitest run` at the root runs every project in one process.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools'],
  },
});
