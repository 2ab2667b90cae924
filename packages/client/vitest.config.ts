import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@rediver/source'] },
  ssr: { resolve: { conditions: ['@rediver/source'] } },
  test: { name: '@rediver/client', environment: 'node' },
});
