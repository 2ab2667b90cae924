import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  test: {
    name: '@rediver/agent',
    environment: 'node',
    // The end-to-end tests run real agent processes and servers: one file at a time on a 2-core box.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
