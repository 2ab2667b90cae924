import { describe, expect, it } from 'vitest';
import { INGEST_DECOMPRESSION_LIMITS } from '@rediver/core';
import {
  DEFAULT_FAULT_OPTIONS,
  DEFAULT_INGEST_SERVER_OPTIONS,
  resolveFaults,
  resolveIngestServerOptions,
} from './ingestServerOptions';

describe('resolveIngestServerOptions', () => {
  it('applies frozen defaults: loopback, free port, in-memory, the platform limits, no faults', () => {
    expect(Object.isFrozen(DEFAULT_INGEST_SERVER_OPTIONS)).toBe(true);
    const r = resolveIngestServerOptions();
    expect(r).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      databasePath: ':memory:',
      apiKeys: {},
      faults: DEFAULT_FAULT_OPTIONS,
    });
    expect(r.ingestLimits).toEqual(INGEST_DECOMPRESSION_LIMITS);
  });

  it.each([
    [{ port: -1 }],
    [{ port: 70_000 }],
    [{ port: 1.5 }],
    [{ host: '' }],
    [{ databasePath: '' }],
    [{ apiKeys: { '': 't' } }],
    [{ apiKeys: { rdv_x: '' } }],
    [{ adminKey: '' }],
    [{ faults: { errorRate: 1.01 } }],
    [{ faults: { resetRate: -0.1 } }],
    [{ faults: { retryAfterSeconds: 1.5 } }],
    [{ faults: { latencyMs: -1 } }],
    [{ faults: { nope: 1 } as never }],
    [{ ingestLimits: { maxCompressedBytes: 0, maxDecompressedBytes: 1, maxRatio: 1 } }],
  ])('throws INVALID_OPTION for %j', (options) => {
    expect(() => resolveIngestServerOptions(options)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('merges fault patches and accepts rates at 0 and 1', () => {
    const f = resolveFaults(DEFAULT_FAULT_OPTIONS, { errorRate: 1 });
    expect(resolveFaults(f, { resetRate: 0, retryAfterSeconds: 0 })).toEqual({
      ...DEFAULT_FAULT_OPTIONS,
      errorRate: 1,
      retryAfterSeconds: 0,
    });
  });
});
