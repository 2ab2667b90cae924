import { describe, expect, it } from 'vitest';
import { VERSION } from './index';

describe('@rediver/pipeline', () => {
  it('exposes a semver version', () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
