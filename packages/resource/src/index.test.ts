import { readFileSync } from 'node:fs';
import * as core from '@rediver/core';
import { describe, expect, it } from 'vitest';
import * as api from './index';

describe('@rediver/resource', () => {
  it('exposes a semver version', () => {
    expect(api.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exports exactly the documented runtime API', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DEFAULT_RESOURCE_CONTROLLER_OPTIONS',
      'DEFAULT_SYSTEM_METRICS_SOURCE_OPTIONS',
      'RESOURCE_ERROR_CODES',
      'RESOURCE_WARNING_CODES',
      'ResourceController',
      'ResourceError',
      'SystemMetricsSource',
      'VERSION',
      'findCgroupContainment',
      'isRediverError',
      'isRetryableError',
      'readCgroupLayout',
    ]);
  });

  it('ResourceError carries a core error code and name', () => {
    const error = new api.ResourceError('TIMEOUT', 'x');
    expect(error).toMatchObject({ name: 'ResourceError', code: 'TIMEOUT', retryable: true });
  });

  it('handles its errors from this one import: core isRediverError, documented codes', () => {
    expect(api.isRediverError).toBe(core.isRediverError);
    expect(api.isRediverError(new api.ResourceError('CLOSED', 'x'), api.RESOURCE_ERROR_CODES.CLOSED)).toBe(
      true,
    );
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const errors = readme.slice(readme.indexOf('## Errors'));
    for (const code of Object.values(api.RESOURCE_ERROR_CODES)) expect(errors).toContain(`\`${code}\``);
  });
});
