import { parseRetryAfter as coreParseRetryAfter } from '@rediver/core';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './index';

describe('parseRetryAfter', () => {
  it("is core's strict reader (its cases are tested in @rediver/core), as the client classifies errors with it", () => {
    expect(parseRetryAfter).toBe(coreParseRetryAfter);
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter('1.5', 0)).toBeUndefined();
  });
});
