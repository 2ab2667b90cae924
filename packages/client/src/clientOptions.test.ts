import { describe, expect, it } from 'vitest';
import { isClientError } from './clientError';
import type { ClientOptions } from './clientOptions';
import { DEFAULT_CLIENT_OPTIONS, resolveClientOptions } from './clientOptions';

const KEY = 'rdv_0123456789abcdef';
const base: ClientOptions = { baseUrl: 'https://rediver.example.com', apiKey: KEY };

function refusal(options: ClientOptions): unknown {
  try {
    resolveClientOptions(options);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('resolveClientOptions', () => {
  it('applies the defaults and splits the base URL', () => {
    const o = resolveClientOptions({ ...base, baseUrl: 'https://rediver.example.com/prefix/' });
    expect(o.origin).toBe('https://rediver.example.com');
    expect(o.pathPrefix).toBe('/prefix');
    expect(o.timeoutMs).toBe(DEFAULT_CLIENT_OPTIONS.timeoutMs);
    expect(o.maxConnections).toBe(DEFAULT_CLIENT_OPTIONS.maxConnections);
    expect(o.userAgent).toBe(DEFAULT_CLIENT_OPTIONS.userAgent);
    expect(o.agentId).toBeUndefined();
  });

  it('accepts the edges: timeoutMs 1, maxConnections 1, threshold 0, an 8-character key', () => {
    const o = resolveClientOptions({
      ...base,
      apiKey: 'rdv_1234',
      timeoutMs: 1,
      maxConnections: 1,
      compressionThresholdBytes: 0,
    });
    expect([o.timeoutMs, o.maxConnections, o.compressionThresholdBytes]).toEqual([1, 1, 0]);
    expect(resolveClientOptions({ ...base, timeoutMs: 2_147_483_647 }).timeoutMs).toBe(2_147_483_647);
  });

  it.each<[string, Partial<ClientOptions>]>([
    ['a relative base URL', { baseUrl: '/api' }],
    ['a non-http base URL', { baseUrl: 'ftp://rediver.example.com' }],
    ['credentials in the base URL', { baseUrl: 'https://u:p@rediver.example.com' }],
    ['a query in the base URL', { baseUrl: 'https://rediver.example.com/?a=1' }],
    ['a 7-character key', { apiKey: 'rdv_123' }],
    ['a key with a space', { apiKey: 'rdv_1234 5678' }],
    ['a key with a newline', { apiKey: 'rdv_12345678\n' }],
    ['a non-string key', { apiKey: 42 as unknown as string }],
    ['an agent id with CR LF', { agentId: 'a\r\nX: y' }],
    ['an empty agent id', { agentId: '' }],
    ['an empty user agent', { userAgent: '' }],
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['timeoutMs over the timer limit', { timeoutMs: 2_147_483_648 }],
    ['a fractional timeoutMs', { timeoutMs: 1.5 }],
    ['maxConnections 0', { maxConnections: 0 }],
    ['a negative threshold', { compressionThresholdBytes: -1 }],
    ['a logger without methods', { logger: {} as never }],
  ])('refuses %s with INVALID_OPTION, never naming the key', (_name, overrides) => {
    const err = refusal({ ...base, ...overrides });
    expect(isClientError(err, 'INVALID_OPTION')).toBe(true);
    expect(String(err)).not.toContain(KEY);
  });

  it('refuses an unknown option key with a did-you-mean before anything else', () => {
    const err = refusal({ baseUrl: 'https://rediver.example.com', apikey: KEY } as unknown as ClientOptions);
    expect(isClientError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toBe('"apikey" is not an option of createClient (did you mean apiKey?)');
    expect((err as { details?: unknown }).details).toEqual({ option: 'apikey' });
    expect(String(err)).not.toContain(KEY);
  });

  it.each<[string, Partial<ClientOptions>]>([
    ['baseUrl', { baseUrl: '/api' }],
    ['apiKey', { apiKey: 'rdv_123' }],
    ['agentId', { agentId: '' }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['maxConnections', { maxConnections: 0 }],
    ['compressionThresholdBytes', { compressionThresholdBytes: -1 }],
    ['logger', { logger: {} as never }],
  ])('names %s in details.option', (option, overrides) => {
    expect((refusal({ ...base, ...overrides }) as { details?: unknown }).details).toEqual({ option });
  });
});
