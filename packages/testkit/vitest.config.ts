import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  test: { name: '@rediver/testkit', environment: 'node', testTimeout: 30_000, hookTimeout: 30_000 },
});
