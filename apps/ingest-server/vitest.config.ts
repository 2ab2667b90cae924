import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  // CI runs several projects at once on 2 cores: generous timeouts keep a loaded machine from failing a test.
  test: { name: '@rediver/ingest-server', environment: 'node', testTimeout: 30_000, hookTimeout: 30_000 },
});
