import { describe, expect, it } from 'vitest';
import { VERSION } from './index';

describe('@rediver/agent', () => {
  it('exposes a semver version', () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
