import { describe, expect, it } from 'vitest';
import { INGEST_DECOMPRESSION_LIMITS } from '@rediver/core';
import {
  DEFAULT_FAULT_OPTIONS,
  DEFAULT_INGEST_SERVER_OPTIONS,
  isLoopbackHost,
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

describe('unknown options, body workers and the admin key off loopback (issue 20)', () => {
  function refusal(fn: () => unknown): { code: string; message: string; details?: { option?: string } } {
    try {
      fn();
    } catch (e) {
      return e as never;
    }
    throw new Error('expected INVALID_OPTION');
  }

  it('refuses an unknown option with a did-you-mean and details.option', () => {
    const e = refusal(() => resolveIngestServerOptions({ adminkey: 'x' } as never));
    expect(e).toMatchObject({ code: 'INVALID_OPTION', details: { option: 'adminkey' } });
    expect(e.message).toContain('did you mean adminKey?');
    const f = refusal(() => resolveFaults(DEFAULT_FAULT_OPTIONS, { errorRat: 1 }));
    expect(f.message).toContain('did you mean errorRate?');
    expect(f.details?.option).toBe('faults.errorRat');
  });

  it('sets details.option on invalid values', () => {
    expect(refusal(() => resolveIngestServerOptions({ port: -1 })).details?.option).toBe('port');
    expect(refusal(() => resolveIngestServerOptions({ bodyWorkers: 1.5 })).details?.option).toBe(
      'bodyWorkers',
    );
    expect(refusal(() => resolveIngestServerOptions({ bodyWorkers: 17 })).details?.option).toBe(
      'bodyWorkers',
    );
    expect(resolveIngestServerOptions({ bodyWorkers: 0 }).bodyWorkers).toBe(0);
  });

  it('needs adminKey on a host other machines can reach', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      expect(refusal(() => resolveIngestServerOptions({ host })).details?.option, host).toBe('adminKey');
      expect(resolveIngestServerOptions({ host, adminKey: 'k' }).host).toBe(host);
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(resolveIngestServerOptions({ host }).adminKey).toBeUndefined();
    }
  });
});
