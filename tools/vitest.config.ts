import { defineProject } from 'vitest/config';

// The lint self-test boots ESLint's type-aware project service, which takes seconds on a loaded machine.
export default defineProject({ test: { name: '@rediver/tools', environment: 'node', testTimeout: 120_000 } });
