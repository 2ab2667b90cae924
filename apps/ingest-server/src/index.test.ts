import { describe, expect, it } from 'vitest';
import { VERSION } from './index';

describe('@rediver/ingest-server', () => {
  it('exposes a semver version', () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
