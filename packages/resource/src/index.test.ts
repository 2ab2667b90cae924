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
      'RESOURCE_WARNING_CODES',
      'ResourceController',
      'ResourceError',
      'SystemMetricsSource',
      'VERSION',
    ]);
  });

  it('ResourceError carries a core error code and name', () => {
    const error = new api.ResourceError('TIMEOUT', 'x');
    expect(error).toMatchObject({ name: 'ResourceError', code: 'TIMEOUT', retryable: true });
  });
});
