import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@rediver/tools', environment: 'node' } });
