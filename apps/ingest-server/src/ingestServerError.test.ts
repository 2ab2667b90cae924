import { RediverError } from '@rediver/core';
import { describe, expect, it } from 'vitest';
import { IngestServerError, isIngestServerError } from './ingestServerError';

describe('isIngestServerError', () => {
  it("is true for the server's own errors only, by code when asked", () => {
    const own = new IngestServerError('VALIDATION_FAILED', 'bad', { status: 400 });
    expect(isIngestServerError(own)).toBe(true);
    expect(isIngestServerError(own, 'VALIDATION_FAILED')).toBe(true);
    expect(isIngestServerError(own, 'NOT_FOUND')).toBe(false);
    // Another package's RediverError (a client or chunk error) is not the server's.
    expect(isIngestServerError(new RediverError('VALIDATION_FAILED', 'bad'))).toBe(false);
    expect(isIngestServerError(new Error('bad'))).toBe(false);
  });
});
